"""Sinusoidal positional encoding of the source sentence, as a heat map.

PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(…): each row is the vector
added to that token's embedding; low dimensions change fast along the sentence, high
ones slowly. Drawn from :func:`sandbox.transformer.sinusoidal_positions` itself.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from .plots import VECTOR_CMAP, MatrixItem, fit_left_axis, set_plot_font, set_ticks, set_title, style_plot
from .traceindex import TraceIndex


class PositionsView(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.plot = style_plot(self.addPlot(row=0, col=0, enableMenu=False))
        set_title(self.plot, wrap=True, html="positional encoding PE[pos, i] = sin / cos(pos / 10000<sup>2i/d</sup>)")
        self.plot.setLabel("bottom", "dimension i")
        self.matrix = MatrixItem(self.plot, VECTOR_CMAP, (-1.0, 1.0))
        self.colorbar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=VECTOR_CMAP, interactive=False,
                                        width=14, colorMapMenu=False)
        self.colorbar.setImageItem(self.matrix.image, insert_in=self.plot)
        self.data: np.ndarray | None = None
        self._key = None

    def set_font(self, font: QFont) -> None:
        set_plot_font(self.plot, font)
        self.colorbar.axis.setStyle(tickFont=font)

    def show_trace(self, idx: TraceIndex) -> None:
        d = int(idx.trace.model.get("d_model", 0) or 0)
        tokens = tuple(idx.trace.source_tokens)
        key = (tokens, d)
        if key == self._key:
            return
        self._key = key
        if not d:
            self.data = None
            self.matrix.set(np.zeros((0, 0), np.float32))
            set_title(self.plot, wrap=True, html="positional encoding: only the Transformer adds positions "
                               "(an RNN reads the words in order)")
            return
        from sandbox.transformer import sinusoidal_positions

        self.data = sinusoidal_positions(len(tokens), d)
        self.matrix.set(self.data)
        labels = [f"{i} {t}" for i, t in enumerate(tokens)]
        set_ticks(self.plot.getAxis("left"), labels)
        fit_left_axis(self.plot.getAxis("left"), labels)
        set_title(self.plot, wrap=True, html=f"positional encoding of the source (d<sub>model</sub> = {d}): "
                           "PE[pos, 2i] = sin(pos/10000<sup>2i/d</sup>), PE[pos, 2i+1] = cos(…)")
