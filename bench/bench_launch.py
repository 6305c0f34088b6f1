"""Launch time: ``python main.py`` started → main window first painted, and → first
attention map on screen (targets ≤ 1.0 s each).

Runs the real entry point in a subprocess with ``ATTENTION_SANDBOX_LAUNCH_PROBE``: the app
prints the wall-clock time of its first paint (``shown``), of its first attention map
(``map``: the cached map of the last session, widgets/firstmap.py) or of the live first
trace (``ready``: torch loaded, preset built, traced) and quits. ``shown`` is the anchor:
on a loaded machine every figure grows, the differences are what matter.

``--screen`` (needs an X display, e.g. ``Xvfb :55 & DISPLAY=:55``) measures from outside
the process: it starts the app with no probe and grabs the screen (``import -window root``)
until pixels of the cached map's own colours are on it. Prints figures; asserts nothing.

    python bench/bench_launch.py [--runs 5] [--screen]
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


GRABS: list[float] = []  # seconds per screen grab: the on-screen figure's resolution


def launch_on_screen(home: str, timeout: float = 60.0) -> float:
    """Seconds from starting ``main.py`` (no probe) until the cached map's colours are on
    the X screen, seen by grabbing the whole screen from outside the process."""
    import json
    import signal

    data = json.loads((Path(home) / "cache" / "first_map.json").read_text(encoding="utf-8"))
    colours = {c for row in data["cells"] for c in row if c and c.startswith("#")}
    want = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours}
    env = dict(os.environ, ATTENTION_SANDBOX_HOME=home)
    env.pop("ATTENTION_SANDBOX_LAUNCH_PROBE", None)
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.time() - t0 < timeout:
            g0 = time.time()
            shot = subprocess.run(["import", "-silent", "-window", "root", "-depth", "8", "rgb:-"],
                                  capture_output=True, timeout=30).stdout
            seen = time.time()  # conservative: on screen by the end of this grab
            GRABS.append(seen - g0)
            px = {shot[i:i + 3] for i in range(0, len(shot) - 2, 3 * 7)}  # every 7th pixel
            if sum(1 for p in px if tuple(p) in want) >= max(1, len(want) // 2):
                return seen - t0
        raise RuntimeError("the cached map never appeared on screen")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--screen", action="store_true", help="also measure on the X screen, from outside")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        launch("ready", home)  # warm the OS file cache; closing writes the first-map cache
        if args.screen:
            times = [launch_on_screen(home) for _ in range(args.runs)]
            print(f"launch → map on screen (outside, X grabs): median {statistics.median(times):.3f} s, "
                  f"min {min(times):.3f} s, max {max(times):.3f} s  ({args.runs} runs; one grab takes "
                  f"{statistics.median(GRABS):.3f} s, the resolution of this figure)")
        for probe in ("shown", "map", "ready"):
            times = [launch(probe, home) for _ in range(args.runs)]
            print(f"launch → {probe:5s}: median {statistics.median(times):.3f} s, "
                  f"min {min(times):.3f} s, max {max(times):.3f} s  ({args.runs} runs, "
                  f"{os.cpu_count()} CPUs, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM') or ('offscreen' if not os.environ.get('DISPLAY') else 'xcb')})")


if __name__ == "__main__":
    main()
