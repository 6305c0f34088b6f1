"""Which widgets keep their own keys.

The window (step with ← → Home End, Space to play, PageUp/PageDown for pairs) and the
presenter (→ ← Space … for slides) install application-wide key filters. A key typed into a
text input must reach the input instead: "a cat sat" typed into a narration box is text, not
two play/pause toggles. Both filters ask :func:`keeps_keys` about the widget the event is for
and about the focus widget.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox, QLineEdit,
                               QPlainTextEdit, QTextEdit, QWidget)

__all__ = ["keeps_keys", "focus_keeps_keys"]


def keeps_keys(w: object) -> bool:
    """True for a widget that takes typed keys itself: an editable line or text box (any
    ``QLineEdit``, ``QTextEdit`` or ``QPlainTextEdit`` that is not read-only), a spin box,
    an editable combo box, or an item view while one of its cells is being edited."""
    if not isinstance(w, QWidget):
        return False
    try:
        if isinstance(w, QLineEdit):
            return not w.isReadOnly()
        if isinstance(w, (QTextEdit, QPlainTextEdit)):
            return not w.isReadOnly()
        if isinstance(w, QAbstractSpinBox):
            return not w.isReadOnly()
        if isinstance(w, QComboBox):
            return w.isEditable() or w.view().isVisible()
        if isinstance(w, QAbstractItemView):
            return w.state() == QAbstractItemView.State.EditingState
    except RuntimeError:  # the C++ object is gone
        return False
    return False


def focus_keeps_keys(window: QWidget, obj: object = None) -> bool:
    """True when ``obj`` (the event's receiver) or the application's focus widget inside
    ``window`` keeps its keys (:func:`keeps_keys`)."""
    if keeps_keys(obj):
        return True
    focus = QApplication.focusWidget()
    if focus is None:
        return False
    try:
        return QWidget.window(focus) is window and keeps_keys(focus)
    except RuntimeError:
        return False
