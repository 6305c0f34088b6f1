"""Shipped presets against their targets: held-out exact match, alignment accuracy, seconds.

For each preset and seed: train with the preset's own settings on the CPU (``Trainer.run``,
everything included), then measure on the held-out pairs (the ``[data]`` split the preset's
seed draws):

- held-out exact: free-running greedy decode equals the target exactly (``<eos>`` included);
- alignment: over target tokens with gold links, the share whose largest teacher-forced
  cross-attention weight falls on one of their gold source tokens; for a Transformer per
  layer and head, the best head and the last layer's heads averaged are printed;
- seconds: wall time of training, next to an anchor: a bare PyTorch loop (zero_grad, forward,
  loss, backward, clip, Adam step, nothing else) of the same model over the same batches
  for the same number of steps, timed in the same process just before. A busy machine
  slows both, so compare ``seconds`` with ``anchor``, not with another machine's seconds.

Usage: ``python bench/bench_presets.py [--presets a,b] [--seeds 0,1,2,3,4] [--no-anchor]``
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import sandbox.seq2seq as _seq2seq  # noqa: E402
import sandbox.transformer as _transformer  # noqa: E402
from sandbox.model import Bundle, build_model  # noqa: E402
from sandbox.train import GRAD_CLIP, Trainer, encode_pairs  # noqa: E402
from sandbox.vocab import PAD_ID, tokenize  # noqa: E402

from bench.corpus_presets import load_split  # noqa: E402
from sandbox.curriculum import FUNCTION_WORDS  # noqa: E402


# --------------------------------------------------------------------------- metrics


@contextlib.contextmanager
def capture_cross():
    """Every cross-attention weight tensor the models compute: list of (layer, t0, (B,H,L,S))."""
    got: list[tuple[int, int, torch.Tensor]] = []
    originals = (_seq2seq.attend, _transformer.attend)

    def spy(*args, **kw):
        out, w = originals[0](*args, **kw)
        if kw.get("kind", "cross") == "cross":
            got.append((kw.get("layer", 0), kw.get("query_start", 0), w.detach()))
        return out, w

    _seq2seq.attend = _transformer.attend = spy
    try:
        yield got
    finally:
        _seq2seq.attend, _transformer.attend = originals


def _encoded(bundle: Bundle, pairs):
    sub = dataclasses.replace(bundle.preset, pairs=tuple(pairs))
    return encode_pairs(Bundle(sub, bundle.src_vocab, bundle.tgt_vocab, bundle.model), "cpu")


@torch.no_grad()
def heldout_exact(bundle: Bundle, pairs) -> float:
    """Share of ``pairs`` whose greedy free-running decode equals the target (``<eos>`` too)."""
    d = _encoded(bundle, pairs)
    model = bundle.model
    model.eval()
    try:
        pred = model.greedy(d.src, d.src_lens, d.tgt_out.shape[1])
    finally:
        model.train()
    mask = d.tgt_out != PAD_ID
    return float(((pred == d.tgt_out) | ~mask).all(dim=1).float().mean())


@torch.no_grad()
def alignment(bundle: Bundle, pairs, links, skip: frozenset[str] = frozenset()) -> dict[tuple[int, int], float]:
    """{(layer, head): alignment accuracy} over ``pairs`` with gold ``links`` (lists of (i, j)),
    not counting target tokens in ``skip``."""
    d = _encoded(bundle, pairs)
    model = bundle.model
    model.eval()
    try:
        with capture_cross() as got:
            model(d.src, d.src_lens, d.tgt_in, feed="gold")
    finally:
        model.train()
    per_layer: dict[int, list[tuple[int, torch.Tensor]]] = {}
    for layer, t0, w in got:
        per_layer.setdefault(layer, []).append((t0, w))
    out = {}
    for layer, chunks in per_layer.items():
        chunks.sort(key=lambda c: c[0])
        w = torch.cat([c[1] for c in chunks], dim=2)  # (B, H, L, S)
        best = w.argmax(-1)  # (B, H, L)
        for h in range(w.shape[1]):
            hits = total = 0
            for b, pair_links in enumerate(links):
                words = pairs[b].target.split()
                gold: dict[int, set[int]] = {}
                for i, j in pair_links:
                    if words[j] not in skip:
                        gold.setdefault(j, set()).add(i)
                for j, srcs in gold.items():
                    total += 1
                    hits += int(best[b, h, j]) in srcs
            out[(layer, h)] = hits / max(total, 1)
    return out


# --------------------------------------------------------------------------- anchor


def bare_loop_seconds(preset, steps: int) -> float:
    """A bare PyTorch loop over the Trainer's own batches: seconds for ``steps`` steps."""
    probe = Trainer(Bundle.from_preset(preset), device="cpu", steps=steps)
    batches = [probe._batch() for _ in range(steps)]
    bundle = Bundle.from_preset(preset)
    model = bundle.model
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=preset.training.lr)
    t0 = time.perf_counter()
    for src, lens, tin, tout, _n in batches:
        opt.zero_grad(set_to_none=True)
        logits = model(src, lens, tin, feed="gold")
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=PAD_ID)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
        opt.step()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- one run


def run(key: str, seed: int, anchor: bool = True) -> dict:
    preset, heldout, links = load_split(key, seed)
    row: dict = {"preset": key, "seed": seed, "train": len(preset.pairs), "heldout": len(heldout)}
    if anchor:
        row["anchor"] = bare_loop_seconds(preset, preset.training.steps)
    trainer = Trainer(Bundle.from_preset(preset), device="cpu")
    t0, c0 = time.perf_counter(), time.process_time()
    res = trainer.run()
    row["seconds"] = time.perf_counter() - t0
    row["cpu"] = time.process_time() - c0
    row["status"] = res.status
    bundle = trainer.bundle
    row["exact"] = heldout_exact(bundle, heldout)
    if preset.model.kind == "transformer" or preset.model.attention != "none":
        for col, skip in (("all", frozenset()), ("align", FUNCTION_WORDS)):
            acc = alignment(bundle, heldout, links, skip)
            if preset.model.kind == "transformer":
                last = max(layer for layer, _ in acc)
                heads = [v for (layer, _h), v in acc.items() if layer == last]
                row[col] = sum(heads) / len(heads)
                if col == "align":
                    row["heads"] = acc
                    row["best_head"] = max(acc, key=acc.get)
            else:
                row[col] = acc[(0, 0)]
    return row


def fmt(row: dict) -> str:
    align = "   -  " if "align" not in row else f"{row['align']:.3f}"
    align_all = "   -  " if "all" not in row else f"{row['all']:.3f}"
    heads = ""
    if "best_head" in row:
        heads = "  " + " ".join(f"L{l}H{h}={v:.2f}" for (l, h), v in sorted(row["heads"].items()))
    anchor = f"{row['anchor']:6.1f}" if "anchor" in row else "     -"
    return (f"{row['preset']:<22} {row['seed']:>4} {row['train']:>6} {row['heldout']:>5} "
            f"{row['exact']:>7.3f} {align:>6} {align_all:>6} {row['seconds']:>7.1f} {row['cpu']:>5.1f} {anchor}{heads}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="ko_en_cat,ko_en_cat_dot,ko_en_cat_scaled_dot,ko_en_cat_general,"
                    "ko_en_cat_none,en_ko_cats,en_ko_transformer,en_teacher_self,reverse")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--no-anchor", action="store_true", help="skip the bare-loop anchor")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs")
    print(f"{'preset':<22} {'seed':>4} {'train':>6} {'held':>5} {'exact':>7} {'align':>6} {'all':>6} "
          f"{'seconds':>7} {'cpu':>5} {'anchor':>6}")
    for key in args.presets.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            print(fmt(run(key.strip(), seed, anchor=not args.no_anchor)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
