"""Saving a 200-pair preset from the editor: how long the window stops answering.

Opens a 200-pair preset in the preset editor (offscreen), edits one pair, and saves it
while a 5 ms GUI timer records its gaps; the longest gap is how long the window froze
(issue 16: it used to be ~0.5 s). Printed next to it, measured in the same run: the save
call's own duration and the same save done directly on the GUI thread (``save_preset`` +
``load_preset``), which is what the window would freeze for without the save thread.
Asserts nothing.

    python bench/bench_save_preset.py [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    home = tempfile.mkdtemp()
    os.environ["ATTENTION_SANDBOX_HOME"] = home
    from PySide6.QtCore import QTimer

    from sandbox.presets import Pair, find_preset, load_preset, save_preset, user_presets_dir
    from widgets.editor import EditorDialogs, PresetEditor

    app = _common.app()
    base = load_preset(find_preset("ko_en_cat"))
    big = dataclasses.replace(base, pairs=tuple(Pair(f"나는 고양이 {i} 입니다", f"I am cat number {i}") for i in range(200)))
    path = user_presets_dir() / "big.toml"
    save_preset(big, path)
    editor = PresetEditor(dialogs=EditorDialogs())
    editor.load_file(path)
    gaps, calls, direct = [], [], []
    for i in range(args.runs):
        editor.edit_pair(0, 1, f"I am cat number zero, take {i}")
        stamps: list[float] = []
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
        timer.start()
        t_end = time.perf_counter() + 0.05
        while time.perf_counter() < t_end:
            app.processEvents()
        t0 = time.perf_counter()
        stamps.append(t0)
        assert editor.save() is not None
        t1 = time.perf_counter()
        stamps.append(t1)
        t_end = t1 + 0.05
        while time.perf_counter() < t_end:
            app.processEvents()
        timer.stop()
        window = [s for s in stamps if t0 - 0.001 <= s <= t1 + 0.05]
        gaps.append(max(b - a for a, b in zip(window, window[1:])))
        calls.append(t1 - t0)
        state = editor.preset()
        t2 = time.perf_counter()
        load_preset(save_preset(dataclasses.replace(state, pairs=state.pairs[::-1]), user_presets_dir() / "direct.toml"))
        direct.append(time.perf_counter() - t2)
    ms = lambda xs: f"median {1000 * statistics.median(xs):.0f} ms, max {1000 * max(xs):.0f} ms"  # noqa: E731
    print(f"200-pair preset, {args.runs} saves from the editor, {os.cpu_count()} cores")
    print(f"  longest window freeze during a save: {ms(gaps)}")
    print(f"  the save call itself:               {ms(calls)}")
    print(f"  anchor, the same save on the GUI thread (save_preset + load_preset): {ms(direct)}")


if __name__ == "__main__":
    main()
