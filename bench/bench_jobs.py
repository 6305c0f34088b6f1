"""How fast background jobs answer pause, stop and close (moved here from the tests, which
no longer assert on time). Prints figures; asserts nothing.

Anchor, measured in the same run: the median time of one headless ``Trainer.step()`` of the
same preset (pause and stop act between steps, so one step is the floor). Then, in the
window: pause → worker paused, stop → run joined, close mid-training → window closed; the
compare view's and the bottleneck experiment's stop → thread joined.

    python bench/bench_jobs.py [--preset reverse] [--repeats 5]
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


def ms(xs: list[float]) -> str:
    return f"median {1000 * statistics.median(xs):7.1f} ms  max {1000 * max(xs):7.1f} ms  (n={len(xs)})"


def wait_until(app, cond, timeout: float = 60.0) -> float:
    t0 = time.perf_counter()
    while not cond():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("condition not met")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="reverse")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from PySide6.QtCore import QSettings

    from widgets.qtcompat import headless_app

    app = headless_app()
    from sandbox.model import Bundle
    from sandbox.presets import find_preset, load_preset
    from sandbox.train import Trainer

    tr = Trainer(Bundle.from_preset(load_preset(find_preset(args.preset))), steps=10**6, device="cpu")
    for _ in range(5):
        tr.step()
    steps = []
    for _ in range(50):
        t0 = time.perf_counter()
        tr.step()
        steps.append(time.perf_counter() - t0)
    print(f"jobs bench, preset {args.preset}, platform {app.platformName()}, {os.cpu_count()} CPUs")
    print(f"{'anchor: one Trainer.step() headless':<40} {ms(steps)}")

    from widgets.mainwindow import MainWindow

    tmp = tempfile.TemporaryDirectory()
    pause, stop, close = [], [], []
    for i in range(args.repeats):
        win = MainWindow(settings=QSettings(str(Path(tmp.name) / f"{i}.ini"), QSettings.Format.IniFormat),
                         persist=False)
        win.show()
        win.load_preset(args.preset)
        win.start_training(steps=10**7)
        wait_until(app, lambda: win.training.latest_metrics is not None)
        t0 = time.perf_counter()
        win.pause_training()
        wait_until(app, lambda: win.training.is_paused)
        pause.append(time.perf_counter() - t0)
        win.pause_training()  # resume
        wait_until(app, lambda: not win.training.is_paused)
        t0 = time.perf_counter()
        win.stop_training()
        wait_until(app, lambda: not win.training.is_active)
        stop.append(time.perf_counter() - t0)
        win.start_training(steps=10**7)
        wait_until(app, lambda: win.training.latest_metrics is not None and win.training.is_active)
        t0 = time.perf_counter()
        win.close()
        close.append(time.perf_counter() - t0)
        win.deleteLater()
        app.processEvents()
    print(f"{'window: pause → worker paused':<40} {ms(pause)}")
    print(f"{'window: stop → run joined':<40} {ms(stop)}")
    print(f"{'window: close mid-training':<40} {ms(close)}")

    from widgets.compare import CompareView

    cstop = []
    for _ in range(args.repeats):
        v = CompareView(preset="ko_en_cat_dot")
        v.show()
        v.train_all(steps=10**6)
        wait_until(app, lambda: v.columns[0].trained_steps > 0)
        t0 = time.perf_counter()
        v.stop()
        cstop.append(time.perf_counter() - t0)
        v.close()
        v.deleteLater()
        app.processEvents()
    print(f"{'compare: stop → thread joined':<40} {ms(cstop)}")

    from widgets.bottleneck_view import BottleneckView

    bstop = []
    for _ in range(args.repeats):
        b = BottleneckView(load_cache=False)
        b.start(quick=False)
        wait_until(app, lambda: b.progress.value() > 0)
        t0 = time.perf_counter()
        b.stop()
        bstop.append(time.perf_counter() - t0)
        b.deleteLater()
        app.processEvents()
    print(f"{'bottleneck: stop → thread joined':<40} {ms(bstop)}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
