"""Training in the window: :class:`TrainingJob` (a plain task) on the app's :class:`JobRunner`.

Rules (DESIGN.md, "Threads and devices"):

- :meth:`sandbox.train.Trainer.run` is the one training loop; the job hands it the runner's
  ``should_stop`` (pause = ``should_stop`` blocking, stop = it returning True, both between
  steps) and a per-step callback;
- only the worker touches the model while it trains; the GUI gets immutable
  :class:`Snapshot` objects — Metrics plus a fresh Trace of the selected pair, traced on the
  worker thread (a new pair chosen while paused is traced there too, through
  :meth:`JobRunner.call_in_worker`);
- keep-latest, never a flood: the job traces at most every ``interval`` seconds (and every
  ``history_every`` steps for the training history) and reports :class:`TrainingUpdate`
  values, which the runner merges (every step's metrics kept, the newest snapshot only) and
  delivers on its 50 ms timer (≤ 20 updates a second);
- while the GUI draws a snapshot the runner holds the worker between steps (at most 100 ms):
  pyqtgraph paints in Python, and every paint callback would otherwise queue for the GIL
  behind the training loop (bench/bench_gui_lateness.py);
- closing the window stops and joins the thread (:meth:`TrainingSession.shutdown`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, Signal

from sandbox.compare import TraceRequest  # the one definition (re-exported for the window)

from .jobs import POLL_MS, JobResult, JobRunner

if TYPE_CHECKING:
    from sandbox.model import Bundle
    from sandbox.trace import Trace
    from sandbox.train import Metrics

METRICS_MS = 250  # the loss curve is redrawn at least this often while snapshots stream in
# The share of a run's wall time the GUI may hold the worker to draw. Each drawing block
# stays short (the lateness target); this caps how many there are, so that training in the
# window keeps ≥ 0.8 of its headless speed (bench/bench_classroom.py). A tick over budget
# leaves the newest snapshot waiting for the next one.
DRAW_SHARE = 0.12


@dataclass(frozen=True)
class Snapshot:
    """What the GUI may hold while training runs: all immutable."""

    step: int
    total: int
    metrics: "Metrics"
    trace: "Trace | None"
    request: TraceRequest
    trace_error: str | None = None
    # history points only: a CPU copy of the weights after this step (sandbox.history), so
    # the window can re-trace any sentence or mode as the model was here
    weights: dict | None = None


@dataclass(frozen=True)
class TrainingUpdate:
    """One progress value: new metrics (every step's), new history snapshots, the newest
    snapshot (or None)."""

    metrics: tuple = ()
    history: tuple = ()
    snapshot: Snapshot | None = None


def merge_updates(old: TrainingUpdate, new: TrainingUpdate) -> TrainingUpdate:
    """How an update joins one the GUI has not taken yet: nothing but stale snapshots dropped."""
    return TrainingUpdate(old.metrics + new.metrics, old.history + new.history,
                          new.snapshot if new.snapshot is not None else old.snapshot)


@dataclass(frozen=True)
class TrainingOutcome:
    status: str  # "done" | "stopped" | "nonfinite" | "error"
    message: str
    bundle: "Bundle"  # the trained bundle (the one given if the trainer never started)
    steps_done: int  # steps the model has been trained in all


class TrainingJob:
    """The training task: ``job(progress, should_stop) -> TrainingOutcome``. Qt-free.

    ``set_request`` may be called from any thread; :meth:`retrace` runs on the worker."""

    def __init__(self, bundle: "Bundle", request: TraceRequest, *, device: str = "auto",
                 steps: int | None = None, interval: float = 0.05, history_points: int = 60,
                 single_thread: bool = True, step_offset: int = 0) -> None:
        self.bundle = bundle
        # Steps the model was trained before this run: every step number the GUI sees
        # (metrics, snapshots, messages) counts on from here, so a second run continues.
        self.step_offset = max(0, int(step_offset))
        self._device, self._steps = device, steps
        self._interval = interval
        self._history_points = max(1, history_points)
        self._single_thread = single_thread
        self._lock = threading.Lock()
        self._request = request
        self._request_changed = False
        self._trainer: Any = None
        self._progress: Callable[[Any], None] | None = None
        self._last: "Metrics | None" = None

    @property
    def steps_done(self) -> int:
        """Steps the model has been trained in all, this run's included (any thread)."""
        t = self._trainer
        return self.step_offset + (t.step_count if t is not None else 0)

    def set_request(self, request: TraceRequest) -> None:
        with self._lock:
            self._request = request
            self._request_changed = True

    def _take_request(self) -> tuple[TraceRequest, bool]:
        with self._lock:
            req, changed = self._request, self._request_changed
            self._request_changed = False
        return req, changed

    def _shifted(self, m: "Metrics") -> "Metrics":
        if not self.step_offset:
            return m
        return dataclasses.replace(m, step=m.step + self.step_offset, steps=m.steps + self.step_offset)

    def _snapshot(self, metrics: "Metrics", req: TraceRequest, weights: dict | None = None) -> Snapshot:
        from sandbox.trace import trace

        tr, err = None, None
        try:
            tr = trace(self._trainer.bundle, req.source, req.target, mode=req.mode)
        except Exception as e:  # noqa: BLE001 - a bad sentence must not stop training
            err = str(e)
        return Snapshot(step=metrics.step, total=metrics.steps, metrics=metrics, trace=tr,
                        request=req, trace_error=err, weights=weights)

    def retrace(self) -> None:
        """Worker thread (between steps or while paused): trace the new request, if any."""
        if self._last is None or self._progress is None:
            return  # no step yet: the first step traces it
        with self._lock:
            if not self._request_changed:
                return
        req, _ = self._take_request()
        self._progress(TrainingUpdate(snapshot=self._snapshot(self._last, req)))

    def __call__(self, progress: Callable[[Any], None], should_stop: Callable[[], bool]) -> TrainingOutcome:
        import torch

        from sandbox.history import snapshot_weights
        from sandbox.train import Trainer

        self._progress = progress
        threads = None
        status, message = "error", ""
        try:
            if self._single_thread:
                # Toy models gain nothing from intra-op threads; one thread leaves a core
                # to the GUI so the event loop stays responsive while training runs.
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
            self._trainer = trainer = Trainer(self.bundle, steps=self._steps, device=self._device)
            every = max(1, trainer.total_steps // self._history_points)
            last = [0.0]

            def on_step(m: "Metrics") -> None:
                shown = self._last = self._shifted(m)
                req, changed = self._take_request()
                now = time.perf_counter()
                history = m.step % every == 0 or m.step == 1 or trainer.done
                snap = None
                if history or changed or now - last[0] >= self._interval:
                    # history points keep the weights (tens of KB): any sentence, mode or
                    # explanation can be re-traced there later
                    weights = snapshot_weights(trainer.model) if history else None
                    snap = self._snapshot(shown, req, weights)
                    last[0] = time.perf_counter()
                progress(TrainingUpdate((shown,), (snap,) if history else (), snap))

            result = trainer.run(progress=on_step, should_stop=should_stop, final_evaluation=False)
            status = result.status
            if status == "done":
                message = f"trained {self.steps_done} steps"
            elif status == "stopped":
                message = f"stopped after {self.steps_done} of {self.step_offset + trainer.total_steps} steps"
            else:
                message = result.message
        except ValueError as e:  # DeviceError, a bad step count
            message = str(e)
        except Exception as e:  # noqa: BLE001 - reported in the window, never a crash
            message = f"{type(e).__name__}: {e}"
        finally:
            if threads is not None:
                torch.set_num_threads(threads)
        bundle = self._trainer.bundle if self._trainer is not None else self.bundle
        return TrainingOutcome(status, message, bundle, self.steps_done)


class TrainingSession(QObject):
    """The GUI side: starts a :class:`TrainingJob` on its runner, draws updates, stops and joins."""

    snapshot = Signal(object)  # Snapshot, the newest (≤ 20 a second)
    history = Signal(object)  # list[Snapshot] kept for the training-step slider
    metrics = Signal(object)  # list[Metrics], every step's, in order
    stateChanged = Signal(str)  # "running" | "paused" | "idle"
    finished = Signal(str, str, object)  # status, message, the trained Bundle

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = JobRunner(self, name="training", interval_ms=POLL_MS)
        self.runner.progress.connect(self._on_progress)
        self.runner.ticked.connect(self._draw_next)
        self.runner.stateChanged.connect(self._on_runner_state)
        self.runner.finished.connect(self._on_finished)
        self.job: TrainingJob | None = None
        self.paint_now = None  # callable: draw the views synchronously while the worker holds
        self._polling = False
        self._pending_metrics: list = []
        self._held_s, self._started_at = 0.0, time.perf_counter()  # GUI drawing time in this run (DRAW_SHARE)
        self._pending_snapshot: Snapshot | None = None
        self._metrics_at = 0.0
        self._jobs: list = []
        self.last_status = ""
        self.last_message = ""
        self.last_step: int | None = None  # steps trained in all when the last run ended
        self.latest_metrics: "Metrics | None" = None  # the newest metrics delivered

    @property
    def thread(self):
        """The runner's thread while a run is active (None otherwise)."""
        return self.runner.thread

    @property
    def is_active(self) -> bool:
        return self.runner.is_running

    @property
    def is_paused(self) -> bool:
        return self.runner.is_paused

    @property
    def steps_done(self) -> int | None:
        """Steps trained in all, live while a run is active; the last run's count after it."""
        return self.job.steps_done if self.job is not None else self.last_step

    def start(self, bundle: "Bundle", request: TraceRequest, *, device: str = "auto",
              steps: int | None = None, interval: float = 0.05, step_offset: int = 0) -> None:
        """``step_offset``: steps ``bundle`` was already trained; this run counts on from it."""
        if self.runner.is_running:
            raise RuntimeError("training is already running")
        self.job = TrainingJob(bundle, request, device=device, steps=steps, interval=interval,
                               step_offset=step_offset)
        self._pending_metrics, self._pending_snapshot, self._metrics_at = [], None, 0.0
        self._jobs = []
        self._held_s, self._started_at = 0.0, time.perf_counter()
        self.runner.start(self.job, merge=merge_updates)

    def set_request(self, request: TraceRequest) -> None:
        if self.job is not None and self.runner.is_running:
            self.job.set_request(request)
            self.runner.call_in_worker(self.job.retrace)

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def toggle_pause(self) -> None:
        if self.runner.is_running:
            self.runner.toggle_pause()

    def stop(self) -> None:
        """Ask the worker to stop after the current step (returns at once)."""
        self.runner.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop and join the thread (window closing). True if no thread is left."""
        return self.runner.shutdown(timeout_ms)

    # -- GUI drawing --------------------------------------------------------------------
    def _on_progress(self, update: TrainingUpdate) -> None:
        self._pending_metrics.extend(update.metrics)
        if update.metrics:
            self.latest_metrics = update.metrics[-1]
        if update.snapshot is not None:
            self._pending_snapshot = update.snapshot
        if update.history:
            self.history.emit(list(update.history))  # the history slider only: nothing to paint

    def _draw_next(self) -> None:
        if self._polling or not self.runner.is_running:
            return
        if self._held_s > DRAW_SHARE * (time.perf_counter() - self._started_at):
            return  # the trainer's turn (DRAW_SHARE)
        if self._jobs:  # the second half of the last snapshot's drawing
            self._run_held(self._jobs.pop(0))
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
            self._run_held(lambda: self.metrics.emit(mets))
        else:
            snap, self._pending_snapshot = self._pending_snapshot, None
            self._run_held(lambda: self.snapshot.emit(snap))

    def queue_job(self, job) -> None:
        """Run ``job`` (GUI drawing) on a later tick, with the worker held meanwhile."""
        if not self.runner.is_running:
            job()
        else:
            self._jobs.append(job)

    def _run_held(self, job) -> None:
        t0 = time.perf_counter()
        self.runner.hold()
        self._polling = True
        try:
            job()
            if self.paint_now is not None:
                self.paint_now()
        finally:
            self._polling = False
            self.runner.release()
            self._held_s += time.perf_counter() - t0

    def _on_runner_state(self, state: str) -> None:
        if state != "idle":  # "idle" is ours to say, once the last update is drawn
            self.stateChanged.emit(state)

    def _on_finished(self, result: JobResult) -> None:
        job = self.job
        self.job = None
        outcome = result.value
        if not isinstance(outcome, TrainingOutcome):  # the job itself failed: never expected
            outcome = TrainingOutcome("error", result.error or "training failed", job.bundle if job else None,
                                      job.steps_done if job else 0)
        jobs, self._jobs = self._jobs, []
        for j in jobs:
            j()
        mets, snap = self._pending_metrics, self._pending_snapshot
        self._pending_metrics, self._pending_snapshot = [], None
        if mets:
            self.metrics.emit(mets)
        if snap is not None:
            self.snapshot.emit(snap)
        self.last_status, self.last_message = outcome.status, outcome.message
        self.last_step = outcome.steps_done
        self.stateChanged.emit("idle")
        self.finished.emit(outcome.status, outcome.message, outcome.bundle)
