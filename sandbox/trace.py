"""Trace: one sentence pair run through one model, every decoder step kept.

``trace(bundle, source, target, mode)`` runs the model in eval mode under ``no_grad`` with
a :func:`~sandbox.attention.recording` active, one decoder step at a time:

- teacher forcing: step t's input is gold token t-1 (``<sos>`` at t = 0);
- free running: step t's input is step t-1's prediction; greedy until ``<eos>`` or
  ``max_len`` steps.

A Transformer is traced under teacher forcing the way it trains: every position at once
under the causal mask, so step t's ``masked_self`` records hold one energy per target
position, -inf after t (weight exactly 0 there). Free running stays incremental (step t
re-runs the prefix and records only position t): there are no future positions to mask.

``interventions`` (:class:`~sandbox.whatif.Interventions`) are the What-if edits: a forced
output token at step T (the next step reads it, ``input_from = "forced"``), cross attention
pinned to one source token, hidden source tokens. Pins and hides are applied inside
:func:`~sandbox.attention.attend`, so the records stay the tensors the model used.

Everything in a Trace is detached float32 numpy on the CPU, and a Trace is never mutated,
so the GUI can hold one while the trainer keeps changing the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from .attention import AttentionRecord, editing, jsonable, recording
from .model import Bundle, model_summary
from .names import MODES  # noqa: F401 - also importable from here

if TYPE_CHECKING:
    from .interventions import Interventions
from .vocab import EOS_ID, SOS, SOS_ID, encode_sentence

TRACE_FORMAT = "attention-sandbox/trace@1"


@dataclass(frozen=True, eq=False)
class Step:
    """Decoder step t."""

    t: int
    input_token: str
    input_from: str  # "gold", "prediction" or "forced" (What-if)
    attention: tuple[AttentionRecord, ...]  # one cross record (seq2seq); per layer/head self + cross (Transformer)
    output: np.ndarray  # (d,) the vector the output layer reads (õ_t for seq2seq)
    state: np.ndarray  # (d,) decoder state s_t after the step
    concat: tuple[str, ...]  # what W_c read, in order: ("context", "state"), ("state",) or ()
    probs: np.ndarray  # (V,) output distribution
    top_k: tuple[tuple[str, float], ...]
    predicted: str
    gold: str | None  # gold token at this step (None past the end of the target)
    gold_input: str | None  # the gold token that teacher forcing would have fed here
    cell_input: tuple[str, ...] = ("embedding",)  # seq2seq: what the decoder cell read; () for the Transformer
    forced: str | None = None  # What-if: the token the user made this step output
    chosen: str | None = None  # beam search: the beam's token here when it is not ``predicted``

    @property
    def output_token(self) -> str:
        """The token this step passed on: forced, else the beam's choice, else ``predicted``."""
        return self.forced or self.chosen or self.predicted

    @property
    def off_gold(self) -> bool:
        """True where free running fed something other than the gold token."""
        return self.input_from == "prediction" and self.input_token != self.gold_input

    def records(self, kind: str | None = None, layer: int | None = None,
                head: int | None = None) -> list[AttentionRecord]:
        return [r for r in self.attention
                if (kind is None or r.kind == kind) and (layer is None or r.layer == layer)
                and (head is None or r.head == head)]


@dataclass(frozen=True, eq=False)
class Trace:
    preset: str
    model: dict
    mode: str
    source_tokens: tuple[str, ...]
    target_tokens: tuple[str, ...] | None
    source_unknown: tuple[int, ...]  # positions in source_tokens that became <unk>
    target_unknown: tuple[int, ...]
    encoder: tuple[AttentionRecord, ...]  # encoder self-attention (Transformer); empty for seq2seq
    encoder_states: np.ndarray  # (S, d) the encoder's output states
    steps: tuple[Step, ...]
    target_vocab: tuple[str, ...] = ()
    # where the gold target came from: "given" (typed), "preset" (the preset's pair whose
    # source this is), or None (no target: free running without gold)
    target_from: str | None = None
    interventions: Any = None  # sandbox.whatif.Interventions, or None for the model's own run

    @property
    def has_unknown(self) -> bool:
        return bool(self.source_unknown or self.target_unknown)

    @property
    def predicted_tokens(self) -> list[str]:
        return [s.predicted for s in self.steps]

    @property
    def output_tokens(self) -> list[str]:
        """What each step passed on (forced and beam tokens included)."""
        return [s.output_token for s in self.steps]

    @property
    def edited(self) -> bool:
        return self.interventions is not None and not self.interventions.empty

    def attention_matrix(self, kind: str = "cross", layer: int = 0, head: int = 0) -> np.ndarray:
        """Weights of one attention as a (rows, keys) float32 matrix.

        ``cross`` / ``masked_self``: one row per decoder step. ``self``: one row per source
        token. Rows with no record (e.g. seq2seq without attention) are NaN.
        """
        if kind == "self":
            recs = [r for r in self.encoder if r.layer == layer and r.head == head]
            n_keys = len(self.source_tokens)
            out = np.full((n_keys, n_keys), np.nan, np.float32)
            for r in recs:
                out[r.position] = r.weights
            return out
        n_keys = len(self.source_tokens) if kind == "cross" else len(self.steps)
        out = np.full((len(self.steps), n_keys), np.nan, np.float32)
        for s in self.steps:
            for r in s.records(kind, layer, head):
                out[s.t, : r.weights.shape[0]] = r.weights
        return out

    def to_json(self) -> dict[str, Any]:
        out = {
            "format": TRACE_FORMAT,
            "preset": self.preset,
            "model": self.model,
            "mode": self.mode,
            "source_tokens": list(self.source_tokens),
            "target_tokens": None if self.target_tokens is None else list(self.target_tokens),
            "unknown": {"source": list(self.source_unknown), "target": list(self.target_unknown)},
            "target_from": self.target_from if self.target_tokens is not None else None,
            "encoder": [r.to_json() for r in self.encoder],
            "encoder_states": jsonable(self.encoder_states),
            "steps": [
                {
                    "t": s.t,
                    "input_token": s.input_token,
                    "input_from": s.input_from,
                    "attention": [r.to_json() for r in s.attention],
                    "output": jsonable(s.output),
                    "state": jsonable(s.state),
                    "concat": list(s.concat),
                    "cell_input": list(s.cell_input),
                    "top_k": [[tok, p] for tok, p in s.top_k],
                    "predicted": s.predicted,
                    "gold": s.gold,
                    **({"forced": s.forced} if s.forced is not None else {}),
                    **({"chosen": s.chosen} if s.chosen is not None else {}),
                }
                for s in self.steps
            ],
        }
        if self.edited:
            out["interventions"] = self.interventions.to_json()
        return out

    def dumps(self, indent: int | None = None) -> str:
        """The trace JSON. Raises :class:`~sandbox.nonfinite.NonFiniteTraceError` (a
        ValueError naming the steps and values) when a number is NaN or ±inf."""
        from .nonfinite import check_trace

        check_trace(self)
        return json.dumps(self.to_json(), ensure_ascii=False, indent=indent, allow_nan=False)


MAX_STEPS = 200  # free running never decodes more steps than this


def default_max_len(n_source: int, n_target: int = 0) -> int:
    return min(2 * max(n_source, n_target) + 2, MAX_STEPS)


@torch.no_grad()
def trace(bundle: Bundle, source: str, target: str | None = None,
          mode: str = "teacher_forcing", max_len: int | None = None, top_k: int = 5,
          interventions: "Interventions | None" = None,
          follow: Sequence[int] | None = None) -> Trace:
    """Run one pair through ``bundle.model`` and keep every tensor attention used.

    ``interventions``: What-if edits (see :mod:`sandbox.whatif`); bad ones (a step past the
    end, an unknown token, a source index out of range) raise
    :class:`~sandbox.whatif.WhatIfError`, a ValueError naming the edit.
    ``follow``: free running only — the output token ids to pass on at each step instead of
    the argmax (a beam's tokens); decoding stops at ``<eos>`` or when they run out.
    """
    from .interventions import Interventions, check_interventions

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    if max_len is not None and not 1 <= max_len <= MAX_STEPS:
        raise ValueError(f"max_len must be from 1 to {MAX_STEPS}, got {max_len}")
    if follow is not None and mode != "free_running":
        raise ValueError("a followed token path needs free running")
    p = bundle.preset
    src = encode_sentence(source, bundle.src_vocab, p.tokenizer.source)
    if len(src.ids) <= 1:
        raise ValueError("the source sentence is empty")
    tgt = None
    if target is not None and target.strip():
        tgt = encode_sentence(target, bundle.tgt_vocab, p.tokenizer.target)
    if mode == "teacher_forcing" and tgt is None:
        raise ValueError("teacher forcing needs a target sentence; use free running without one")
    iv = interventions if interventions is not None else Interventions()
    vocab = bundle.tgt_vocab
    model = bundle.model
    n_steps = len(tgt.ids) if mode == "teacher_forcing" else (
        len(follow) if follow is not None else
        (max_len or default_max_len(len(src.ids), len(tgt.ids) if tgt else 0)))
    forced_ids = check_interventions(iv, bundle, n_source=len(src.ids),
                                     n_steps=n_steps if mode == "teacher_forcing" else None)

    was_training = model.training
    model.eval()
    device = bundle.device
    parallel = mode == "teacher_forcing" and hasattr(model, "steps_parallel")
    try:
        with recording() as rec, editing(iv.cross_edit()):
            src_ids = torch.tensor([src.ids], device=device)
            mem = model.encode(src_ids, None)
            encoder_records = tuple(rec.take())
            carry = model.start(mem)
            pre: list | None = None
            pre_records: dict[int, list[AttentionRecord]] = {}
            if parallel:
                inputs = [SOS_ID] + [forced_ids.get(t, tgt.ids[t]) for t in range(n_steps - 1)]
                pre = model.steps_parallel(mem, inputs)
                for r in rec.take():
                    pre_records.setdefault(r.position, []).append(r)
            steps: list[Step] = []
            token_id = SOS_ID
            input_from = "gold"
            for t in range(n_steps):
                gold_input = SOS if t == 0 else (tgt.tokens[t - 1] if tgt and t - 1 < len(tgt.tokens) else None)
                if pre is not None:
                    out = pre[t]
                    records = tuple(pre_records.get(t, ()))
                else:
                    out = model.step(mem, carry, token_id, t)
                    records = tuple(rec.take())
                carry = out.carry
                probs = torch.softmax(out.logits.float(), dim=-1).cpu().numpy()
                order = np.argsort(-probs, kind="stable")[:top_k]
                pred_id = int(order[0])
                out_id = pred_id
                chosen = None
                if follow is not None:
                    out_id = int(follow[t])
                    chosen = vocab.token(out_id) if out_id != pred_id else None
                forced = None
                if t in forced_ids:
                    out_id = forced_ids[t]
                    forced = vocab.token(out_id)
                steps.append(Step(
                    t=t,
                    input_token=vocab.token(token_id),
                    input_from=input_from,
                    attention=records,
                    output=out.output.float().cpu().numpy(),
                    state=out.state.float().cpu().numpy(),
                    concat=out.concat,
                    probs=probs,
                    top_k=tuple((vocab.token(int(i)), float(probs[i])) for i in order),
                    predicted=vocab.token(pred_id),
                    gold=tgt.tokens[t] if tgt and t < len(tgt.tokens) else None,
                    gold_input=gold_input,
                    cell_input=out.cell_input,
                    forced=forced,
                    chosen=chosen,
                ))
                if forced is not None:
                    token_id, input_from = out_id, "forced"
                elif mode == "teacher_forcing":
                    token_id, input_from = tgt.ids[t], "gold"
                else:
                    token_id, input_from = out_id, "prediction"
                if mode == "free_running" and out_id == EOS_ID:
                    break
    finally:
        model.train(was_training)
    if mode == "free_running":
        check_interventions(iv, bundle, n_source=len(src.ids), n_steps=len(steps))

    return Trace(
        preset=p.key,
        model=model_summary(p),
        mode=mode,
        source_tokens=src.tokens,
        target_tokens=tgt.tokens if tgt else None,
        source_unknown=src.unknown,
        target_unknown=tgt.unknown if tgt else (),
        encoder=encoder_records,
        encoder_states=mem.states[0].float().cpu().numpy(),
        steps=tuple(steps),
        target_vocab=vocab.tokens,
        target_from="given" if tgt else None,
        interventions=None if iv.empty else iv,
    )


def exact_match(bundle: Bundle, pairs: Sequence[tuple[str, str]]) -> float:
    """Fraction of pairs whose free-running greedy decode equals the target exactly."""
    hits = 0
    for source, target in pairs:
        tr = trace(bundle, source, target, mode="free_running")
        want = list(tr.target_tokens or ())
        hits += tr.predicted_tokens == want
    return hits / max(len(pairs), 1)
