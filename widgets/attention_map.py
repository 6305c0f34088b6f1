"""An attention map: weights as a heat map, rows filled up to the current step.

Works for every kind of record: ``cross`` (decoder steps × source tokens), ``masked_self``
(decoder steps × decoder inputs; the causal mask drawn hatched, distinct from a weight of
0) and ``self`` (source × source). Hover reports the exact weight; a click asks for that
cell's arithmetic (``cellClicked``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont

from .numfmt import fmt
from .plots import (token_axes, WEIGHTS_CMAP, MatrixItem, OverlayItem, RowHighlight, fit_left_axis, set_plot_font, set_ticks,
                    hide_title, set_title, style_plot)

GOLD_LEGEND = " · ○ = gold alignment link"


class AttentionMap(pg.GraphicsLayoutWidget):
    """A labelled weight matrix. Draws what it is given; holds no model state."""

    cellClicked = Signal(int, int)  # row, col
    cellMenuRequested = Signal(int, int, object)  # row, col, global QPoint: a right click on a cell
    columnMenuRequested = Signal(int, object)  # col, global QPoint: a right click on a column label
    cellHovered = Signal(str)

    def __init__(self, kind: str, parent=None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._short = False  # too short for a title (see resizeEvent)
        self.setMinimumSize(200, 120)
        self.plot = style_plot(self.addPlot(row=0, col=0, axisItems=token_axes("left", "top", "bottom"),
                                             enableMenu=False))
        self.plot.showAxis("top")
        hide_bottom = self.plot.getAxis("bottom")
        hide_bottom.setStyle(showValues=True)
        self.matrix = MatrixItem(self.plot, WEIGHTS_CMAP, (0.0, 1.0))
        self.image = self.matrix.image
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=WEIGHTS_CMAP, interactive=False,
                                        width=14, label="weight", colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.overlay = OverlayItem()
        self.plot.addItem(self.overlay)
        self.highlight = RowHighlight()
        self.plot.addItem(self.highlight)
        self.selected = RowHighlight(color=pg.mkColor("#ffffff"), width=2.0)
        self.plot.addItem(self.selected)
        # gold alignment links (a corpus pair's Pharaoh links): a ringed dot in the cell's corner
        self.gold = pg.ScatterPlotItem(size=9, symbol="o", pen=pg.mkPen("#000000", width=1.5),
                                       brush=pg.mkBrush(255, 255, 255, 200), pxMode=True)
        self.gold.setZValue(15)
        self.gold.setVisible(False)  # no links: not painted at all on each step's repaint
        self.plot.addItem(self.gold)
        self.gold_cells: tuple[tuple[int, int], ...] = ()
        self.note = pg.TextItem("", color="#555555", anchor=(0.5, 0.5))
        self.note.setZValue(20)
        self.plot.addItem(self.note)
        self.note.setVisible(False)
        # what is on screen, for hover texts and tests
        self.full: np.ndarray | None = None  # every row, as the trace has it
        self.shown: np.ndarray | None = None  # rows after the current step blanked (NaN)
        self.masked: np.ndarray | None = None
        self.nan: np.ndarray | None = None  # computed rows whose weight is NaN (an overflow)
        self.row_labels: tuple[str, ...] = ()
        self.col_labels: tuple[str, ...] = ()
        self.current_row: int | None = None
        self._labels_key = None
        self._title = None  # the whole title (html); _title_short: its shorter forms
        self._title_short: tuple[str, ...] = ()
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    # The source tokens label the top edge and, where there is room, the bottom edge too; a
    # map shorter still also gives its title line (the tab names the map) back to the rows.
    # On a 1280×720 projector with the step anatomy below, a six-row map otherwise labels
    # two or three of its rows.
    BOTH_AXES_MIN_H = 300  # px of widget height at which the bottom labels are shown
    TITLE_MIN_H = 200  # px of widget height at which the title is shown

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(ev)
        plot = getattr(self, "plot", None)  # pyqtgraph resizes once before __init__ has run
        if plot is None:
            return
        want = self.height() >= self.BOTH_AXES_MIN_H
        if plot.getAxis("bottom").isVisible() != want:
            plot.showAxis("bottom", want)
        short = self.height() < self.TITLE_MIN_H
        if short != self._short:
            self._short = short
            if short:
                hide_title(plot)
            elif self._title is not None:
                self._show_title()

    # -- drawing ------------------------------------------------------------------------
    def set_font(self, font: QFont) -> None:
        set_plot_font(self.plot, font)
        fit_left_axis(self.plot.getAxis("left"), self.row_labels)
        self.colorbar.axis.setStyle(tickFont=font)
        self.overlay.set_font(font)
        self.note.setFont(font)

    def set_title(self, html: str, short: Sequence[str] = ()) -> None:
        """The map's title on one line: ``html``, or where the map is too narrow for it, the
        first of the ``short`` forms (longest first) that fits (the whole title is the
        tooltip). A title on two lines ran into the column labels below it."""
        short = tuple(short)
        if (html, short) != (self._title, self._title_short):
            self._title, self._title_short = html, short
            if not self._short:
                self._show_title()

    def _show_title(self) -> None:
        """The title, with the gold-link legend while gold links are drawn (a ringed dot means
        nothing to a reader of a picture, where there is no tooltip): the forms with the
        legend come first, then the same forms without it."""
        html, short = self._title, self._title_short
        if self.gold_cells:
            short = (*(f"{s}{GOLD_LEGEND}" for s in short), html, *short)
            html = f"{html}{GOLD_LEGEND}"
        set_title(self.plot, html, short=short)

    def show_matrix(self, full: np.ndarray | None, upto: int | None, current: int | None,
                    row_labels: Sequence[str], col_labels: Sequence[str],
                    masked: np.ndarray | None = None, flag_rows: Sequence[int] = (),
                    note: str | None = None) -> None:
        """Draw ``full`` (rows, cols) with rows after ``upto`` blank; outline ``current``.

        ``masked``: cells that may not attend (drawn hatched grey, never as a weight).
        ``flag_rows``: rows marked red (free running left the gold path).
        """
        self.full = full
        key = (tuple(row_labels), tuple(col_labels))
        if key != self._labels_key:
            self._labels_key = key
            self.row_labels, self.col_labels = key
            set_ticks(self.plot.getAxis("left"), row_labels)
            fit_left_axis(self.plot.getAxis("left"), row_labels)
            set_ticks(self.plot.getAxis("top"), col_labels)
            set_ticks(self.plot.getAxis("bottom"), col_labels)
        if full is None or full.size == 0:
            self.shown = self.nan = None
            self.matrix.set(np.full((max(len(row_labels), 1), max(len(col_labels), 1)), np.nan, np.float32))
            self.overlay.set_data(None)
            self.highlight.set_row(None, 0)
        else:
            shown = np.array(full, dtype=np.float32, copy=True)
            if upto is not None:
                shown[upto + 1:] = np.nan
            m = None
            if masked is not None:
                m = masked.copy()
                if upto is not None:
                    m[upto + 1:] = False
                shown[m] = np.nan
            self.shown, self.masked = shown, m
            nan = np.isnan(np.asarray(full, dtype=np.float32))
            if upto is not None:
                nan[upto + 1:] = False
            if m is not None:
                nan &= ~m
            self.nan = nan
            self.matrix.set(shown)
            self.overlay.set_data(shown, m, [r for r in flag_rows if upto is None or r <= upto], nan=nan)
            self.highlight.set_row(current, shown.shape[1])
        self.current_row = current
        if note:
            rows, cols = max(len(row_labels), 1), max(len(col_labels), 1)
            self.note.setText(note)
            self.note.setPos(QPointF((cols - 1) / 2, (rows - 1) / 2))
            self.note.setVisible(True)
        else:
            self.note.setVisible(False)

    def set_gold(self, cells) -> None:
        """Mark gold-link cells ``[(row, col), ...]`` (decoder step, source token); () clears."""
        cells = tuple((int(r), int(c)) for r, c in (cells or ()))
        if cells == self.gold_cells:
            return
        self.gold_cells = cells
        # in the cell's upper-left corner, so the dot never covers the weight printed at its centre
        self.gold.setData([c - 0.4 for _r, c in cells], [r - 0.3 for r, _c in cells])
        self.gold.setVisible(bool(cells))
        self.gold.setToolTip("gold alignment link" if cells else "")
        if self._title is not None and not self._short:
            self._show_title()

    def select_cell(self, row: int | None, col: int | None) -> None:
        self.selected.set_cell(row, col)

    # -- mouse --------------------------------------------------------------------------
    def _cell_at(self, scene_pos) -> tuple[int, int] | None:
        if self.shown is None and self.full is None:
            return None
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        r, c = int(round(p.y())), int(round(p.x()))
        rows, cols = (self.full if self.full is not None else self.shown).shape
        if 0 <= r < rows and 0 <= c < cols:
            return r, c
        return None

    def describe_cell(self, r: int, c: int) -> str:
        rl = self.row_labels[r] if r < len(self.row_labels) else str(r)
        cl = self.col_labels[c] if c < len(self.col_labels) else str(c)
        if self.masked is not None and self.masked[r, c]:
            return f"{rl} → {cl}: masked (may not attend; weight exactly 0)"
        v = self.shown[r, c] if self.shown is not None else np.nan
        if self.nan is not None and self.nan[r, c]:
            return f"{rl} → {cl}: NaN — the model's numbers overflowed here (not a mask)"
        if v != v:
            return f"{rl} → {cl}: not computed yet (step forward, or click to jump there)"
        return f"{rl} → {cl}: weight {fmt(v, 'weight', exact=True)}"

    def _on_move(self, pos) -> None:
        cell = self._cell_at(pos)
        if cell is None:
            self.setToolTip("")
            return
        text = self.describe_cell(*cell)
        self.setToolTip(text)
        self.cellHovered.emit(text)

    def column_at_label(self, scene_pos) -> int | None:
        """The column whose token label (top or bottom axis) is under ``scene_pos``."""
        if not self.col_labels:
            return None
        for name in ("top", "bottom"):
            axis = self.plot.getAxis(name)
            if axis.isVisible() and axis.sceneBoundingRect().contains(scene_pos):
                c = int(round(self.plot.getViewBox().mapSceneToView(scene_pos).x()))
                return c if 0 <= c < len(self.col_labels) else None
        return None

    def _on_click(self, ev) -> None:
        cell = self._cell_at(ev.scenePos())
        if ev.button() == Qt.MouseButton.RightButton:
            point = ev.screenPos().toPoint()
            if cell is not None:
                ev.accept()
                self.cellMenuRequested.emit(*cell, point)
                return
            col = self.column_at_label(ev.scenePos())
            if col is not None:
                ev.accept()
                self.columnMenuRequested.emit(col, point)
            return
        if cell is not None:
            ev.accept()
            self.cellClicked.emit(*cell)
