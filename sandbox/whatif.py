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

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .attention import CrossEdit

if TYPE_CHECKING:
    from .model import Bundle
    from .trace import Trace

BEAM_FORMAT = "attention-sandbox/beam@1"
MAX_BEAM_WIDTH = 64
NOT_OUTPUTS = ("<pad>", "<sos>")  # tokens no step may be forced to output


class WhatIfError(ValueError):
    """A What-if edit that cannot apply to this sentence or model; the message names it."""


@dataclass(frozen=True)
class Pin:
    """Step ``step``'s cross attention put wholly on source token ``source``.

    ``layer`` / ``head``: only that Transformer layer / head (None = all of them).
    """

    step: int
    source: int
    layer: int | None = None
    head: int | None = None

    def label(self) -> str:
        where = ""
        if self.layer is not None or self.head is not None:
            where = (f" (layer {'all' if self.layer is None else self.layer}, "
                     f"head {'all' if self.head is None else self.head})")
        return f"pin {self.step}={self.source}{where}"


@dataclass(frozen=True)
class Interventions:
    """The What-if edits of one trace. Immutable; the ``with_*`` methods return new values.

    ``force``: {decoder step: output token}; ``pins``: :class:`Pin` values (at most one per
    step, layer and head); ``hide``: source token indices (0-based, ``<eos>`` included).
    """

    force: Mapping[int, str] = field(default_factory=dict)
    pins: tuple[Pin, ...] = ()
    hide: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        force = {}
        for t, tok in dict(self.force).items():
            if isinstance(t, bool) or not isinstance(t, int) or t < 0:
                raise WhatIfError(f"force {t}={tok}: the step must be a whole number ≥ 0")
            if not isinstance(tok, str) or not tok:
                raise WhatIfError(f"force {t}: the token must be a non-empty string")
            force[t] = tok
        pins = tuple(sorted(self.pins, key=lambda p: (p.step, p.layer or -1, p.head or -1)))
        seen = set()
        for p in pins:
            for name, v in (("step", p.step), ("source", p.source), ("layer", p.layer), ("head", p.head)):
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    raise WhatIfError(f"{p.label()}: the {name} must be a whole number ≥ 0")
            key = (p.step, p.layer, p.head)
            if key in seen:
                raise WhatIfError(f"{p.label()}: step {p.step} is pinned twice")
            seen.add(key)
        hide = frozenset(self.hide)
        for j in hide:
            if isinstance(j, bool) or not isinstance(j, int) or j < 0:
                raise WhatIfError(f"hide-source {j}: the source index must be a whole number ≥ 0")
        object.__setattr__(self, "force", dict(sorted(force.items())))
        object.__setattr__(self, "pins", pins)
        object.__setattr__(self, "hide", hide)

    @property
    def empty(self) -> bool:
        return not (self.force or self.pins or self.hide)

    def cross_edit(self) -> CrossEdit | None:
        """What :func:`~sandbox.attention.attend` applies (None when nothing is pinned or hidden)."""
        if not (self.pins or self.hide):
            return None
        return CrossEdit(hide=self.hide,
                         pins=tuple((p.step, p.source, p.layer, p.head) for p in self.pins))

    # -- editing ------------------------------------------------------------------------
    def with_force(self, step: int, token: str | None) -> "Interventions":
        """Force ``token`` at ``step`` (None removes the force there)."""
        force = dict(self.force)
        force.pop(step, None)
        if token is not None:
            force[step] = token
        return Interventions(force, self.pins, self.hide)

    def with_pin(self, pin: Pin | None, step: int | None = None) -> "Interventions":
        """Add ``pin`` (replacing pins at its step); ``pin=None`` removes every pin at ``step``."""
        at = pin.step if pin is not None else step
        pins = tuple(p for p in self.pins if p.step != at)
        return Interventions(self.force, pins + ((pin,) if pin is not None else ()), self.hide)

    def with_hidden(self, source: int, hidden: bool = True) -> "Interventions":
        hide = set(self.hide)
        (hide.add if hidden else hide.discard)(source)
        return Interventions(self.force, self.pins, frozenset(hide))

    # -- text ---------------------------------------------------------------------------
    def describe(self, source_tokens: Iterable[str] | None = None) -> list[str]:
        """One short line per edit, e.g. ``force step 2 → small``, ``hide 나는 (0)``."""
        toks = list(source_tokens) if source_tokens is not None else None

        def src(j: int) -> str:
            return f"{toks[j]} ({j})" if toks is not None and 0 <= j < len(toks) else f"source {j}"

        out = [f"force step {t} → {tok}" for t, tok in self.force.items()]
        for p in self.pins:
            where = ""
            if p.layer is not None or p.head is not None:
                where = (f" in layer {'*' if p.layer is None else p.layer}, "
                         f"head {'*' if p.head is None else p.head}")
            out.append(f"pin step {p.step} → {src(p.source)}{where}")
        out += [f"hide {src(j)}" for j in sorted(self.hide)]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "force": [{"step": t, "token": tok} for t, tok in self.force.items()],
            "pin": [{"step": p.step, "source": p.source, "layer": p.layer, "head": p.head}
                    for p in self.pins],
            "hide": sorted(self.hide),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "Interventions":
        """Inverse of :meth:`to_json`; a malformed value raises :class:`WhatIfError`."""
        try:
            force = {int(f["step"]): str(f["token"]) for f in obj.get("force", ())}
            pins = tuple(Pin(int(p["step"]), int(p["source"]),
                             None if p.get("layer") is None else int(p["layer"]),
                             None if p.get("head") is None else int(p["head"]))
                         for p in obj.get("pin", ()))
            hide = frozenset(int(j) for j in obj.get("hide", ()))
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            raise WhatIfError(f"interventions: cannot read {json.dumps(obj, ensure_ascii=False)[:80]} ({e})") from None
        return cls(force, pins, hide)


def check_interventions(iv: Interventions, bundle: "Bundle", n_source: int,
                        n_steps: int | None) -> dict[int, int]:
    """Check ``iv`` against the model and the sentence; returns the forced token ids by step.

    ``n_steps`` is the number of decoder steps (None: not known yet, free running before
    it ran). Raises :class:`WhatIfError` naming the first edit that cannot apply.
    """
    vocab = bundle.tgt_vocab
    model = bundle.preset.model
    forced: dict[int, int] = {}
    last = None if n_steps is None else n_steps - 1
    for t, tok in iv.force.items():
        if last is not None and t > last:
            raise WhatIfError(f"force {t}={tok}: there is no step {t}; this decode has steps 0–{last}")
        if tok not in vocab:
            raise WhatIfError(f"force {t}={tok}: “{tok}” is not in the model's target vocabulary "
                              f"({len(vocab)} tokens)")
        if tok in NOT_OUTPUTS:
            raise WhatIfError(f"force {t}={tok}: {tok} is never an output token")
        forced[t] = vocab.id(tok)
    if iv.pins or iv.hide:
        if model.kind == "seq2seq" and model.attention == "none":
            raise WhatIfError("this model has no attention to pin or hide (attention = \"none\")")
    layers = model.layers if model.kind == "transformer" else 1
    heads = model.heads if model.kind == "transformer" else 1
    for j in sorted(iv.hide):
        if j >= n_source:
            raise WhatIfError(f"hide-source {j}: the source has tokens 0–{n_source - 1}")
    if len(iv.hide) >= n_source:
        raise WhatIfError(f"hide-source: all {n_source} source tokens hidden; attention needs one to look at")
    for p in iv.pins:
        if last is not None and p.step > last:
            raise WhatIfError(f"{p.label()}: there is no step {p.step}; this decode has steps 0–{last}")
        if p.source >= n_source:
            raise WhatIfError(f"{p.label()}: the source has tokens 0–{n_source - 1}")
        if p.source in iv.hide:
            raise WhatIfError(f"{p.label()}: source token {p.source} is hidden")
        if p.layer is not None and p.layer >= layers:
            raise WhatIfError(f"{p.label()}: the model has layers 0–{layers - 1}")
        if p.head is not None and p.head >= heads:
            raise WhatIfError(f"{p.label()}: the model has heads 0–{heads - 1}")
    return forced


def parse_step_value(text: str, flag: str, what: str) -> tuple[int, str]:
    """``"T=VALUE"`` -> (T, VALUE) for the command line; a bad one raises WhatIfError."""
    step, sep, value = text.partition("=")
    step = step.strip()
    if not sep or not step.isdigit() or not value.strip():
        raise WhatIfError(f"{flag} {text!r}: expected T={what} with T a decoder step (0, 1, ...)")
    return int(step), value.strip()


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
    node: int  # the BeamNode of its last token
    score: float  # what the beams are ranked by (log_prob, or length-normalised)
    trace: "Trace | None" = None


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
    decode. ``traces``: trace each beam (free running along its tokens).
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
                          node=node, score=float(_rank(tot, len(ids), length_penalty)), trace=tr))
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
