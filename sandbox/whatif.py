"""What-if: force a token, pin or hide attention, and beam search (no Qt).

An :class:`Interventions` value is passed explicitly to :func:`sandbox.trace.trace`:

- ``force {T: token}``: step T passes ``token`` on instead of its argmax. The step keeps the
  model's own ``predicted`` and adds ``forced``; step T+1 reads the token with
  ``input_from = "forced"``. Free running decodes on from it; teacher forcing feeds it in
  place of the gold token at T+1 and goes back to gold after.
- ``pins``: at step T every cross attention (or one layer / head of a Transformer) puts all
  its weight on source token J: weights one-hot, output = values[J] exactly. The record keeps
  the weights the model computed as ``original_weights``.
- ``hide {J}``: source token J is masked for every cross attention, like padding: energy
  -inf, weight exactly 0; the other weights still sum to 1.

Pins and hides act inside :func:`sandbox.attention.attend` (through
:func:`~sandbox.attention.editing`), so a record is always the tensors the model used.

:func:`beam_search` keeps the ``width`` best hypotheses by log-probability (the sum of the
chosen tokens' log-probabilities; no length penalty unless asked) and traces each beam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .interventions import Interventions, Pin, WhatIfError, check_interventions, parse_step_value

__all__ = ["Interventions", "Pin", "WhatIfError", "check_interventions", "parse_step_value",
           "BeamNode", "Beam", "BeamResult", "beam_search", "beam_trace", "BEAM_FORMAT"]

if TYPE_CHECKING:
    from .model import Bundle
    from .trace import Trace

BEAM_FORMAT = "attention-sandbox/beam@1"
MAX_BEAM_WIDTH = 64


# ==================================================================== beam search
@dataclass(frozen=True)
class BeamNode:
    """One candidate the search scored: ``parent`` is the index of the node it extends
    (-1 for the start). ``status``: ``kept`` (in the beam), ``finished`` (kept, ended with
    ``<eos>``) or ``pruned`` (scored but not among the best ``width``)."""

    step: int
    parent: int
    token: str
    log_prob: float  # this token's log-probability
    total: float  # the hypothesis' log-probability up to and including this token
    status: str


@dataclass(frozen=True)
class Beam:
    tokens: tuple[str, ...]
    log_prob: float
    finished: bool
    node: int  # the BeamNode of its last token (-1: the greedy path, added back)
    score: float  # what the beams are ranked by (log_prob, or length-normalised)
    trace: "Trace | None" = None
    ids: tuple[int, ...] = ()  # the tokens as target-vocabulary ids


def beam_trace(bundle: "Bundle", source: str, beam: Beam) -> "Trace":
    """The trace along ``beam`` (free running, passing on the beam's tokens): what
    :func:`beam_search` attaches with ``traces=True``; the window makes it on demand."""
    from .trace import trace

    return beam.trace if beam.trace is not None else trace(bundle, source, mode="free_running",
                                                           follow=list(beam.ids))


@dataclass(frozen=True)
class BeamResult:
    source: str
    width: int
    length_penalty: float
    beams: tuple[Beam, ...]  # best first
    nodes: tuple[BeamNode, ...]
    greedy_kept: bool  # False when the search had pruned the greedy path and it was added back

    def to_json(self, preset: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"format": BEAM_FORMAT}
        if preset is not None:
            out["preset"] = preset
        out["source"] = self.source
        out["width"] = self.width
        if self.length_penalty:
            out["length_penalty"] = self.length_penalty
        out["beams"] = []
        for b in self.beams:
            item: dict[str, Any] = {"tokens": list(b.tokens), "log_prob": b.log_prob,
                                    "finished": b.finished}
            if self.length_penalty:
                item["score"] = b.score
            item["trace"] = b.trace.to_json() if b.trace is not None else None
            out["beams"].append(item)
        return out


def _rank(log_prob: float, length: int, alpha: float) -> float:
    return log_prob / (length ** alpha) if alpha else log_prob


def beam_search(bundle: "Bundle", source: str, width: int, *, max_len: int | None = None,
                length_penalty: float = 0.0, traces: bool = True) -> BeamResult:
    """The ``width`` best decodes of ``source`` by summed log-probability, best first.

    Each step extends every live hypothesis by its ``width`` most probable tokens (ties in
    the order the greedy decode breaks them) and keeps the best ``width`` candidates
    overall; one that ends in ``<eos>`` is finished and keeps its place, so at most
    ``width`` beams come back. ``length_penalty`` α ranks by log_prob / length^α (0: none).
    Plain beam search can prune the greedy path and end below it; the greedy decode is
    therefore always a candidate, so the best beam is never worse than greedy
    (``greedy_kept`` says whether the search had kept it by itself). Width 1 is the greedy
    decode. ``traces``: trace each beam (free running along its tokens); without them the
    search alone runs (:func:`beam_trace` makes one later).
    """
    import torch

    from .trace import MAX_STEPS, default_max_len, trace
    from .vocab import encode_sentence

    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_BEAM_WIDTH:
        raise WhatIfError(f"beam width must be a whole number from 1 to {MAX_BEAM_WIDTH}, got {width!r}")
    if not (isinstance(length_penalty, (int, float)) and math.isfinite(length_penalty)
            and 0 <= length_penalty <= 5):
        raise WhatIfError(f"length penalty must be from 0 to 5, got {length_penalty!r}")
    p = bundle.preset
    src = encode_sentence(source, bundle.src_vocab, p.tokenizer.source)
    if len(src.ids) <= 1:
        raise ValueError("the source sentence is empty")
    if max_len is not None and not 1 <= max_len <= MAX_STEPS:
        raise ValueError(f"max_len must be from 1 to {MAX_STEPS}, got {max_len}")
    n_max = max_len or default_max_len(len(src.ids))
    vocab = bundle.tgt_vocab
    model = bundle.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            mem = model.encode(torch.tensor([src.ids], device=bundle.device), None)
            found, nodes = _search(model, mem, vocab, width, n_max, length_penalty, bundle.device)
            # The greedy decode, scored the same way, is always a candidate (see above).
            greedy = _search(model, mem, vocab, 1, n_max, 0.0, bundle.device)[0][0] if width > 1 else found[0]
    finally:
        model.train(was_training)
    greedy_kept = any(b[0] == greedy[0] for b in found)
    if not greedy_kept:
        found.append((greedy[0], greedy[1], -1, greedy[3]))
    ranked = sorted(found, key=lambda b: -_rank(b[1], len(b[0]), length_penalty))[:width]
    beams = []
    for ids, tot, node, fin in ranked:
        tr = trace(bundle, source, mode="free_running", follow=ids) if traces else None
        beams.append(Beam(tokens=tuple(vocab.token(i) for i in ids), log_prob=float(tot), finished=fin,
                          node=node, score=float(_rank(tot, len(ids), length_penalty)), trace=tr,
                          ids=tuple(ids)))
    return BeamResult(source=source, width=width, length_penalty=float(length_penalty),
                      beams=tuple(beams), nodes=tuple(nodes), greedy_kept=greedy_kept)


def _search(model, mem, vocab, width: int, n_max: int, alpha: float, device):
    """The search itself: ([(ids, log_prob, node, finished)], nodes)."""
    import numpy as np
    import torch

    from .vocab import EOS_ID, SOS_ID

    nodes: list[BeamNode] = []
    done: list[tuple[list[int], float, int, bool]] = []
    carry = model.beam_start(mem)
    live: list[tuple[list[int], float, int]] = [([], 0.0, -1)]
    tokens = torch.tensor([SOS_ID], device=device)
    for t in range(n_max):
        logits, carry = model.beam_step(mem, carry, tokens, t)
        logits = logits.float()
        probs = torch.softmax(logits, dim=-1).cpu().numpy()  # what the greedy decode ranks by
        logp = torch.log_softmax(logits.double(), dim=-1).cpu().numpy()
        cands = []  # (rank, total, order, hypothesis, token id, token log-prob)
        for i, (ids, total, _) in enumerate(live):
            for k, tok in enumerate(np.argsort(-probs[i], kind="stable")[:width]):
                lp = float(logp[i, tok])
                tot = total + lp
                cands.append((_rank(tot, len(ids) + 1, alpha), tot, i * width + k, i, int(tok), lp))
        cands.sort(key=lambda c: (-c[0], c[2]))
        room = width - len(done)
        new_live, sel = [], []
        for _, tot, _, i, tok, lp in cands[:room]:
            ids, _, parent = live[i]
            finished = tok == EOS_ID
            nodes.append(BeamNode(t, parent, vocab.token(tok), lp, tot, "finished" if finished else "kept"))
            if finished:
                done.append((ids + [tok], tot, len(nodes) - 1, True))
            else:
                new_live.append((ids + [tok], tot, len(nodes) - 1))
                sel.append(i)
        for _, tot, _, i, tok, lp in cands[room:]:
            nodes.append(BeamNode(t, live[i][2], vocab.token(tok), lp, tot, "pruned"))
        live = new_live
        if not live:
            break
        carry = model.beam_select(carry, torch.tensor(sel, device=device))
        tokens = torch.tensor([ids[-1] for ids, _, _ in live], device=device)
    found = done + [(ids, tot, node, False) for ids, tot, node in live]
    found.sort(key=lambda b: -_rank(b[1], len(b[0]), alpha))
    return found, nodes
