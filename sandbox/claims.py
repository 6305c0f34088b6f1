"""Lecture claims: what a slide says the model does, as data, checked against a Trace.

A slide's ``[[slides.expect]]`` entry (the "Lecture claims" contract in DESIGN.md) says
"at decoder step ``step`` (producing ``token``) the largest ``kind`` attention weight lies on
one of ``attends``, and together they hold at least ``min_weight``". :func:`check_claim`
measures that on a :class:`~sandbox.trace.Trace`; the presenter, the lecture editor and
``main.py lecture NAME --check`` all use it, so they can never disagree.

Which weights are read:

- ``cross``: the decoder step's cross-attention; keys are the source tokens (``<eos>``
  included, ``<unk>`` where the model saw one).
- ``masked_self``: the decoder step's masked self-attention; keys are the decoder inputs
  (``<sos>`` and the tokens fed so far).
- ``self``: encoder self-attention; ``step`` is the query's source position and keys are
  the source tokens.
- Transformer: ``layer`` defaults to the last layer; with no ``head`` the heads of that
  layer are averaged (the mean of their softmax weights, so the result still sums to 1).
  Seq2seq models have one attention (layer 0, head 0).

``token`` is the gold token at that step under teacher forcing and the model's own
prediction under free running (for ``self``: the source token at that position).
A token that occurs twice counts at every position it occupies.

No Qt, no torch: a Trace is numpy already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .text import normalize

if TYPE_CHECKING:  # pragma: no cover
    from .trace import Trace

__all__ = ["KINDS", "MAX_ATTENDS", "Expect", "ClaimResult", "claim_weights", "check_claim",
           "claim_from_view", "describe_expect"]

KINDS = ("cross", "masked_self", "self")
MAX_ATTENDS = 20


@dataclass(frozen=True)
class Expect:
    """One claim. ``layer``/``head`` None: the last layer, heads averaged."""

    step: int
    attends: tuple[str, ...]
    token: str | None = None
    min_weight: float | None = None
    kind: str = "cross"
    layer: int | None = None
    head: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.attends, (list, str)):
            object.__setattr__(self, "attends", (self.attends,) if isinstance(self.attends, str)
                               else tuple(self.attends))


@dataclass(frozen=True)
class ClaimResult:
    """What :func:`check_claim` measured. ``weights`` are over ``keys`` (empty when the
    weights could not be read; ``reason`` then says why)."""

    expect: Expect
    holds: bool
    reason: str  # "" when the claim holds
    keys: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    token: str | None = None  # the token at that step in the trace
    share: float = 0.0  # the listed tokens' weights together

    def measured(self, top: int = 4) -> str:
        """The largest weights, e.g. ``고양이다 0.54, <eos> 0.46, 작은 0.00``."""
        if not self.weights:
            return "no weights"
        order = np.argsort(-np.asarray(self.weights), kind="stable")[:top]
        return ", ".join(f"{self.keys[j]} {self.weights[j]:.2f}" for j in order)

    def summary(self) -> str:
        """One line: the claim, then what was measured and why it fails."""
        line = describe_expect(self.expect)
        if self.holds:
            return f"{line}: holds ({self.measured()})"
        return f"{line}: FAILS, {self.reason} (measured: {self.measured()})"


def describe_expect(e: Expect) -> str:
    """A claim in words: ``step 3 'small': cross on 작은 ≥ 0.5 (last layer, heads averaged)``."""
    tok = f" {e.token!r}" if e.token is not None else ""
    where = "position" if e.kind == "self" else "step"
    need = f" ≥ {e.min_weight:g}" if e.min_weight is not None else ""
    targets = " or ".join(e.attends)
    lh = []
    if e.layer is not None:
        lh.append(f"layer {e.layer}")
    if e.head is not None:
        lh.append(f"head {e.head}")
    suffix = f" ({', '.join(lh)})" if lh else ""
    return f"{where} {e.step}{tok}: {e.kind.replace('_', ' ')} attention on {targets}{need}{suffix}"


def _records(trace: "Trace", e: Expect):
    """(records of the chosen layer and head(s), key tokens, token at the step) or a reason."""
    if e.kind == "self":
        n = len(trace.source_tokens)
        if not 0 <= e.step < n:
            return None, f"the source has {n} tokens (positions 0 to {n - 1}), no position {e.step}"
        pool = [r for r in trace.encoder if r.position == e.step]
        keys = tuple(trace.source_tokens)
        token = trace.source_tokens[e.step]
    else:
        n = len(trace.steps)
        if not 0 <= e.step < n:
            return None, f"the trace has {n} decoder step(s), no step {e.step}"
        st = trace.steps[e.step]
        pool = [r for r in st.attention if r.kind == e.kind]
        if e.kind == "cross":
            keys = tuple(trace.source_tokens)
        else:
            keys = tuple(s.input_token for s in trace.steps)
        token = st.gold if trace.mode == "teacher_forcing" else st.predicted
    if not pool:
        if e.kind == "cross":
            return None, f"the model has no cross attention (attention = {trace.model.get('attention', 'none')})"
        return None, f"the model has no {e.kind.replace('_', ' ')} attention (only a Transformer has)"
    layers = sorted({r.layer for r in pool})
    layer = layers[-1] if e.layer is None else e.layer
    pool = [r for r in pool if r.layer == layer]
    if not pool:
        return None, f"the model has no layer {layer} (layers 0 to {layers[-1]})"
    if e.head is not None:
        heads = sorted({r.head for r in pool})
        pool = [r for r in pool if r.head == e.head]
        if not pool:
            return None, f"layer {layer} has no head {e.head} (heads 0 to {heads[-1]})"
    return (pool, keys, token), ""


def claim_weights(trace: "Trace", e: Expect) -> tuple[tuple[str, ...], np.ndarray, str | None] | str:
    """(key tokens, weights over them, token at the step) for a claim, or why they cannot
    be read. Weights: one head's, or the mean over the layer's heads."""
    got, reason = _records(trace, e)
    if got is None:
        return reason
    pool, keys, token = got
    w = np.mean(np.stack([np.asarray(r.weights, np.float64) for r in pool]), axis=0)
    n = min(len(keys), w.shape[0])
    return tuple(keys[:n]), w[:n], token


def check_claim(trace: "Trace", e: Expect) -> ClaimResult:
    """Does ``trace`` do what ``e`` says? The largest weight must lie on a listed token,
    the token at the step must be ``e.token`` (when given), and the listed tokens' weights
    together must reach ``e.min_weight`` (when given)."""
    got = claim_weights(trace, e)
    if isinstance(got, str):
        return ClaimResult(e, False, got)
    keys, w, token = got
    want = {normalize(a) for a in e.attends}
    on = np.array([normalize(k) in want for k in keys], bool)
    share = float(w[on].sum()) if on.any() else 0.0
    listed = " / ".join(e.attends)
    gets = f"{listed} get {share:.2f} together" if len(e.attends) > 1 else f"{listed} gets {share:.2f}"
    res = dict(keys=keys, weights=tuple(float(x) for x in w), token=token, share=share)
    if e.token is not None and (token is None or normalize(token) != normalize(e.token)):
        said = "the gold token" if trace.mode == "teacher_forcing" else "the model predicts"
        if e.kind == "self":
            said = "the source token is"
        return ClaimResult(e, False, f"at {e.step} {said} {token!r}, not {e.token!r}", **res)
    if not on.any():
        return ClaimResult(e, False, f"{listed} is not among the keys "
                                     f"({' '.join(keys)})", **res)
    top = float(w.max())
    if not on[np.isclose(w, top, rtol=0, atol=1e-7)].any():
        best = keys[int(np.argmax(w))]
        return ClaimResult(e, False, f"the largest weight is on {best} ({top:.2f}); {gets}", **res)
    if e.min_weight is not None and share < e.min_weight:
        return ClaimResult(e, False, f"{gets}, less than {e.min_weight:g}", **res)
    return ClaimResult(e, True, "", **res)


def claim_from_view(trace: "Trace", step: int, kind: str = "cross", layer: int | None = None,
                    head: int | None = None) -> Expect:
    """A claim that states what ``trace`` shows at ``step``: the token there and the key
    token(s) holding the largest weight (ties all listed). ``min_weight`` is left out: the
    author adds it if the slide says "nearly all". Raises ValueError when there is nothing
    to read at that step (e.g. a model without attention)."""
    if kind not in KINDS:
        raise ValueError(f"unknown attention kind {kind!r}; allowed: {', '.join(KINDS)}")
    probe = Expect(step=step, attends=("?",), kind=kind, layer=layer, head=head)
    got = claim_weights(trace, probe)
    if isinstance(got, str):
        raise ValueError(got)
    keys, w, token = got
    top = float(w.max())
    best: list[str] = []
    for k, x in zip(keys, w):
        if abs(float(x) - top) <= 1e-7 and k not in best:
            best.append(k)
    return Expect(step=step, attends=tuple(best), token=token, kind=kind, layer=layer, head=head)


def first_failure(results: Sequence[ClaimResult]) -> ClaimResult | None:
    return next((r for r in results if not r.holds), None)
