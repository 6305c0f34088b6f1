"""All heads of one layer side by side, and their outputs concatenated.

Multi-head attention runs h small attentions in parallel; their outputs (each d_model/h
wide) are concatenated and projected. The top row shows every head's weights for the
chosen attention; the strip below is the concatenation for the current step.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from .plots import (VECTOR_CMAP, WEIGHTS_CMAP, MatrixItem, RowHighlight, fit_left_axis, hide_axis, set_plot_font,
                    set_ticks, set_title, style_plot)
from .traceindex import KIND_TITLES, TraceIndex


class HeadsView(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.maps: list[tuple[pg.PlotItem, MatrixItem, RowHighlight]] = []
        self.cat_plot: pg.PlotItem | None = None
        self.cat: MatrixItem | None = None
        self.lines: list[pg.InfiniteLine] = []
        self.concat: np.ndarray | None = None
        self._heads = -1
        self._font = QFont()
        self._labels_key = None

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        for p, _, _ in self.maps:
            set_plot_font(p, font)
        if self.cat_plot is not None:
            set_plot_font(self.cat_plot, font)

    def _build(self, heads: int) -> None:
        self.clear()
        self.maps, self.lines = [], []
        for h in range(heads):
            p = style_plot(self.addPlot(row=0, col=h, enableMenu=False))
            # One width for every head: the grid shares the room out from each plot's preferred
            # width, and head 0's row labels made its preferred width 3× the others' (it came
            # out half as wide as head 1 at 1920 px).
            p.setPreferredWidth(100)
            m = MatrixItem(p, WEIGHTS_CMAP, (0.0, 1.0))
            hl = RowHighlight()
            p.addItem(hl)
            set_plot_font(p, self._font)
            self.maps.append((p, m, hl))
        self.cat_plot = style_plot(self.addPlot(row=1, col=0, colspan=max(heads, 1), enableMenu=False))
        hide_axis(self.cat_plot, "bottom")
        set_ticks(self.cat_plot.getAxis("left"), ["concat"])
        set_plot_font(self.cat_plot, self._font)
        self.cat = MatrixItem(self.cat_plot, VECTOR_CMAP)
        self.ci.layout.setRowFixedHeight(1, 60)
        self._heads = heads
        self._labels_key = None

    def show_step(self, idx: TraceIndex, kind: str, t: int, layer: int, position: int) -> None:
        if not idx.is_transformer:
            return
        if idx.heads != self._heads:
            self._build(idx.heads)
        rows_key = (id(idx), kind)
        relabel = rows_key != self._labels_key
        self._labels_key = rows_key
        upto = None if kind == "self" else t
        for h, (p, m, hl) in enumerate(self.maps):
            full = idx.matrix(kind, layer, h).copy()
            if upto is not None:
                full[upto + 1:] = np.nan
            full[idx.mask(kind, layer, h) & ~np.isnan(full)] = np.nan
            m.set(full)
            hl.set_row(position, full.shape[1])
            set_title(p, f"head {h}: {KIND_TITLES[kind]}, layer {layer}")
            if relabel:
                set_ticks(p.getAxis("left"), idx.row_labels(kind) if h == 0 else None)
                if h == 0:
                    fit_left_axis(p.getAxis("left"), idx.row_labels(kind))
                set_ticks(p.getAxis("bottom"), idx.col_labels(kind))
                if h:
                    hide_axis(p, "left")
        recs = idx.head_records(kind, layer, position)
        if recs and self.cat is not None:
            self.concat = np.concatenate([r.output for r in recs])
            self.cat.set(self.concat[None, :], levels=idx.vector_levels(kind, layer))
            sizes = np.cumsum([r.output.shape[0] for r in recs])[:-1] - 0.5
            while len(self.lines) < len(sizes):
                line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#000000", width=2))
                self.cat_plot.addItem(line)
                self.lines.append(line)
            for i, line in enumerate(self.lines):
                line.setVisible(i < len(sizes))
                if i < len(sizes):
                    line.setPos(sizes[i])
            set_title(self.cat_plot, f"heads' outputs concatenated at position {position} "
                                   f"({' | '.join(f'head {r.head}' for r in recs)}) → output projection")
