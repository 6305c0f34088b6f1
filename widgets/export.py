"""Export a view (or one panel) to PNG / SVG and a trace to JSON, atomically (sandbox.fileio).

PNG is the widget as drawn (``QWidget.grab``, at the screen's device pixel ratio); SVG is
the same widget painted into a :class:`QSvgGenerator`, so text and bars stay vector
(pyqtgraph heat maps are embedded as images), with every text turned into glyph outlines
(:func:`text_to_outlines`): Hangul survives on a machine without the app's fonts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from sandbox.trace import Trace

FORMATS = ("png", "svg")


class ExportError(OSError):
    """A file could not be written; the message names the file and why."""


def write_bytes_atomic(path: str | Path, data: bytes | QByteArray, *, make_parents: bool = False) -> Path:
    """Write through the app's one atomic writer (:func:`sandbox.fileio.atomic_write_bytes`:
    temp file, fsync, rename; the shipped tree refused); every failure is an ExportError
    naming ``path``."""
    from sandbox.fileio import atomic_write_bytes
    from sandbox.shipped import ShippedFileError

    path = Path(path)
    payload = bytes(data.data()) if isinstance(data, QByteArray) else bytes(data)
    try:
        return atomic_write_bytes(path, payload, make_parents=make_parents, what="export")
    except ShippedFileError as e:
        raise ExportError(str(e)) from None
    except OSError as e:
        raise ExportError(f"{path}: could not be saved ({e.strerror or e})") from None


def widget_png(widget: QWidget) -> QByteArray:
    pix = widget.grab()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not pix.save(buf, "PNG"):
        raise ExportError("could not encode the PNG")
    return buf.data()


def widget_svg(widget: QWidget, title: str = "Attention Sandbox") -> QByteArray:
    from PySide6.QtSvg import QSvgGenerator

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    size = widget.size()
    gen.setSize(size)
    # At the widget's own dpi, the font-size QSvgGenerator writes (points × dpi / 72) is the
    # pixel size the widget laid its text out with, so the outlines fill the same boxes.
    gen.setResolution(widget.logicalDpiY())
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setDescription("exported from Attention Sandbox")
    p = QPainter(gen)
    try:
        QWidget.render(widget, p, QPoint(0, 0))  # the widget as drawn (not QGraphicsView.render)
    finally:
        p.end()
    buf.close()
    return QByteArray(text_to_outlines(bytes(buf.data().data())))


_OUTLINE_PX = 100
_TEXT = re.compile(rb"<text\b([^>]*)>(.*?)</text>", re.S)
_ATTR = re.compile(rb'([\w:-]+)="([^"]*)"')


def _path_d(path) -> str:
    """SVG path data for a QPainterPath (moves, lines and cubic curves)."""
    from PySide6.QtGui import QPainterPath

    out = []
    n = path.elementCount()
    i = 0
    while i < n:
        e = path.elementAt(i)
        if e.type == QPainterPath.ElementType.MoveToElement:
            out.append(f"M{e.x:.2f} {e.y:.2f}")
            i += 1
        elif e.type == QPainterPath.ElementType.LineToElement:
            out.append(f"L{e.x:.2f} {e.y:.2f}")
            i += 1
        else:  # CurveToElement + two CurveToDataElement: c1, c2, end
            c2, end = path.elementAt(i + 1), path.elementAt(i + 2)
            out.append(f"C{e.x:.2f} {e.y:.2f} {c2.x:.2f} {c2.y:.2f} {end.x:.2f} {end.y:.2f}")
            i += 3
    return "".join(out)


def text_to_outlines(svg: bytes) -> bytes:
    """Replace every ``<text>`` QSvgGenerator wrote with a ``<path>`` of its glyph outlines
    (QPainterPath.addText, with the same per-character font fallback as on screen), so
    Hangul and every digit look the same on a machine without the app's fonts. The text
    is kept in an ``aria-label`` for screen readers and searches."""
    from html import escape, unescape

    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QFont, QPainterPath, QTransform

    fonts: dict[tuple, QFont] = {}

    def replace(m: re.Match) -> bytes:
        attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(m.group(1))}
        text = unescape(m.group(2).decode("utf-8"))
        if not text.strip():
            return b""
        try:
            x, y = float(attrs.get("x", 0)), float(attrs.get("y", 0))
            size = float(attrs.get("font-size", 9))
        except ValueError:
            return m.group(0)
        key = (attrs.get("font-family", ""), size, attrs.get("font-weight", "400"), attrs.get("font-style", "normal"))
        font = fonts.get(key)
        if font is None:
            font = QFont()
            fams = [f.strip().strip("'") for f in key[0].split(",") if f.strip()]
            if fams:
                font.setFamilies(fams)
            font.setPixelSize(_OUTLINE_PX)  # drawn large, then scaled: fractional sizes stay exact
            font.setWeight(QFont.Weight(int(key[2])) if key[2].isdigit() else QFont.Weight.Normal)
            font.setItalic(key[3] == "italic")
            fonts[key] = font
        glyphs = QPainterPath()
        glyphs.addText(QPointF(0, 0), font, text)
        path = QTransform().translate(x, y).scale(size / _OUTLINE_PX, size / _OUTLINE_PX).map(glyphs)
        fill = attrs.get("fill", "#000000")
        opacity = attrs.get("fill-opacity", "1")
        label = escape(text, quote=True)
        return (f'<path fill="{fill}" fill-opacity="{opacity}" stroke="none" aria-label="{label}" '
                f'd="{_path_d(path)}"/>').encode("utf-8")

    return _TEXT.sub(replace, svg)


def export_widget(widget: QWidget, path: str | Path) -> Path:
    """Write ``widget`` to ``path``; the suffix (.png or .svg) picks the format."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"{path}: unknown image format {path.suffix!r}; use .png or .svg")
    data = widget_png(widget) if fmt == "png" else widget_svg(widget)
    return write_bytes_atomic(path, data)


def export_trace_json(trace: "Trace", path: str | Path) -> Path:
    return write_bytes_atomic(path, (trace.dumps(indent=1) + "\n").encode("utf-8"))


def default_export_dir(kind: str = "pictures") -> Path:
    """Where an export dialog opens: the user's Pictures folder for images, Documents for
    data and handouts (platformdirs; XDG user dirs on Linux), else the home folder.
    Never the program's own folder (it may be read-only, and nobody looks there)."""
    import platformdirs

    if kind not in ("pictures", "documents"):
        raise ValueError(f"unknown export folder kind {kind!r}; allowed: pictures, documents")
    try:
        d = Path(platformdirs.user_pictures_dir() if kind == "pictures" else platformdirs.user_documents_dir())
    except Exception:  # noqa: BLE001 - an odd platform: fall back to home
        d = Path.home()
    return d if d.is_dir() else Path.home()


def image_size(path: str | Path) -> QSize:
    """Size of an image file as Qt reads it (an empty size if it does not load)."""
    return QImage(str(path)).size()
