"""What the benchmark scripts share: percentiles, a window to measure in, the bare training loop.

Each script prints figures and asserts nothing; the helpers here only set things up the same
way everywhere, so that two scripts' figures are comparable.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(xs: list[float], q: float) -> float:
    """The q-quantile of ``xs`` (0 ≤ q ≤ 1) by the nearest rank; no interpolation."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def app():
    """The QApplication: the project's headless boot (offscreen without a display)."""
    from widgets.qtcompat import headless_app

    return headless_app(override=False)


def window(size: str = "1480x940", show: bool = True):
    """(app, window, tmp): a MainWindow whose settings live in a temporary folder (kept
    alive by ``tmp``) and that writes nothing back (``persist=False``), resized to
    ``size`` ("WxH") and shown."""
    from PySide6.QtCore import QSettings

    from widgets.mainwindow import MainWindow

    a = app()
    tmp = tempfile.TemporaryDirectory()
    win = MainWindow(settings=QSettings(str(Path(tmp.name) / "bench.ini"), QSettings.Format.IniFormat),
                     persist=False)
    w, h = (int(v) for v in size.split("x"))
    win.resize(w, h)
    if show:
        win.show()
        a.processEvents()
    return a, win, tmp


def platform_line(a) -> str:
    """Where the figures were measured: Qt platform, CPUs, load average."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"platform {a.platformName()}, {os.cpu_count()} CPUs, load average {load:.1f}"


def trainer_batches(preset, steps: int) -> list:
    """The batches ``Trainer`` itself would draw for ``steps`` steps (same seed, same order)."""
    from sandbox.model import Bundle
    from sandbox.train import Trainer

    probe = Trainer(Bundle.from_preset(preset), device="cpu", steps=steps)
    return [probe._batch() for _ in range(steps)]


def bare_loop_seconds(preset, batches: list) -> float:
    """Seconds a bare PyTorch loop takes over ``batches`` on a fresh model of ``preset``:
    zero_grad, forward (teacher forced), cross-entropy, backward, gradient clipping, Adam
    step; nothing else. The anchor every training figure is compared with."""
    import torch
    import torch.nn.functional as F

    from sandbox.model import Bundle
    from sandbox.train import GRAD_CLIP
    from sandbox.vocab import PAD_ID

    model = Bundle.from_preset(preset).model
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=preset.training.lr)
    t0 = time.perf_counter()
    for src, lens, tgt_in, tgt_out, _n in batches:
        opt.zero_grad(set_to_none=True)
        logits = model(src, lens, tgt_in, feed="gold")
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                               ignore_index=PAD_ID)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
        opt.step()
    return time.perf_counter() - t0
