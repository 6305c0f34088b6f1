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


def settings_problem(s: QSettings) -> str | None:
    """Write pending settings now and say, in one line naming the file, why they could not
    be written (a read-only or full disk); None when they were."""
    s.sync()
    status = s.status()
    if status == QSettings.Status.NoError:
        return None
    why = {QSettings.Status.AccessError: "the file or its folder cannot be written (read-only, or disk full)",
           QSettings.Status.FormatError: "the file is not a valid settings file"}.get(status, str(status))
    return f"could not save the window settings to {s.fileName()}: {why}"


def make_settings() -> QSettings:
    path = settings_path()
    if path is None:
        return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                         ORGANIZATION, APPLICATION)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # QSettings reports status(); the app runs on with defaults
    return QSettings(str(path), QSettings.Format.IniFormat)


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
