"""Evaluation of a trained model on sentence pairs: what ``python main.py evaluate`` reports.

Metrics (DESIGN.md, "Corpora"):

- ``exact_match``: the share of pairs whose free-running greedy decode, up to and including
  ``<eos>``, equals the target's tokens (a fraction, 0..1);
- ``token_accuracy``: teacher-forced, the share of target tokens (``<eos>`` included) whose
  argmax is the gold token; a gold token outside the vocabulary always counts as wrong;
- ``chrf`` and ``bleu``: sacrebleu's corpus chrF and BLEU (0..100; Popović 2015, Papineni et
  al. 2002, as sacrebleu computes them with its defaults, 13a tokenisation for BLEU) of the
  predictions (``sentences[i].predicted``: tokens joined the tokenizer's way) against the
  targets as written (``sentences[i].target``);
- ``alignment``: against gold Pharaoh links, over the pairs that have them.
  *Accuracy*: over target tokens with at least one gold link, the share whose largest
  teacher-forced cross-attention weight lies on one of their gold source tokens.
  *AER* (alignment error rate, Och & Ney 2003, "A Systematic Comparison of Various
  Statistical Alignment Models", Computational Linguistics 29(1)):
  ``AER = 1 - (|A∩S| + |A∩P|) / (|A| + |S|)`` with sure = possible = the gold links, and A
  one link per target token (``<eos>`` excluded) to the source token of its largest weight
  (none when that is the source's ``<eos>``). For the Transformer every layer and head is
  scored (``per_head``); the headline averages the last layer's heads before the argmax.

Everything is computed in batches with the model in eval mode under ``no_grad``; the
weights come from :func:`sandbox.attention.attend` itself (through
:func:`~sandbox.attention.tapping`), so they are the weights a trace shows.

No Qt here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .attention import tapping
from .corpus import Pair, format_alignment
from .model import Bundle
from .trace import MAX_STEPS, default_max_len
from .vocab import EOS_ID, PAD_ID, SOS_ID, UNK_ID, detokenize, encode_sentence

__all__ = ["EVAL_FORMAT", "PAIRS_FORMAT", "evaluate", "pairs_json", "joined_text", "teacher_forced_match"]

EVAL_FORMAT = "attention-sandbox/eval@1"
PAIRS_FORMAT = "attention-sandbox/pairs@1"
BATCH = 256


def joined_text(tokens: Sequence[str], kind: str) -> str:
    """Tokens as text, joined the tokenizer's way (spaces between words, none between characters)."""
    return detokenize(list(tokens), kind if kind in ("char", "subword") else "word")


def teacher_forced_match(logits: torch.Tensor, tgt_out: torch.Tensor, *, unknown_is_miss: bool = True,
                         max_len: int | None = MAX_STEPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Which target tokens, and which whole targets, one teacher-forced pass gets right.

    ``logits``: (B, T, V), the model's outputs with the gold prefix fed at every step;
    ``tgt_out``: (B, T) the gold ids, ``<eos>`` included, padded with ``<pad>``.
    Returns ``(hits, exact)``:

    - ``hits`` (B, T) bool: the position holds a target token (not padding) and the argmax
      is that token; with ``unknown_is_miss`` a gold ``<unk>`` is never a hit (the target as
      written holds a word the model cannot say, so no output reproduces it);
    - ``exact`` (B,) bool: every target position is a hit, and, with ``max_len``, the target
      (``<eos>`` included) is at most ``max_len`` tokens long, so a free-running decode
      stopped after ``max_len`` steps (:data:`sandbox.trace.MAX_STEPS`) can reach its end.

    ``exact`` is the free-running greedy decode's exact match without decoding: greedy
    decoding reproduces a target if and only if the teacher-forced argmax is the gold token
    at every position, ``<eos>`` included (while the first t outputs match, the decoder's
    inputs are the gold prefix, so its output at t is the teacher-forced argmax at t;
    induction on t). One forward pass instead of one per output position (a Transformer
    re-reads its whole prefix at every greedy step). ``tests/test_exact_match.py`` checks it
    against ``model.greedy``. Both options default to the rules of :func:`evaluate`."""
    mask = tgt_out != PAD_ID
    hits = (logits.argmax(-1) == tgt_out) & mask
    if unknown_is_miss:
        hits &= tgt_out != UNK_ID
    exact = (hits | ~mask).all(dim=1)
    if max_len is not None:
        exact &= mask.sum(dim=1) <= max_len
    return hits, exact


def _pad(rows: list[list[int]]) -> torch.Tensor:
    n = max(map(len, rows))
    return torch.tensor([r + [PAD_ID] * (n - len(r)) for r in rows], dtype=torch.long)


def _cross_weights(taps: list, batch: int, steps: int, sources: int) -> torch.Tensor | None:
    """The taps' cross-attention weights as (B, layers, heads, T, S); None without any."""
    cross = [t for t in taps if t[0] == "cross"]
    if not cross:
        return None
    layers = max(t[1] for t in cross) + 1
    heads = cross[0][3].shape[1]
    out = torch.zeros(batch, layers, heads, steps, sources)
    for _kind, layer, q0, w in cross:
        w = w.float().cpu()
        out[:, layer, :, q0:q0 + w.shape[2], : w.shape[3]] = w
    return out


class _AlignTally:
    """Counts for one way of reading the attention (a head, or the headline)."""

    def __init__(self) -> None:
        self.hits = 0  # target tokens with gold links whose argmax is a gold source
        self.links = 0  # |A|
        self.agree = 0  # |A ∩ gold|

    def add(self, argmax: list[int], n_src: int, gold: set[tuple[int, int]], gold_targets: dict[int, set[int]]):
        for j, a in enumerate(argmax):
            if j in gold_targets and a in gold_targets[j]:
                self.hits += 1
            if a < n_src:
                self.links += 1
                self.agree += (a, j) in gold

    def result(self, tokens: int, gold_links: int) -> tuple[float, float]:
        acc = self.hits / tokens if tokens else 0.0
        denom = self.links + gold_links
        aer = 1.0 - 2.0 * self.agree / denom if denom else 0.0
        return acc, aer


@torch.no_grad()
def evaluate(bundle: Bundle, pairs: Sequence[Pair], *, batch_size: int = BATCH,
             progress=None, decode: bool = True) -> dict[str, Any]:
    """Score ``bundle.model`` on ``pairs``; the ``eval@1`` JSON object (see the module doc).

    ``decode=False``: no free-running decode, for callers that need only ``exact_match``,
    ``token_accuracy`` and ``alignment`` (the window's Model box): ``exact_match`` then comes
    from the teacher-forced pass (:func:`teacher_forced_match`, which says why that is the
    same number), ``chrf`` and ``bleu`` are None and ``sentences`` is empty.

    Raises ValueError when ``pairs`` is empty."""
    if not pairs:
        raise ValueError("there are no sentence pairs to evaluate")
    import sacrebleu

    p, model = bundle.preset, bundle.model
    ks, kt = p.tokenizer.source, p.tokenizer.target
    device = bundle.device
    can_align = kt != "subword" and ks != "subword" and not (p.model.kind == "seq2seq" and p.model.attention == "none")
    was_training = model.training
    model.eval()
    sentences: list[dict[str, Any]] = []
    hyps: list[str] = []
    refs: list[str] = []
    correct = total = exact_hits = 0
    tallies: dict[tuple[int, int] | str, _AlignTally] = {}
    gold_tokens = gold_links = aligned_pairs = 0
    try:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            src_enc = [encode_sentence(x.source, bundle.src_vocab, ks) for x in chunk]
            tgt_enc = [encode_sentence(x.target, bundle.tgt_vocab, kt) for x in chunk]
            src = _pad([list(e.ids) for e in src_enc]).to(device)
            lens = torch.tensor([len(e.ids) for e in src_enc], device=device)
            tgt_out = _pad([list(e.ids) for e in tgt_enc]).to(device)
            # decoder input <sos> + target, as the trainer builds it (<eos> is never an input)
            tgt_in = torch.cat([torch.full_like(tgt_out[:, :1], SOS_ID), tgt_out[:, :-1]], dim=1)
            tgt_in = tgt_in.masked_fill(tgt_in == EOS_ID, PAD_ID)
            with tapping() as taps:
                logits = model(src, lens, tgt_in, feed="gold")
            ok, tf_exact = teacher_forced_match(logits, tgt_out)
            correct += int(ok.sum())
            total += int((tgt_out != PAD_ID).sum())
            weights = _cross_weights(taps, len(chunk), tgt_out.shape[1], src.shape[1]) if can_align else None
            if decode:
                limits = [default_max_len(len(se.ids), len(te.ids)) for se, te in zip(src_enc, tgt_enc)]
                pred = model.greedy(src, lens, max(limits)).cpu().tolist()
            else:
                exact_hits += int(tf_exact.sum())
            for b, (pair, se, te) in enumerate(zip(chunk, src_enc, tgt_enc)):
                if decode:
                    ids = pred[b][: limits[b]]  # as long as a free-running trace of the pair
                    cut = ids.index(EOS_ID) + 1 if EOS_ID in ids else len(ids)
                    predicted = [bundle.tgt_vocab.token(i) for i in ids[:cut]]
                    exact = predicted == list(te.original)
                    exact_hits += exact
                    words = [t for t in predicted if t != "<eos>"]
                    hyps.append(joined_text(words, kt))
                    refs.append(pair.target)
                    sentences.append({"source": pair.source, "target": pair.target,
                                      "predicted": joined_text(words, kt),
                                      "exact": bool(exact)})
                if weights is None or not pair.alignment:
                    continue
                aligned_pairs += 1
                n_src, n_tgt = len(se.ids) - 1, len(te.ids) - 1
                gold = set(pair.alignment)
                gold_targets: dict[int, set[int]] = {}
                for i, j in gold:
                    gold_targets.setdefault(j, set()).add(i)
                gold_tokens += len(gold_targets)
                gold_links += len(gold)
                w = weights[b, :, :, :n_tgt, : n_src + 1]  # (layers, heads, T, S+eos)
                for layer in range(w.shape[0]):
                    for head in range(w.shape[1]):
                        tallies.setdefault((layer, head), _AlignTally()).add(
                            w[layer, head].argmax(-1).tolist(), n_src, gold, gold_targets)
                tallies.setdefault("headline", _AlignTally()).add(
                    w[-1].mean(0).argmax(-1).tolist(), n_src, gold, gold_targets)
            if progress is not None:
                progress(min(start + batch_size, len(pairs)), len(pairs))
    finally:
        model.train(was_training)

    alignment = None
    if aligned_pairs and gold_tokens:
        acc, aer = tallies["headline"].result(gold_tokens, gold_links)
        per_head = []
        for key in sorted(k for k in tallies if k != "headline"):
            h_acc, h_aer = tallies[key].result(gold_tokens, gold_links)
            per_head.append({"layer": key[0], "head": key[1], "accuracy": h_acc, "aer": h_aer})
        alignment = {"links": gold_links, "tokens": gold_tokens, "pairs": aligned_pairs,
                     "accuracy": acc, "aer": aer, "per_head": per_head}
    return {
        "format": EVAL_FORMAT,
        "preset": p.key,
        "pairs": len(pairs),
        "exact_match": exact_hits / len(pairs),
        "token_accuracy": correct / total if total else 0.0,
        "chrf": float(sacrebleu.corpus_chrf(hyps, [refs]).score) if decode else None,
        "bleu": float(sacrebleu.corpus_bleu(hyps, [refs]).score) if decode else None,
        "alignment": alignment,
        "sentences": sentences,
    }


def pairs_json(preset, split: str) -> dict[str, Any]:
    """The ``pairs@1`` JSON object of one split of a preset: exactly the pairs in it (``heldout``
    of a preset that holds nothing out is empty; evaluation then scores the training pairs)."""
    pairs = {"train": preset.pairs, "heldout": preset.heldout_pairs, "all": preset.all_pairs}[split]
    return {
        "format": PAIRS_FORMAT,
        "preset": preset.key,
        "split": split,
        "pairs": [{"source": x.source, "target": x.target, "alignment": format_alignment(x.alignment)}
                  for x in pairs],
        "skipped": [{"line": n, "reason": r} for n, r in preset.skipped],
        "too_long": preset.too_long,
        "duplicates": preset.duplicates,
    }

