"""``main.py lecture NAME --export DIR [--lang en|ko]``: a lecture as PNGs and a PDF handout.

Each slide is put into an offscreen :class:`~widgets.mainwindow.MainWindow` with the same
:func:`~widgets.presenter.apply_slide` the presenter uses, and its ``views`` widget is
grabbed: ``slide_01.png``, ``slide_02.png``, … show exactly what the class sees (a quiz
slide with its panels hidden). ``handout.pdf`` has one landscape page per slide: lecture
and slide title, slide number, the view (revealed, so the handout carries the answers),
the narration in the chosen language, and the slide's image when it has one. Korean is
drawn with the Hangul font :func:`widgets.fonts.ensure_korean_font` finds or bundles.

No display is needed: with neither DISPLAY nor WAYLAND_DISPLAY set, Qt runs offscreen.
Every file is written atomically. A bad lecture is a LectureError (one line, exit 2).
"""

from __future__ import annotations

import html
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sandbox.lectures import Lecture
    from sandbox.model import Bundle

EXPORT_SIZE = (1600, 1000)  # the offscreen window; the views take nearly all of it
EXPORT_FONT_SCALE = 1.15
PDF_DPI = 150


@dataclass(frozen=True)
class ExportResult:
    pngs: tuple[Path, ...]
    pdf: Path
    notes: tuple[str, ...]  # per-slide notes that were shown (clamped steps, missing images)


def train_bundles(lecture: "Lecture", log: Callable[[str], None] | None = None,
                  device: str | None = None) -> dict[str, "Bundle"]:
    """Every model the lecture uses: from the user's cache, the shipped checkpoints, or
    trained (and cached). ``device`` defaults to the lecture's ``[train] device``. The log
    says what happened (a cache entry that could not be read is "retrained", not "loaded")."""
    from sandbox.lectures import ensure_trained_from, lecture_presets

    device = device or lecture.train.device
    out = {}
    for ref in lecture_presets(lecture):
        t0 = time.perf_counter()
        out[ref], origin = ensure_trained_from(lecture, preset=ref, device=device)
        if log is not None:  # what happened, not what the folder looked like before
            took = f"{time.perf_counter() - t0:.1f} s"
            done = {"cache": "loaded from the cache", "shipped": "loaded the shipped checkpoint"}.get(
                origin, f"{origin} in {took}")
            log(f"{ref}: {done}")
    return out


def export_lecture(lecture: "Lecture", out_dir: str | os.PathLike, lang: str = "en", *,
                   bundles: dict[str, "Bundle"] | None = None, size: tuple[int, int] = EXPORT_SIZE,
                   font_scale: float = EXPORT_FONT_SCALE, log: Callable[[str], None] | None = None,
                   device: str | None = None) -> ExportResult:
    """Write ``slide_NN.png`` per slide and ``handout.pdf`` into ``out_dir`` (created).

    Needs a QApplication. ``bundles`` (ref → Bundle, every preset of the lecture) skips
    training; otherwise :func:`train_bundles` loads or trains them."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from sandbox.lectures import LANGS, lecture_presets

    from .export import widget_png, write_bytes_atomic
    from .fonts import ensure_korean_font
    from .mainwindow import MainWindow
    from .presenter import apply_slide, hide_chrome

    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(LANGS)}")
    app = QApplication.instance()
    if app is None:
        raise RuntimeError("export_lecture needs a QApplication")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    family = ensure_korean_font()
    if bundles is None:
        bundles = train_bundles(lecture, log, device)
    missing = [r for r in lecture_presets(lecture) if r not in bundles]
    if missing:
        raise ValueError(f"no model given for preset(s) {', '.join(missing)}")

    pngs: list[Path] = []
    pages: list[tuple[bytes, str | None]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "export.ini"), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, persist=False)
        try:
            win.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            hide_chrome(win)
            win.resize(*size)
            win.set_font_scale(font_scale)
            win.show()
            app.processEvents()
            for i, slide in enumerate(lecture.slides):
                state = apply_slide(win, lecture, slide, bundles)
                win.views.draw_all()
                app.processEvents()
                png = bytes(widget_png(win.views).data())
                path = out / f"slide_{i + 1:02d}.png"
                write_bytes_atomic(path, png)
                pngs.append(path)
                if state.hidden:  # the handout shows the answer
                    for name in state.hidden:
                        win.set_panel_hidden(name, False)
                    win.views.draw_all()
                    app.processEvents()
                    png = bytes(widget_png(win.views).data())
                note = state.note
                if note:
                    notes.append(f"slide {i + 1}: {note}")
                pages.append((png, note))
                if log is not None:
                    log(f"slide {i + 1}/{len(lecture.slides)}: {slide.title}")
        finally:
            win.shutdown()
            win.hide()
            win.deleteLater()
            app.processEvents()
    pdf = out / "handout.pdf"
    write_bytes_atomic(pdf, handout_pdf(lecture, pages, lang, family))
    return ExportResult(tuple(pngs), pdf, tuple(notes))


# ------------------------------------------------------------------------------- the PDF


def handout_pdf(lecture: "Lecture", pages: list[tuple[bytes, str | None]], lang: str,
                korean_family: str | None = None) -> bytes:
    """A landscape A4 page per slide: titles, number, view image, narration, image, note."""
    from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, Qt
    from PySide6.QtGui import (
        QColor, QFont, QGuiApplication, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen,
        QTextDocument,
    )

    from sandbox.lectures import image_path

    from .presenter import missing_image_text, narration_html

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(PDF_DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                     QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
    writer.setTitle(lecture.title)
    writer.setCreator("Attention Sandbox")

    base = QFont(QGuiApplication.font())
    families = [f for f in base.families() if f] or [base.family()]
    if korean_family and korean_family not in families:
        families.append(korean_family)

    def font(pt: float, bold: bool = False) -> QFont:
        f = QFont(base)
        f.setFamilies(families)
        f.setPointSizeF(pt)
        f.setBold(bold)
        return f

    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("could not start the PDF")
    try:
        page = writer.pageLayout().paintRectPixels(PDF_DPI)
        W, H = page.width(), page.height()
        px = PDF_DPI / 72.0  # pixels per point
        n = len(lecture.slides)
        for i, (slide, (png, note)) in enumerate(zip(lecture.slides, pages)):
            if i:
                writer.newPage()
            y = 0.0
            painter.setPen(QColor("#57606a"))
            painter.setFont(font(9))
            head_h = 14 * px
            painter.drawText(QRectF(0, y, W * 0.8, head_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             lecture.title)
            painter.drawText(QRectF(W * 0.8, y, W * 0.2, head_h),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{i + 1} / {n}")
            y += head_h
            painter.setPen(QColor("#1f2328"))
            painter.setFont(font(16, bold=True))
            title_h = 24 * px
            painter.drawText(QRectF(0, y, W, title_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             slide.title)
            y += title_h + 4 * px
            # Lay out the narration first (the slide's image, if any, sits to its right),
            # then give the view every bit of height that is left.
            ipath = image_path(lecture, slide)
            pic = QImage(str(ipath)) if ipath is not None and ipath.is_file() else QImage()
            # An image that exists shares the top with the view; a missing one gets a
            # placeholder beside the narration.
            text_w = W * 0.62 if ipath is not None and pic.isNull() else W
            doc = QTextDocument()
            doc.setDocumentMargin(0)
            doc.setTextWidth(text_w)
            body = narration_html(slide.text(lang))
            if note:
                body += f"<p style='color:#9a6700'>{html.escape(note)}</p>"
            if slide.hidden:
                hid = html.escape(", ".join(slide.hidden))
                body += (f"<p style='color:#57606a'>수업에서는 {hid} 패널을 숨겼다가 R로 보여 주었습니다.</p>"
                         if lang == "ko" else
                         f"<p style='color:#57606a'>In class the {hid} panel(s) stayed hidden until R.</p>")
            doc.setHtml(body)
            footer_h = 14 * px
            gap = 6 * px
            img = QImage.fromData(png, "PNG")
            aspect = img.width() / img.height() if not img.isNull() and img.height() else 1.6
            pt = 11.0
            while True:  # shrink long narration so the view keeps at least half the page
                doc.setDefaultFont(font(pt))
                text_h = max(doc.size().height(), 40 * px if text_w < W else 0)
                if H - y - footer_h - text_h - gap >= H * 0.5 or pt <= 7:
                    break
                pt -= 0.5
            box_h = max(H * 0.3, H - y - footer_h - text_h - 2 * gap)
            view_w = W * 0.58 if not pic.isNull() else W
            used_h = 0.0
            if not img.isNull():
                iw = min(view_w, box_h * aspect)
                ih = iw / aspect
                x0 = (W - iw) / 2 if pic.isNull() else 0.0
                target = QRectF(x0, y, iw, ih)
                painter.drawImage(target, img)
                painter.setPen(QPen(QColor("#d0d7de"), 1))
                painter.drawRect(target)
                used_h = ih
            else:
                used_h = box_h
            if not pic.isNull():
                side = QRectF(view_w + gap, y, W - view_w - gap, box_h)
                s = min(side.width() / pic.width(), side.height() / pic.height())
                painter.drawImage(QRectF(side.x(), side.y(), pic.width() * s, pic.height() * s), pic)
                used_h = max(used_h, pic.height() * s)
            y += used_h + gap
            rest_h = H - y - footer_h
            if ipath is not None and pic.isNull():
                side = QRectF(text_w + 8 * px, y, W - text_w - 8 * px, rest_h)
                painter.setPen(QPen(QColor("#8c959f"), 1, Qt.PenStyle.DashLine))
                painter.drawRect(side)
                painter.setPen(QColor("#57606a"))
                painter.setFont(font(8))
                painter.drawText(side.adjusted(6 * px, 6 * px, -6 * px, -6 * px), Qt.TextFlag.TextWordWrap,
                                 missing_image_text(lecture, slide, lang))
            painter.save()
            painter.translate(0, y)
            doc.drawContents(painter, QRectF(0, 0, text_w, rest_h))
            painter.restore()
            painter.setPen(QColor("#8c959f"))
            painter.setFont(font(7))
            ref = slide.preset or lecture.preset
            painter.drawText(QRectF(0, H - 12 * px, W, 12 * px), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"Attention Sandbox · {lecture.key} · preset {ref} · {slide.mode.replace('_', ' ')}, "
                             f"step {slide.step}")
    finally:
        painter.end()
    buf.close()
    return bytes(buf.data().data())


# ------------------------------------------------------------------------------- CLI


def cli_lecture(args) -> int:
    """``main.py lecture FILE_OR_NAME --export DIR [--lang en|ko]``."""
    from sandbox.lectures import find_lecture, load_lecture

    lecture = load_lecture(find_lecture(args.lecture))  # LectureError: one line, exit 2
    out = Path(args.export)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--export {out}: not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"cannot create the export folder: {e.strerror or e}", str(out)) from None

    from .qtcompat import headless_app

    headless_app()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    result = export_lecture(lecture, out, lang=getattr(args, "lang", "en") or "en", log=log,
                            device=getattr(args, "device", None))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {len(result.pngs)} slide PNGs and {result.pdf}")
    return 0
