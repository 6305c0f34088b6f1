"""Training history as weight snapshots: how big a point is and what showing one costs.

For each shipped preset: the bytes of one snapshot (a CPU copy of the state_dict), the time
to take it, next to one training step (the anchor: a snapshot is taken every ~1/60 of the
run, between steps); and the time to show a history point for a sentence not traced there
before (build a model from the snapshot, then trace), next to a live trace of the same
sentence (the anchor). Median of ``--repeats``. Prints figures; asserts nothing.

    python bench/bench_history.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()

    from sandbox.history import WeightHistory, WeightSnapshot, snapshot_weights
    from sandbox.model import Bundle
    from sandbox.presets import list_presets, load_preset
    from sandbox.trace import trace
    from sandbox.train import Trainer

    print(f"{'preset':<22} {'KB/point':>9} {'snapshot ms':>12} {'train step ms':>14} "
          f"{'history trace ms':>17} {'live trace ms':>14}")
    for key, path, is_user in list_presets():
        if is_user:
            continue
        p = load_preset(path)
        b = Bundle.from_preset(p)
        t = Trainer(b, steps=10_000, device="cpu")
        pair = p.pairs[0]
        snaps, steps, hist_ms, live_ms = [], [], [], []
        h = WeightHistory(cache_traces=0, cache_bundles=0)
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            t.step()
            steps.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            w = snapshot_weights(b.model)
            snaps.append(time.perf_counter() - t0)
            h.add(WeightSnapshot(t.step_count, 10_000, w))
            i = len(h) - 1
            t0 = time.perf_counter()
            h.trace_at(i, b, pair.source, pair.target, "free_running")
            hist_ms.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            trace(b, pair.source, pair.target, mode="free_running")
            live_ms.append(time.perf_counter() - t0)
        kb = h[0].nbytes / 1024
        med = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
        print(f"{key:<22} {kb:>9.1f} {med(snaps):>12.3f} {med(steps):>14.2f} "
              f"{med(hist_ms):>17.2f} {med(live_ms):>14.2f}")


if __name__ == "__main__":
    main()
