"""Training history as small weight snapshots, re-traceable at any point (no Qt).

These models are tens of kilobytes, so a copy of the ``state_dict`` every few steps costs
little, and keeping weights (rather than one trace per point) means any sentence, either
mode, and any explanation can be looked at as the model was at that point of training:
switching teacher forcing / free running or the pair never throws the history away.

:func:`snapshot_weights` copies the weights (CPU, detached; call it on the thread that
trains, between steps). :class:`WeightHistory` holds the snapshots in training order and
builds, on demand and cached, a :class:`~sandbox.model.Bundle` with the weights of one
point (:meth:`~WeightHistory.bundle_at`) and its traces (:meth:`~WeightHistory.trace_at`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .model import Bundle
    from .trace import Trace

__all__ = ["WeightSnapshot", "WeightHistory", "snapshot_weights"]


def snapshot_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of ``model.state_dict()`` that later training cannot change."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@dataclass(frozen=True, eq=False)
class WeightSnapshot:
    """The model's weights after ``step`` of ``total`` training steps."""

    step: int
    total: int
    weights: dict[str, torch.Tensor]
    metrics: Any = None  # sandbox.train.Metrics at that step, when known

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.weights.values())


class WeightHistory:
    """Weight snapshots of one model, oldest first; re-traces any of them on demand.

    ``like`` (a Bundle of the same preset and vocabularies) gives the architecture; the
    snapshot gives the numbers. Bundles built here live on the CPU and are never trained.
    Thread-safe for one writer (``add``) and readers.
    """

    def __init__(self, cache_traces: int = 16, cache_bundles: int = 4) -> None:
        self._items: list[WeightSnapshot] = []
        self._lock = threading.Lock()
        self._bundles: OrderedDict[int, "Bundle"] = OrderedDict()
        self._traces: OrderedDict[tuple, "Trace"] = OrderedDict()
        self._max_traces, self._max_bundles = cache_traces, cache_bundles

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> WeightSnapshot:
        return self._items[i]

    def __iter__(self):
        return iter(list(self._items))

    def add(self, snap: WeightSnapshot) -> None:
        with self._lock:
            self._items.append(snap)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bundles.clear()
            self._traces.clear()

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._items)

    def bundle_at(self, i: int, like: "Bundle") -> "Bundle":
        """A CPU Bundle with ``like``'s preset and vocabularies and snapshot ``i``'s weights."""
        from .model import Bundle, build_model

        snap = self._items[i]
        key = id(snap)
        with self._lock:
            b = self._bundles.get(key)
            if b is not None and b.src_vocab == like.src_vocab and b.tgt_vocab == like.tgt_vocab:
                self._bundles.move_to_end(key)
                return b
        model = build_model(like.preset, like.src_vocab, like.tgt_vocab)
        model.load_state_dict(snap.weights, strict=True)
        model.eval()
        b = Bundle(like.preset, like.src_vocab, like.tgt_vocab, model)
        with self._lock:
            self._bundles[key] = b
            while len(self._bundles) > self._max_bundles:
                self._bundles.popitem(last=False)
        return b

    def trace_at(self, i: int, like: "Bundle", source: str, target: str | None, mode: str,
                 **kw: Any) -> "Trace":
        """The trace of one sentence as the model was at snapshot ``i`` (cached). ``kw`` go
        to :func:`sandbox.trace.trace`. Raises what ``trace`` raises (ValueError)."""
        from .trace import trace

        key = (id(self._items[i]), source, target, mode, tuple(sorted(kw.items())) if kw else ())
        with self._lock:
            tr = self._traces.get(key)
            if tr is not None:
                self._traces.move_to_end(key)
                return tr
        tr = trace(self.bundle_at(i, like), source, target, mode=mode, **kw)
        with self._lock:
            self._traces[key] = tr
            while len(self._traces) > self._max_traces:
                self._traces.popitem(last=False)
        return tr

    def seed_trace(self, i: int, source: str, target: str | None, mode: str, tr: "Trace") -> None:
        """Remember a trace already made at snapshot ``i`` (the trainer's own), so showing
        that point for the same sentence costs nothing."""
        key = (id(self._items[i]), source, target, mode, ())
        with self._lock:
            self._traces[key] = tr
            while len(self._traces) > self._max_traces:
                self._traces.popitem(last=False)
