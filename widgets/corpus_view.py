"""Corpus pieces the window shows: gold links on the attention map and the model box's
alignment accuracy. Plain functions; the widgets call them."""

from __future__ import annotations

from typing import Any

ALIGN_SAMPLE = 300  # pairs with gold links scored for the model box (held-out ones first)


def gold_cells(pair, tr, preset=None) -> tuple[tuple[int, int], ...]:
    """Cells ``(decoder step, source token)`` of ``pair``'s gold links in a teacher-forced
    trace of it; () when there are none, when the trace is free running (its rows are the
    model's own tokens), or for subword tokens (links count words, the map shows pieces)."""
    if pair is None or not getattr(pair, "alignment", None) or tr is None:
        return ()
    if tr.mode != "teacher_forcing" or tr.target_tokens is None:
        return ()
    if preset is not None and "subword" in (preset.tokenizer.source, preset.tokenizer.target):
        return ()
    ns, nt = len(tr.source_tokens) - 1, len(tr.target_tokens) - 1  # <eos> not counted
    return tuple(sorted((j, i) for i, j in pair.alignment if i < ns and j < nt))


def alignment_summary(bundle) -> dict[str, Any] | None:
    """Alignment accuracy of ``bundle``'s model on up to :data:`ALIGN_SAMPLE` pairs with gold
    links (held-out pairs first, then training pairs); None when no pair has links.
    Reads the model: call it only while no worker trains it."""
    from sandbox.evaluate import evaluate

    p = bundle.preset
    held = [x for x in p.heldout_pairs if x.alignment]
    pool = held or [x for x in p.pairs if x.alignment]
    if not pool:
        return None
    r = evaluate(bundle, pool[:ALIGN_SAMPLE], decode=False)  # no decode loop: alignment and exact match only
    if r["alignment"] is None:
        return None
    out = dict(r["alignment"])
    out["split"] = "held-out" if held else "training"
    out["exact_match"] = r["exact_match"]
    return out


def alignment_html(summary: dict[str, Any] | None, transformer: bool) -> str:
    """The model box's line for :func:`alignment_summary`."""
    if not summary:
        return ""
    line = (f"alignment accuracy <b>{summary['accuracy']:.0%}</b> (AER {summary['aer']:.2f}) on "
            f"{summary['pairs']} {summary['split']} pairs with gold links")
    if transformer and summary.get("per_head"):
        last = max(h["layer"] for h in summary["per_head"])
        heads = " · ".join(f"L{h['layer']}H{h['head']} {h['accuracy']:.0%}" for h in summary["per_head"])
        line += f" — last layer's heads averaged (layer {last}); per head: {heads}"
    return line
