"""Text that changes on every step without re-laying out the window.

A ``QLabel.setText`` calls ``updateGeometry()``: unless the label's minimum and maximum
sizes are equal, every ancestor layout up to the main window is invalidated, activated
again and the window painted twice — about 4 ms of a step's budget at 1280×720 (measured
with bench/bench_classroom.py). :class:`RichLine` paints rich text in a fixed number of
lines and never asks for a layout; :func:`set_steady_text` pins a plain label's size to
the widest text it will show.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF, QSize
from PySide6.QtGui import QAbstractTextDocumentLayout, QFontMetrics, QPainter, QTextDocument
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class RichLine(QWidget):
    """Rich text (Qt's HTML subset) wrapped into ``lines`` lines of the widget's font.

    Its height follows the font (``lines`` line spacings); its width is whatever the
    layout gives it (size policy Ignored), so a longer text never widens a panel. Text
    past the last line is clipped; callers put the whole text in the tooltip.
    ``text()`` returns the HTML last set, like ``QLabel.text()``.
    """

    def __init__(self, lines: int = 2, fit: bool = False, parent=None) -> None:
        """``fit``: take as many lines as the text needs at the current width, up to
        ``lines`` (a text that changes with the model, not the step: a new height re-lays
        out the window once). Otherwise always ``lines`` lines, never a re-layout."""
        super().__init__(parent)
        self._lines = lines
        self._fit = fit
        self._shown_lines = lines
        self._html = ""
        self._doc = QTextDocument(self)
        self._doc.setDocumentMargin(0)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._fit_height()

    def text(self) -> str:
        return self._html

    def wordWrap(self) -> bool:  # noqa: N802 (as QLabel): the text always wraps at the width
        return True

    def plain_text(self) -> str:
        return self._doc.toPlainText()

    def setText(self, html: str) -> None:  # noqa: N802 (QLabel's name, so callers need not care)
        if html == self._html:
            return
        self._html = html
        self._doc.setHtml(html)
        if self._fit:
            self._fit_height()
        self.update()

    def _fit_height(self) -> None:
        fm = QFontMetrics(self.font())
        n = self._lines
        if self._fit:
            need = self.text_height() if self._html else fm.lineSpacing()
            n = max(1, min(self._lines, int(-(-need // max(fm.lineSpacing(), 1)))))
        h = n * fm.lineSpacing() + 2
        if h != self.height() or self.minimumHeight() != h:
            self.setFixedHeight(h)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        if self._fit and ev.size().width() != ev.oldSize().width():
            self._fit_height()
        super().resizeEvent(ev)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self.height())

    def changeEvent(self, ev) -> None:  # noqa: N802
        if ev.type() == QEvent.Type.FontChange:
            self._doc.setDefaultFont(self.font())
            self._fit_height()
        super().changeEvent(ev)

    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QPainter(self)
        self._doc.setDefaultFont(self.font())
        self._doc.setTextWidth(max(self.width(), 1))
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette = self.palette()
        ctx.clip = QRectF(self.rect())
        p.setClipRect(self.rect())
        self._doc.documentLayout().draw(p, ctx)
        p.end()

    def text_height(self) -> float:
        """Pixels the whole text takes at the current width (over ``height()``: clipped)."""
        self._doc.setDefaultFont(self.font())
        self._doc.setTextWidth(max(self.width(), 1))
        return self._doc.documentLayout().documentSize().height()


def set_steady_text(label: QLabel, text: str, widest: str) -> None:
    """``label.setText(text)`` with the label's size pinned to fit ``widest`` (in its
    current font), so a new text never invalidates the window's layout. The size is
    pinned again when ``widest`` or the label's font changes."""
    if not hasattr(label, "_steady_widest"):
        label._steady_widest = None
        label._steady_min = label.minimumWidth()  # what the caller asked for stays a floor
        label._steady_filter = _FontWatch(label)
        label.installEventFilter(label._steady_filter)
    if label._steady_widest != widest:
        label._steady_widest = widest
        _pin(label)
    if label.text() != text:
        label.setText(text)


def _pin(label: QLabel) -> None:
    fm = QFontMetrics(label.font())
    m = label.contentsMargins()
    pad = 2 * label.margin()
    w = fm.horizontalAdvance(label._steady_widest) + pad + m.left() + m.right() + 8
    h = fm.height() + pad + m.top() + m.bottom() + 4
    label.setFixedSize(max(w, label._steady_min), h)


class _FontWatch(QObject):
    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QEvent.Type.FontChange and getattr(obj, "_steady_widest", None) is not None:
            _pin(obj)
        return False
