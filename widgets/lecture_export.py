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
                   device: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write ``slide_NN.png`` per slide and ``handout.pdf`` into ``out_dir`` (created).

    Each PNG stands alone: lecture and slide title, the sentence, mode and step on screen,
    the view with the slide's panel outlined, and the narration in ``lang`` with its
    formulas typeset, beside the slide's image if it has one. A quiz slide (hidden
    panels) gives two images: ``slide_NN.png`` with the answer covered by a labelled
    placeholder, then ``slide_NN_answer.png``. ``progress(done, total)`` after each slide.

    Needs a QApplication. ``bundles`` (ref → Bundle, every preset of the lecture) skips
    training; otherwise :func:`train_bundles` loads or trains them."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from sandbox.lectures import LANGS, lecture_presets, slide_preset_ref

    from .export import widget_png, write_bytes_atomic
    from .fonts import ensure_korean_font
    from .mainwindow import MainWindow
    from PySide6.QtGui import QImage

    from .presenter_mode import hide_chrome
    from .slide_apply import apply_slide, quiz_hidden

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
    pages: list[tuple[bytes, str | None, str]] = []  # (view PNG, note, context line)
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
            n = len(lecture.slides)
            layout = (win.views.splitter.sizes(), win.views.lower.sizes())
            for i, slide in enumerate(lecture.slides):
                # Drawn revealed, on the slide's own panel; a quiz's hidden panels are then
                # covered by a labelled placeholder in the question image.
                if win.size().toTuple() != tuple(size):  # every slide starts from one layout
                    win.resize(*size)
                    app.processEvents()
                win.views.splitter.setSizes(layout[0])
                win.views.lower.setSizes(layout[1])
                state = apply_slide(win, lecture, slide, bundles, reveal=True)
                hidden = quiz_hidden(slide)
                win.focus_panel(slide.panel)
                win.views.draw_all()
                app.processEvents()
                room_for_explain(win, app, size, slide.panel)
                png = bytes(widget_png(win.views).data())
                view = QImage.fromData(png, "PNG")
                focus = panel_rect(win.views, slide.panel)
                covers = [panel_rect(win.views, name) for name in hidden]
                texts = SLIDE_TEXT[lang]
                counter = f"{i + 1} / {n}"
                common = dict(context=slide_context(win, bundles[slide_preset_ref(lecture, slide)]), focus=focus,
                              **slide_picture(lecture, slide, lang))
                path = out / f"slide_{i + 1:02d}.png"
                write_bytes_atomic(path, image_png(compose_slide(
                    view, lecture.heading(lang), slide.heading(lang), counter, slide.text(lang), covers=covers,
                    cover_text=texts["hidden"] if covers else "", badge=texts["question"] if covers else "",
                    **common)))
                pngs.append(path)
                if covers:  # the quiz's second image: the answer
                    path = out / f"slide_{i + 1:02d}_answer.png"
                    write_bytes_atomic(path, image_png(compose_slide(
                        view, lecture.heading(lang), slide.heading(lang), counter, slide.text(lang),
                        badge=texts["answer"], **common)))
                    pngs.append(path)
                if progress is not None:
                    progress(i + 1, n)
                note = state.note
                if note:
                    notes.append(f"slide {i + 1}: {note}")
                pages.append((png, note, common["context"]))
                if log is not None:
                    log(f"slide {i + 1}/{len(lecture.slides)}: {slide.heading(lang)}")
        finally:
            win.shutdown()
            win.hide()
            win.deleteLater()
            app.processEvents()
    pdf = out / "handout.pdf"
    write_bytes_atomic(pdf, handout_pdf(lecture, pages, lang, family))
    return ExportResult(tuple(pngs), pdf, tuple(notes))


# ------------------------------------------------------------------------------- slide images

SLIDE_TEXT = {
    "en": {"hidden": "Hidden for the quiz: the answer is on the next image",
           "question": "QUIZ", "answer": "ANSWER"},
    "ko": {"hidden": "퀴즈를 위해 가렸습니다: 정답은 다음 그림에 있습니다",
           "question": "퀴즈", "answer": "정답"},
}
TAB_PANELS = ("map", "cross", "masked_self", "encoder_self", "heads", "positions")
FOCUS_COLOUR, FOCUS_PEN = "#fb8500", 4  # the outline round the slide's own panel


def panel_rect(views, name: str):
    """Where panel ``name`` sits inside ``views`` (a map panel: the whole tab area)."""
    from PySide6.QtCore import QPoint, QRect

    w = views.tabs if name in TAB_PANELS else views.panel_widget(name)
    return QRect(w.mapTo(views, QPoint(0, 0)), w.size())


def fit_explain(views, app, keep: float = 0.7, floors: tuple[int, int] | None = None) -> None:
    """Make room for the whole worked example in a picture, where nobody can scroll: widen
    the explain panel by what its text overflows sideways, and give the lower row the
    height it overflows, taking it from the anatomy and the maps (each keeps ``keep`` of
    its size, or the pixels ``floors`` = (anatomy width, maps height) says). What still does
    not fit keeps its scroll bar."""
    ev = views.explain
    if not ev.isVisible():
        return
    min_left, min_top = floors or (int(views.lower.sizes()[0] * keep), int(views.splitter.sizes()[0] * keep))
    for _ in range(3):  # more passes: a wider panel wraps to fewer lines, a scroll bar goes
        over_w = ev.horizontalScrollBar().maximum()
        over_h = ev.verticalScrollBar().maximum()
        left, right = views.lower.sizes()
        top, bottom = views.splitter.sizes()
        take_w = min(over_w + 4, left - min_left) if over_w > 0 else 0
        take_h = min(over_h + 4, top - min_top) if over_h > 0 else 0
        if take_w <= 0 and take_h <= 0:
            return
        if take_w > 0:
            views.lower.setSizes([left - take_w, right + take_w])
        if take_h > 0:
            views.splitter.setSizes([top - take_h, bottom + take_h])
        app.processEvents()
        views.draw_all()
        app.processEvents()


def room_for_explain(win, app, size: tuple[int, int], focus: str = "explain", grow: float = 1.5) -> None:
    """:func:`fit_explain` in the export's window; where the worked example is still cut
    (a long sentence's softmax table), the window grows taller, up to ``grow`` × its
    height: a taller picture rather than a cut-off sum. The slide's ``focus`` panel keeps
    its whole size (the others keep 70 %)."""
    views = win.views
    keep_left = 1.0 if focus == "anatomy" else 0.7
    keep_top = 1.0 if focus in TAB_PANELS else 0.7
    floors = (int(views.lower.sizes()[0] * keep_left), int(views.splitter.sizes()[0] * keep_top))
    fit_explain(views, app, floors=floors)
    for _ in range(3):
        over = views.explain.verticalScrollBar().maximum()
        if over <= 0 or win.height() >= size[1] * grow:
            return
        win.resize(size[0], min(int(size[1] * grow), win.height() + over + 8))
        app.processEvents()
        fit_explain(views, app, floors=floors)


def slide_context(win, bundle) -> str:
    """The line under a slide's title: the sentence on screen, the mode, the step and (for a
    Transformer) the layer and head, as the presenter shows it."""
    from .presenter_mode import context_line

    v = win.current_view()
    transformer = bundle.preset.model.kind == "transformer"
    return context_line(v["source"], v["target"], v["mode"], v["step"],
                        (v["layer"], v["head"]) if transformer else None)


def slide_picture(lecture: "Lecture", slide, lang: str) -> dict:
    """``picture`` (a QImage) for a slide whose image file is there, ``picture_text`` (what
    to do about it) for one whose file is missing, nothing for a slide without an image."""
    from PySide6.QtGui import QImage

    from sandbox.lectures import image_path

    from .presenter_mode import missing_image_text

    path = image_path(lecture, slide)
    if path is None:
        return {}
    pic = QImage(str(path)) if path.is_file() else QImage()
    return {"picture": pic} if not pic.isNull() else {"picture_text": missing_image_text(lecture, slide, lang)}


def _text_font(px: float, bold: bool = False):
    """The application font at ``px`` pixels, ligatures off (a PDF's "fi" ligature is not
    found by a search for "fixed")."""
    from PySide6.QtGui import QFont, QGuiApplication

    f = QFont(QGuiApplication.font())
    f.setPixelSize(max(1, int(round(px))))
    f.setBold(bold)
    f.setFeature(QFont.Tag("liga"), 0)
    return f


def compose_slide(view, lecture_title: str, slide_title: str, counter: str, narration: str, *,
                  context: str = "", focus=None, covers=(), cover_text: str = "", badge: str = "",
                  picture=None, picture_text: str = ""):
    """One slide as a QImage: header, title, ``context`` (sentence, mode, step), the view
    with a margin round it (``focus`` outlined outside its edge, so no label of the panel
    is painted over; ``covers`` hidden under a labelled placeholder; ``badge`` in its
    corner), then the narration, with the slide's ``picture`` (a QImage) to its right, or
    ``picture_text`` in a dashed box where the picture is missing.

    Text sizes follow the view's width: the body is ``width / 75`` px (21 px for a 1600 px
    view, 17 px once the slide is shown 1280 px wide)."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTextDocument

    from .richtext import formula_html, paragraphs_html

    pad = 28.0
    W = int(max(view.width(), 800) + 2 * pad)
    inner = W - 2 * pad
    body_px = max(16.0, inner / 75)
    has_picture = picture is not None and not picture.isNull()
    side = has_picture or bool(picture_text)
    gap = 24.0
    # A picture keeps its own size up to 56 % of the width (a plot's labels stay readable);
    # the narration takes the rest.
    pic_w = (min(float(picture.width()), inner * 0.56) if has_picture else inner * 0.4) if side else 0.0
    text_w = inner - pic_w - gap if side else inner

    def doc(html_text: str, px: float, bold: bool = False, width: float = inner) -> QTextDocument:
        d = QTextDocument()
        d.setDocumentMargin(0)
        d.setDefaultFont(_text_font(px, bold))
        d.setTextWidth(width)
        d.setHtml(html_text)
        return d

    head = doc(f"<span style='color:#57606a'>{formula_html(lecture_title)}</span>", body_px * 0.8)
    title = doc(f"<b>{formula_html(slide_title)}</b>", body_px * 1.6)
    ctx = doc(f"<span style='color:#57606a'>{html.escape(context)}</span>", body_px * 0.85) if context else None
    text = doc(paragraphs_html(narration) or "<p></p>", body_px, width=text_w)
    pic_box = None
    if has_picture:
        s = min(pic_w / picture.width(), max(view.height() * 0.6, text.size().height()) / picture.height())
        pic_box = QRectF(0, 0, picture.width() * s, picture.height() * s)
    elif picture_text:
        note = doc(f"<span style='color:#57606a'>{html.escape(picture_text)}</span>", body_px * 0.8,
                   width=pic_w - 24)
        pic_box = QRectF(0, 0, pic_w, note.size().height() + 24)
    y_ctx = pad + head.size().height() + 6 + title.size().height()
    y_view = y_ctx + (6 + ctx.size().height() if ctx is not None else 0) + 14
    below = max(text.size().height(), pic_box.height() if pic_box is not None else 0)
    H = int(y_view + view.height() + 18 + below + pad)
    img = QImage(W, H, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.translate(pad, pad)
        head.drawContents(p)
        p.setFont(_text_font(body_px * 0.8))
        p.setPen(QColor("#57606a"))
        p.drawText(QRectF(0, 0, inner, head.size().height()), Qt.AlignmentFlag.AlignRight, counter)
        p.translate(0, head.size().height() + 6)
        title.drawContents(p)
        if ctx is not None:
            p.resetTransform()
            p.translate(pad, y_ctx + 6)
            ctx.drawContents(p)
        p.resetTransform()
        x0 = (W - view.width()) / 2
        p.drawImage(int(x0), int(y_view), view)
        x0, y0 = int(x0), int(y_view)
        for r in covers:
            box = QRectF(r).translated(x0, y0)
            p.fillRect(box, QColor("#eaeef2"))
            p.setPen(QPen(QColor("#8c959f"), 2, Qt.PenStyle.DashLine))
            p.drawRect(box.adjusted(1, 1, -1, -1))
            p.setPen(QColor("#57606a"))
            p.setFont(_text_font(body_px * 1.1, bold=True))
            p.drawText(box.adjusted(12, 12, -12, -12), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       cover_text)
        if focus is not None and not focus.isEmpty():
            # Outside the panel's edge (a 4 px line 1-5 px out): the panel's own labels
            # start at its edge and stay readable.
            p.setPen(QPen(QColor(FOCUS_COLOUR), FOCUS_PEN))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(focus).translated(x0, y0).adjusted(-3, -3, 3, 3))
        if badge:
            p.setFont(_text_font(body_px, bold=True))
            fm = p.fontMetrics()
            bw, bh = fm.horizontalAdvance(badge) + 24, fm.height() + 10
            box = QRectF(x0 + view.width() - bw - 10, y0 + 10, bw, bh)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#8250df") if covers else QColor("#1a7f37"))
            p.drawRoundedRect(box, 6, 6)
            p.setPen(QColor("white"))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, badge)
        y_text = y0 + view.height() + 18
        p.translate(pad, y_text)
        text.drawContents(p)
        p.resetTransform()
        if pic_box is not None:
            at = pic_box.translated(pad + text_w + gap, y_text)
            if has_picture:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                p.drawImage(at, picture)
                p.setPen(QPen(QColor("#d0d7de"), 1))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(at)
            else:
                p.setPen(QPen(QColor("#8c959f"), 1, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(at)
                p.translate(at.x() + 12, at.y() + 12)
                note.drawContents(p)
    finally:
        p.end()
    return img


def image_png(img) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise OSError("could not encode the slide PNG")
    return bytes(buf.data().data())


# ------------------------------------------------------------------------------- the PDF


def handout_pdf(lecture: "Lecture", pages: list[tuple[bytes, str | None, str]], lang: str,
                korean_family: str | None = None) -> bytes:
    """A landscape A4 page per slide: titles, number, the context line (sentence, mode,
    step), view image, narration, image, note. ``pages``: (view PNG, note, context) per slide."""
    from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, Qt
    from PySide6.QtGui import (
        QColor, QFont, QGuiApplication, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen,
        QTextDocument,
    )

    from .presenter_mode import narration_html
    from .richtext import formula_html

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(PDF_DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                     QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
    writer.setTitle(lecture.heading(lang))
    writer.setCreator("Attention Sandbox")

    base = QFont(QGuiApplication.font())
    families = [f for f in base.families() if f] or [base.family()]
    if korean_family and korean_family not in families:
        families.append(korean_family)

    def font(pt: float, bold: bool = False) -> QFont:
        f = QFont(base)
        f.setFamilies(families)
        f.setFeature(QFont.Tag("liga"), 0)  # the text layer keeps "fi" as two letters
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
        for i, (slide, (png, note, context)) in enumerate(zip(lecture.slides, pages)):
            if i:
                writer.newPage()
            y = 0.0
            painter.setPen(QColor("#57606a"))
            painter.setFont(font(9))
            head_h = 14 * px
            painter.drawText(QRectF(0, y, W * 0.8, head_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             lecture.heading(lang))
            painter.drawText(QRectF(W * 0.8, y, W * 0.2, head_h),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{i + 1} / {n}")
            y += head_h
            painter.setPen(QColor("#1f2328"))
            title_h = 24 * px
            tdoc = QTextDocument()
            tdoc.setDocumentMargin(0)
            tdoc.setDefaultFont(font(16, bold=True))
            tdoc.setTextWidth(W)
            tdoc.setHtml(f"<b>{formula_html(slide.heading(lang))}</b>")
            painter.save()
            painter.translate(0, y + max(0.0, (title_h - tdoc.size().height()) / 2))
            tdoc.drawContents(painter, QRectF(0, 0, W, title_h))
            painter.restore()
            y += title_h
            if context:
                painter.setPen(QColor("#57606a"))
                painter.setFont(font(9))
                ctx_h = 13 * px
                painter.drawText(QRectF(0, y, W, ctx_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 context)
                y += ctx_h
            y += 4 * px
            # Lay out the narration first (the slide's image, if any, sits to its right),
            # then give the view every bit of height that is left.
            shown = slide_picture(lecture, slide, lang)
            pic = shown.get("picture", QImage())
            missing = shown.get("picture_text")
            # An image that exists shares the top with the view; a missing one gets a
            # placeholder beside the narration.
            text_w = W * 0.62 if missing else W
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
            if missing:
                side = QRectF(text_w + 8 * px, y, W - text_w - 8 * px, rest_h)
                painter.setPen(QPen(QColor("#8c959f"), 1, Qt.PenStyle.DashLine))
                painter.drawRect(side)
                painter.setPen(QColor("#57606a"))
                painter.setFont(font(8))
                painter.drawText(side.adjusted(6 * px, 6 * px, -6 * px, -6 * px), Qt.TextFlag.TextWordWrap,
                                 missing)
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


# ------------------------------------------------------------------------------- GUI


def install_export(controller) -> None:
    """Add "Export the chosen lecture as slides…" to a LectureController's Lecture menu
    (once). The presenter does not import this module: the export imports the presenter."""
    from PySide6.QtGui import QAction

    if getattr(controller, "export_action", None) is not None:
        return
    a = QAction("Export the chosen lecture as slides…", controller.window)
    a.setToolTip("PNG per slide (title, view, narration) and a PDF handout, in the narration "
                 "language chosen above")
    a.triggered.connect(lambda _=False: export_dialog(controller))
    controller.export_action = a
    controller.extra_actions.append(a)
    controller.refresh()


def export_dialog(controller) -> None:
    """Lecture ▸ Export…: ask for a folder (Documents by default), then :func:`export_to`."""
    from PySide6.QtWidgets import QFileDialog

    from .export import default_export_dir

    lec = controller._load(controller.combo.currentData())
    if lec is None:
        return
    folder = QFileDialog.getExistingDirectory(controller.window, f"Export “{lec.title}” into…",
                                              str(default_export_dir("documents")))
    if folder:
        export_to(controller, lec, Path(folder) / f"{lec.key}_slides_{controller.lang}")


def export_to(controller, lecture: "Lecture", out_dir: str | os.PathLike) -> ExportResult | None:
    """Export ``lecture`` into ``out_dir`` in the controller's narration language, with a
    progress dialog (Cancel stops between slides). Returns the ExportResult, or None
    (cancelled, or the window's banner says why)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLabel, QProgressDialog

    from .richtext import formula_html

    n = len(lecture.slides)
    dlg = QProgressDialog("", "Cancel", 0, n, controller.window)  # the text goes on the rich label below
    label = QLabel()  # rich text: a slide title's formula is typeset ("c_t" → c with a subscript t)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    dlg.setLabel(label)
    dlg.setLabelText(formula_html("Loading the lecture's models…"))
    dlg.setWindowTitle("Export lecture")
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(0)
    dlg.setValue(0)
    controller.export_dialog_widget = dlg
    controller.export_progress = (0, n)  # (slides done, slides), for tests and the status

    class _Cancelled(Exception):
        pass

    def pump() -> None:
        QApplication.processEvents()
        if dlg.wasCanceled():
            raise _Cancelled

    def log(msg: str) -> None:
        dlg.setLabelText(formula_html(msg))
        pump()

    def progress(done: int, total: int) -> None:
        controller.export_progress = (done, total)
        dlg.setMaximum(total)
        dlg.setValue(done)
        dlg.setLabelText(f"slide {done} / {total}")
        pump()

    try:
        res = export_lecture(lecture, out_dir, lang=controller.lang, log=log, progress=progress)
    except _Cancelled:
        controller._message(f"export cancelled; the slides written so far are in {out_dir}", "warning")
        return None
    except (ValueError, OSError) as e:  # LectureError is a ValueError
        controller._message(f"could not export: {e}", "error")
        return None
    finally:
        dlg.close()
    controller._message(f"exported {len(res.pngs)} slide images and {res.pdf.name} into {out_dir}")
    return res


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
    answers = sum(1 for p in result.pngs if p.stem.endswith("_answer"))
    extra = f" (+{answers} quiz answer image{'s' if answers != 1 else ''})" if answers else ""
    print(f"wrote {len(result.pngs) - answers} slide PNGs{extra} and {result.pdf}")
    return 0
