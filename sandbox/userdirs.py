"""The user's folders: the one place that knows where edited presets, lectures, drafts, the
trained-model cache and the window settings live.

``$ATTENTION_SANDBOX_HOME`` (tests, portable installs) puts everything under one folder:
``HOME/presets``, ``HOME/lectures``, ``HOME/drafts``, ``HOME/cache``, ``HOME/settings``.
Without it the platform's conventions apply, through ``platformdirs``: on Linux
``~/.local/share/attention-sandbox`` (``$XDG_DATA_HOME``) for data, ``~/.cache/attention-sandbox``
(``$XDG_CACHE_HOME``) for the cache and ``~/.config/attention-sandbox`` for settings; on
macOS ``~/Library/Application Support`` and ``~/Library/Caches``; on Windows ``%LOCALAPPDATA%``.

Nothing here creates a folder: callers create what they write into, inside their own error
handling, so a read-only home becomes a message and never a traceback. No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "HOME_ENV", "home_override", "data_dir", "presets_dir", "lectures_dir",
           "drafts_dir", "cache_dir", "settings_dir", "written_folders"]

APP_NAME = "attention-sandbox"
HOME_ENV = "ATTENTION_SANDBOX_HOME"


def home_override() -> Path | None:
    """``$ATTENTION_SANDBOX_HOME`` as a Path (``~`` expanded), or None when unset or empty."""
    home = os.environ.get(HOME_ENV)
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    """The user's data folder: ``$ATTENTION_SANDBOX_HOME``, else platformdirs' user data dir."""
    home = home_override()
    return home if home is not None else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def presets_dir() -> Path:
    """Where edited and new presets are saved."""
    return data_dir() / "presets"


def lectures_dir() -> Path:
    """Where the user's lectures (and the images a fresh experiment run draws) are saved."""
    return data_dir() / "lectures"


def drafts_dir() -> Path:
    """Autosaved unsaved edits (preset and lecture editors)."""
    return data_dir() / "drafts"


def cache_dir() -> Path:
    """Trained models and experiment results that can be rebuilt: ``HOME/cache``, else
    platformdirs' user cache dir."""
    home = home_override()
    return home / "cache" if home is not None else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def written_folders() -> list[Path]:
    """Every folder the app writes files into (what the start-up sweep of stale temporary
    files looks at: :func:`sandbox.fileio.sweep_stale_temp_files`)."""
    folders = [presets_dir(), lectures_dir(), drafts_dir(), drafts_dir() / "lectures", cache_dir(),
               cache_dir() / "lectures"]
    settings = settings_dir()
    return folders + ([settings] if settings is not None else [])


def settings_dir() -> Path | None:
    """``HOME/settings`` when ``$ATTENTION_SANDBOX_HOME`` is set (an INI file lives there);
    None otherwise: the window then uses the platform's own settings store (QSettings)."""
    home = home_override()
    return home / "settings" if home is not None else None
