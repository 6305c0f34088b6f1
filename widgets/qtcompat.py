"""What every Qt entry point shares: the one headless-app boot and Qt message filtering."""

from __future__ import annotations

import os
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


def headless_app(argv: list[str] | None = None, *, override: bool = True):
    """The QApplication for the commands that draw without a window on screen (``render``,
    ``lecture --export``, ``bottleneck``) and for ``python main.py`` itself: the offscreen
    platform when Linux has no display, harmless warnings dropped, the existing instance
    reused. ``override=False`` keeps a ``QT_QPA_PLATFORM`` the user set. Idempotent."""
    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        if override:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        else:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    quiet_harmless_qt_warnings()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv else [sys.argv[0] if sys.argv else "attention-sandbox"])
    return app
