"""Training benchmark: prints figures, never asserts on time.

For every shipped preset:

1. time and steps until free-running decoding reproduces every pair exactly
   (``Trainer.run(until_exact=True)``, exact match evaluated every ``--eval-every`` steps),
   for seeds 0, 1, 2;
2. a full run with the preset's own settings: seconds, final exact match;
3. training speed of ``Trainer.run`` (everything included: metrics, evaluations, guards)
   against a bare PyTorch loop over the same model and the same pre-built batches
   (zero_grad, forward, cross-entropy, backward, clip, Adam step; nothing else), both
   in the same process and thread setting, interleaved and repeated, best of the repeats.

Usage: ``python bench/bench_train.py [--presets a,b] [--seeds 0,1,2] [--skip-full] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from sandbox.model import Bundle  # noqa: E402
from sandbox.presets import list_presets, load_preset  # noqa: E402
from sandbox.train import GRAD_CLIP, Trainer  # noqa: E402
from sandbox.vocab import PAD_ID  # noqa: E402


def shipped() -> list[tuple[str, Path]]:
    return [(key, path) for key, path, is_user in list_presets() if not is_user]


def time_to_exact(path: Path, seed: int, eval_every: int) -> tuple[float, int, bool]:
    tr = Trainer(Bundle.from_preset(load_preset(path)), device="cpu", seed=seed, eval_every=eval_every)
    t0 = time.perf_counter()
    res = tr.run(until_exact=True)
    dt = time.perf_counter() - t0
    ok = res.metrics is not None and res.metrics.exact_match == 1.0
    return dt, tr.step_count, ok


def full_run(path: Path, seed: int) -> tuple[float, float, float, int]:
    tr = Trainer(Bundle.from_preset(load_preset(path)), device="cpu", seed=seed)
    t0 = time.perf_counter()
    res = tr.run()
    dt = time.perf_counter() - t0
    m = res.metrics
    return dt, m.exact_match, m.loss, m.step


def speed_ratio(path: Path, steps: int, repeats: int, clock=time.perf_counter) -> tuple[float, float, float]:
    """(trainer steps/s, bare steps/s, ratio), best of ``repeats`` interleaved runs.

    ``clock``: wall time, or ``time.process_time`` (CPU seconds of this process; far less
    disturbed by other processes on a shared machine)."""
    preset = load_preset(path)
    # The batches (and teacher-forcing draws) the Trainer would use, built up front.
    probe = Trainer(Bundle.from_preset(preset), device="cpu", steps=steps)
    batches = []
    for _ in range(steps):
        b = probe._batch()
        torch.rand((), generator=probe._gen)  # the Trainer's unused per-step draw (same batches)
        feed, _share = probe._teacher_forcing(b[2])  # per-token draws, as the Trainer makes them
        batches.append((b, feed))

    def trainer_once() -> float:
        tr = Trainer(Bundle.from_preset(preset), device="cpu", steps=steps)
        t0 = clock()
        res = tr.run()
        assert res.status == "done"
        return steps / (clock() - t0)

    def bare_once() -> float:
        model = Bundle.from_preset(preset).model
        model.train()
        params = list(model.parameters())
        opt = torch.optim.Adam(params, lr=preset.training.lr)
        t0 = clock()
        for (src, lens, tgt_in, tgt_out, _), feed in batches:
            opt.zero_grad(set_to_none=True)
            logits = model(src, lens, tgt_in, feed=feed)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                                   ignore_index=PAD_ID)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            opt.step()
        return steps / (clock() - t0)

    tr_rates, bare_rates = [], []
    for i in range(repeats):  # alternate the order: load from other processes hits both
        if i % 2:
            tr_rates.append(trainer_once())
            bare_rates.append(bare_once())
        else:
            bare_rates.append(bare_once())
            tr_rates.append(trainer_once())
    t, b = max(tr_rates), max(bare_rates)
    return t, b, t / b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", help="comma-separated preset keys (default: every shipped preset)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--speed-steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--skip-full", action="store_true", help="skip the full runs with the preset's settings")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()

    presets = shipped()
    if args.presets:
        want = args.presets.split(",")
        presets = [(k, p) for k, p in presets if k in want]
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} intra-op thread(s) "
          f"(sandbox.model.configure_torch), {os.cpu_count()} cores")

    print(f"\n== time to 100% exact match (free running; evaluated every {args.eval_every} steps)")
    for key, path in presets:
        p = load_preset(path)
        cells = []
        for s in seeds:
            dt, n, ok = time_to_exact(path, s, args.eval_every)
            cells.append(f"seed {s}: {dt:5.2f} s {n:4d} steps{'' if ok else ' NOT EXACT'}")
        print(f"{key:<22} ({p.training.steps:4d} steps planned)  " + "  |  ".join(cells), flush=True)

    if not args.skip_full:
        print("\n== full run with the preset's own settings")
        for key, path in presets:
            cells, worst = [], 0.0
            for s in seeds:
                dt, em, loss, n = full_run(path, s)
                worst = max(worst, dt)
                cells.append(f"seed {s}: {dt:5.2f} s exact {100 * em:5.1f}% loss {loss:.4f}")
            print(f"{key:<22} {n:4d} steps  " + "  |  ".join(cells), flush=True)

    if not args.skip_speed:
        for label, clock in (("wall time", time.perf_counter), ("CPU time", time.process_time)):
            print(f"\n== Trainer.run vs a bare PyTorch loop, {label} "
                  f"({args.speed_steps} steps, best of {args.repeats})")
            ratios = []
            for key, path in presets:
                t, b, r = speed_ratio(path, args.speed_steps, args.repeats, clock)
                ratios.append(r)
                print(f"{key:<22} trainer {t:7.1f} steps/s   bare {b:7.1f} steps/s   ratio {r:.2f}x",
                      flush=True)
            print(f"{'median ratio':<22} {statistics.median(ratios):.2f}x  (min {min(ratios):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
