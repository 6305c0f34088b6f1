"""Where the preset editor saves, and how without freezing the window: which files are
shipped (read-only: their Save is "Save as…"), which "Save as…" names are allowed in the
user folder, and running the save as a job while the event loop keeps turning."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

from sandbox import presets as _presets
from sandbox.fileio import same_file  # noqa: F401 - re-exported for the editors
from sandbox.presets import list_presets, user_presets_dir

__all__ = ["run_off_gui_thread", "is_shipped", "same_file", "check_save_name"]

_SAVE_NAME_RE = re.compile(r"\w[\w.-]{0,79}")


def run_off_gui_thread(fn: Callable[[], Any]) -> Any:
    """``fn()`` as a job of the one job runner (:mod:`widgets.jobs`) while the GUI thread
    keeps its event loop turning (repaints, timers; user input waits), then its result or
    exception. Used for saving: validating, editing the TOML document in place and writing a
    200-pair preset is 0.2–0.5 s of tomlkit work that would otherwise freeze the window."""
    from PySide6.QtCore import QEventLoop

    from .jobs import JobRunner

    runner = JobRunner(name="save", interval_ms=5)
    loop = QEventLoop()
    box: dict[str, Any] = {}

    def done(result) -> None:
        box["result"] = result
        loop.quit()

    runner.finished.connect(done)
    runner.start(lambda _progress, _should_stop: fn())
    if "result" not in box:
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    runner.finished.disconnect(done)
    runner.deleteLater()
    result = box.pop("result")
    del runner, loop, done, box  # nothing Qt may be kept alive by the result below
    if result.status == "error" and result.exception is not None:
        # Re-raised, the exception's traceback holds this frame: with its locals cleared it
        # keeps no QEventLoop or JobRunner in a reference cycle, which only Python's cyclic
        # collector could free (and would destroy on whatever thread it ran).
        exc = result.exception
        try:
            raise exc
        finally:
            del exc, result
    return result.value


def is_shipped(path: str | os.PathLike[str] | None) -> bool:
    """True for a file inside the shipped presets folder (never written by the app; Save is
    "Save as…"). The folder is ``sandbox.presets.SHIPPED_DIR``, read at each call; the
    refusal of every write there is :mod:`sandbox.shipped`'s."""
    if path is None:
        return False
    try:
        return Path(path).resolve().is_relative_to(_presets.SHIPPED_DIR.resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def check_save_name(name: str) -> tuple[Path | None, str]:
    """The user-folder path for a "Save as…" name, or None and why the name is refused."""
    name = (name or "").strip()
    if name.lower().endswith(".toml"):
        name = name[:-5]
    if not name:
        return None, "Enter a name for the preset file."
    if not _SAVE_NAME_RE.fullmatch(name):
        return None, f"{name!r}: use letters, digits, '_', '-' and '.' only (no spaces or slashes), at most 80 characters."
    shipped = {key.casefold() for key, _path, is_user in list_presets() if not is_user}
    if name.casefold() in shipped:
        return None, f'"{name}" is the name of a shipped preset; choose another name so both stay available.'
    return user_presets_dir() / f"{name}.toml", ""
