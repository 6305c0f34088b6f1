"""QSettings for the window: geometry, splitters, last preset, font scale.

With ``ATTENTION_SANDBOX_HOME`` set (tests, portable installs) the settings live in an INI
file under it instead of the platform's per-user store, so a test never sees a user's
real settings and never leaves any behind.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "AttentionSandbox"
APPLICATION = "attention-sandbox"
HOME_ENV = "ATTENTION_SANDBOX_HOME"


def settings_path() -> Path | None:
    """The INI file used when ``ATTENTION_SANDBOX_HOME`` is set, else None
    (:func:`sandbox.userdirs.settings_dir`)."""
    from sandbox.userdirs import settings_dir

    folder = settings_dir()
    return None if folder is None else folder / f"{APPLICATION}.ini"


class RefusedSettings(QSettings):
    """Settings whose file lies in the shipped tree (a user folder pointed into the app's own
    files): read as usual, never written. ``refused`` is the one-line reason, which
    :func:`settings_problem` reports."""

    def __init__(self, *args, refused: str) -> None:
        super().__init__(*args)
        self.refused = refused

    def setValue(self, key: str, value) -> None:  # noqa: N802 - Qt's name
        pass  # nothing pending, so nothing is written at sync() or destruction either

    def remove(self, key: str) -> None:
        pass

    def clear(self) -> None:
        pass

    def sync(self) -> None:
        pass


def settings_problem(s: QSettings) -> str | None:
    """Write pending settings now and say, in one line naming the file, why they could not
    be written (a read-only or full disk, or a file inside the shipped tree); None when they
    were."""
    refused = getattr(s, "refused", None)
    if refused:
        return refused
    s.sync()
    status = s.status()
    if status == QSettings.Status.NoError:
        return None
    why = {QSettings.Status.AccessError: "the file or its folder cannot be written (read-only, or disk full)",
           QSettings.Status.FormatError: "the file is not a valid settings file"}.get(status, str(status))
    return f"could not save the window settings to {s.fileName()}: {why}"


def make_settings() -> QSettings:
    """The window's settings: the INI file of :func:`settings_path`, else the platform's
    store. A file inside the shipped tree (``ATTENTION_SANDBOX_HOME`` or the platform's
    settings folder pointed into ``presets/``) is refused by :mod:`sandbox.shipped`: it is read but never
    written, and :func:`settings_problem` says so in one line."""
    from sandbox.shipped import is_shipped

    path = settings_path()
    if path is None:
        args = (QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
        native = QSettings(*args)
        file = native.fileName()
        if not is_shipped(file):
            return native
        del native
        return RefusedSettings(*args, refused=_refused(file, "the platform's settings folder"))
    if is_shipped(path):  # no folder is made there either
        return RefusedSettings(str(path), QSettings.Format.IniFormat, refused=_refused(path, f"${HOME_ENV}"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # QSettings reports status(); the app runs on with defaults
    return QSettings(str(path), QSettings.Format.IniFormat)


def _refused(path, setting: str) -> str:
    from sandbox.shipped import APP_ROOT

    return (f"the window settings are not saved: {path} is inside the app's own files ({APP_ROOT}), "
            f"which it never writes; point {setting} at a folder outside them")


def read_float(s: QSettings, key: str, default: float) -> float:
    """A finite float, else ``default`` (a hand-edited "abc" or "nan" must not crash)."""
    try:
        v = float(s.value(key, default))
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def read_bytes(s: QSettings, key: str) -> QByteArray | None:
    """A saved geometry or splitter state, or None when missing or not bytes (a corrupt
    INI value reads back as a string, which ``restoreGeometry`` would reject)."""
    v = s.value(key)
    if isinstance(v, QByteArray):
        return v
    if isinstance(v, (bytes, bytearray)):
        return QByteArray(bytes(v))
    return None


def read_str(s: QSettings, key: str, default: str = "") -> str:
    v = s.value(key, default)
    return v if isinstance(v, str) else default
