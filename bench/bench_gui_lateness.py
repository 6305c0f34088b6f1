"""GUI event-loop lateness while training runs with live updates (target p99 ≤ 20 ms).

A 5 ms QTimer (PreciseTimer) probes the GUI thread: lateness = time between ticks − 5 ms.
Measured idle first, then while the window trains a preset with live snapshots (loss
plot, progress, attention views redrawn up to 20 times a second). Prints figures;
asserts nothing.

    python bench/bench_gui_lateness.py [--preset ko_en_cat] [--seconds 8] [--editor] [--runs 3]

``--editor`` opens the preset editor dock (installed as the app does) and measures, in the
same run, idle and training with the dock closed and open, for the given preset and for a
200-pair inline preset written to a temporary user folder (issue 16: it was 25–45 ms p99
with the dock open).
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


import _common  # noqa: E402
from _common import pct  # noqa: E402 - the benches' one percentile


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
    print(f"{label:<48} ticks {len(late):>5}  median {statistics.median(late):6.2f} ms  "
          f"p99 {pct(late, 0.99):6.2f} ms  max {max(late):6.2f} ms")


def train_and_probe(app, win, seconds: float, counter=None) -> tuple[list[float], float, float]:
    """Start training, let it settle, probe; returns (lateness, snapshots/s, steps/s), then
    stops training and waits until it is idle. ``counter`` (:func:`dock_event_counter`)
    counts only during the probe, not while training starts or stops."""
    from PySide6.QtCore import QEventLoop, QTimer

    snaps = [0]

    def count(_s) -> None:
        snaps[0] += 1

    win.training.snapshot.connect(count)
    win.start_training(steps=10**7)
    probe(app, 1.0)  # let training settle (first snapshot, warm caches)
    n0 = snaps[0]
    if counter is not None:
        counter.counts = dict.fromkeys(counter.counts, 0)
        counter.on = True
    late = probe(app, seconds)
    if counter is not None:
        counter.on = False
    m = win.training.latest_metrics
    rate = m.steps_per_sec if m else float("nan")
    shown = (snaps[0] - n0) / seconds
    win.training.snapshot.disconnect(count)
    win.stop_training()
    deadline = time.perf_counter() + 30
    while win.is_training and time.perf_counter() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    return late, shown, rate


def big_preset(base_key: str) -> Path:
    """A 200-pair inline preset (MAX_PAIRS) in the user folder, settings from ``base_key``."""
    import dataclasses

    from sandbox.presets import MAX_PAIRS, Pair, find_preset, load_preset, save_preset, user_presets_dir

    base = load_preset(find_preset(base_key))
    pairs = tuple(Pair(f"나는 고양이 {i} 입니다", f"I am cat number {i}") for i in range(MAX_PAIRS))
    big = dataclasses.replace(base, data=None, heldout_pairs=(), pairs=pairs, path=None, source_text=None)
    path = user_presets_dir() / "bench_200_pairs.toml"
    save_preset(big, path)
    return path


def dock_event_counter(app, dock):
    """An application event filter counting Paint / LayoutRequest / Resize events delivered
    to the dock or a widget inside it (the editor's share of the GUI thread's work)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    kinds = {QEvent.Type.Paint: "paint", QEvent.Type.LayoutRequest: "layout", QEvent.Type.Resize: "resize"}

    class Counter(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.counts = dict.fromkeys(kinds.values(), 0)
            self.on = False

        def eventFilter(self, obj, ev) -> bool:
            kind = kinds.get(ev.type()) if self.on else None
            if kind is not None and isinstance(obj, QWidget) and (obj is dock or dock.isAncestorOf(obj)):
                self.counts[kind] += 1
            return False

    counter = Counter()
    app.installEventFilter(counter)
    return counter


def editor_runs(app, args) -> None:
    """Idle vs training, editor dock closed vs open, for a corpus preset and a 200-pair one."""
    from PySide6.QtCore import QSettings

    from widgets.editor_install import install_editor
    from widgets.mainwindow import MainWindow

    tmp = tempfile.TemporaryDirectory()
    win = MainWindow(settings=QSettings(str(Path(tmp.name) / "b.ini"), QSettings.Format.IniFormat),
                     persist=False)
    editor = install_editor(win)
    win.resize(1480, 940)
    win.show()
    counter = dock_event_counter(app, win.preset_editor_dock)
    refreshes = [0]
    refresh = editor._refresh

    def counted_refresh() -> None:  # how often the editor redoes its state while training
        refreshes[0] += counter.on
        refresh()

    editor._refresh = counted_refresh
    presets = [(args.preset, args.preset), ("200 pairs", str(big_preset(args.preset)))]
    print(f"GUI lateness with the preset editor, platform {app.platformName()}, {os.cpu_count()} CPUs, "
          f"{PERIOD_MS} ms probe, {args.runs} run(s)")
    for run in range(args.runs):
        for label, preset in presets:
            win.load_preset(preset)
            app.processEvents()
            for dock_open in (False, True):
                win.preset_editor_dock.setVisible(dock_open)
                app.processEvents()
                where = f"run {run + 1} {label}, editor {'open' if dock_open else 'closed'}"
                report(f"{where}: idle", probe(app, min(args.seconds, 2.0)))
                refreshes[0] = 0
                late, shown, rate = train_and_probe(app, win, args.seconds, counter)
                report(f"{where}: training", late)
                dock = ", ".join(f"{n} {k}" for k, n in counter.counts.items())
                print(f"  {shown:.1f} snapshots/s shown, {rate:.0f} training steps/s; while probing, "
                      f"editor refreshes {refreshes[0]}, dock events: {dock}")
    win.close()
    tmp.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ko_en_cat")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="override sys.setswitchinterval (seconds) for an experiment")
    ap.add_argument("--editor", action="store_true",
                    help="with the preset editor dock closed and open, a corpus and a 200-pair preset")
    ap.add_argument("--runs", type=int, default=1, help="repeat the --editor measurements")
    args = ap.parse_args()
    if args.editor:
        os.environ["ATTENTION_SANDBOX_HOME"] = tempfile.mkdtemp(prefix="lateness-")  # the 200-pair file
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    from PySide6.QtCore import QSettings

    app = _common.app()
    if args.editor:
        editor_runs(app, args)
        return
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
