"""Horizontal bar charts with value labels: the step anatomy's energies, weights and top-k
(and the compare view's). A value label sits outside its bar, else inside it in the ink
that contrasts more with the bar (WCAG 2 contrast ratio), else with fewer decimals, else it
is left out; it is never drawn over its own bar's end.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

from .numfmt import fmt
from .plots import BAD, BAR_BLUE, BAR_GREY, GOOD, set_ticks, thin_indices


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (same) to 21 (black on white)."""
    def lum(c: QColor) -> float:
        ch = [(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4) for v in (c.redF(), c.greenF(), c.blueF())]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


INK = QColor("#222222")  # a value label outside its bar
PAPER = QColor("#ffffff")


def text_on(bar: QColor) -> QColor:
    """The label colour for text drawn inside a bar: dark or white, whichever contrasts more."""
    return INK if contrast_ratio(INK, bar) >= contrast_ratio(PAPER, bar) else PAPER


def _fewer_decimals(text: str) -> list[str]:
    """``text`` (a number as :func:`fmt` writes it) rounded to fewer decimals, longest
    first ("−2.092" -> ["−2.09", "−2.1"]); [] for anything else."""
    if "." not in text:
        return []
    try:
        x = float(text.replace("\u2212", "-"))
    except ValueError:
        return []
    nd = len(text) - text.index(".") - 1
    out = []
    for d in range(nd - 1, 0, -1):
        t = f"{x:.{d}f}"
        out.append("\u2212" + t[1:] if t.startswith("-") and t.strip("-0.") else t.lstrip("-"))
    return out


_INK_ON: dict[int, QColor] = {}


def _ink_on(colour) -> QColor:
    """:func:`text_on` remembered per colour (a handful of bar colours, asked on every step)."""
    c = QColor(colour)
    rgb = c.rgba()
    if rgb not in _INK_ON:
        _INK_ON[rgb] = text_on(c)
    return _INK_ON[rgb]


def _affine(tr) -> tuple[float, float, float, float, float, float]:
    """``tr``'s affine coefficients (m11, m12, m21, m22, dx, dy): a point maps to
    (m11·x + m21·y + dx, m12·x + m22·y + dy) without a QPointF per label."""
    return tr.m11(), tr.m12(), tr.m21(), tr.m22(), tr.dx(), tr.dy()


class BarsItem(pg.GraphicsObject):
    """Horizontal bars, one per row, and a vertical line at x = 0, painted in device pixels.

    Row ``j``'s bar spans 0 … width (a negative width extends left) over ``HEIGHT`` of
    the row's height, centred on y = j. ``opts`` holds ``width`` and ``brushes`` (per-bar
    QColor, or None for one colour), named as in pyqtgraph's BarGraphItem, which this item
    replaces on the step path: it draws with one ``fillRect`` per bar and no QPicture, and
    its bounding rectangle is the chart's data area, so a new set of bars never re-measures
    the scene."""

    HEIGHT = 0.7
    ZERO_PEN = QColor("#888888")

    def __init__(self, color: QColor) -> None:
        super().__init__()
        self.color = QColor(color)
        self.opts = {"width": np.zeros(0), "brushes": None}
        self._rect = QRectF()

    def set_bars(self, widths: np.ndarray, colours: list[QColor] | None, bounds: QRectF) -> None:
        """Bars of ``widths`` (one per row from 0) in ``colours`` (None: the item's colour);
        ``bounds`` is the chart's data area (x range × rows)."""
        self.opts = {"width": np.asarray(widths, dtype=np.float64),
                     "brushes": None if colours is None else list(colours)}
        if bounds != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(bounds)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, p: QPainter, *args) -> None:
        m11, m12, m21, m22, dx, dy = _affine(p.transform())
        widths = self.opts["width"]
        brushes = self.opts["brushes"]
        half = self.HEIGHT / 2
        p.save()
        p.resetTransform()
        for j, w in enumerate(widths.tolist()):
            if not w:
                continue
            xa, xb = dx + m21 * j, dx + m11 * w + m21 * j
            ya, yb = m22 * (j - half) + dy, m22 * (j + half) + dy
            p.fillRect(QRectF(min(xa, xb), min(ya, yb), abs(xb - xa), abs(yb - ya)),
                       self.color if brushes is None else brushes[j])
        if not self._rect.isEmpty():  # the zero line over the whole data area
            x0 = dx  # x = 0 (a plot's view neither rotates nor shears)
            top, bottom = m22 * self._rect.top() + dy, m22 * self._rect.bottom() + dy
            p.setPen(self.ZERO_PEN)
            p.drawLine(QPointF(x0, top), QPointF(x0, bottom))
        p.restore()


_GREY_ABSENT = QColor("#999999")
_GREY_MASKED = QColor("#666666")


class LabelsItem(pg.GraphicsObject):
    """Short text labels at data points, drawn in screen pixels (value labels on bars).

    A bar's label goes where it is readable and never over the bar's own end: outside the
    bar beyond its end (right of a positive bar; right of 0 or left of the end for a
    negative one); where the plot has no room there, inside the bar, ``INSET`` px short of
    its end, in whichever of dark or white contrasts more with the bar; where the bar is
    too short for that too, with fewer decimals, and last elided. A label without a bar
    (masked, NaN) goes right of its point, shifted left to stay in the plot."""

    INSET = 4  # px between a label inside a bar and the bar's end
    GAP = 3  # px between a label outside a bar and the bar

    def __init__(self) -> None:
        super().__init__()
        self._labels: list[tuple] = []
        self._rect = QRectF()
        self._font = QFont()
        self._advance: dict[str, float] = {}  # text -> width in the font, across paints
        self.painted: list[tuple[QRectF, str]] = []  # (device rect, text) of the last paint, for tests
        self.placed: list[tuple[int, QColor, bool]] = []  # per painted label: (label index, colour, inside its bar)
        self.setZValue(6)

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self._advance = {}
        self.update()

    def set_labels(self, labels: list[tuple], bounds: QRectF) -> None:
        """labels: (x, y, text, colour, right_of_point[, bar]): ``bar`` = (x0, colour), the
        bar drawn from x0 to x in row y, which the label must not cover the end of (x is
        then the bar's end: the label's point is right of max(x0, x))."""
        if bounds != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(bounds)
        self._labels = labels
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def _width(self, fm, text: str) -> float:
        """Room a label takes: its advance plus 4 px (remembered per text)."""
        w = self._advance.get(text)
        if w is None:
            if len(self._advance) > 2048:  # numbers differ from step to step: keep it small
                self._advance.clear()
            w = self._advance[text] = fm.horizontalAdvance(text) + 4
        return w

    def _place_bar_label(self, fm, area: QRectF, aff, label, fewer: int = 0
                         ) -> tuple[QRectF, str, QColor, bool, bool, int, bool] | None:
        """(rect, text, colour, inside, right-aligned, decimals dropped, elided) for a bar's
        label, dropping at least ``fewer`` decimals; None when it has no room at all."""
        x, y, text, color, _right, bar = label[:6]
        m11, m12, m21, m22, dx, dy = aff
        h = fm.height()
        yc = m12 * x + m22 * y + dy
        start, end = m11 * bar[0] + m21 * y + dx, m11 * x + m21 * y + dx
        hi, lo = max(start, end), min(start, end)
        room_right = area.right() - (hi + self.GAP)
        room_left = (lo - self.GAP) - area.left() if end < start else 0.0  # beyond a negative bar's end
        room_in = (hi - lo) - 2 * self.INSET
        w = self._width(fm, text)
        if fewer == 0:  # the common case: the whole label fits outside its bar
            if w <= room_right:
                return QRectF(hi + self.GAP, yc - h / 2, w, h), text, color, False, False, 0, False
            if w <= room_left:
                return QRectF(lo - self.GAP - w, yc - h / 2, w, h), text, color, False, True, 0, False
        texts = [text] + _fewer_decimals(text)
        for n in range(min(fewer, len(texts) - 1), len(texts)):
            t = texts[n]
            w = self._width(fm, t)
            if w <= room_right:
                return QRectF(hi + self.GAP, yc - h / 2, w, h), t, color, False, False, n, False
            if w <= room_left:
                return QRectF(lo - self.GAP - w, yc - h / 2, w, h), t, color, False, True, n, False
            if w <= room_in:
                ink = _ink_on(bar[1])
                if end >= start:  # a positive bar: right-aligned, short of its right end
                    return QRectF(end - self.INSET - w, yc - h / 2, w, h), t, ink, True, True, n, False
                return QRectF(end + self.INSET, yc - h / 2, w, h), t, ink, True, False, n, False
        room = max(room_right, room_left)
        t = fm.elidedText(text, Qt.TextElideMode.ElideRight, max(int(room) - 4, 0))
        if not any(c.isdigit() for c in t):  # "−…" says nothing: the bar (and the map cell) stand alone
            return None
        w = fm.horizontalAdvance(t) + 4
        if room_right >= room_left:
            return QRectF(hi + self.GAP, yc - h / 2, w, h), t, color, False, False, len(texts), True
        return QRectF(lo - self.GAP - w, yc - h / 2, w, h), t, color, False, True, len(texts), True

    def paint(self, p: QPainter, *args) -> None:
        if not self._labels:
            self.painted, self.placed = [], []
            return
        tr = p.transform()
        aff = _affine(tr)
        # Labels stay inside this plot's data area: a label running past the edge would
        # write over the next plot's labels.
        area = tr.mapRect(self._rect).normalized()
        p.save()
        p.resetTransform()
        p.setFont(self._font)
        fm = p.fontMetrics()
        h = fm.height()
        painted, placed = [], []
        # Rows lower than the text: label every k-th row (counted from the longest bar, else
        # back from the last) so no two labels overprint; the bars themselves are all drawn.
        row_px = abs(aff[3]) or 1.0
        step = max(1, int(np.ceil(h * 0.95 / row_px)))
        has_bar = [len(lb) > 5 and lb[5] is not None and area.width() > 0 for lb in self._labels]
        keep = set(thin_indices(len(self._labels), step))
        if step > 1 and any(has_bar):  # keep the longest bar's label (the largest weight, the top choice)
            lengths = [abs(lb[0] - lb[5][0]) if b else -1.0 for lb, b in zip(self._labels, has_bar)]
            anchor = int(np.argmax(lengths))
            keep = {i for i in range(len(self._labels)) if (i - anchor) % step == 0}
        # One number of decimals down the column: as many as every bar's label has room for
        # (a label with no room even at one decimal is elided and does not count).
        fewer, spots = 0, {}
        for k, label in enumerate(self._labels):
            if k in keep and has_bar[k]:
                spots[k] = spot = self._place_bar_label(fm, area, aff, label)
                if spot is not None and not spot[6]:
                    fewer = max(fewer, spot[5])
        align_r = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        align_l = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        m11, m12, m21, m22, dx, dy = aff
        for k, label in enumerate(self._labels):
            if k not in keep:
                continue
            if has_bar[k]:
                spot = spots[k]
                if fewer and spot is not None and spot[5] < fewer:
                    spot = self._place_bar_label(fm, area, aff, label, fewer)
                if spot is None:
                    continue
                r, text, color, inside, align_right = spot[:5]
            else:
                x, y, text, color, right = label[:5]
                px, py = m11 * x + m21 * y + dx, m12 * x + m22 * y + dy
                w = self._width(fm, text)
                if area.width() > 0 and w > area.width():
                    text = fm.elidedText(text, Qt.TextElideMode.ElideRight, max(int(area.width()) - 4, 0))
                    w = fm.horizontalAdvance(text) + 4
                r = (QRectF(px + self.GAP, py - h / 2, w, h) if right
                     else QRectF(px - self.GAP - w, py - h / 2, w, h))
                if area.width() > 0:  # no bar in this row to cover: shift into the plot
                    if r.right() > area.right():
                        r.moveRight(area.right())
                    if r.left() < area.left():
                        r.moveLeft(area.left())
                inside, align_right = False, not right
            if area.height() > h:  # a row lower than the text: the first and last labels stay in the plot
                if r.top() < area.top():
                    r.moveTop(area.top())
                elif r.bottom() > area.bottom():
                    r.moveBottom(area.bottom())
            p.setPen(color)
            p.drawText(r, align_r if align_right else align_l, text)
            painted.append((r, text))
            placed.append((k, color, inside))
        p.restore()
        self.painted, self.placed = painted, placed


class HBars:
    """Horizontal bars, one per row (token), with the value written at each bar's end.

    ``bars.opts['width']`` holds exactly the values shown (−∞ drawn as an empty bar
    labelled "−∞"), so tests read the displayed numbers back from here.
    """

    def __init__(self, plot: pg.PlotItem, color: QColor = BAR_BLUE, quantity: str = "weight"):
        fmt(0.0, quantity)  # an unknown quantity fails here, not on the first draw
        self.plot = plot
        self.quantity = quantity
        self.color = color
        # No tick marks on the rows' axis: pyqtgraph draws them 5 px into the plot at x = 0,
        # where they joined a short bar's value label as a minus sign ("—0.024").
        plot.getAxis("left").setStyle(tickLength=0)
        self.bars = BarsItem(color)  # and the zero line
        plot.addItem(self.bars)
        self.labels = LabelsItem()
        plot.addItem(self.labels)
        self.values = np.zeros(0, np.float32)
        self._xrange: tuple[float, float] | None = None

    def set(self, values: np.ndarray, xrange: tuple[float, float] | None = None,
            brushes: list[QColor] | None = None, nrows: int | None = None,
            masked: np.ndarray | None = None, masked_label: str = "−∞ masked",
            absent: np.ndarray | None = None, absent_label: str = "— not decoded yet") -> None:
        """``masked``: rows drawn as an empty bar labelled ``masked_label`` (−inf values
        always are). NaN and +inf are labelled "NaN" / "+∞" in red: an overflow, not a mask.
        ``absent``: rows with no value at all (a position a free-running decoder has not
        reached yet), labelled ``absent_label``."""
        values = np.asarray(values, dtype=np.float32)
        n = values.shape[0]
        finite = np.isfinite(values)
        masked = np.isneginf(values) if masked is None else (masked | np.isneginf(values))
        finite = finite & ~masked
        if absent is not None:
            finite = finite & ~absent
        widths = np.where(finite, values, 0.0).astype(np.float64)
        self.values = values
        self.colours = list(brushes) if brushes is not None else [self.color] * n  # per bar, for tests
        rows = max(n, nrows or 0)
        if xrange is None:
            lo = float(min(0.0, widths.min(initial=0.0)))
            hi = float(max(0.0, widths.max(initial=0.0)))
            pad = 0.25 * max(hi - lo, 1e-6)
            xrange = (lo - (pad if lo < 0 else 0), hi + pad)
        if xrange != self._xrange or rows != getattr(self, "_rows", None):
            self._xrange, self._rows = xrange, rows
            self.plot.getViewBox().setRange(xRange=xrange, yRange=(-0.5, max(rows, 1) - 0.5), padding=0)
        bounds = QRectF(xrange[0], -0.5, xrange[1] - xrange[0], max(rows, 1))
        self.bars.set_bars(widths, brushes, bounds)
        labels = []
        for j in range(n):
            v = float(values[j])
            if absent is not None and absent[j]:
                labels.append((0.0, j, absent_label, _GREY_ABSENT, True))
            elif masked[j]:  # −inf, or a position the caller says is masked
                labels.append((0.0, j, masked_label, _GREY_MASKED, True))
            elif not finite[j]:  # NaN or +inf: an overflow, never called masked
                labels.append((0.0, j, "NaN" if v != v else "+∞", BAD, True))
            else:  # beyond the bar's end, or inside it (LabelsItem): never over the end
                colour = brushes[j] if brushes is not None else self.color
                labels.append((v, j, fmt(v, self.quantity), INK, True, (0.0, colour)))
        self.labels.set_labels(labels, bounds)


def show_top_k(bars: "HBars", axis, step, xmax: float) -> list[str]:
    """Draw a step's top-k output probabilities as bars labelled by token on ``axis``:
    the gold token green, a wrong first choice red (blue when there is no gold), the rest
    grey. Returns the tokens in drawing order."""
    toks = [tok for tok, _ in step.top_k]
    probs = np.array([p for _, p in step.top_k], np.float32)
    colours = []
    for i, tok in enumerate(toks):
        if step.gold is not None and tok == step.gold:
            colours.append(GOOD)
        elif i == 0:
            colours.append(BAD if step.gold is not None else BAR_BLUE)
        else:
            colours.append(BAR_GREY)
    bars.set(probs, xrange=(0.0, xmax), brushes=colours, nrows=len(toks))
    set_ticks(axis, toks)
    return toks
