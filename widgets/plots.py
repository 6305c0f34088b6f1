"""pyqtgraph building blocks shared by the views: colour maps, token axes, titles, labelled
matrices and a light overlay item for cell text and hatching (bar charts: ``bars.py``).

Matrices follow pyqtgraph's MatrixDisplayExample: row-major float32 data, an ImageItem
placed so cell (r, c) is centred on the integer point (c, r), ``invertY`` so row 0 is on
top, token tick labels, and explicit levels so every ``setImage`` is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape as html_escape
from typing import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QTextDocument
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from .numfmt import fmt

pg.setConfigOptions(imageAxisOrder="row-major", background="w", foreground="k",
                    antialias=False, useNumba=False)

WEIGHTS_CMAP = pg.colormap.get("viridis")
VECTOR_CMAP = pg.colormap.get("CET-D1")  # blue - white - red, for signed vectors
HIGHLIGHT = QColor("#ff3b30")
GOOD = QColor("#1a7f37")
BAD = QColor("#cf222e")
WHATIF = QColor("#bc4c00")  # What-if edits: forced tokens, pinned attention, hidden sources
BAR_BLUE = QColor("#4c72b0")
BAR_ORANGE = QColor("#dd8452")
BAR_GREY = QColor("#9aa0a6")
MASK_GREY = QColor("#c8c8c8")


def style_plot(plot: pg.PlotItem, *, invert_y: bool = True) -> pg.PlotItem:
    """A static plot: no mouse zoom/pan, no context menu, no auto-range button.

    Create the plot with ``enableMenu=False`` (``addPlot(..., enableMenu=False)``): turning the
    menu off here leaves pyqtgraph's ViewBox menu already built, a fifth of a window's start-up."""
    plot.hideButtons()
    plot.setMenuEnabled(False)
    vb = plot.getViewBox()
    vb.setMouseEnabled(False, False)
    vb.disableAutoRange()
    vb.setDefaultPadding(0.0)
    if invert_y:
        plot.invertY(True)
    for name in ("left", "bottom", "top", "right"):
        # Axes change with the sentence, not with the step: Qt keeps each one painted as a
        # pixmap and blits it on a step's repaint (new ticks, a font, a resize invalidate it).
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return plot


def set_plot_font(plot: pg.PlotItem, font: QFont) -> None:
    for name in ("left", "bottom", "top", "right"):
        ax = plot.getAxis(name)
        ax.setStyle(tickFont=font)
        ax.label.setFont(font)
        ax.picture = None
        ax.update()
    # pyqtgraph draws every title at a fixed 11 pt (over 9 pt text); here a title is that
    # much larger than the plot's text at every text scale (set_title drops the fixed size).
    title_font = QFont(font)
    if font.pointSizeF() > 0:
        title_font.setPointSizeF(font.pointSizeF() * TITLE_FONT_SCALE)
    elif font.pixelSize() > 0:
        title_font.setPixelSize(round(font.pixelSize() * TITLE_FONT_SCALE))
    plot.titleLabel.item.setFont(title_font)
    refit_title(plot)


def set_ticks(axis: pg.AxisItem, labels: Sequence[str] | None, offset: int = 0) -> None:
    """Token tick labels at integer positions (``None``: numeric ticks).

    Unchanged labels are not set again: a new tick list makes the axis re-measure itself,
    which can re-lay out the whole plot — too slow to do on every step.
    """
    key = None if labels is None else (tuple(str(t) for t in labels), offset)
    if getattr(axis, "_sandbox_ticks", 0) == key:
        return
    axis._sandbox_ticks = key
    if labels is None:
        axis.setTicks(None)
    else:
        axis.setTicks([[(i + offset, t) for i, t in enumerate(key[0])], []])


def thin_indices(n: int, step: int) -> list[int]:
    """Every ``step``-th of ``n`` positions counted back from the last, so the last one —
    ``<eos>`` in a token list — always keeps its label."""
    step = max(1, int(step))
    return sorted(range(n - 1, -1, -step)) if n > 0 else []


class TokenAxis(pg.AxisItem):
    """An axis of token labels that never overprint: when the cells are narrower (or
    lower) than the labels, only every k-th label is drawn, counted back from the last
    (``<eos>`` always labelled), and a label longer than its room is elided with "…".
    With no token labels set it is an ordinary numeric axis.

    ``drawn`` holds the (position, text) pairs of the last paint, for tests."""

    MIN_CHARS = 4  # a horizontal label gets room for at least this many characters

    def __init__(self, orientation: str, **kw) -> None:
        super().__init__(orientation, **kw)
        self.drawn: list[tuple[int, str]] = []
        # Labels change with the sentence, not with the step: Qt keeps the painted axis as
        # a pixmap and blits it on each step's repaint (pyqtgraph's update() on new ticks,
        # a new font or a resize invalidates it).
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def generateDrawSpecs(self, p):
        full = self._tickLevels
        if not full or not full[0]:
            return super().generateDrawSpecs(p)
        font = self.style.get("tickFont") or p.font()
        fm = QFontMetricsF(font)
        ticks = full[0]
        n = len(ticks)
        span = abs(self.range[1] - self.range[0]) or 1.0
        vertical = self.orientation in ("left", "right")
        length = self.geometry().height() if vertical else self.geometry().width()
        ppu = max(length / span, 1e-6)  # pixels per token
        if vertical:
            need = fm.height() * 1.05
            room_w = max(self.geometry().width() - 14, fm.horizontalAdvance("M…"))
        else:
            widest = max(fm.horizontalAdvance(str(t)) for _, t in ticks) + 8
            need = min(widest, fm.horizontalAdvance("M" * self.MIN_CHARS + "…") + 8)
        step = max(1, int(np.ceil(need / ppu)))
        keep = thin_indices(n, step)
        if not vertical:
            room_w = max(step * ppu - 8, fm.horizontalAdvance("M…"))
        mode = Qt.TextElideMode.ElideRight
        shown = [(ticks[i][0], fm.elidedText(str(ticks[i][1]), mode, room_w)) for i in keep]
        self.drawn = [(int(round(v)), t) for v, t in shown]
        if self.grid is not False or any(full[1:]) or any(self.style["stopAxisAtTick"]):
            self._tickLevels = [shown] + [lvl for lvl in full[1:]]
            try:
                return super().generateDrawSpecs(p)
            finally:
                self._tickLevels = full
        return self._token_specs(p, shown)

    _ALIGN = {"left": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
              "right": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
              "top": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
              "bottom": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop}

    def _token_specs(self, p, shown: list[tuple[float, str]]):
        """pyqtgraph's ``AxisItem.generateDrawSpecs`` for one level of labelled ticks and no
        grid, step for step (same span, tick and text rectangles, the same culling and
        max-text-size update), without its general machinery: the top-k axis gets new
        labels on every step, and the general version took about 1.4 ms of the step for five
        labels (tests/test_plots_axis.py compares the two)."""
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        o = self.orientation
        if o == "left":
            span = (bounds.topRight() + QPointF(-1, -1), bounds.bottomRight() + QPointF(-1, 1))
            tick_start, tick_stop, tick_dir, axis = bounds.right(), bounds.right(), -1, 0
        elif o == "right":
            span = (bounds.topLeft() + QPointF(1, -1), bounds.bottomLeft() + QPointF(1, 1))
            tick_start, tick_stop, tick_dir, axis = bounds.left(), bounds.left(), 1, 0
        elif o == "top":
            span = (bounds.bottomLeft() + QPointF(-1, -1), bounds.bottomRight() + QPointF(1, -1))
            tick_start, tick_stop, tick_dir, axis = bounds.bottom(), bounds.bottom(), -1, 1
        else:
            span = (bounds.topLeft() + QPointF(-1, 1), bounds.topRight() + QPointF(1, 1))
            tick_start, tick_stop, tick_dir, axis = bounds.top(), bounds.top(), 1, 1
        points = [self.mapToDevice(pt) for pt in span]
        if None in points:
            return None
        d = points[1] - points[0]
        if (d.x() ** 2 + d.y() ** 2) ** 0.5 == 0:
            return None
        lo, hi = self.range[0], self.range[1]
        dif = hi - lo
        if dif == 0:
            scale, offset = 1, 0
        elif axis == 0:
            scale = -bounds.height() / dif
            offset = lo * scale - bounds.height()
        else:
            scale = bounds.width() / dif
            offset = lo * scale
        x_min, x_max = sorted((lo * scale - offset, hi * scale - offset))
        tick_len = self.style["tickLength"]
        pen = self.tickPen()
        alpha = self.style["tickAlpha"]
        if alpha is None:
            alpha = 255
        elif isinstance(alpha, float):
            alpha = min(255, max(0, int(round(alpha * 255))))
        if pen.brush().style() == Qt.BrushStyle.SolidPattern:
            pen = QPen(pen)
            c = QColor(pen.color())
            c.setAlpha(int(alpha))
            pen.setColor(c)
        ticks, strings = [], []
        for v, text in shown:
            x = v * scale - offset
            if x < x_min or x > x_max:
                continue
            a, b = [x, x], [x, x]
            a[axis], b[axis] = tick_start, tick_stop + tick_len * tick_dir
            ticks.append((pen, QPointF(*a), QPointF(*b)))
            strings.append((x, text))
        axis_spec = (self.pen(), span[0], span[1])
        texts = []
        if not self.style["showValues"]:
            return axis_spec, ticks, texts
        rects = []
        for _x, text in strings:
            br = p.boundingRect(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, text)
            br.setHeight(br.height() * 0.8)  # as pyqtgraph: its bounding rects run a bit large
            rects.append(br)
        size2 = max((r.width() if axis == 0 else r.height() for r in rects), default=0)
        off = max(0, tick_len) + self.style["tickTextOffset"][axis]
        flags = self._ALIGN[o] | Qt.TextFlag.TextDontClip
        own = self.boundingRect()
        for (x, text), r in zip(strings, rects):
            w, h = r.width(), r.height()
            if o == "left":
                rect = QRectF(tick_stop - off - w, x - h / 2, w, h)
            elif o == "right":
                rect = QRectF(tick_stop + off, x - h / 2, w, h)
            elif o == "top":
                rect = QRectF(x - w / 2, tick_stop - off - h, w, h)
            else:
                rect = QRectF(x - w / 2, tick_stop + off, w, h)
            if own & rect != rect:
                continue
            texts.append((rect, flags, text))
        self._updateMaxTextSize(size2)
        return axis_spec, ticks, texts


def token_axes(*names: str) -> dict[str, TokenAxis]:
    """``axisItems`` for ``addPlot``: a TokenAxis on each named side."""
    return {name: TokenAxis(name) for name in names}


def fit_left_axis(axis: pg.AxisItem, labels: Sequence[str]) -> None:
    """Make a left axis wide enough for its tick labels now, not after a first paint
    (pyqtgraph widens an axis only once it has drawn too-long labels — too late for an
    export or an offscreen render, which would show no labels at all)."""
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication

    font = axis.style.get("tickFont") or QApplication.font()
    fm = QFontMetrics(font)
    w = max((fm.horizontalAdvance(str(t)) for t in labels), default=0)
    # A TokenAxis elides longer labels: a 60-token sentence's longest word must not take
    # the map's width (at most ~16 characters of room).
    cap = fm.horizontalAdvance("M" * 12) if isinstance(axis, TokenAxis) else w
    axis.setWidth(int(min(w, cap) + 18))


def hide_axis(plot: pg.PlotItem, name: str) -> None:
    """No tick labels on this axis (once; repeated calls are free)."""
    ax = plot.getAxis(name)
    if getattr(ax, "_sandbox_hidden", False):
        return
    ax._sandbox_hidden = True
    ax.setStyle(showValues=False)
    set_ticks(ax, [])


def set_title(plot: pg.PlotItem, html: str, *, wrap: bool = False, short: Sequence[str] = ()) -> None:
    """Set a plot title only when it changes (a new title re-lays out the plot).

    The title never dictates the plot's minimum width (pyqtgraph makes a title label as
    wide as its text, which pushes the plot — colour bar, last columns — out of a narrow
    window), so a row of plots can share a narrow window; and its row is as high as its
    text (pyqtgraph fixes it at 30 px, which a second line or a large font overran into
    the axis below).

    A title stays on one line: when ``html`` does not fit the plot's width (at
    ``TITLE_SOFT_SCALE`` of the font at least) the first of the ``short`` forms (longest
    first) that fits is drawn instead, with the whole title as the tooltip; the last form is
    shrunk to ``TITLE_MIN_SCALE`` and then elided with "…", never clipped mid-letter.
    ``wrap``: the title breaks onto more lines instead (a plot that fills its widget; not
    for a row of plots whose views must stay level).
    """
    label = plot.titleLabel
    fit = _title_fit(label)
    if fit is None:
        fit = label._sandbox_fit = _TitleFit(plot)
        label.updateMin = lambda label=label: _title_min(label)  # LabelItem calls it on resize
        # A title never paints outside its own label (so never over its neighbour's)...
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        resize = label.resizeEvent

        def resize_event(ev, label=label, resize=resize):
            _fit_title(label)  # first: LabelItem then centres the text as fitted
            resize(ev)

        label.resizeEvent = resize_event
    fit.wrap = wrap
    variants = (html, *short)
    if fit.variants == variants:
        return
    fit.variants = variants
    fit.shown = None
    fit.row_h = None  # setTitle sets pyqtgraph's 30 px row: size it again
    plot.setTitle(html)  # LabelItem.setText calls resizeEvent: the title is fitted
    _fit_title(label)  # the label's width may not change: fit (and size the row) anyway


def hide_title(plot: pg.PlotItem) -> None:
    """Remove a plot's title line (its row gives its height back); the next
    :func:`set_title` draws a title again, even the same one."""
    plot.setTitle(None)
    fit = _title_fit(plot.titleLabel)
    if fit is not None:
        fit.variants = ()
        fit.row_h = None


TITLE_FONT_SCALE = 1.2  # a plot title's font over the plot's text (pyqtgraph: 11 pt over 9 pt)
TITLE_SOFT_SCALE = 0.85  # a title shrinks this far before a shorter form is tried
TITLE_MIN_SCALE = 0.7  # the shortest form shrinks to 70 % of the font at most, then is elided
TITLE_GAP = 6  # pixels kept free between neighbouring plots' titles


@dataclass
class _TitleFit:
    """What :func:`set_title` keeps about one plot's title, on its LabelItem."""

    plot: pg.PlotItem
    wrap: bool = False
    variants: tuple[str, ...] = ()  # the full title, then its shorter forms
    shown: str | None = None  # the form drawn now
    row_h: float | None = None  # the title row's fixed height now
    widths: dict = field(default_factory=dict)  # (font key, html) -> one-line width
    line: tuple[str, float] | None = None  # (font key, one line's height)


def _title_fit(label: pg.LabelItem) -> _TitleFit | None:
    return getattr(label, "_sandbox_fit", None)


def _title_span(label: pg.LabelItem, html: str) -> str:
    """``html`` wrapped as LabelItem.setText wraps it (the label's colour)."""
    color = label.opts.get("color") or pg.getConfigOption("foreground")
    return f"<span style='color: {pg.mkColor(color).name(QColor.NameFormat.HexArgb)}'>{html}</span>"


def _plain_text(html: str) -> str:
    """The text of a title's ``html``, as drawn (entities decoded, tags dropped)."""
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def _natural_width(label: pg.LabelItem, html: str) -> float:
    """The width of ``html`` on one line in the title's font (cached per font)."""
    key = (label.item.font().key(), html)
    fit = _title_fit(label)
    cache = fit.widths if fit is not None else {}
    if key not in cache:
        doc = QTextDocument()
        doc.setDefaultFont(label.item.font())
        doc.setHtml(_title_span(label, html))
        cache[key] = doc.size().width()  # as QGraphicsTextItem measures it (margins included)
        if len(cache) > 64:
            cache.pop(next(iter(cache)))
    return cache[key]


def _fit_title(label: pg.LabelItem) -> None:
    """Fit a title to its label's width: a wrapping title breaks onto more lines; any
    other title (a row of plots whose views must stay level) stays on one line as the
    longest of its forms that fits, shrunk to ``TITLE_SOFT_SCALE`` at most, else its
    shortest form shrunk to ``TITLE_MIN_SCALE`` and elided. It never runs into the next
    plot's title, and the title row is as high as the text."""
    item = label.item
    fit = _title_fit(label)
    if fit is None:
        return
    if fit.wrap:
        _wrap_title(label)
        _size_title_row(label)
        return
    variants = fit.variants
    if not variants or not label.text:
        return
    width = label.rect().width() - TITLE_GAP
    shown, scale = variants[-1], 1.0
    for v in variants:
        natural = _natural_width(label, v)
        if width <= 0 or natural * TITLE_SOFT_SCALE <= width:
            shown, scale = v, (1.0 if width <= 0 or natural <= width else width / natural)
            break
    else:
        natural = _natural_width(label, shown)
        scale = max(width / natural, TITLE_MIN_SCALE) if natural > width else 1.0
        if natural * TITLE_MIN_SCALE > width:  # even the shortest form is too wide: elide it
            plain = _plain_text(shown)
            fm = QFontMetricsF(item.font())
            margin = natural - fm.horizontalAdvance(plain)
            text = fm.elidedText(plain, Qt.TextElideMode.ElideRight,
                                 max(width / TITLE_MIN_SCALE - margin, 0.0))
            shown = html_escape(text) if text else ""
    if shown != fit.shown:
        fit.shown = shown
        item.setTextWidth(-1)
        item.setHtml(_title_span(label, shown))
        full = variants[0]
        if shown != full:
            label.setToolTip(_plain_text(full))
        else:
            label.setToolTip("")
    if abs(item.scale() - scale) > 1e-3:
        item.setScale(scale)
    _size_title_row(label)


def _size_title_row(label: pg.LabelItem) -> None:
    """The title row of the label's plot as high as its text: one line in the title's font
    (every one-line title of that font, so a row of plots stays level), or the wrapped
    lines of a wrapping title."""
    fit = _title_fit(label)
    if fit is None or not label.isVisible():
        return
    if fit.wrap:
        h = label.item.boundingRect().height() * label.item.scale()
    else:
        h = _natural_height(label, fit)
    h = float(np.ceil(h))
    if fit.row_h != h:
        fit.row_h = h
        label.setMaximumHeight(h)
        fit.plot.layout.setRowFixedHeight(0, h)


def _natural_height(label: pg.LabelItem, fit: _TitleFit) -> float:
    """The height of one line of title (with a subscript) in the title's font."""
    key = label.item.font().key()
    if fit.line is None or fit.line[0] != key:
        doc = QTextDocument()
        doc.setDefaultFont(label.item.font())
        doc.setHtml("Ag<sub>j</sub><sup>2</sup>")
        fit.line = (key, doc.size().height())
    return fit.line[1]


def refit_title(plot: pg.PlotItem) -> None:
    """Fit a plot's title again after a font change (its width may not have changed)."""
    label = plot.titleLabel
    fit = _title_fit(label)
    if fit is not None and label.isVisible():
        fit.shown = None
        fit.row_h = None
        _fit_title(label)
        label.resizeEvent(None)


def _wrap_title(label: pg.LabelItem) -> None:
    """Give a wrapping title its label's width (or its natural width when that fits)."""
    item = label.item
    item.setTextWidth(-1)
    width = label.rect().width()
    if width > 40 and item.boundingRect().width() > width:
        item.setTextWidth(width)


def _title_min(label: pg.LabelItem) -> None:
    """LabelItem.updateMin, but only the height: the width may shrink below the text."""
    h = label.itemRect().height()
    label.setMinimumWidth(0)
    label.setMinimumHeight(h)
    label._sizeHint = {Qt.SizeHint.MinimumSize: (0, h), Qt.SizeHint.PreferredSize: (0, h),
                       Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
    label.updateGeometry()


class FastImageItem(pg.ImageItem):
    """An ImageItem that colours a float matrix with one numpy lookup into a premultiplied
    ARGB32 image.

    pyqtgraph renders a colour-mapped image as Indexed8 with a colour table it rebuilds
    from the LUT (256 ``qRgb`` calls) on every render, and QPainter then converts it on
    every scaled blit — 6–15× slower than a premultiplied image. Our images are tiny
    (a 41×8 key matrix), so the whole render is a few numpy operations (about 40 µs
    against 500 µs). The colour of a value is pyqtgraph's: index ``(x − lo) · n / (hi −
    lo)`` clipped to the LUT's ``n`` entries; NaN is transparent. Anything else (RGB data,
    a callable LUT, downsampling) goes through pyqtgraph's own render.
    """

    _bgra_lut: tuple[int, np.ndarray] | None = None
    _argb: np.ndarray | None = None

    def _bgra(self, lut: np.ndarray) -> np.ndarray:
        if self._bgra_lut is None or self._bgra_lut[0] is not lut:
            rgb = lut[:, :3].astype(np.uint16)
            a = lut[:, 3].astype(np.uint16) if lut.shape[1] == 4 else np.full(lut.shape[0], 255, np.uint16)
            table = np.empty((lut.shape[0], 4), np.uint8)
            table[:, :3] = (rgb[:, ::-1] * a[:, None] + 127) // 255  # B, G, R premultiplied
            table[:, 3] = a
            self._bgra_lut = (lut, table)
        return self._bgra_lut[1]

    def render(self) -> None:
        img, lut, lv = self.image, self.lut, self.levels
        if (img is None or img.ndim != 2 or img.size == 0 or img.dtype.kind != "f"
                or not isinstance(lut, np.ndarray) or lut.dtype != np.uint8 or lut.ndim != 2
                or lut.shape[1] not in (3, 4) or lv is None or np.ndim(lv) != 1 or self.autoDownsample):
            super().render()
            q = self.qimage
            if q is not None and q.format() != QImage.Format.Format_ARGB32_Premultiplied:
                self.qimage = q.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
            return
        table = self._bgra(lut)
        n = table.shape[0]
        lo, hi = float(lv[0]), float(lv[1])
        x = (img.astype(np.float64) - lo) * (n / ((hi - lo) or 1.0))
        nan = np.isnan(x)
        np.clip(x, 0, n - 1, out=x)
        x[nan] = 0
        argb = table[x.astype(np.intp)]
        argb[nan] = 0  # transparent, as pyqtgraph draws a NaN
        self._argb = np.ascontiguousarray(argb)  # the QImage reads this buffer: keep it alive
        h, w = img.shape
        self.qimage = QImage(self._argb.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        self._renderRequired = False
        self._unrenderable = False


class MatrixItem:
    """An ImageItem whose cells sit on integer coordinates, with fixed or symmetric levels."""

    def __init__(self, plot: pg.PlotItem, cmap: pg.ColorMap, levels: tuple[float, float] = (0.0, 1.0)):
        self.plot = plot
        self.image = FastImageItem(axisOrder="row-major")
        self.image.setColorMap(cmap)
        self.levels = levels
        plot.addItem(self.image)
        self._shape: tuple[int, int] | None = None
        self._drawn: np.ndarray | None = None  # what the image shows now
        self._drawn_levels: tuple[float, float] | None = None

    def set(self, data: np.ndarray, levels: tuple[float, float] | None = None,
            fit_view: bool = True) -> None:
        data = np.ascontiguousarray(data, dtype=np.float32)
        if data.ndim == 1:
            data = data[None, :]
        if levels is not None:
            self.levels = levels
        if data.size == 0:
            self.image.clear()
            self._shape = self._drawn = None
            return
        old = self._drawn
        if (old is not None and data.shape == old.shape and self.levels == self._drawn_levels
                and self.image.image is not None and np.array_equal(old, data, equal_nan=True)):
            return  # the same picture (a cross attention's keys on every step): no re-render
        self._drawn, self._drawn_levels = data.copy(), self.levels  # a copy: callers may reuse arrays
        self.image.setImage(data, levels=self.levels, autoLevels=False)
        if data.shape != self._shape:
            self._shape = data.shape
            rows, cols = data.shape
            self.image.setRect(QRectF(-0.5, -0.5, cols, rows))
            if fit_view:
                self.plot.getViewBox().setRange(xRange=(-0.5, cols - 0.5), yRange=(-0.5, rows - 0.5),
                                                padding=0)

    @property
    def data(self) -> np.ndarray | None:
        return self.image.image


def symmetric_levels(*arrays: np.ndarray) -> tuple[float, float]:
    m = 0.0
    for a in arrays:
        if a is not None and a.size:
            finite = a[np.isfinite(a)]
            if finite.size:
                m = max(m, float(np.abs(finite).max()))
    m = m or 1.0
    return (-m, m)


class OverlayItem(pg.GraphicsObject):
    """Draws on top of a matrix, in screen pixels so it stays crisp at any zoom:
    centred cell values, hatched masked cells and red off-gold markers.

    One item, one paint call — far cheaper than a TextItem per cell.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()
        self._values: np.ndarray | None = None  # (rows, cols); NaN cells get no text
        self._masked: np.ndarray | None = None  # (rows, cols) bool
        self._flag_rows: tuple[int, ...] = ()
        self._nan: np.ndarray | None = None  # (rows, cols) bool: computed, but NaN (an overflow)
        self._font = QFont()
        self.show_values = True
        self.setZValue(5)

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self.update()

    def set_data(self, values: np.ndarray | None, masked: np.ndarray | None = None,
                 flag_rows: Iterable[int] = (), nan: np.ndarray | None = None) -> None:
        """``nan``: cells the model computed as NaN; labelled "NaN", never drawn as masked."""
        shape = None if values is None else values.shape
        rect = QRectF() if shape is None else QRectF(-0.5, -0.5, shape[1], shape[0])
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self._values, self._masked, self._flag_rows = values, masked, tuple(flag_rows)
        self._nan = nan if nan is not None and nan.any() else None
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, p: QPainter, *args) -> None:
        if self._values is None:
            return
        rows, cols = self._values.shape
        tr = p.transform()
        cw, ch = abs(tr.m11()), abs(tr.m22())  # one cell in device pixels
        p.save()
        p.resetTransform()
        if self._masked is not None and self._masked.any():
            # One grey fill and one hatch-textured fill per run of masked cells in a row
            # (a causal mask is one run a row): a line per cell cost ~20 ms a step at 40×40.
            brush = _hatch_brush()
            p.setBrushOrigin(tr.map(QPointF(-0.5, -0.5)))
            for r, c0, c1 in _runs(self._masked):
                cell = tr.mapRect(QRectF(c0 - 0.5, r - 0.5, c1 - c0, 1))
                p.fillRect(cell, MASK_GREY)
                p.fillRect(cell, brush)
        for r in self._flag_rows:
            if 0 <= r < rows:
                cell = tr.mapRect(QRectF(-0.5, r - 0.5, 0.0, 1))
                p.fillRect(QRectF(cell.left(), cell.top(), max(5.0, cw * 0.08), cell.height()), BAD)
        base = self._font.pointSizeF() if self._font.pointSizeF() > 0 else 9.0
        size = min(base, ch * 0.45, cw / 5.2)  # the cell's number fits its cell
        if self.show_values and size >= max(CELL_TEXT_MIN_PT, CELL_TEXT_MIN_SCALE * base):
            # (smaller numbers are not drawn: unreadable at that size, and the cell's
            # colour, its tooltip and explain-a-cell give the value)
            font = QFont(self._font)
            font.setPointSizeF(size)
            p.setFont(font)
            vals = self._values
            for r in range(rows):
                row = vals[r]
                for c in range(cols):
                    v = row[c]
                    if v != v:  # NaN: not computed yet, or computed as NaN (labelled)
                        if self._nan is not None and self._nan[r, c]:
                            centre = tr.map(QPointF(c, r))
                            p.setPen(BAD)
                            p.drawText(QRectF(centre.x() - cw / 2, centre.y() - ch / 2, cw, ch),
                                       Qt.AlignmentFlag.AlignCenter, "NaN")
                        continue
                    centre = tr.map(QPointF(c, r))
                    p.setPen(QColor("black") if v > 0.55 else QColor("white"))
                    p.drawText(QRectF(centre.x() - cw / 2, centre.y() - ch / 2, cw, ch),
                               Qt.AlignmentFlag.AlignCenter, fmt(v, "weight"))
        p.restore()


CELL_TEXT_MIN_PT = 6.5  # a map cell's number is drawn at this size at least, else not at all
CELL_TEXT_MIN_SCALE = 0.7  # ... and at this share of the views' text size at least

_HATCH: QBrush | None = None


def _hatch_brush() -> QBrush:
    """A tile of 7 px diagonal lines: the "masked" hatching, filled in one call per run."""
    global _HATCH
    if _HATCH is None:
        from PySide6.QtGui import QPixmap

        tile = QPixmap(7, 7)
        tile.fill(Qt.GlobalColor.transparent)
        tp = QPainter(tile)
        tp.setPen(QPen(QColor("#7a7a7a"), 1))
        tp.drawLine(0, 6, 6, 0)
        tp.end()
        _HATCH = QBrush(tile)
    return _HATCH


def _runs(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, first col, end col) of each horizontal run of True cells in a (rows, cols) mask."""
    m = np.asarray(mask, bool)
    padded = np.zeros((m.shape[0], m.shape[1] + 2), np.int8)
    padded[:, 1:-1] = m
    d = np.diff(padded, axis=1)
    starts = np.argwhere(d == 1)
    ends = np.argwhere(d == -1)
    return [(int(r), int(c0), int(c1)) for (r, c0), (_r, c1) in zip(starts, ends)]


class RowHighlight(QGraphicsRectItem):
    """A thick outline around one row (or one cell) of a matrix."""

    def __init__(self, color: QColor = HIGHLIGHT, width: float = 3.0):
        super().__init__()
        pen = QPen(color, width)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.setZValue(10)

    def set_row(self, row: int | None, cols: int) -> None:
        if row is None or cols <= 0:
            self.setVisible(False)
            return
        self.setRect(QRectF(-0.5, row - 0.5, cols, 1))
        self.setVisible(True)

    def set_cell(self, row: int | None, col: int | None) -> None:
        if row is None or col is None:
            self.setVisible(False)
            return
        self.setRect(QRectF(col - 0.5, row - 0.5, 1, 1))
        self.setVisible(True)
