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
import statistics
import time

import _common


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


def timed(app, action, done=lambda: True) -> float:
    """Seconds from calling ``action()`` until ``done()`` holds (events processed meanwhile)."""
    t0 = time.perf_counter()
    action()
    wait_until(app, done)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="reverse")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    app = _common.app()
    from sandbox.model import Bundle
    from sandbox.presets import find_preset, load_preset
    from sandbox.train import Trainer

    tr = Trainer(Bundle.from_preset(load_preset(find_preset(args.preset))), steps=10**6, device="cpu")
    for _ in range(5):
        tr.step()
    steps = [timed(app, tr.step) for _ in range(50)]
    print(f"jobs bench, preset {args.preset}, {_common.platform_line(app)}")
    print(f"{'anchor: one Trainer.step() headless':<40} {ms(steps)}")

    pause, stop, close = [], [], []
    for _ in range(args.repeats):
        _app, win, tmp = _common.window()
        win.load_preset(args.preset)
        win.start_training(steps=10**7)
        wait_until(app, lambda: win.training.latest_metrics is not None)
        pause.append(timed(app, win.pause_training, lambda: win.training.is_paused))
        win.pause_training()  # resume
        wait_until(app, lambda: not win.training.is_paused)
        stop.append(timed(app, win.stop_training, lambda: not win.training.is_active))
        win.start_training(steps=10**7)
        wait_until(app, lambda: win.training.latest_metrics is not None and win.training.is_active)
        close.append(timed(app, win.close))
        win.deleteLater()
        app.processEvents()
        tmp.cleanup()
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
        cstop.append(timed(app, v.stop))
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
        bstop.append(timed(app, b.stop))
        b.deleteLater()
        app.processEvents()
    print(f"{'bottleneck: stop → thread joined':<40} {ms(bstop)}")


if __name__ == "__main__":
    main()
