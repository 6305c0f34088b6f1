"""Export a view (or one panel) to PNG / SVG and a trace to JSON, atomically (QSaveFile).

PNG is the widget as drawn (``QWidget.grab``, at the screen's device pixel ratio); SVG is
the same widget painted into a :class:`QSvgGenerator`, so text and bars stay vector
(pyqtgraph heat maps are embedded as images).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSaveFile, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from sandbox.trace import Trace

FORMATS = ("png", "svg")


class ExportError(OSError):
    """A file could not be written; the message names the file and why."""


def write_bytes_atomic(path: str | Path, data: bytes | QByteArray) -> Path:
    path = Path(path)
    f = QSaveFile(str(path))
    if not f.open(QIODevice.OpenModeFlag.WriteOnly):
        raise ExportError(f"{path}: cannot write ({f.errorString()})")
    payload = data if isinstance(data, QByteArray) else QByteArray(bytes(data))
    if f.write(payload) != payload.size():
        err = f.errorString()
        f.cancelWriting()
        raise ExportError(f"{path}: write failed ({err})")
    if not f.commit():
        raise ExportError(f"{path}: could not be saved ({f.errorString()})")
    return path


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
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setDescription("exported from Attention Sandbox")
    p = QPainter(gen)
    try:
        QWidget.render(widget, p, QPoint(0, 0))  # the widget as drawn (not QGraphicsView.render)
    finally:
        p.end()
    buf.close()
    return buf.data()


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
