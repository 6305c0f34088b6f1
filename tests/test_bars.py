"""The bar charts' own drawing (widgets/bars.py BarsItem), read back from pixels: each bar
covers exactly 0 … value of its row on the plot's axes, in its own colour; a masked or
absent row has no bar; the zero line is drawn. The oracle is the ViewBox's own mapping of
data to screen, not the item's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402

from widgets.bars import BarsItem, HBars  # noqa: E402

COLOURS = [QColor("#d62728"), QColor("#2ca02c"), QColor("#1f77b4"), QColor("#9467bd"), QColor("#8c564b")]


def _render(qtbot, values, masked=None, absent=None, xrange=(-0.6, 1.2), size=(420, 260)):
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(*size)
    plot = w.getPlotItem()
    plot.invertY(True)
    bars = HBars(plot)
    bars.set(np.asarray(values, np.float32), xrange=xrange, brushes=COLOURS[:len(values)],
             masked=masked, absent=absent)
    bars.labels.setVisible(False)  # the bars alone: labels are checked in test_classroom_layout
    w.show()
    qtbot.waitExposed(w)
    img = w.grab().toImage()
    return w, plot, bars, img


def _to_pixel(w, plot, x, y):
    scene = plot.getViewBox().mapViewToScene(QPointF(x, y))
    p = w.mapFromScene(scene)
    return p.x(), p.y()


def _row_extent(img, y, colour):
    """x pixels on scanline y whose colour is ``colour`` (exact)."""
    xs = [x for x in range(img.width()) if img.pixelColor(x, y).rgb() == colour.rgb()]
    return (min(xs), max(xs)) if xs else None


def test_each_bar_spans_zero_to_its_value_in_its_colour(qtbot):
    values = [0.9, -0.45, 0.3, 1.1, 0.05]
    w, plot, bars, img = _render(qtbot, values)
    assert isinstance(bars.bars, BarsItem)
    np.testing.assert_array_equal(bars.bars.opts["width"], np.asarray(values, np.float32).astype(np.float64))
    for j, v in enumerate(values):
        x0, yc = _to_pixel(w, plot, 0.0, j)
        x1, _ = _to_pixel(w, plot, v, j)
        ext = _row_extent(img, int(round(yc)), COLOURS[j])
        assert ext is not None, f"row {j}: no bar drawn"
        lo, hi = sorted((x0, x1))
        # the zero line may cover the bar's first column at x = 0
        assert abs(ext[0] - lo) <= 2 and abs(ext[1] - hi) <= 2, (j, v, ext, (lo, hi))
        # 0.7 of a row tall: the bar is present 0.3 row above centre, absent 0.45 row above
        _, y_in = _to_pixel(w, plot, v / 2, j - 0.3)
        _, y_out = _to_pixel(w, plot, v / 2, j - 0.45)
        xm, _ = _to_pixel(w, plot, v / 2, j)
        assert img.pixelColor(int(round(xm)), int(round(y_in))).rgb() == COLOURS[j].rgb()
        assert img.pixelColor(int(round(xm)), int(round(y_out))).rgb() != COLOURS[j].rgb()


def test_masked_and_absent_rows_have_no_bar_and_the_zero_line_is_drawn(qtbot):
    values = np.array([0.8, -np.inf, 0.5, 0.7], np.float32)
    absent = np.array([False, False, False, True])
    w, plot, bars, img = _render(qtbot, values, absent=absent)
    for j in (1, 3):
        _, yc = _to_pixel(w, plot, 0.0, j)
        assert _row_extent(img, int(round(yc)), COLOURS[j]) is None, f"row {j} drew a bar"
    for j in (0, 2):
        _, yc = _to_pixel(w, plot, 0.0, j)
        assert _row_extent(img, int(round(yc)), COLOURS[j]) is not None
    # the zero line: grey pixels at x = 0 between rows (where no bar covers it)
    x0, _ = _to_pixel(w, plot, 0.0, 0)
    _, ygap = _to_pixel(w, plot, 0.0, 1.5)
    near = [img.pixelColor(int(round(x0)) + d, int(round(ygap))).rgb() for d in (-1, 0, 1)]
    assert BarsItem.ZERO_PEN.rgb() in near


# ------------------------------------------------------------- map cell numbers (OverlayItem)


def _cell_texts(values, cell_w, cell_h, font_pt):
    """(text, point size) of every number the overlay draws with cells ``cell_w`` × ``cell_h`` px."""
    from PySide6.QtGui import QFont, QImage, QPainter, QTransform

    from widgets.plots import OverlayItem

    class Recorder(QPainter):
        def __init__(self, device):
            super().__init__(device)
            self.drawn = []

        def drawText(self, *args):  # noqa: N802 (Qt's name)
            self.drawn.append((args[-1], self.font().pointSizeF()))
            super().drawText(*args)

    img = QImage(800, 600, QImage.Format.Format_ARGB32_Premultiplied)
    p = Recorder(img)
    try:
        p.setTransform(QTransform(cell_w, 0, 0, cell_h, cell_w / 2, cell_h / 2))  # cell (0, 0) at the corner
        item = OverlayItem()
        font = QFont("DejaVu Sans")
        font.setPointSizeF(font_pt)
        item.set_font(font)
        item.set_data(np.asarray(values, np.float32))
        item.paint(p)
    finally:
        p.end()
    return p.drawn


def test_map_cell_numbers_are_drawn_legibly_or_not_at_all(qtbot):
    from widgets.plots import CELL_TEXT_MIN_PT, CELL_TEXT_MIN_SCALE

    values = np.array([[0.1, 0.9], [0.5, 0.25], [0.0, 1.0]])
    big = _cell_texts(values, 60, 30, 9.0)
    assert [t for t, _ in big] == ["0.100", "0.900", "0.500", "0.250", "0.000", "1.000"]
    # a 12-row map squeezed into a short panel: 13 px rows gave 5.9 pt numbers before
    assert _cell_texts(values, 60, 13, 9.0) == []
    # at 150 % text the floor follows the text size
    assert _cell_texts(values, 60, 20, 13.5) == []
    for cw, ch, pt in [(60, 30, 9.0), (40, 16, 9.0), (80, 40, 13.5), (45, 18, 9.0)]:
        for _t, size in _cell_texts(values, cw, ch, pt):
            assert size >= max(CELL_TEXT_MIN_PT, CELL_TEXT_MIN_SCALE * pt) - 1e-9
            assert size <= min(pt, ch * 0.45, cw / 5.2) + 1e-9  # and it fits its cell


def test_no_tick_mark_runs_into_a_short_bars_label(qtbot):
    """The rows' axis draws no tick marks into the plot: at x = 0 they read as a minus sign
    before a short bar's value ("—0.024")."""
    values = np.array([0.9, -np.inf, 0.02], np.float32)
    w, plot, bars, img = _render(qtbot, values, xrange=(0.0, 1.2))
    x0, _ = _to_pixel(w, plot, 0.0, 0)
    _, yc = _to_pixel(w, plot, 0.0, 1)  # the masked row: no bar, so only a tick could be there
    y = int(round(yc))
    xs = range(int(round(x0)) + 2, int(round(x0)) + 6)  # past the axis line
    dark = [x for x in xs if img.pixelColor(x, y).lightness() < 128]
    assert not dark, f"dark pixels at x {dark} next to the axis"
