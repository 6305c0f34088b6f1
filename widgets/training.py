"""Training in the window: a worker object on a QThread runs ``Trainer.step()`` in a loop.

Rules (DESIGN.md, "Threads and devices"):

- only the worker touches the model while it trains; the GUI gets immutable
  :class:`Snapshot` objects — Metrics plus a fresh Trace of the selected pair, traced in
  the worker thread;
- keep-latest, never a flood: the worker stores its newest snapshot under a lock at most
  every ``interval`` seconds (and one every ``history_every`` steps for the training
  history); the GUI polls with a 50 ms QTimer (≤ 20 updates a second);
- while the GUI draws a snapshot the worker waits between steps (``hold``/``release``,
  at most 100 ms): pyqtgraph paints in Python, and every paint callback would otherwise
  queue for the GIL behind the training loop (bench/bench_gui_lateness.py);
- pause and stop are ``threading.Event`` flags read between steps, not queued signals, so
  they act within one step even when the GUI is busy;
- closing the window stops and joins the thread (:meth:`TrainingSession.shutdown`);
- while the thread runs, Python's cyclic GC runs only on the GUI thread (see
  :mod:`widgets.qtcompat`): a collection on the worker could destroy Qt objects there.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

from .qtcompat import collect_in_gui_thread, pause_automatic_gc, resume_automatic_gc

if TYPE_CHECKING:
    from sandbox.model import Bundle
    from sandbox.trace import Trace
    from sandbox.train import Metrics

POLL_MS = 50
METRICS_MS = 250  # the loss curve is redrawn at least this often while snapshots stream in
HOLD_LIMIT = 0.1  # seconds the worker waits at most for the GUI to finish drawing


@dataclass(frozen=True)
class TraceRequest:
    """Which sentence the worker traces for its snapshots, and how."""

    source: str
    target: str | None
    mode: str


@dataclass(frozen=True)
class Snapshot:
    """What the GUI may hold while training runs: all immutable."""

    step: int
    total: int
    metrics: "Metrics"
    trace: "Trace | None"
    request: TraceRequest
    trace_error: str | None = None


class TrainingWorker(QObject):
    """Lives on the training thread. Control methods are thread-safe (events and a lock)."""

    finished = Signal(str, str)  # status ("done" | "stopped" | "nonfinite" | "error"), message
    pausedChanged = Signal(bool)

    def __init__(self, bundle: "Bundle", request: TraceRequest, *, device: str = "auto",
                 steps: int | None = None, interval: float = 0.05, history_points: int = 60,
                 single_thread: bool = True, step_offset: int = 0) -> None:
        super().__init__()
        self.bundle = bundle
        # Steps the model was trained before this run: every step number the GUI sees
        # (metrics, snapshots, messages) counts on from here, so a second run continues.
        self.step_offset = max(0, int(step_offset))
        self.trainer: Any = None
        self._device, self._steps = device, steps
        self._interval = interval
        self._history_points = max(1, history_points)
        self._single_thread = single_thread
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._paused = threading.Event()  # set by the worker once it is actually paused
        self._running = threading.Event()
        self._go = threading.Event()  # cleared while the GUI draws a snapshot (see hold())
        self._go.set()
        self._lock = threading.Lock()
        self._request = request
        self._request_changed = False
        self._latest: Snapshot | None = None
        self._history: list[Snapshot] = []
        self._metrics: list[Metrics] = []
        self.status = ""
        self.message = ""

    # -- called from the GUI thread -----------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def hold(self) -> None:
        """Wait between steps while the GUI draws (its Python paint code would otherwise
        queue for the GIL behind the training loop on every callback)."""
        self._go.clear()

    def release(self) -> None:
        self._go.set()

    @property
    def is_paused(self) -> bool:
        return self._paused.is_set()

    @property
    def is_running(self) -> bool:
        return self._running.is_set()

    def set_request(self, request: TraceRequest) -> None:
        with self._lock:
            self._request = request
            self._request_changed = True

    def take(self) -> tuple[Snapshot | None, list[Snapshot], list["Metrics"]]:
        """The newest snapshot (or None if nothing new), new history entries, new metrics."""
        with self._lock:
            latest, self._latest = self._latest, None
            hist, self._history = self._history, []
            mets, self._metrics = self._metrics, []
        return latest, hist, mets

    @property
    def steps_done(self) -> int:
        """Steps the model has been trained in all, this run's included."""
        return self.step_offset + (self.trainer.step_count if self.trainer is not None else 0)

    # -- the training thread ------------------------------------------------------------
    def _shifted(self, m: "Metrics") -> "Metrics":
        if not self.step_offset:
            return m
        import dataclasses

        return dataclasses.replace(m, step=m.step + self.step_offset, steps=m.steps + self.step_offset)

    def _snapshot(self, metrics, history: bool) -> None:
        from sandbox.trace import trace

        with self._lock:
            req = self._request
            self._request_changed = False
        tr, err = None, None
        try:
            tr = trace(self.trainer.bundle, req.source, req.target, mode=req.mode)
        except Exception as e:  # noqa: BLE001 - a bad sentence must not stop training
            err = str(e)
        snap = Snapshot(step=metrics.step, total=metrics.steps, metrics=metrics, trace=tr,
                        request=req, trace_error=err)
        with self._lock:
            self._latest = snap
            if history:
                self._history.append(snap)

    @Slot()
    def run(self) -> None:
        self._running.set()
        status, message = "stopped", ""
        threads = None
        try:
            import torch

            from sandbox.train import NonFiniteError, Trainer

            if self._single_thread:
                # Toy models gain nothing from intra-op threads; one thread leaves a core
                # to the GUI so the event loop stays responsive while training runs.
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
            self.trainer = Trainer(self.bundle, steps=self._steps, device=self._device)
            every = max(1, self.trainer.total_steps // self._history_points)
            last = 0.0
            m = self.trainer.last_metrics
            while True:
                self._go.wait(HOLD_LIMIT)  # the GUI is drawing; never longer than HOLD_LIMIT
                if self._stop.is_set():
                    break
                if self._pause.is_set():
                    self._paused.set()
                    self.pausedChanged.emit(True)
                    while self._pause.is_set() and not self._stop.is_set():
                        with self._lock:
                            changed = self._request_changed
                        if changed and m is not None:
                            self._snapshot(self._shifted(m), False)
                        time.sleep(0.01)
                    self._paused.clear()
                    self.pausedChanged.emit(False)
                    continue
                if self.trainer.done:
                    status, message = "done", f"trained {self.steps_done} steps"
                    break
                try:
                    m = self.trainer.step()
                except NonFiniteError as e:
                    status, message = "nonfinite", str(e)
                    break
                shown = self._shifted(m)
                with self._lock:
                    self._metrics.append(shown)
                    changed = self._request_changed
                now = time.perf_counter()
                history = m.step % every == 0 or m.step == 1 or self.trainer.done
                if history or changed or now - last >= self._interval:
                    self._snapshot(shown, history)
                    last = time.perf_counter()
            if status == "stopped":
                message = (f"stopped after {self.steps_done} of "
                           f"{self.step_offset + self.trainer.total_steps} steps")
        except ValueError as e:  # DeviceError, a bad step count
            status, message = "error", str(e)
        except Exception as e:  # noqa: BLE001 - reported in the window, never a crash
            status, message = "error", f"{type(e).__name__}: {e}"
        finally:
            if threads is not None:
                import torch

                torch.set_num_threads(threads)
            self.status, self.message = status, message
            self._running.clear()
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())  # so the GUI thread can own and delete it
            self.finished.emit(status, message)


class TrainingSession(QObject):
    """The GUI side: starts the thread, polls snapshots, stops and joins."""

    snapshot = Signal(object)  # Snapshot, the newest (≤ 20 a second)
    history = Signal(object)  # list[Snapshot] kept for the training-step slider
    metrics = Signal(object)  # list[Metrics], every step's, in order
    stateChanged = Signal(str)  # "running" | "paused" | "idle"
    finished = Signal(str, str, object)  # status, message, the trained Bundle

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self.paint_now = None  # callable: draw the views synchronously while the worker holds
        self._polling = False
        self._pending_metrics: list = []
        self._pending_snapshot: Snapshot | None = None
        self._metrics_at = 0.0
        self._jobs: list = []
        self._gc_paused = False
        self._polls = 0
        self.last_status = ""
        self.last_message = ""
        self.last_step: int | None = None  # steps trained in all when the last run ended

    @property
    def is_active(self) -> bool:
        return self.thread is not None

    @property
    def is_paused(self) -> bool:
        return self.worker is not None and self.worker.is_paused

    def start(self, bundle: "Bundle", request: TraceRequest, *, device: str = "auto",
              steps: int | None = None, interval: float = 0.05, step_offset: int = 0) -> None:
        """``step_offset``: steps ``bundle`` was already trained; this run counts on from it."""
        if self.thread is not None:
            raise RuntimeError("training is already running")
        self.worker = TrainingWorker(bundle, request, device=device, steps=steps, interval=interval,
                                     step_offset=step_offset)
        pause_automatic_gc()  # collect only on this thread while the worker runs (qtcompat)
        self._gc_paused = True
        self._polls = 0
        self.thread = QThread()
        self.thread.setObjectName("training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        # Direct: quit() is thread-safe and must not wait for a GUI that may be in wait().
        self.worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.worker.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self.worker.pausedChanged.connect(self._on_paused, Qt.ConnectionType.QueuedConnection)
        self.thread.start()
        self._pending_metrics, self._pending_snapshot, self._metrics_at = [], None, 0.0
        self._jobs = []
        self._timer.start()
        self.stateChanged.emit("running")

    def set_request(self, request: TraceRequest) -> None:
        if self.worker is not None:
            self.worker.set_request(request)

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.pause()

    def resume(self) -> None:
        if self.worker is not None:
            self.worker.resume()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        if self.worker._pause.is_set():
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the worker to stop after the current step (returns at once)."""
        if self.worker is not None:
            self.worker.stop()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop and join the thread (window closing). True if no thread is left."""
        if self.thread is None:
            return True
        self.stop()
        self.thread.quit()
        ok = self.thread.wait(timeout_ms)
        if ok:
            self._finish(self.worker.status or "stopped", self.worker.message)
        return ok

    @Slot()
    def poll(self) -> None:
        w = self.worker
        if w is None or self._polling:
            return
        self._polls += 1
        collect_in_gui_thread(0)  # young objects only (≤ 1 ms); a full collection at the end
        latest, hist, mets = w.take()
        self._pending_metrics.extend(mets)
        if latest is not None:
            self._pending_snapshot = latest
        if hist:
            self.history.emit(hist)  # the history slider only: nothing to paint
        if self._jobs:  # the second half of the last snapshot's drawing
            job = self._jobs.pop(0)
            self._run_held(w, job)
            return
        # One drawing job per tick keeps each GUI block short: the views (a new snapshot)
        # or the loss curve, whichever is due; the curve at least every METRICS_MS.
        now = time.perf_counter()
        metrics_due = bool(self._pending_metrics) and (
            self._pending_snapshot is None or now - self._metrics_at >= METRICS_MS / 1000)
        if not metrics_due and self._pending_snapshot is None:
            return
        if metrics_due:
            mets, self._pending_metrics = self._pending_metrics, []
            self._metrics_at = now
            self._run_held(w, lambda: self.metrics.emit(mets))
        else:
            snap, self._pending_snapshot = self._pending_snapshot, None
            self._run_held(w, lambda: self.snapshot.emit(snap))

    def queue_job(self, job) -> None:
        """Run ``job`` (GUI drawing) on a later tick, with the worker held meanwhile."""
        if self.worker is None:
            job()
        else:
            self._jobs.append(job)

    def _run_held(self, w: TrainingWorker, job) -> None:
        w.hold()
        self._polling = True
        try:
            job()
            if self.paint_now is not None:
                self.paint_now()
        finally:
            self._polling = False
            w.release()

    def _on_paused(self, paused: bool) -> None:
        if self.thread is not None:
            self.stateChanged.emit("paused" if paused else "running")

    def _on_finished(self, status: str, message: str) -> None:
        if self.thread is None:
            return
        self.thread.wait()
        self._finish(status, message)

    def _finish(self, status: str, message: str) -> None:
        if self.thread is None:
            return
        self._timer.stop()
        worker = self.worker
        self.worker = self.thread = None  # the thread has finished and been joined
        if self._gc_paused:
            self._gc_paused = False
            resume_automatic_gc()
        jobs, self._jobs = self._jobs, []
        for job in jobs:
            job()
        latest, hist, mets = worker.take()  # the last snapshot (no hold: nothing runs now)
        mets = self._pending_metrics + mets
        latest = latest if latest is not None else self._pending_snapshot
        self._pending_metrics, self._pending_snapshot = [], None
        if mets:
            self.metrics.emit(mets)
        if hist:
            self.history.emit(hist)
        if latest is not None:
            self.snapshot.emit(latest)
        bundle = worker.trainer.bundle if worker.trainer is not None else worker.bundle
        self.last_status, self.last_message = status, message
        self.last_step = worker.steps_done
        self.stateChanged.emit("idle")
        self.finished.emit(status, message, bundle)
