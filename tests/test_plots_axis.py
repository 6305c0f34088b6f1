"""TokenAxis draws its labelled ticks with its own short path (``_token_specs``); the oracle
is pyqtgraph's general ``AxisItem.generateDrawSpecs`` on the same axis, labels and painter:
the axis line, every tick, every text rectangle, flag and string, and the axis's
auto-size must come out the same, on all four sides, with labels partly out of range."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui

import pyqtgraph as pg  # noqa: E402
from PySide6.QtGui import QFont, QPainter, QPicture  # noqa: E402

from widgets.plots import TokenAxis, set_ticks  # noqa: E402

TOKENS = ["나는", "고양이로소이다", "<eos>", "a", "rather-long-token", "cat", "I", "am"]


def _pts(a, b):
    return (round(a.x(), 6), round(a.y(), 6), round(b.x(), 6), round(b.y(), 6))


def _specs_both(axis: TokenAxis):
    pic = QPicture()
    p = QPainter(pic)
    try:
        mine = axis.generateDrawSpecs(p)
        size_mine = (axis.textWidth, axis.textHeight)
        full = axis._tickLevels
        keep = axis._token_specs
        # the general path: pyqtgraph's own, with the same thinned labels
        axis._token_specs = lambda painter, shown: _general(axis, painter, shown, full)
        theirs = axis.generateDrawSpecs(p)
        axis._token_specs = keep
        size_theirs = (axis.textWidth, axis.textHeight)
    finally:
        p.end()
    return mine, theirs, size_mine, size_theirs


def _general(axis, painter, shown, full):
    axis._tickLevels = [shown, []]
    try:
        return pg.AxisItem.generateDrawSpecs(axis, painter)
    finally:
        axis._tickLevels = full


@pytest.mark.parametrize("side", ["left", "bottom", "right", "top"])
@pytest.mark.parametrize("n, lo, hi", [(5, -0.5, 4.5), (8, -0.5, 7.5), (8, 1.5, 5.5), (3, -0.5, 9.5)])
def test_token_specs_match_pyqtgraphs_general_path(qtbot, side, n, lo, hi):
    w = pg.PlotWidget(axisItems={side: TokenAxis(side)})
    qtbot.addWidget(w)
    w.resize(420, 300)
    plot = w.getPlotItem()
    plot.showAxis(side)
    axis = plot.getAxis(side)
    font = QFont("DejaVu Sans")
    font.setPixelSize(13)
    axis.setStyle(tickFont=font)
    set_ticks(axis, TOKENS[:n])
    if side in ("left", "right"):
        plot.getViewBox().setRange(yRange=(lo, hi), xRange=(0, 1), padding=0)
    else:
        plot.getViewBox().setRange(xRange=(lo, hi), yRange=(0, 1), padding=0)
    w.show()
    qtbot.waitExposed(w)
    mine, theirs, size_mine, size_theirs = _specs_both(axis)
    assert mine is not None and theirs is not None
    (pen_a, a1, a2), ticks_a, texts_a = mine
    (pen_b, b1, b2), ticks_b, texts_b = theirs
    assert _pts(a1, a2) == _pts(b1, b2)
    assert pen_a == pen_b
    assert [(pen.color().rgba(), _pts(p1, p2)) for pen, p1, p2 in ticks_a] == \
        [(pen.color().rgba(), _pts(p1, p2)) for pen, p1, p2 in ticks_b]
    assert len(texts_a) == len(texts_b) > 0
    for (ra, fa, ta), (rb, fb, tb) in zip(texts_a, texts_b):
        assert ta == tb
        assert int(fa) == int(fb)
        assert ra.getRect() == pytest.approx(rb.getRect(), abs=1e-9)
    assert size_mine == size_theirs
