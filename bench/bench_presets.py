"""Shipped presets against their targets: held-out exact match, alignment accuracy, seconds.

For each preset and seed: train with the preset's own settings on the CPU (``Trainer.run``,
everything included), then measure on the held-out pairs (the ``[data]`` split the preset's
seed draws):

- held-out exact: free-running greedy decode equals the target exactly (``<eos>`` included);
- alignment (``sandbox.evaluate``): over target tokens with gold links, the share whose
  largest teacher-forced cross-attention weight falls on one of their gold source tokens.
  ``align`` counts content words only (not :data:`sandbox.curriculum.FUNCTION_WORDS`:
  am/is/are/and, linked to fused Korean endings); ``all`` counts every linked token. For a
  Transformer both are the headline (the last layer's heads averaged before the argmax),
  and every layer and head follows as ``L<layer>H<head>=`` (content words);
- cpu: CPU seconds of the training process (one thread: about the wall time on an idle
  machine);
- seconds: wall time of training, next to an anchor: a bare PyTorch loop (zero_grad, forward,
  loss, backward, clip, Adam step, nothing else) of the same model over the same batches
  for the same number of steps, timed in the same process just before. A busy machine
  slows both, so compare ``seconds`` with ``anchor``, not with another machine's seconds.

Usage: ``python bench/bench_presets.py [--presets a,b] [--seeds 0,1,2,3,4] [--no-anchor | --anchor-first]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import _common  # noqa: E402

from sandbox.curriculum import FUNCTION_WORDS  # noqa: E402
from sandbox.evaluate import evaluate  # noqa: E402
from sandbox.model import Bundle  # noqa: E402
from sandbox.presets import find_preset, load_preset, with_seed  # noqa: E402
from sandbox.train import Trainer  # noqa: E402


# --------------------------------------------------------------------------- metrics


def content_only(pairs):
    """The pairs with gold links of non-content target words (FUNCTION_WORDS) removed."""
    out = []
    for p in pairs:
        words = p.target.split()
        links = tuple(l for l in (p.alignment or ()) if words[l[1]] not in FUNCTION_WORDS)
        out.append(dataclasses.replace(p, alignment=links or None))
    return out


# --------------------------------------------------------------------------- anchor


def bare_loop_seconds(preset, steps: int) -> float:
    """A bare PyTorch loop over the Trainer's own batches: seconds for ``steps`` steps."""
    return _common.bare_loop_seconds(preset, _common.trainer_batches(preset, steps))


# --------------------------------------------------------------------------- one run


def run(key: str, seed: int, anchor: bool = True) -> dict:
    preset = with_seed(load_preset(find_preset(key)), seed)
    heldout = list(preset.split("heldout"))
    row: dict = {"preset": key, "seed": seed, "train": len(preset.pairs), "heldout": len(preset.heldout_pairs)}
    if anchor:
        row["anchor"] = bare_loop_seconds(preset, preset.training.steps)
    trainer = Trainer(Bundle.from_preset(preset), device="cpu")
    t0, c0 = time.perf_counter(), time.process_time()
    res = trainer.run()
    row["seconds"] = time.perf_counter() - t0
    row["cpu"] = time.process_time() - c0
    row["status"] = res.status
    bundle = trainer.bundle
    full = evaluate(bundle, heldout)
    row["exact"] = full["exact_match"]
    if full["alignment"] is not None:
        row["all"] = full["alignment"]["accuracy"]
        content = evaluate(bundle, content_only(heldout))["alignment"]
        row["align"] = content["accuracy"]
        if preset.model.kind == "transformer":
            row["heads"] = {(h["layer"], h["head"]): h["accuracy"] for h in content["per_head"]}
            row["best_head"] = max(row["heads"], key=row["heads"].get)
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
    ap.add_argument("--anchor-first", action="store_true", help="time the anchor for each preset's first seed only")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs")
    print(f"{'preset':<22} {'seed':>4} {'train':>6} {'held':>5} {'exact':>7} {'align':>6} {'all':>6} "
          f"{'seconds':>7} {'cpu':>5} {'anchor':>6}")
    for key in args.presets.split(","):
        for n, seed in enumerate(int(s) for s in args.seeds.split(",")):
            anchor = not args.no_anchor and not (args.anchor_first and n)
            print(fmt(run(key.strip(), seed, anchor=anchor)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
