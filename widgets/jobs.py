"""One job runner for every background task (the shape of Orange3's ``concurrent.py``).

A *task* is a plain function of the core, ``task(progress, should_stop) -> result``:

- ``progress(value)`` hands a value to the GUI. Values are **keep-latest**: the runner holds
  one pending value (or merges a new one into it with the ``merge`` given to :meth:`start`)
  and delivers it on a GUI timer, so the GUI sees at most ``1000 / interval_ms`` updates a
  second however fast the task reports (DESIGN.md: snapshots ≤ ~20/s, never a flood).
- ``should_stop()`` is the task's only contact with control: it returns True once the job
  is cancelled; it **blocks** while the job is paused (pause = ``should_stop`` blocking) and,
  at most ``hold_limit`` seconds, while the GUI draws (:meth:`JobRunner.hold`); it also runs
  the calls queued with :meth:`JobRunner.call_in_worker` (work that must happen on the worker,
  e.g. re-tracing a model only the worker may touch).

:class:`JobRunner` (a QObject living on the GUI thread) owns the thread, the keep-latest slot,
cancel, pause and shutdown; it emits ``progress``, ``stateChanged`` and, once the thread has
been joined, ``finished(JobResult)``. The worker thread runs only the task: no QObject lives on
it and it emits no Qt signal; the GUI timer polls.

Garbage collection, once for the whole app (:func:`install_gui_gc`): Python's cyclic collector
runs on whichever thread allocates when a threshold is crossed. A collection on a worker
thread that frees a PySide wrapper (a closed window, a lambda slot holding a widget) destroys
its C++ object off the GUI thread — a segfault. So automatic collection is switched off for
the application's lifetime and a GUI-thread timer collects instead, generation by generation
when the counts pass the usual thresholds (pyqtgraph's ``util/garbage_collector.py`` pattern).
"""

from __future__ import annotations

import gc
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal

__all__ = ["Task", "JobResult", "JobRunner", "GuiGarbageCollector", "install_gui_gc", "gui_gc",
           "running_runners"]

Progress = Callable[[Any], None]
ShouldStop = Callable[[], bool]
Task = Callable[[Progress, ShouldStop], Any]

POLL_MS = 50  # ≤ 20 deliveries a second
HOLD_LIMIT = 0.1  # seconds should_stop() waits at most while the GUI draws
GC_INTERVAL_MS = 500


# ----------------------------------------------------------------------------- garbage collection


class GuiGarbageCollector(QObject):
    """Automatic GC off; a GUI-thread timer collects when the counts pass the thresholds.

    After pyqtgraph's ``GarbageCollector``: each tick compares ``gc.get_count()`` with
    ``gc.get_threshold()`` and collects generation 0, then 1, then 2 as CPython itself would,
    but always on the GUI thread."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = GC_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> int:
        """Collect what CPython would have collected by now; returns objects freed."""
        l0, l1, l2 = gc.get_count()
        freed = 0
        if l0 > self.threshold[0]:
            freed = gc.collect(0)
            if l1 > self.threshold[1]:
                freed = gc.collect(1)
                if l2 > self.threshold[2]:
                    freed = gc.collect(2)
        return freed

    def uninstall(self) -> None:
        self.timer.stop()
        if self._was_enabled:
            gc.enable()


_collector: GuiGarbageCollector | None = None


def install_gui_gc() -> GuiGarbageCollector | None:
    """Install the app-wide collector once (idempotent; needs a QCoreApplication).

    Call it on the GUI thread before the first worker thread starts; :meth:`JobRunner.start`
    does. Returns the collector (None without an application)."""
    global _collector
    app = QCoreApplication.instance()
    if app is None:
        return None
    if _collector is not None:
        try:
            if _collector.parent() is app:
                return _collector
        except RuntimeError:  # the application it belonged to is gone
            pass
        _collector = None
    _collector = GuiGarbageCollector(app)
    app.aboutToQuit.connect(_collector.uninstall)
    return _collector


def gui_gc() -> GuiGarbageCollector | None:
    """The installed collector, or None."""
    if _collector is None:
        return None
    try:
        _collector.parent()
    except RuntimeError:
        return None
    return _collector


# ----------------------------------------------------------------------------------- the runner


@dataclass(frozen=True)
class JobResult:
    """How a job ended. ``status``: ``done`` (the task returned ``value``), ``cancelled``
    (cancelled, whatever the task returned: ``value`` holds it), ``error`` (the task raised
    ``exception``; ``error`` is ``"TypeName: message"``)."""

    status: str
    value: Any = None
    error: str | None = None
    exception: BaseException | None = None


class _JobThread(QThread):
    """Runs one task; the QThread object itself stays on the GUI thread."""

    def __init__(self, body: Callable[[], None], name: str) -> None:
        super().__init__()
        self._body = body
        self.setObjectName(name)
        _threads.add(self)

    def run(self) -> None:  # the worker thread
        self._body()


_threads: "weakref.WeakSet[_JobThread]" = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Every thread a runner started that is still running. The app starts no QThread but
    these (tests/test_jobs.py checks the source), so this is the whole list: the test
    suite's leak check reads it instead of scanning every Python object."""
    alive = []
    for t in list(_threads):
        try:
            if t.isRunning():
                alive.append(t)
        except RuntimeError:  # the C++ object is already gone
            pass
    return alive


_running: "set[JobRunner]" = set()


def running_runners() -> list["JobRunner"]:
    """Runners whose job has started and not yet been joined (tests check none is left)."""
    return [r for r in list(_running) if r.is_running]


class JobRunner(QObject):
    """Runs one task at a time on its own thread; see the module docstring."""

    progress = Signal(object)  # the newest (merged) progress value, ≤ 1000/interval_ms a second
    ticked = Signal()  # every poll while a job runs, after any progress (GUI work in small slices)
    stateChanged = Signal(str)  # "running" | "paused" | "idle"
    finished = Signal(object)  # JobResult, after the thread has been joined

    def __init__(self, parent: QObject | None = None, *, name: str = "job", interval_ms: int = POLL_MS,
                 hold_limit: float = HOLD_LIMIT) -> None:
        super().__init__(parent)
        self.name = name
        self.hold_limit = hold_limit
        self.thread: QThread | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._pause = threading.Event()
        self._paused = threading.Event()  # set by the worker once it actually waits
        self._go = threading.Event()  # cleared while the GUI draws (hold)
        self._go.set()
        self._calls: list[Callable[[], None]] = []
        self._merge: Callable[[Any, Any], Any] | None = None
        self._pending: list = []  # [] or [value]
        self._result: JobResult | None = None
        self._shown_paused = False
        self._finishing = False

    # -- state -------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        """A job has started and has not been joined and reported yet."""
        return self.thread is not None

    @property
    def is_paused(self) -> bool:
        """The worker is waiting in ``should_stop`` because of :meth:`pause`."""
        return self._paused.is_set()

    @property
    def pause_requested(self) -> bool:
        return self._pause.is_set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- GUI thread: control ------------------------------------------------------------
    def start(self, task: Task, *, merge: Callable[[Any, Any], Any] | None = None) -> bool:
        """Run ``task(progress, should_stop)`` on a new thread. False if a job is running.

        ``merge(pending, new)``: how a progress value joins one not yet delivered (default:
        the new one replaces it)."""
        if self.thread is not None:
            return False
        install_gui_gc()
        self._cancel.clear()
        self._pause.clear()
        self._paused.clear()
        self._go.set()
        self._calls = []
        self._pending = []
        self._merge = merge
        self._result = None
        self._shown_paused = False

        def body() -> None:
            try:
                value = task(self._progress, self._should_stop)
            except BaseException as e:  # noqa: BLE001 - reported through finished, never a crash
                self._result = JobResult("error", None, f"{type(e).__name__}: {e}", e)
            else:
                self._result = JobResult("cancelled" if self._cancel.is_set() else "done", value)

        self.thread = _JobThread(body, self.name)
        self.thread.finished.connect(self._on_thread_finished)
        _running.add(self)
        self.thread.start()
        self._timer.start()
        self.stateChanged.emit("running")
        return True

    def cancel(self) -> None:
        """Ask the task to stop (``should_stop()`` returns True from now); returns at once."""
        self._cancel.set()
        self._go.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def toggle_pause(self) -> None:
        (self.resume if self._pause.is_set() else self.pause)()

    def hold(self) -> None:
        """Make the worker wait between steps (≤ ``hold_limit`` s) while the GUI draws: Python
        paint code would otherwise queue for the GIL behind the task on every callback."""
        self._go.clear()

    def release(self) -> None:
        self._go.set()

    def call_in_worker(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the worker thread at its next ``should_stop()`` (also while paused)."""
        with self._lock:
            self._calls.append(fn)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and join (window closing); the last progress and ``finished`` are delivered
        before this returns. True if no thread is left."""
        if self.thread is None:
            return True
        self.cancel()
        self._pause.clear()
        ok = self.thread.wait(timeout_ms)
        if ok:
            self._finish()
        return ok

    # -- worker thread ------------------------------------------------------------------
    def _progress(self, value: Any) -> None:
        with self._lock:
            if self._pending and self._merge is not None:
                self._pending[0] = self._merge(self._pending[0], value)
            else:
                self._pending[:] = [value]

    def _run_calls(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn in calls:
            fn()

    def _should_stop(self) -> bool:
        self._go.wait(self.hold_limit)
        self._run_calls()
        if self._pause.is_set() and not self._cancel.is_set():
            self._paused.set()
            try:
                while self._pause.is_set() and not self._cancel.is_set():
                    self._run_calls()
                    self._cancel.wait(0.01)
            finally:
                self._paused.clear()
        return self._cancel.is_set()

    # -- GUI thread: delivery -----------------------------------------------------------
    def take(self) -> list:
        """``[value]`` if a progress value is pending (and clears it), else ``[]``."""
        with self._lock:
            out, self._pending = self._pending, []
        return out

    def poll(self) -> None:
        """The GUI timer: deliver the pending progress value, report pause changes."""
        if self.thread is None:
            return
        for value in self.take():
            self.progress.emit(value)
        paused = self._paused.is_set()
        if paused != self._shown_paused and self.thread is not None:
            self._shown_paused = paused
            self.stateChanged.emit("paused" if paused else "running")
        if self.thread is not None:
            self.ticked.emit()

    def _on_thread_finished(self) -> None:
        if self.thread is not None and self.thread.isFinished():
            self._finish()

    def _finish(self) -> None:
        if self.thread is None or self._finishing:
            return
        self._finishing = True
        try:
            self.thread.wait()
            self._timer.stop()
            thread, self.thread = self.thread, None
            _running.discard(self)
            for value in self.take():
                self.progress.emit(value)
            result = self._result or JobResult("error", None, "the job ended without a result")
            self._shown_paused = False
            self.stateChanged.emit("idle")
            self.finished.emit(result)
        finally:
            self._finishing = False
            # Delivered: let go of it. A failed task's exception holds its traceback, whose
            # worker frame holds this runner: kept here too, that is a reference cycle (runner ->
            # result -> exception -> frame -> runner) that only the cyclic collector can free.
            self._result = None
