"""Small helpers for the ``install_*`` functions that plug features into the main window
without editing it: find-or-create a menu, and stop background work when it closes
(:func:`stop_on_close`)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget


def window_menu(window: QMainWindow, title: str, before: str = "Help") -> QMenu:
    """The menu bar's menu called ``title`` (ignoring '&'); if absent it is created in
    front of the menu called ``before`` (or last when there is none)."""
    bar = window.menuBar()
    plain = title.replace("&", "")
    for a in bar.actions():
        if a.menu() is not None and a.text().replace("&", "") == plain:
            return a.menu()
    menu = QMenu(title, window)
    anchor = next((a for a in bar.actions() if a.text().replace("&", "") == before), None)
    if anchor is not None:
        bar.insertMenu(anchor, menu)
    else:
        bar.addMenu(menu)
    return menu


class CloseStopper(QObject):
    """Calls ``stop`` when ``window`` closes, so a dialog's worker thread is joined."""

    def __init__(self, window: QWidget, stop: Callable[[], None]) -> None:
        super().__init__(window)
        self._stop = stop
        window.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.Close:
            self._stop()
        return False


def stop_on_close(window: QWidget, stop: Callable[[], None]) -> None:
    """Call ``stop`` when ``window`` closes, so a dialog's worker thread is joined: through
    the main window's ``add_shutdown_hook`` (after its close guards agreed), or for any
    other window on its Close event (a :class:`CloseStopper`, owned by the window)."""
    add = getattr(window, "add_shutdown_hook", None)
    if callable(add):
        add(stop)
    else:
        CloseStopper(window, stop)
