"""Wall time and results of the bottleneck experiment (target: full run ≤ 60 s on 2 cores).

Prints the wall time, the process CPU time (less sensitive to other work on a shared
machine), the load average, and the result table: exact match (token accuracy) on
held-out sequences per source length and model. Asserts nothing.

    python bench/bench_bottleneck.py [--quick] [--seed 0] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the quick settings (tests use these)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the result JSON here")
    args = ap.parse_args()

    t_import = time.perf_counter()
    import torch

    from sandbox.bottleneck import DEFAULT, QUICK, format_table, run_experiment

    t_import = time.perf_counter() - t_import
    s = QUICK if args.quick else DEFAULT
    print(f"settings: {'quick' if args.quick else 'default'} — lengths {list(s.lengths)}, models "
          f"{list(s.models)}, task {s.task} over {s.vocab} symbols, {s.cell} hidden {s.hidden} embed {s.embed}, "
          f"{s.steps} steps × batch {s.batch_size}, Adam lr {s.lr}{' (linear decay)' if s.decay else ''}, "
          f"{s.test_size} held-out sequences per length")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), "
          f"{os.cpu_count()} CPU(s); import {t_import:.1f} s")
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = run_experiment(quick=args.quick, seed=args.seed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    load1 = os.getloadavg() if hasattr(os, "getloadavg") else None
    print()
    print(format_table(result))
    print()
    print(f"wall time {wall:.1f} s (experiment's own figure {result.seconds:.1f} s), "
          f"process CPU time {cpu:.1f} s")
    if load0 and load1:
        print(f"load average (1 min) before {load0[0]:.2f}, after {load1[0]:.2f} — "
              "other processes on the machine inflate the wall time")
    longest = result.lengths[-1]
    none = result.models.get("none", [None])[-1]
    for name, vals in result.models.items():
        if name != "none" and none is not None:
            print(f"length {longest}: {name} {vals[-1]:.2f} vs none {none:.2f} (difference {vals[-1] - none:+.2f})")
    if args.json:
        from sandbox.fileio import atomic_write_text

        atomic_write_text(args.json, result.dumps() + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
