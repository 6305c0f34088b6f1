"""Comparing models, without Qt: which presets can be compared (a *family*: presets with
exactly the same sentence pairs), which columns a default comparison shows, and the
"Train all" job that trains each column's model in turn.

:class:`TrainAllJob` is a task in the job runner's shape (``job(progress, should_stop)``,
see ``widgets/jobs.py``): :meth:`sandbox.train.Trainer.run` is its training loop; it reports
``{column: ColumnSnapshot}`` dictionaries (merge them with :func:`merge_columns` to keep the
newest per column). Only this job touches the models while it runs; ``set_request`` (any
thread) asks it to re-trace every column on another sentence.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Bundle
    from .trace import Trace

__all__ = ["MIN_COLUMNS", "MAX_COLUMNS", "PresetInfo", "families", "default_columns", "TraceRequest",
           "ColumnSnapshot", "TrainAllOutcome", "TrainAllJob", "merge_columns"]

MIN_COLUMNS, MAX_COLUMNS = 2, 4
SNAPSHOT_EVERY = 0.05  # seconds between snapshots of the column being trained
# left-to-right order of a default comparison: the bottleneck first, then the scores
_ORDER = ("none", "dot", "scaled_dot", "general", "bahdanau", "transformer")
# which to pick first for a default comparison: the bottleneck, then one of each family
_PICK = ("none", "bahdanau", "dot", "transformer", "general", "scaled_dot")


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class PresetInfo:
    key: str
    path: Path
    name: str
    kind: str
    attention: str  # "transformer" for a Transformer

    @property
    def label(self) -> str:
        what = "Transformer (cross-attention)" if self.kind == "transformer" else f"{self.attention} attention"
        if self.attention == "none":
            what = "no attention (fixed context)"
        return f"{self.key} — {what}"


def _rank(info: PresetInfo) -> int:
    return _ORDER.index(info.attention) if info.attention in _ORDER else len(_ORDER)


def families() -> list[tuple[tuple[tuple[str, str], ...], list[PresetInfo]]]:
    """Presets grouped by identical pairs: [(pairs, [PresetInfo…])], largest groups first.

    A broken preset file is skipped (the window reports it where it is listed)."""
    from .presets import PresetError, list_presets, load_preset

    groups: dict[tuple[tuple[str, str], ...], dict[str, PresetInfo]] = {}
    for key, path, _user in list_presets():
        try:
            p = load_preset(path)
        except (PresetError, OSError):
            continue
        pairs = tuple((x.source, x.target) for x in p.pairs)
        att = "transformer" if p.model.kind == "transformer" else p.model.attention
        groups.setdefault(pairs, {})[key] = PresetInfo(key, Path(path), p.name, p.model.kind, att)  # user wins
    out = [(pairs, sorted(g.values(), key=lambda i: (_rank(i), i.key))) for pairs, g in groups.items()]
    out.sort(key=lambda fg: (-len(fg[1]), fg[1][0].key))
    return out


def default_columns(members: list[PresetInfo], current: str | None = None, n: int = 3) -> list[str]:
    """Up to ``n`` presets of a family: ``current`` plus the most telling others, in
    bottleneck → scores → Transformer order."""
    chosen: list[PresetInfo] = [m for m in members if m.key == current][:1]
    seen_att = {m.attention for m in chosen}
    by_pick = sorted(members, key=lambda i: (_PICK.index(i.attention) if i.attention in _PICK else len(_PICK),
                                             i.key))
    for m in by_pick:  # one per kind of attention first
        if len(chosen) >= n:
            break
        if m not in chosen and m.attention not in seen_att:
            chosen.append(m)
            seen_att.add(m.attention)
    for m in members:
        if len(chosen) >= n:
            break
        if m not in chosen:
            chosen.append(m)
    chosen.sort(key=lambda i: (_rank(i), i.key))
    keys = [m.key for m in chosen]
    while len(keys) < MIN_COLUMNS and keys:  # a family of one: the same model twice
        keys.append(keys[-1])
    return keys


# --------------------------------------------------------------------------- Train all


@dataclass(frozen=True)
class TraceRequest:
    """Which sentence a worker traces for its snapshots, and how (training and Train all)."""

    source: str
    target: str | None
    mode: str


@dataclass(frozen=True)
class ColumnSnapshot:
    column: int
    trace: "Trace | None"
    step: int  # training steps done
    total: int
    exact_match: float | None
    loss: float | None
    status: str  # "training" | "done" | "stopped" | "nonfinite" | "waiting"
    message: str = ""
    error: str | None = None


@dataclass(frozen=True)
class TrainAllOutcome:
    bundles: list  # the trained bundles, one per column
    started: frozenset  # columns whose training began
    error: str | None = None


def merge_columns(old: dict, new: dict) -> dict:
    return {**old, **new}  # the newest snapshot per column


class TrainAllJob:
    """The "Train all" task: trains each bundle in turn with :meth:`Trainer.run` and reports
    ``{column: ColumnSnapshot}`` (newest per column). Qt-free; ``set_request`` is thread-safe."""

    def __init__(self, bundles: list["Bundle"], request: TraceRequest, *, device: str = "auto",
                 steps: int | None = None) -> None:
        self.bundles = list(bundles)
        self._device, self._steps = device, steps
        self._lock = threading.Lock()
        self._request = request
        self._request_changed = False
        self._state: dict[int, tuple] = {}  # column -> (step, total, exact, loss, status, message)

    def set_request(self, request: TraceRequest) -> None:
        with self._lock:
            self._request = request
            self._request_changed = True

    def _snapshot(self, col: int) -> ColumnSnapshot:
        from .trace import trace

        with self._lock:
            req = self._request
        tr, err = None, None
        try:
            tr = trace(self.bundles[col], req.source, req.target, mode=req.mode)
        except Exception as e:  # noqa: BLE001 - a bad sentence must not stop training
            err = str(e)
        step, total, exact, loss, status, message = self._state.get(col, (0, 0, None, None, "waiting", ""))
        return ColumnSnapshot(col, tr, step, total, exact, loss, status, message, err)

    def _retrace_all_if_asked(self, progress) -> None:
        with self._lock:
            changed, self._request_changed = self._request_changed, False
        if changed:
            progress({c: self._snapshot(c) for c in range(len(self.bundles))})

    def __call__(self, progress, should_stop) -> TrainAllOutcome:
        from .train import Trainer

        error = None
        try:
            for col, bundle in enumerate(self.bundles):
                if should_stop():
                    break
                trainer = Trainer(bundle, steps=self._steps, device=self._device)
                self.bundles[col] = trainer.bundle
                total = trainer.total_steps
                self._state[col] = (0, total, None, None, "training", "")
                progress({col: self._snapshot(col)})
                last = [time.perf_counter()]

                def on_step(m, col=col, total=total) -> None:
                    self._state[col] = (m.step, total, m.exact_match, m.loss, "training", "")
                    self._retrace_all_if_asked(progress)
                    if time.perf_counter() - last[0] >= SNAPSHOT_EVERY:
                        progress({col: self._snapshot(col)})
                        last[0] = time.perf_counter()

                result = trainer.run(progress=on_step, should_stop=should_stop, final_evaluation=False)
                m = result.metrics
                step = m.step if m is not None else trainer.step_count
                exact = m.exact_match if m is not None else None
                loss = m.loss if m is not None else None
                if result.status == "nonfinite":
                    self._state[col] = (trainer.step_count, total, None, None, "nonfinite", result.message)
                else:
                    self._state[col] = (step, total, exact, loss, result.status, "")
                progress({col: self._snapshot(col)})
            self._retrace_all_if_asked(progress)
        except Exception as e:  # noqa: BLE001 - shown in the view, never a crash
            error = f"{type(e).__name__}: {e}"
        return TrainAllOutcome(self.bundles, frozenset(self._state), error)
