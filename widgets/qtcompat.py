"""Qt message handling shared by the window and the offscreen commands."""

from __future__ import annotations

import sys

# ----------------------------------------------------------------------------- Qt messages
HARMLESS_MESSAGES = frozenset({"This plugin does not support propagateSizeHints()"})
_previous_handler = None
_filter_installed = False


def _message_filter(mode, context, message) -> None:
    if message in HARMLESS_MESSAGES:
        return
    if _previous_handler is not None:
        _previous_handler(mode, context, message)
        return
    from PySide6.QtCore import qFormatLogMessage

    sys.stderr.write(qFormatLogMessage(mode, context, message) + "\n")
    sys.stderr.flush()


def quiet_harmless_qt_warnings() -> None:
    """Drop the offscreen platform's "This plugin does not support propagateSizeHints()"
    (printed for every window shown by ``render``, ``lecture --export`` and ``bottleneck``);
    every other Qt message goes on to the handler before, or to stderr as Qt prints it.
    Call before the QApplication is created; idempotent."""
    global _previous_handler, _filter_installed
    if _filter_installed:
        return
    from PySide6.QtCore import qInstallMessageHandler

    _previous_handler = qInstallMessageHandler(_message_filter)
    _filter_installed = True
