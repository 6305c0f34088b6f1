"""Step latency: next timestep → every visible view repainted (target p95 ≤ 16 ms).

For each shipped preset the real window steps through its trace (teacher forcing) again
and again: ``set_step(t)`` then ``QApplication.processEvents()`` (which delivers the paint
of every view that changed). ``--full`` instead forces a synchronous ``repaint()`` of the
whole window, the pessimistic figure. Transformer presets are measured on the cross
attention tab and on the masked self-attention tab. Prints figures; asserts nothing.

    python bench/bench_step.py [--rounds 20] [--full]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: E402

pct = _common.pct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20, help="passes over each trace")
    ap.add_argument("--full", action="store_true", help="force a full synchronous window repaint")
    ap.add_argument("--size", default="1480x940")
    args = ap.parse_args()

    from sandbox.presets import list_presets

    app, win, tmp = _common.window(args.size)
    w, h = (int(v) for v in args.size.split("x"))
    print(f"step latency, window {w}×{h}, platform {app.platformName()}, {os.cpu_count()} CPUs, "
          f"{'full repaint' if args.full else 'set_step + processEvents'}")
    print(f"{'preset':<24} {'panel':<12} {'steps':>5} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for key, _path, is_user in list_presets():
        if is_user:
            continue
        win.load_preset(key)
        win.set_mode("teacher_forcing")
        panels = ["map"] + (["masked_self"] if win.views.index.is_transformer else [])
        for panel in panels:
            win.focus_panel(panel)
            n = len(win.trace.steps)
            for _ in range(3):  # warm up
                for t in range(n):
                    win.set_step(t)
                    app.processEvents()
            times = []
            for _ in range(args.rounds):
                for t in list(range(n)) + list(range(n - 2, 0, -1)):
                    t0 = time.perf_counter()
                    win.set_step(t)
                    if args.full:
                        win.repaint()
                    app.processEvents()
                    times.append((time.perf_counter() - t0) * 1000)
            print(f"{key:<24} {panel:<12} {n:>5} {statistics.median(times):>10.2f} {pct(times, 0.95):>8.2f} "
                  f"{max(times):>8.2f}")
        win.focus_panel("map")
    win.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
