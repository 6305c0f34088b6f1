"""Launch time: ``python main.py`` started → main window first painted (target ≤ 1.0 s).

Runs the real entry point in a subprocess with ``ATTENTION_SANDBOX_LAUNCH_PROBE=shown``: the
app prints the wall-clock time of its first paint and quits. Also reports "ready" (torch
loaded, preset built, first trace drawn) for reference. Prints figures; asserts nothing.

    python bench/bench_launch.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def launch(probe: str, home: str) -> float:
    env = dict(os.environ, ATTENTION_SANDBOX_LAUNCH_PROBE=probe, ATTENTION_SANDBOX_HOME=home)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.time()
    out = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("LAUNCH "):
            return float(line.split()[2]) - t0
    raise RuntimeError(f"no LAUNCH line (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        launch("shown", home)  # warm the OS file cache
        for probe in ("shown", "ready"):
            times = [launch(probe, home) for _ in range(args.runs)]
            print(f"launch → {probe:5s}: median {statistics.median(times):.3f} s, "
                  f"min {min(times):.3f} s, max {max(times):.3f} s  ({args.runs} runs, "
                  f"{os.cpu_count()} CPUs, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM') or ('offscreen' if not os.environ.get('DISPLAY') else 'xcb')})")


if __name__ == "__main__":
    main()
