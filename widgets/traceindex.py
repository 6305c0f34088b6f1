"""Everything the views look up in a Trace, computed once per trace (numpy only, no Qt).

A Trace is immutable, so a view keeps one :class:`TraceIndex` per trace and reuses the
matrices, masks, labels and colour levels on every step: stepping then only copies small
arrays and never walks the records again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sandbox.attention import AttentionRecord
    from sandbox.trace import Step, Trace

KINDS = ("cross", "masked_self", "self")
KIND_TITLES = {"cross": "cross attention", "masked_self": "masked decoder self-attention",
               "self": "encoder self-attention"}


class TraceIndex:
    def __init__(self, trace: "Trace") -> None:
        self.trace = trace
        model = trace.model or {}
        self.is_transformer = model.get("kind") == "transformer"
        self.layers = int(model.get("layers", 1)) if self.is_transformer else 1
        self.heads = int(model.get("heads", 1)) if self.is_transformer else 1
        self.score = None
        self.records: dict[tuple[str, int, int, int], "AttentionRecord"] = {}
        for r in trace.encoder:
            self.records[("self", r.layer, r.head, r.position)] = r
        for s in trace.steps:
            for r in s.attention:
                self.records[(r.kind, r.layer, r.head, r.position)] = r
                self.score = self.score or r.score
        self.has_attention = any(k[0] == "cross" for k in self.records)
        self.n_steps = len(trace.steps)
        self.has_gold = trace.target_tokens is not None
        self.offgold_rows = tuple(s.t for s in trace.steps if self.has_gold and s.off_gold)
        self.first_offgold = self.offgold_rows[0] if self.offgold_rows else None
        self._matrix: dict[tuple[str, int, int], np.ndarray] = {}
        self._mask: dict[tuple[str, int, int], np.ndarray] = {}
        self._erange: dict[tuple[str, int, int], tuple[float, float]] = {}
        self._vlevels: dict[tuple[str, int, int], tuple[float, float]] = {}

    # -- records ------------------------------------------------------------------------
    def record(self, kind: str, layer: int, head: int, position: int) -> "AttentionRecord | None":
        return self.records.get((kind, layer, head, position))

    def head_records(self, kind: str, layer: int, position: int) -> list["AttentionRecord"]:
        out = []
        for h in range(self.heads):
            r = self.records.get((kind, layer, h, position))
            if r is not None:
                out.append(r)
        return out

    def step(self, t: int) -> "Step":
        return self.trace.steps[t]

    # -- matrices -----------------------------------------------------------------------
    def matrix(self, kind: str, layer: int, head: int) -> np.ndarray:
        key = (kind, layer, head)
        m = self._matrix.get(key)
        if m is None:
            m = np.ascontiguousarray(self.trace.attention_matrix(kind, layer, head), dtype=np.float32)
            self._matrix[key] = m
        return m

    def mask(self, kind: str, layer: int, head: int) -> np.ndarray:
        """True where a record says a query may not attend (its energy is -inf: the causal
        future of a teacher-forced Transformer, padding, a hidden source token): drawn
        hatched. Read from the records, never from a rule; a free-running step has no key
        for later positions at all, so those cells are left blank, not hatched."""
        key = (kind, layer, head)
        m = self._mask.get(key)
        if m is None:
            full = self.matrix(kind, layer, head)
            m = np.zeros(full.shape, bool)
            for (k, l, h, pos), r in self.records.items():
                if k == kind and l == layer and h == head and 0 <= pos < m.shape[0]:
                    n = min(r.energies.shape[0], m.shape[1])
                    m[pos, :n] |= np.isneginf(r.energies[:n])
            self._mask[key] = m
        return m

    def energy_range(self, kind: str, layer: int, head: int) -> tuple[float, float]:
        """The x range for energy bars: every finite energy of this head, and 0."""
        key = (kind, layer, head)
        rng = self._erange.get(key)
        if rng is None:
            lo, hi = 0.0, 0.0
            for (k, l, h, _), r in self.records.items():
                if k == kind and l == layer and h == head:
                    e = r.energies[np.isfinite(r.energies)]
                    if e.size:
                        lo, hi = min(lo, float(e.min())), max(hi, float(e.max()))
            span = max(hi - lo, 1e-6)
            rng = (lo - (0.08 * span if lo < 0 else 0.0), hi + 0.45 * span)
            self._erange[key] = rng
        return rng

    def vector_levels(self, kind: str, layer: int) -> tuple[float, float]:
        """Symmetric colour levels for q, K, V and outputs of one attention (all heads)."""
        key = (kind, layer, 0)
        lv = self._vlevels.get(key)
        if lv is None:
            m = 0.0
            for (k, l, _, _), r in self.records.items():
                if k == kind and l == layer:
                    for a in (r.query, r.keys, r.values, r.output):
                        if a.size:  # finite entries only: an overflow's NaN/inf has no colour
                            m = max(m, float(np.abs(a[np.isfinite(a)]).max(initial=0.0)))
            lv = (-(m or 1.0), m or 1.0)
            self._vlevels[key] = lv
        return lv

    # -- labels -------------------------------------------------------------------------
    def step_label(self, t: int) -> str:
        s = self.trace.steps[t]
        if s.forced is not None:  # What-if: the row passed on the token the user chose
            return f"{s.forced} (forced)"
        if self.trace.mode == "teacher_forcing" and s.gold is not None:
            return s.gold
        return s.output_token  # the prediction, or a beam's token

    def row_labels(self, kind: str) -> list[str]:
        if kind == "self":
            return [f"{i} {tok}" for i, tok in enumerate(self.trace.source_tokens)]
        return [f"{t} {self.step_label(t)}" for t in range(self.n_steps)]

    def col_labels(self, kind: str) -> list[str]:
        if kind == "masked_self":
            return [s.input_token for s in self.trace.steps]
        return list(self.trace.source_tokens)

    def key_tokens(self, kind: str, position: int) -> list[str]:
        if kind == "masked_self":  # as many keys as the record holds (all of them under teacher forcing)
            rec = self.record(kind, 0, 0, position)
            n = rec.energies.shape[0] if rec is not None else position + 1
            return [s.input_token for s in self.trace.steps[:n]]
        return list(self.trace.source_tokens)

    def rows(self, kind: str) -> int:
        return len(self.trace.source_tokens) if kind == "self" else self.n_steps
