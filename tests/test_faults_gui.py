"""Issue 13, fault kinds (window side, pytest-qt offscreen): one test per kind.

Each test was run against the code before its fix and failed there.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui
from PySide6.QtCore import QSettings  # noqa: E402

from helpers import tiny_preset  # noqa: E402
from sandbox.model import Bundle  # noqa: E402
from sandbox.presets import find_preset, load_preset, loads_preset  # noqa: E402

S2S = {"kind": "seq2seq", "cell": "gru", "attention": "bahdanau", "embed": 8, "hidden": 8}
TRAIN = {"steps": 5, "batch_size": 4, "lr": 0.01, "teacher_forcing": 1.0, "seed": 0}


def overflowing_bundle() -> Bundle:
    """A Bahdanau model whose weights are huge but finite: its scores overflow to +inf and
    its weights to NaN."""
    b = Bundle.from_preset(loads_preset(tiny_preset("huge", S2S, TRAIN)))
    with torch.no_grad():
        w = b.model.scorer.v.weight
        w.copy_(torch.where(w >= 0, 3e38, -3e38))
        b.model.scorer.W1.weight.mul_(100)
    assert all(torch.isfinite(p).all() for p in b.model.parameters())
    return b


@pytest.fixture
def window(qapp, tmp_path):
    from widgets.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    win.resize(1400, 900)
    win.show()
    qapp.processEvents()
    yield win
    win.close()
    win.deleteLater()
    qapp.processEvents()


def _labels(bars) -> list[str]:
    return [lab[2] for lab in bars.labels._labels]


# ----------------------------------------------------------------------------- item 3


def test_nan_is_labelled_nan_never_masked(window, qapp):
    window.set_bundle(overflowing_bundle())
    window.set_sentence("a b c", "x y z")
    window.set_step(0)
    qapp.processEvents()
    views = window.views
    rec = views.index.record("cross", 0, 0, 0)
    assert np.isnan(rec.weights).all() and np.isposinf(rec.energies).all()
    an = views.anatomy
    w, e = _labels(an.weight_bars), _labels(an.energy_bars)
    assert w == ["NaN"] * len(w) and len(w) == rec.weights.shape[0]
    assert e == ["+∞"] * len(e)
    assert not any("masked" in t for t in w + e)
    m = views.cross_map
    assert "NaN" in m.describe_cell(0, 0) and "masked" not in m.describe_cell(0, 0).replace("not a mask", "")
    views.explain_cell("cross", 0, 1)
    text = views.explain.toPlainText()
    assert "NaN" in text and "is masked" not in text


def test_masked_energies_are_still_labelled_masked(qapp):
    """−inf is what a mask writes; those keys keep their "masked" label (and weight 0)."""
    from widgets.plots import HBars
    import pyqtgraph as pg

    w = pg.PlotWidget()
    bars = HBars(w.getPlotItem())
    bars.set(np.array([0.5, -np.inf, np.nan, np.inf], np.float32), xrange=(0, 1))
    assert _labels(bars) == ["0.500", "−∞ masked", "NaN", "+∞"]
    w.deleteLater()


# ----------------------------------------------------------------------------- item 4


def test_no_attention_readout_label_comes_from_the_step(window, qapp):
    window.load_preset("ko_en_cat_none")
    window.set_step(0)
    qapp.processEvents()
    an = window.views.anatomy
    step = window.trace.steps[0]
    assert step.concat == ("state",)
    assert an.cat_label == "[s]"
    ticks = an.cat_plot.getAxis("left")._tickLevels
    assert [t for _v, t in ticks[0]] == ["[s]"]
    window.load_preset("ko_en_cat_dot")
    window.set_step(0)
    qapp.processEvents()
    assert window.trace.steps[0].concat == ("context", "state") and an.cat_label == "[c; s]"
