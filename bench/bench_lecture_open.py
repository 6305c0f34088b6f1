"""Opening a shipped lecture on a fresh machine: Present → slide 1 on screen (target ≤ 2 s).

For each shipped lecture, in a running window (torch loaded, as after launch), with an empty
user folder (no cache): start the presenter and wait for its ``ready`` signal (models in
place, slide 1 applied and drawn). The models come from the checkpoints shipped in
``presets/lectures/models``. Anchor, measured in the same run: the same lecture opened with
the shipped checkpoints hidden, i.e. what a fresh machine paid before (training). Prints
figures; asserts nothing.

    python bench/bench_lecture_open.py [--runs 3] [--anchor bahdanau | --no-anchor]
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
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: E402


def open_lecture(app, win, key: str, home: str) -> tuple[float, float]:
    """(seconds to the presenter's ``ready``: models in place and slide 1 applied; seconds
    until the following paint has been processed)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from sandbox.lectures import find_lecture, load_lecture
    from widgets.presenter import Presenter

    os.environ["ATTENTION_SANDBOX_HOME"] = home
    t0 = time.perf_counter()
    lec = load_lecture(find_lecture(key))
    p = Presenter(win, lec, fullscreen=False)
    loop = QEventLoop()
    p.ready.connect(loop.quit)
    p.failed.connect(loop.quit)
    QTimer.singleShot(600_000, loop.quit)
    p.start()
    if not p.trained:
        loop.exec()
    ready = time.perf_counter() - t0
    app.processEvents()  # the paint of slide 1
    painted = time.perf_counter() - t0
    p.leave()
    p.deleteLater()
    app.processEvents()
    return ready, painted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--anchor", default="bahdanau", help="lecture to open once with training (the anchor)")
    ap.add_argument("--no-anchor", action="store_true")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings

    from sandbox import lecture_cache
    from sandbox.lectures import COURSE_ORDER
    from widgets.mainwindow import MainWindow

    app = _common.app()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ATTENTION_SANDBOX_HOME"] = str(Path(tmp) / "warm")
        win = MainWindow(settings=QSettings(str(Path(tmp) / "w.ini"), QSettings.Format.IniFormat), persist=False)
        win.resize(1400, 900)
        win.load_preset("ko_en_cat")
        win.show()
        app.processEvents()
        print(f"{os.cpu_count()} CPUs, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}, "
              f"shipped models in {lecture_cache.SHIPPED_MODELS_DIR.relative_to(ROOT)}")
        for key in COURSE_ORDER:
            runs = [open_lecture(app, win, key, str(Path(tmp) / f"{key}-{r}")) for r in range(args.runs)]
            ready = [r for r, _ in runs]  # a fresh user folder each run: no cache
            painted = [p for _, p in runs]
            print(f"open {key:16s} (shipped models, fresh user folder): ready median "
                  f"{statistics.median(ready):.3f} s, painted median {statistics.median(painted):.3f} s, "
                  f"max {max(painted):.3f} s  ({args.runs} runs)")
        if not args.no_anchor:
            empty = Path(tmp) / "no-shipped-models"
            empty.mkdir()
            saved = lecture_cache.SHIPPED_MODELS_DIR
            lecture_cache.SHIPPED_MODELS_DIR = empty
            try:
                dt = open_lecture(app, win, args.anchor, str(Path(tmp) / "anchor"))[1]
            finally:
                lecture_cache.SHIPPED_MODELS_DIR = saved
            print(f"anchor: open {args.anchor} → slide 1 without shipped models (training, seed 0): {dt:.1f} s")
        win.shutdown() if hasattr(win, "shutdown") else None
        win.close()


if __name__ == "__main__":
    main()
