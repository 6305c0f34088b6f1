"""Unsaved edits: the one Save / Discard / Cancel question and the one rule that follows it.

Every editor that can be left with unsaved edits (the preset editor, the lecture editor)
asks the same question with :func:`ask_unsaved` and acts on the answer with
:func:`may_leave`:

- nothing unsaved: leave without asking;
- before asking, the edits are written to their draft (``before_asking``), so nothing is
  lost while the question is open, whatever happens next;
- Save: leave only if the save worked (a refused or failed save keeps the edits);
- Discard: throw the edits away (and their draft), then leave;
- Cancel, or the box closed: stay.

Tests answer the question through the editors' ``dialogs`` objects; nothing here needs a
running dialog except :func:`ask_unsaved` itself.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["ANSWERS", "ask_unsaved", "may_leave", "ask_before_closing"]

ANSWERS = ("save", "discard", "cancel")


def ask_unsaved(parent: QWidget | None, name: str) -> str:
    """Ask "“name” has unsaved edits. Save them first?" with Save (the default), Discard
    and Cancel; returns ``"save"``, ``"discard"`` or ``"cancel"`` (also for a closed box)."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, "Unsaved edits", f"“{name}” has unsaved edits. Save them first?",
                                  buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def may_leave(*, dirty: bool, name: str, ask: Callable[[QWidget | None, str], str], parent: QWidget | None,
              save: Callable[[], bool], discard: Callable[[], None],
              before_asking: Callable[[], None] | None = None) -> bool:
    """True when the edits may be left behind: nothing unsaved (``dirty`` false), or the
    answer to ``ask(parent, name)`` was Save and ``save()`` returned True, or Discard (then
    ``discard()`` ran). False on Cancel, on any other answer, and on a failed save.

    ``before_asking`` runs just before the question (the editors write their draft there)."""
    if not dirty:
        return True
    if before_asking is not None:
        before_asking()
    answer = ask(parent, name)
    if answer == "save":
        return bool(save())
    if answer == "discard":
        discard()
        return True
    return False


class _CloseAsks(QObject):
    """Event filter: a Close of the watched widget (a dock's ✕) goes through ``may_close``."""

    def __init__(self, watched: QWidget, may_close: Callable[[], bool]) -> None:
        super().__init__(watched)
        self._may_close = may_close

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Close and obj is self.parent() and not self._may_close():
            ev.ignore()  # Cancel (or a failed save): the dock stays open with its edits
            toggle = getattr(obj, "toggleViewAction", None)
            if toggle is not None:
                # The View menu's toggle unchecked itself before asking: check it again, or it
                # shows the dock as hidden and the next Ctrl+Shift+E only "shows" it (a no-op).
                action = toggle()
                blocked = action.blockSignals(True)
                action.setChecked(True)
                action.blockSignals(blocked)
            return True
        return False


def ask_before_closing(dock: QWidget, may_close: Callable[[], bool]) -> QObject:
    """Make closing ``dock`` (its title bar's ✕, or ``close()``) ask first: ``may_close()``
    runs :func:`may_leave` for the editor inside (Save / Discard / Cancel, as File ▸ Quit
    does); False keeps the dock open. The dock's toggle (View menu, Ctrl+Shift+E) hides it
    with ``close()`` too, so it asks the same question. Returns the filter (owned by ``dock``)."""
    guard = _CloseAsks(dock, may_close)
    dock.installEventFilter(guard)
    return guard
