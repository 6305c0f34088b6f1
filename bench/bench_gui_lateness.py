"""GUI event-loop lateness while training runs with live updates (target p99 ≤ 20 ms).

A 5 ms QTimer (PreciseTimer) probes the GUI thread: lateness = time between ticks − 5 ms.
Measured idle first, then while the window trains a preset with live snapshots (loss
plot, progress, attention views redrawn up to 20 times a second). Prints figures;
asserts nothing.

    python bench/bench_gui_lateness.py [--preset ko_en_cat] [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PERIOD_MS = 5


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def probe(app, seconds: float) -> list[float]:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    late: list[float] = []
    last = [time.perf_counter()]
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(PERIOD_MS)

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, (now - last[0]) * 1000 - PERIOD_MS))
        last[0] = now

    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    last[0] = time.perf_counter()
    timer.start()
    loop.exec()
    timer.stop()
    return late


def report(label: str, late: list[float]) -> None:
    print(f"{label:<34} ticks {len(late):>5}  median {statistics.median(late):6.2f} ms  "
          f"p99 {pct(late, 0.99):6.2f} ms  max {max(late):6.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ko_en_cat")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="override sys.setswitchinterval (seconds) for an experiment")
    args = ap.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from widgets.mainwindow import MainWindow

    tmp = tempfile.TemporaryDirectory()
    win = MainWindow(settings=QSettings(str(Path(tmp.name) / "b.ini"), QSettings.Format.IniFormat),
                     persist=False)
    win.resize(1480, 940)
    win.show()
    win.load_preset(args.preset)
    app.processEvents()
    print(f"GUI lateness, preset {args.preset}, platform {app.platformName()}, {os.cpu_count()} CPUs, "
          f"{PERIOD_MS} ms probe")
    report("idle", probe(app, min(args.seconds, 3.0)))
    snaps = [0]
    win.training.snapshot.connect(lambda _s: snaps.__setitem__(0, snaps[0] + 1))
    win.start_training(steps=10**7)
    probe(app, 1.0)  # let training settle (first snapshot, warm caches)
    n0 = snaps[0]
    late = probe(app, args.seconds)
    m = win.training.latest_metrics
    report("training with live updates", late)
    rate = f", {m.steps_per_sec:.0f} training steps/s" if m else ""
    print(f"  {(snaps[0] - n0) / args.seconds:.1f} snapshots/s shown{rate}")
    win.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
