"""The one attention path every model calls, and the records it leaves behind.

:func:`attend` scores, masks, normalises and sums. Every attention in both the seq2seq
models and the Transformer goes through it, so when a :func:`recording` is active the
:class:`AttentionRecord` objects it emits hold exactly the tensors the model used — the
numbers on screen are the model's numbers, not a re-implementation.

Shapes follow PyTorch's own convention (batch first, heads second)::

    query  (B, H, L, d_q)      L query positions
    keys   (B, H, S, d_k)      S key positions
    values (B, H, S, d_v)
    mask   broadcastable to (B, H, L, S); True means "may NOT attend" (as in
           torch.nn.MultiheadAttention's boolean masks)

Records are taken before dropout; tracing runs in eval mode under ``torch.no_grad``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

SCORES = ("dot", "scaled_dot", "general", "bahdanau")
RECORD_KINDS = ("cross", "self", "masked_self")


@dataclass(frozen=True, eq=False)
class AttentionRecord:
    """One query position of one head: every tensor :func:`attend` used, as float32 numpy.

    ``terms`` holds what a view needs to show the arithmetic of a score:
    ``scaled_dot`` -> ``scale`` (1/sqrt(d)); ``general`` -> ``Wk`` (T, d_q), row j = W·k_j;
    ``bahdanau`` -> ``W1h`` (T, d_a), ``W2s`` (d_a,), ``tanh`` (T, d_a) = tanh(W1h + W2s),
    ``v`` (d_a,).
    """

    kind: str
    layer: int
    head: int
    position: int
    score: str
    query: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    energies: np.ndarray
    weights: np.ndarray
    output: np.ndarray
    terms: dict[str, np.ndarray] = field(default_factory=dict)
    # A pinned record (What-if, see sandbox.whatif): ``weights`` is one-hot and ``output``
    # is values[J]; these are the weights the model itself computed from ``energies``.
    original_weights: np.ndarray | None = None

    @property
    def pinned(self) -> bool:
        return self.original_weights is not None

    def to_json(self) -> dict[str, Any]:
        """The record as the trace JSON writes it: nested lists, -inf as null."""
        out = {
            "kind": self.kind,
            "layer": self.layer,
            "head": self.head,
            "position": self.position,
            "score": self.score,
            "query": jsonable(self.query),
            "keys": jsonable(self.keys),
            "values": jsonable(self.values),
            "energies": jsonable(self.energies),
            "weights": jsonable(self.weights),
            "output": jsonable(self.output),
            "terms": {k: jsonable(v) for k, v in self.terms.items()},
        }
        if self.original_weights is not None:
            out["original_weights"] = jsonable(self.original_weights)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "AttentionRecord":
        """Inverse of :meth:`to_json` (null energies come back as -inf)."""

        def arr(x: Any) -> np.ndarray:
            return np.array(_nulls_to_neginf(x), dtype=np.float32)

        return cls(
            kind=obj["kind"], layer=int(obj["layer"]), head=int(obj["head"]),
            position=int(obj["position"]), score=obj["score"],
            query=arr(obj["query"]), keys=arr(obj["keys"]), values=arr(obj["values"]),
            energies=arr(obj["energies"]), weights=arr(obj["weights"]),
            output=arr(obj["output"]),
            terms={k: arr(v) for k, v in obj.get("terms", {}).items()},
            original_weights=(arr(obj["original_weights"]) if obj.get("original_weights") is not None
                              else None),
        )


def jsonable(a: Any) -> Any:
    """A numpy array or scalar as JSON-ready Python values, with -inf written as ``None``."""
    a = np.asarray(a)
    if a.ndim == 0:
        v = float(a)
        return None if v == -math.inf else v
    values = a.tolist()
    if np.isneginf(a).any():
        return _neginf_to_none(values)
    return values


def _neginf_to_none(x: Any) -> Any:
    if isinstance(x, list):
        return [_neginf_to_none(v) for v in x]
    return None if x == -math.inf else x


def _nulls_to_neginf(x: Any) -> Any:
    if isinstance(x, list):
        return [_nulls_to_neginf(v) for v in x]
    return -math.inf if x is None else x


class Recorder:
    """Collects :class:`AttentionRecord` objects while active (see :func:`recording`)."""

    def __init__(self) -> None:
        self.records: list[AttentionRecord] = []

    def take(self) -> list[AttentionRecord]:
        out, self.records = self.records, []
        return out


_ACTIVE: ContextVar[Recorder | None] = ContextVar("attention_recorder", default=None)


@contextmanager
def recording() -> Iterator[Recorder]:
    """Record every :func:`attend` call made inside the ``with`` block (batch size 1)."""
    rec = Recorder()
    token = _ACTIVE.set(rec)
    try:
        yield rec
    finally:
        _ACTIVE.reset(token)


def active_recorder() -> Recorder | None:
    return _ACTIVE.get()


# A lighter tap for whole batches: every attend() call inside tapping() appends
# (kind, layer, query_start, weights (B, H, L, S)) — the same weights the records hold,
# for scoring alignment over many sentences at once (sandbox.evaluate).
_TAP: ContextVar[list | None] = ContextVar("attention_tap", default=None)


@contextmanager
def tapping() -> Iterator[list]:
    """Collect ``(kind, layer, query_start, weights)`` of every :func:`attend` call, batched."""
    taps: list = []
    token = _TAP.set(taps)
    try:
        yield taps
    finally:
        _TAP.reset(token)


@dataclass(frozen=True)
class CrossEdit:
    """What-if edits :func:`attend` applies to every ``cross`` attention while active.

    ``hide``: key (source) indices masked like padding (energy -inf, weight exactly 0).
    ``pins``: ``(position, source, layer, head)``: the query at decoder step ``position``
    puts all its weight on key ``source`` (one-hot weights, output = values[source]) in
    ``layer`` / ``head`` (None = every layer / every head). The record keeps the weights
    the model computed as ``original_weights``. Built by :mod:`sandbox.whatif`.
    """

    hide: frozenset[int] = frozenset()
    pins: tuple[tuple[int, int, int | None, int | None], ...] = ()


_EDIT: ContextVar[CrossEdit | None] = ContextVar("attention_edit", default=None)


@contextmanager
def editing(edit: CrossEdit | None) -> Iterator[None]:
    """Apply ``edit`` to every cross attention computed inside the ``with`` block."""
    token = _EDIT.set(edit)
    try:
        yield
    finally:
        _EDIT.reset(token)


def _hide_mask(edit: CrossEdit, n_keys: int, device) -> torch.Tensor:
    m = torch.zeros(n_keys, dtype=torch.bool, device=device)
    for j in edit.hide:
        if 0 <= j < n_keys:
            m[j] = True
    return m  # (S,) broadcasts over (B, H, L, S)


def _pinned(edit: CrossEdit, heads: int, length: int, query_start: int,
            layer: int) -> list[tuple[int, int, int]]:
    """(head, row, source) for every weight row a pin replaces in this call."""
    out = []
    for position, source, p_layer, p_head in edit.pins:
        row = position - query_start
        if not 0 <= row < length or (p_layer is not None and p_layer != layer):
            continue
        for h in (range(heads) if p_head is None else (p_head,)):
            if 0 <= h < heads:
                out.append((h, row, source))
    return out


class GeneralScore(nn.Module):
    """Luong's weighted dot product: e_j = qᵀ W k_j (W maps key space to query space)."""

    def __init__(self, d_query: int, d_key: int) -> None:
        super().__init__()
        self.W = nn.Linear(d_key, d_query, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, dict]:
        wk = self.W(keys)  # (B, H, S, d_q)
        energies = query @ wk.transpose(-2, -1)  # (B, H, L, S)
        return energies, {"Wk": wk}


class AdditiveScore(nn.Module):
    """Bahdanau's additive score: e_j = vᵀ tanh(W1 h_j + W2 s)."""

    def __init__(self, d_query: int, d_key: int, d_attn: int) -> None:
        super().__init__()
        self.W1 = nn.Linear(d_key, d_attn, bias=False)
        self.W2 = nn.Linear(d_query, d_attn, bias=False)
        self.v = nn.Linear(d_attn, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, dict]:
        w1h = self.W1(keys)  # (B, H, S, d_a)
        w2s = self.W2(query)  # (B, H, L, d_a)
        hidden = torch.tanh(w1h.unsqueeze(-3) + w2s.unsqueeze(-2))  # (B, H, L, S, d_a)
        energies = self.v(hidden).squeeze(-1)  # (B, H, L, S)
        return energies, {"W1h": w1h, "W2s": w2s, "tanh": hidden, "v": self.v.weight[0]}


def attend(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    *,
    score: str,
    mask: torch.Tensor | None = None,
    scorer: nn.Module | None = None,
    kind: str = "cross",
    layer: int = 0,
    query_start: int = 0,
    dropout: nn.Module | None = None,
    record_from: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score, mask, softmax and sum. Returns ``(output (B,H,L,d_v), weights (B,H,L,S))``.

    ``scorer`` is the module holding the score's parameters (``general``, ``bahdanau``).
    ``query_start`` is the position of the first query row (a seq2seq decoder calls this
    once per step with L = 1). ``dropout`` is applied to the weights after recording.
    ``record_from``: query positions before it are not recorded (a Transformer decoder
    re-run on a prefix at step t passes t: the earlier rows were recorded at their own steps).
    Inside :func:`editing` a ``cross`` attention also applies the What-if edits (hidden keys
    are masked before the softmax; pinned rows get one-hot weights after it).
    """
    terms: dict[str, torch.Tensor] = {}
    if score == "dot":
        energies = query @ keys.transpose(-2, -1)
    elif score == "scaled_dot":
        energies = (query @ keys.transpose(-2, -1)) / math.sqrt(query.shape[-1])
    elif score in ("general", "bahdanau"):
        if scorer is None:
            raise ValueError(f"score {score!r} needs its scorer module")
        energies, terms = scorer(query, keys)
    else:
        raise ValueError(f"unknown score {score!r}; allowed: {', '.join(SCORES)}")
    edit = _EDIT.get() if kind == "cross" else None
    if edit is not None and edit.hide:
        hidden = _hide_mask(edit, energies.shape[-1], energies.device)
        mask = hidden if mask is None else (mask | hidden)
    if mask is not None:
        energies = energies.masked_fill(mask, float("-inf"))
    weights = torch.softmax(energies, dim=-1)
    original = None
    pins = _pinned(edit, query.shape[1], query.shape[2], query_start, layer) if edit is not None else []
    if pins:
        original = weights
        weights = weights.clone()
        for h, row, j in pins:
            weights[:, h, row] = 0.0
            weights[:, h, row, j] = 1.0
    attn = dropout(weights) if dropout is not None else weights
    output = attn @ values  # (B, H, L, d_v)
    for h, row, j in pins:
        output[:, h, row] = values[:, h, j]  # exactly values[J], whatever the matmul rounds
    tap = _TAP.get()
    if tap is not None:
        tap.append((kind, layer, query_start, weights.detach()))
    rec = _ACTIVE.get()
    if rec is not None:
        _record(rec, kind, layer, score, query, keys, values, energies, weights, output, terms,
                query_start, original, {(h, row) for h, row, _ in pins}, record_from)
    return output, weights


def _np(t: torch.Tensor) -> np.ndarray:
    """A float32 CPU copy. Always a copy: ``.numpy()`` of a CPU float32 tensor shares its
    memory, and some recorded tensors are parameters (Bahdanau's ``v``) that training goes
    on changing; a record must keep the numbers it was taken with."""
    return np.array(t.detach().to("cpu", torch.float32).numpy(), copy=True)


def _record(rec: Recorder, kind: str, layer: int, score: str, query, keys, values, energies, weights,
            output, terms: dict[str, torch.Tensor], query_start: int,
            original: torch.Tensor | None = None,
            pinned_rows: set[tuple[int, int]] = frozenset(), record_from: int = 0) -> None:
    if query.shape[0] != 1:
        raise ValueError("attention can only be recorded for a batch of one sentence")
    q, k, v, e, w, o = (_np(x)[0] for x in (query, keys, values, energies, weights, output))
    ow = _np(original)[0] if original is not None else None
    t_np = {name: _np(x) for name, x in terms.items()}
    heads, length = q.shape[0], q.shape[1]
    for h in range(heads):
        for l in range(length):
            pos = query_start + l
            if pos < record_from:
                continue
            rec_terms: dict[str, np.ndarray] = {}
            if score == "scaled_dot":
                rec_terms["scale"] = np.float32(1.0 / math.sqrt(q.shape[-1]))
            elif score == "general":
                rec_terms["Wk"] = t_np["Wk"][0, h]
            elif score == "bahdanau":
                rec_terms = {"W1h": t_np["W1h"][0, h], "W2s": t_np["W2s"][0, h, l],
                             "tanh": t_np["tanh"][0, h, l], "v": t_np["v"]}
            rec.records.append(AttentionRecord(
                kind=kind, layer=layer, head=h, position=pos, score=score,
                query=q[h, l], keys=k[h], values=v[h], energies=e[h, l], weights=w[h, l],
                output=o[h, l], terms=rec_terms,
                original_weights=ow[h, l] if (h, l) in pinned_rows else None))

