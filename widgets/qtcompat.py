"""Work around a PySide6 6.12 bug that crashes Python 3.11 ("none_dealloc", "bool_dealloc").

PySide6 6.12's bindings give back ``None`` from every void method (``QPainter.setPen``,
``QWidget.resize``, …) and ``True`` from ``Signal.emit()`` without taking a reference —
fine on Python ≥ 3.12, where those objects are immortal, but on 3.11 each call lowers their
reference count by one, and a few thousand calls later (one repaint of a plot makes
hundreds) the interpreter aborts with ``Fatal Python error: none_dealloc``. Measured here:
1000 calls of ``QPainter.drawLine`` → refcount(None) − 1000; 1000 ``emit()`` → refcount(True)
− 1000.

The fix makes ``None``, ``True`` and ``False`` effectively immortal on 3.11 the way 3.12
does: each reference count is raised once by 2**48, far more than any session can use up.
Only CPython < 3.12 is touched, only when the count is where CPython keeps it, and once.
"""

from __future__ import annotations

import sys

_PINNED = False
BOOST = 1 << 48


def pin_none() -> bool:
    """Raise the reference counts of None, True and False once. True if applied."""
    global _PINNED
    if _PINNED or sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    import PySide6

    if not PySide6.__version__.startswith("6.12."):  # 6.11.3 (our pin) is not affected
        return False
    import ctypes

    cells = []
    for obj in (None, True, False):
        cell = ctypes.c_ssize_t.from_address(id(obj))
        seen = sys.getrefcount(obj)  # the count plus this call's own reference
        if abs(cell.value - seen) > 2:  # not the layout we expect (e.g. a trace-refs build)
            return False
        cells.append(cell)
    for cell in cells:
        cell.value += BOOST
    _PINNED = True
    return True


pin_none()


# --------------------------------------------------------------------------- GC and threads
#
# Python's cyclic garbage collector runs in whichever thread happens to allocate when a
# threshold is crossed. If that is a worker thread (the trainer allocates constantly) and the
# garbage holds PySide wrappers of GUI objects (a closed window, a lambda slot that refers
# to its widget), their C++ objects are destroyed off the GUI thread — a segfault, seen here
# as "Fatal Python error: Segmentation fault … Garbage-collecting" in the training thread.
# While a worker runs, automatic collection is therefore switched off and the GUI thread
# collects instead (TrainingSession polls call collect_in_gui_thread()).

import gc as _gc
import threading as _threading

_gc_lock = _threading.Lock()
_gc_holders = 0
_gc_was_enabled = True


def pause_automatic_gc(collect: bool = True) -> None:
    """Called (GUI thread) before starting a worker thread; nests. ``collect=False`` skips
    the full collection first (for a short worker that must not stall the window)."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = _gc.isenabled()
            if collect:
                _gc.collect()  # whatever is garbage now dies here, in the GUI thread
            _gc.disable()
        _gc_holders += 1


def resume_automatic_gc(collect: bool = True) -> None:
    """Called (GUI thread) after the worker thread has been joined."""
    global _gc_holders
    with _gc_lock:
        if _gc_holders == 0:
            return
        _gc_holders -= 1
        if _gc_holders == 0:
            if _gc_was_enabled:
                _gc.enable()
            if collect:
                _gc.collect()


def collect_in_gui_thread(generation: int = 0) -> None:
    """A cheap young-generation collection on the GUI thread while automatic GC is off."""
    if _gc_holders:
        _gc.collect(generation)


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
