"""What the app ships, and the one rule about it: the app never writes there.

The shipped tree is the ``presets/`` folder next to the code (presets, ``presets/lectures``,
corpora, experiment results, shipped checkpoints) and the code folders themselves
(``sandbox/``, ``widgets/``). :func:`refuse_shipped` is called by the one atomic writer
(:mod:`sandbox.fileio`) and by the savers that want their own error type, so every kind of
file — preset, lecture, corpus, checkpoint, draft, settings, export — is refused the same
way, whatever its path spelling (``..``, symlinks and relative paths are resolved first).

Maintainers regenerating a shipped file (e.g. ``presets/lectures/bottleneck.json``) set
``ATTENTION_SANDBOX_MAINTAINER=1`` or pass ``allow_shipped=True``. No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["APP_ROOT", "SHIPPED_DIR", "SHIPPED_LECTURES_DIR", "SHIPPED_TREES", "MAINTAINER_ENV",
           "ShippedFileError", "is_shipped", "refuse_shipped", "refusal", "is_within"]

APP_ROOT: Path = Path(__file__).resolve().parent.parent
SHIPPED_DIR: Path = APP_ROOT / "presets"
SHIPPED_LECTURES_DIR: Path = SHIPPED_DIR / "lectures"
SHIPPED_TREES: tuple[Path, ...] = (SHIPPED_DIR, APP_ROOT / "sandbox", APP_ROOT / "widgets")
MAINTAINER_ENV = "ATTENTION_SANDBOX_MAINTAINER"


class ShippedFileError(ValueError):
    """A write into the shipped tree was refused. ``path`` is the refused file."""

    def __init__(self, path: str | os.PathLike[str], what: str = "file") -> None:
        self.path = os.fspath(path)
        super().__init__(refusal(path, what))


def refusal(path: str | os.PathLike[str], what: str = "file") -> str:
    """The one-line message for a refused write of ``path``: what and where, and where to
    save instead. When the user's own folder is itself inside the shipped tree (a
    ``$ATTENTION_SANDBOX_HOME`` or the platform's user folder pointing into it), it says to move that."""
    from .userdirs import HOME_ENV, data_dir, home_override

    where = f"{os.fspath(path)}: shipped {what}s are read-only (this is inside {SHIPPED_DIR.parent})"
    folder = data_dir()
    if not is_shipped(folder):
        return f"{where}; save a copy in {folder} instead"
    setting = f"${HOME_ENV}" if home_override() is not None else "the platform's user data folder"
    return (f"{where}: the user folder {folder} ({setting}) lies inside the app's own files; "
            f"point it at a folder outside {APP_ROOT}")


def is_within(path: str | os.PathLike[str], folder: Path) -> bool:
    """True when ``path`` (resolved: symlinks, ``..``) lies inside ``folder``."""
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError, TypeError):
        return False


def is_shipped(path: str | os.PathLike[str] | None) -> bool:
    """True for a path inside the shipped tree (:data:`SHIPPED_TREES`), existing or not."""
    if path is None:
        return False
    return any(is_within(path, tree) for tree in SHIPPED_TREES)


def maintainer_mode() -> bool:
    return os.environ.get(MAINTAINER_ENV, "") not in ("", "0")


def refuse_shipped(path: str | os.PathLike[str], what: str = "file", *, allow_shipped: bool = False) -> None:
    """Raise :class:`ShippedFileError` when ``path`` is in the shipped tree (unless
    ``allow_shipped`` or maintainer mode)."""
    if allow_shipped or maintainer_mode():
        return
    if is_shipped(path):
        raise ShippedFileError(path, what)
