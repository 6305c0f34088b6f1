"""Live loss (left axis) and accuracy / exact match (right axis, 0–1) while training, and,
when the preset's teacher forcing ratio is below 1, the share of each step's decoder inputs
that were fed the gold token (``Metrics.fed_gold``: teacher forcing is drawn per token)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

from .plots import set_plot_font


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is at least ``raw`` (> 0)."""
    k = math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0 ** k >= raw * (1 - 1e-9):
            return m * 10.0 ** k
    return 10.0 ** (k + 1)


class SparseAxis(pg.AxisItem):
    """A vertical axis whose tick labels never overprint: one tick level, the finest 1-2-5
    step whose labels (one text line each) fit the axis' height. pyqtgraph's own limit let
    "0.2 0.4 0.6 0.8" overlap on the ~60 px tall loss plot at 150 % text."""

    def tickSpacing(self, minVal, maxVal, size):
        span = float(maxVal - minVal)
        if not (span > 0 and size > 0):
            return super().tickSpacing(minVal, maxVal, size)
        # a label's ink height with 15 % between rows (pyqtgraph's label boxes, ~1.1× the
        # ink, then never overlap: tests/test_walk_fixes.py reads them back)
        line = QFontMetricsF(self.style.get("tickFont") or self.font()).tightBoundingRect("0.5").height() * 1.15
        line = max(line, 1.0)
        labels = max(int(size // line) - 1, 1)  # gaps between the label rows that fit
        step = _nice_step(span / labels)
        while (span / step + 1) * line > size and step < 1e12:
            step = _nice_step(step * 1.01)
        return [(step, 0)]


class LossPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent, enableMenu=False,
                         axisItems={"left": SparseAxis("left"), "right": SparseAxis("right")})
        self.setMinimumHeight(90)
        p = self.getPlotItem()
        p.hideButtons()
        p.setMenuEnabled(False)
        p.getViewBox().setMouseEnabled(False, False)
        p.showGrid(x=False, y=True, alpha=0.2)
        p.setLabel("left", "loss")
        p.setLabel("bottom", "training step")
        for name in ("left", "bottom", "right"):
            p.getAxis(name).enableAutoSIPrefix(False)  # a changing prefix re-lays out the plot
        self.legend = p.addLegend(offset=(-4, 2), labelTextSize="7pt", colCount=3)
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 210))  # readable over the curves it covers
        self.loss_curve = p.plot([], [], pen=pg.mkPen("#dd8452", width=2), name="loss")
        self.acc_vb = pg.ViewBox(enableMouse=False, enableMenu=False)
        p.showAxis("right")
        p.scene().addItem(self.acc_vb)
        p.getAxis("right").linkToView(self.acc_vb)
        p.getAxis("right").setLabel("accuracy")
        self.acc_vb.setXLink(p)
        self.acc_vb.setYRange(0, 1.02, padding=0)
        self.acc_curve = pg.PlotDataItem([], [], pen=pg.mkPen("#4c72b0", width=2), name="token accuracy")
        self.exact_curve = pg.PlotDataItem([], [], pen=pg.mkPen("#1a7f37", width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
                                           symbol="o", symbolSize=4, symbolBrush="#1a7f37",
                                           name="exact match")
        self.heldout_curve = pg.PlotDataItem([], [], pen=pg.mkPen("#8250df", width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
                                             symbol="s", symbolSize=4, symbolBrush="#8250df",
                                             name="held-out exact match")
        self.acc_vb.addItem(self.acc_curve)
        self.acc_vb.addItem(self.exact_curve)
        self.acc_vb.addItem(self.heldout_curve)
        self.fed_curve = pg.PlotDataItem([], [], pen=pg.mkPen("#9a6700", width=1, style=pg.QtCore.Qt.PenStyle.DotLine),
                                         name="fed gold")
        self.acc_vb.addItem(self.fed_curve)
        self._fed_in_legend = False
        self.legend.addItem(self.acc_curve, "token accuracy")
        self.legend.addItem(self.exact_curve, "exact match (free running)")
        self._heldout_in_legend = False
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888888", width=1, style=pg.QtCore.Qt.PenStyle.DotLine))
        p.addItem(self.marker)
        self.marker.setVisible(False)
        p.getViewBox().sigResized.connect(self._sync)
        self.clear_data()

    def _sync(self) -> None:
        self.acc_vb.setGeometry(self.getPlotItem().getViewBox().sceneBoundingRect())
        self.acc_vb.linkedViewChanged(self.getPlotItem().getViewBox(), self.acc_vb.XAxis)

    def set_font(self, font: QFont) -> None:
        set_plot_font(self.getPlotItem(), font)
        # the legend follows the text size too (it stayed at 7 pt: unreadable at 150 %)
        pt = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
        self.legend.setLabelTextSize(f"{max(pt * 0.85, 7.0):.1f}pt")
        for _sample, label in self.legend.items:
            label.setText(label.text)  # setLabelTextSize only stores the size: render it
        self.legend.updateSize()

    def clear_data(self) -> None:
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.acc: list[float] = []
        self.exact_steps: list[int] = []
        self.exact: list[float] = []
        self.fed: list[float] = []
        self.fed_curve.setData([], [])
        self.heldout: list[float] = []  # held-out exact match at each of exact_steps (nan: none)
        self.heldout_curve.setData([], [])
        self.loss_curve.setData([], [])
        self.acc_curve.setData([], [])
        self.exact_curve.setData([], [])
        self.marker.setVisible(False)

    def add(self, metrics: list) -> None:
        last_exact = self.exact[-1] if self.exact else None
        for m in metrics:
            self.steps.append(m.step)
            self.loss.append(m.loss if np.isfinite(m.loss) else np.nan)
            self.acc.append(m.token_accuracy)
            self.fed.append(float(getattr(m, "fed_gold", 1.0)))
            if m.exact_match is not None and (m.exact_match != last_exact or m.step % 25 == 0
                                              or m.step == m.steps):
                self.exact_steps.append(m.step)
                self.exact.append(m.exact_match)
                held = getattr(m, "heldout_exact", None)
                self.heldout.append(np.nan if held is None else held)
                last_exact = m.exact_match
        if not self.steps:
            return
        x = np.asarray(self.steps, dtype=np.float64)
        self.loss_curve.setData(x, np.asarray(self.loss, dtype=np.float64))
        self.acc_curve.setData(x, np.asarray(self.acc, dtype=np.float64))
        self.exact_curve.setData(np.asarray(self.exact_steps, np.float64), np.asarray(self.exact, np.float64))
        if any(v < 1.0 for v in self.fed):  # scheduled sampling: show what was fed
            self.fed_curve.setData(x, np.asarray(self.fed, dtype=np.float64))
            if not self._fed_in_legend:
                self.legend.addItem(self.fed_curve, "fed gold (share of inputs)")
                self._fed_in_legend = True
        held = np.asarray(self.heldout, np.float64)
        if np.isfinite(held).any():  # beside training exact match: does the model generalise?
            ok = np.isfinite(held)
            self.heldout_curve.setData(np.asarray(self.exact_steps, np.float64)[ok], held[ok])
            if not self._heldout_in_legend:
                self.legend.addItem(self.heldout_curve, "held-out exact match")
                self._heldout_in_legend = True
        total = metrics[-1].steps if metrics else x[-1]
        p = self.getPlotItem()
        p.setXRange(0, max(float(total), 1.0), padding=0.02)
        finite = [v for v in self.loss if v == v]
        p.setYRange(0, max(finite) * 1.05 if finite else 1.0, padding=0)

    def set_marker(self, step: int | None) -> None:
        if step is None:
            self.marker.setVisible(False)
        else:
            self.marker.setPos(step)
            self.marker.setVisible(True)
