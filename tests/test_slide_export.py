"""Issue 14: exported slides stand alone (title, view, narration, typeset formulas), a
quiz gives a question and an answer image, the handout's text layer is searchable."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtGui import QImage  # noqa: E402

from sandbox.lectures import find_lecture, load_lecture  # noqa: E402
from tests.test_lectures import _quick  # noqa: E402


def test_formula_html_typesets_and_escapes():
    from widgets.richtext import formula_html

    assert formula_html("e_j = vᵀ tanh(W1 h_j + W2 s_{t-1})") == (
        "e<sub>j</sub> = vᵀ tanh(W<sub>1</sub> h<sub>j</sub> + W<sub>2</sub> s<sub>t−1</sub>)")
    assert formula_html("<b>x</b>^2") == "&lt;b&gt;x&lt;/b&gt;^2"  # no markup from narration
    assert formula_html("snake_case_name") == "snake_case_name"
    # Korean particles follow a formula directly (the transformer lecture: "W_V가", "W_O를")
    assert formula_html("W_V가 W_O를 W1을 x^2의") == "W<sub>V</sub>가 W<sub>O</sub>를 W<sub>1</sub>을 x<sup>2</sup>의"


def test_formula_html_typesets_accented_bases_long_subscripts_and_parenthesised_powers():
    """Read cold, the dot-product lecture printed "õ_t" raw and the Transformer lecture
    "d_model" and "10000^(2i/d)"."""
    from widgets.richtext import formula_html

    assert formula_html("W_o õ_t에") == "W<sub>o</sub> õ<sub>t</sub>에"
    assert formula_html("d_model = 32, d_ff") == "d<sub>model</sub> = 32, d<sub>ff</sub>"
    assert formula_html("sin(pos / 10000^(2i/d))") == "sin(pos / 10000<sup>2i/d</sup>)"
    assert formula_html("training.teacher_forcing") == "training.teacher_forcing"  # a setting's name


def test_shipped_lectures_leave_no_raw_script_marks():
    """Every title and narration of every shipped lecture, in both languages, typesets all
    of its sub- and superscripts: no "_" or "^" is left except inside setting names."""
    import re

    from sandbox.lecture_models import shipped_lectures
    from sandbox.lectures import LANGS
    from widgets.richtext import formula_html

    setting = re.compile(r"\b[a-z]+(?:_[a-z]+)+(?![a-z_])")  # teacher_forcing, training.teacher_forcing
    raw = []
    lectures = shipped_lectures()
    assert len(lectures) >= 5
    for lec in lectures:
        for i, slide in enumerate(lec.slides, 1):
            for lang in LANGS:
                for text in (slide.heading(lang), slide.text(lang)):
                    shown = setting.sub("", re.sub(r"<[^>]+>", "", formula_html(text)))
                    raw += [(lec.key, i, lang, m.group(0)) for m in re.finditer(r"\S*[_^]\S*", shown)]
    assert not raw, raw


@pytest.fixture(scope="module")
def exported(qapp, tmp_path_factory):
    from widgets.lecture_export import export_lecture

    lec = _quick(load_lecture(find_lecture("transformer")), steps=2)
    out = tmp_path_factory.mktemp("export")
    seen = []
    res = export_lecture(lec, out, lang="ko", size=(1100, 700), font_scale=1.0,
                         progress=lambda d, n: seen.append((d, n)))
    return lec, out, res, seen


def _pixels(path) -> bytes:
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    return bytes(img.constBits())


def test_quiz_slide_exports_question_then_answer(exported):
    lec, out, res, seen = exported
    quiz = [i for i, s in enumerate(lec.slides, 1) if s.hidden]
    assert quiz, "the transformer lecture has a quiz slide"
    for i in quiz:
        q, a = out / f"slide_{i:02d}.png", out / f"slide_{i:02d}_answer.png"
        assert q in res.pngs and a in res.pngs
        assert _pixels(q) != _pixels(a)
    assert seen[-1] == (len(lec.slides), len(lec.slides))


def test_every_slide_image_differs_and_holds_title_and_narration(exported):
    lec, out, res, _ = exported
    views = [p for p in res.pngs if not p.name.endswith("_answer.png")]
    blobs = [_pixels(p) for p in views]
    assert len(set(blobs)) == len(blobs), "two slides exported identical images"
    for p in views:  # title above the view and narration below: taller than the window's view
        assert QImage(str(p)).height() > 700


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_handout_text_layer_is_searchable_with_spaces(exported):
    lec, out, res, _ = exported
    text = subprocess.run(["pdftotext", str(res.pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = " ".join(text.split())
    # exported in Korean: the Korean titles (issue 14: Korean mode no longer keeps the English ones)
    assert lec.title_ko in words
    for slide in lec.slides:
        head = slide.heading("ko").split()[:3]
        first = " ".join(head[: next((i for i, w in enumerate(head) if "_" in w), 3)])  # d_k is typeset d<sub>k</sub>
        assert first in words, (first, words[:400])
    assert "ﬁ" not in text and "ﬂ" not in text  # no ligature glyphs a search would miss


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_handout_pages_say_sentence_step_layer_and_head(exported):
    lec, out, res, _ = exported
    text = subprocess.run(["pdftotext", str(res.pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    for i, slide in enumerate(lec.slides):
        words = " ".join(pages[i].split())
        assert f"t = {slide.step}" in words, (i + 1, words[:300])
        if slide.source:
            assert slide.source in words, (i + 1, words[:300])
        if slide.preset in (None, "en_ko_transformer"):  # the translation Transformer: layer, head
            assert f"layer {slide.layer}, head {slide.head}" in words, (i + 1, words[:300])


def test_lecture_menu_exports_with_a_progress_bar(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from widgets.lecture_export import export_to, install_export
    from widgets.mainwindow import MainWindow
    from widgets.presenter import install_lectures

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(win)
    win.load_preset("ko_en_cat")
    ctl = install_lectures(win)
    install_export(ctl)
    install_export(ctl)  # once
    assert sum(a is ctl.export_action for a in ctl.menu.actions()) == 1
    texts = [a.text() for a in ctl.menu.actions()]
    assert any(t.startswith("Export") for t in texts), texts
    lec = _quick(load_lecture(find_lecture("why_attention")), steps=2)
    ctl.lang = "ko"
    res = export_to(ctl, lec, tmp_path / "out")
    assert res is not None and res.pdf.is_file()
    assert ctl.export_dialog_widget.maximum() == len(lec.slides)
    assert ctl.export_progress == (len(lec.slides), len(lec.slides))
    assert "exported" in win.banner_text
    win.close()


def test_svg_export_draws_text_as_outlines(qtbot, tmp_path):
    """Hangul and digits are glyph outlines (paths), not <text> naming a font the reader
    may lack; each outline keeps its text in aria-label and sits where the text was."""
    import xml.etree.ElementTree as ET

    from PySide6.QtWidgets import QLabel

    from widgets.export import export_widget
    from widgets.fonts import ensure_fonts

    ensure_fonts()
    label = QLabel("나는 고양이로소이다 0.754")
    qtbot.addWidget(label)
    label.resize(400, 40)
    label.show()
    path = export_widget(label, tmp_path / "l.svg")
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert not list(root.iter(f"{ns}text"))
    paths = [p for p in root.iter(f"{ns}path") if p.get("aria-label")]
    assert "".join(p.get("aria-label") for p in paths).replace(" ", "") == "나는고양이로소이다0.754"
    for p in paths:
        assert len(p.get("d")) > 50  # real outlines, not an empty path
    # The outlines fill the widget's text box: rendered back, ink spans most of the text width.
    from PySide6.QtGui import QFontMetrics, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    img = QImage(400, 40, QImage.Format.Format_ARGB32)
    img.fill(0)
    painter = QPainter(img)
    QSvgRenderer(str(path)).render(painter)
    painter.end()
    ink = [x for x in range(400) if any(img.pixelColor(x, y).alpha() > 0 and img.pixelColor(x, y).value() < 100
                                        for y in range(40))]
    want = QFontMetrics(label.font()).horizontalAdvance(label.text())
    assert ink and abs((ink[-1] - ink[0]) - want) < 0.15 * want, (ink[:1], ink[-1:], want)


# ------------------------------------------------------------------ the cold read's fixes

VIEW_RGB = (40, 90, 200)


def _solid(w: int, h: int, rgb) -> QImage:
    from PySide6.QtGui import QColor

    img = QImage(w, h, QImage.Format.Format_RGB32)
    img.fill(QColor(*rgb))
    return img


def _rows_with(img: QImage, rgb, x: int) -> list[int]:
    return [y for y in range(img.height()) if img.pixelColor(x, y).getRgb()[:3] == tuple(rgb)]


def test_focus_outline_leaves_the_panel_untouched(qapp):
    """The orange outline round the slide's panel sat inside the panel and covered the first
    letters of its labels ("t = 3", "score dot"); it is drawn outside the panel now, and the
    view has a margin, so a panel at the view's edge keeps its outline too."""
    from PySide6.QtCore import QRect

    from widgets.lecture_export import FOCUS_COLOUR, compose_slide

    view = _solid(900, 500, VIEW_RGB)
    focus = QRect(0, 250, 600, 250)  # the lower-left panel, flush with the view's left edge
    img = compose_slide(view, "Lecture", "Slide", "1 / 1", "Text.", focus=focus)
    top = _rows_with(img, VIEW_RGB, img.width() // 2)[0]
    left = next(x for x in range(img.width()) if img.pixelColor(x, top).getRgb()[:3] == VIEW_RGB)
    for y in range(focus.top(), focus.bottom() + 1, 7):  # every pixel of the panel is the view's own
        for x in range(focus.left(), focus.right() + 1, 7):
            assert img.pixelColor(left + x, top + y).getRgb()[:3] == VIEW_RGB, (x, y)
    orange = QImage(1, 1, QImage.Format.Format_RGB32)
    orange.fill(FOCUS_COLOUR)
    want = orange.pixelColor(0, 0).getRgb()[:3]
    # ... and the outline is there, just outside the panel's left and bottom edges
    assert img.pixelColor(left - 3, top + 400).getRgb()[:3] == want
    assert img.pixelColor(left + 300, top + focus.bottom() + 3).getRgb()[:3] == want


def test_context_line_sits_between_title_and_view(qapp):
    """A quiz's question image covers every panel: the line under the title still says which
    sentence, mode, step (and layer/head) the question is about."""
    from widgets.lecture_export import compose_slide
    from widgets.presenter_mode import context_line

    line = context_line("I love cats", "나는 고양이를 좋아해", "teacher_forcing", 2, (1, 0))
    assert line == "I love cats → 나는 고양이를 좋아해 · teacher forcing · t = 2 · layer 1, head 0"
    assert context_line("나는", None, "free_running", 0) == "나는 · free running · t = 0"
    view = _solid(900, 400, VIEW_RGB)
    plain = compose_slide(view, "Lecture", "Slide", "1 / 1", "Text.")
    with_ctx = compose_slide(view, "Lecture", "Slide", "1 / 1", "Text.", context=line)
    x = with_ctx.width() // 2
    top0, top1 = _rows_with(plain, VIEW_RGB, x)[0], _rows_with(with_ctx, VIEW_RGB, x)[0]
    assert top1 > top0  # the view moved down to make room
    band = [y for y in range(top0 - 12, top1 - 4)
            if any(with_ctx.pixelColor(xx, y).value() < 200 for xx in range(28, with_ctx.width() // 3))]
    assert band, "no ink where the context line belongs"


def test_slide_picture_is_in_the_png_or_a_placeholder_says_it_is_missing(qapp, tmp_path):
    """why_attention slide 4 names bottleneck.png: the presenter and the handout showed it,
    the slide PNG did not (its narration then says "if no plot shows here")."""
    from widgets.lecture_export import compose_slide

    view = _solid(900, 400, VIEW_RGB)
    pic_rgb = (230, 20, 180)
    img = compose_slide(view, "L", "S", "1 / 1", "Narration. " * 20, picture=_solid(300, 200, pic_rgb))
    inked = sum(1 for y in range(0, img.height(), 2) for x in range(0, img.width(), 2)
                if img.pixelColor(x, y).getRgb()[:3] == pic_rgb)
    assert inked * 4 >= 0.9 * 300 * 200  # drawn at its own size (not shrunk to a thumbnail)
    missing = compose_slide(view, "L", "S", "1 / 1", "Narration.", picture_text="No plot.png yet: run it.")

    def ink_right_of_text(img: QImage) -> int:  # below the view, in the picture's column
        x0, y0 = img.width() * 2 // 3, _rows_with(img, VIEW_RGB, img.width() // 2)[-1] + 4
        return sum(1 for y in range(y0, img.height()) for x in range(x0, img.width())
                   if img.pixelColor(x, y).value() < 235)

    assert ink_right_of_text(missing) > 200  # the dashed box and its words
    assert ink_right_of_text(compose_slide(view, "L", "S", "1 / 1", "Narration.")) == 0


def test_exported_slide_png_carries_the_slide_image(qapp, tmp_path):
    """End to end: a slide with ``image = ...`` exports a PNG that holds that image."""
    import dataclasses

    from widgets.lecture_export import export_lecture

    lec = _quick(load_lecture(find_lecture("why_attention")), steps=2)
    slide = next(s for s in lec.slides if s.image)
    folder = tmp_path / "lec"
    folder.mkdir()
    pic_rgb = (230, 20, 180)
    assert _solid(240, 160, pic_rgb).save(str(folder / "plot.png"))
    lec = dataclasses.replace(lec, slides=(dataclasses.replace(slide, image="plot.png"),), path=folder / "l.toml")
    res = export_lecture(lec, tmp_path / "out", lang="en", size=(1000, 650), font_scale=1.0)
    img = QImage(str(res.pngs[0]))
    inked = sum(1 for y in range(0, img.height(), 2) for x in range(0, img.width(), 2)
                if img.pixelColor(x, y).getRgb()[:3] == pic_rgb)
    assert inked * 4 >= 0.9 * 240 * 160


def test_fit_explain_shows_the_whole_worked_example(qapp, tmp_path):
    """In a picture nobody can scroll: the Bahdanau worked example (a table of the additive
    terms, then the softmax table) overflowed the explain panel by ~100 px down and ~20 px
    sideways in every bahdanau and teacher_forcing slide. The export makes room for it."""
    from tests.helpers import main_window
    from widgets.lecture_export import EXPORT_FONT_SCALE, EXPORT_SIZE, fit_explain
    from widgets.presenter_mode import hide_chrome

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=EXPORT_SIZE) as win:
        hide_chrome(win)  # as the export does
        win.set_font_scale(EXPORT_FONT_SCALE)
        win.set_step(2)
        views = win.views
        views.explain_cell("cross", 2, 0)
        views.draw_all()
        qapp.processEvents()
        ev = views.explain
        before = (ev.verticalScrollBar().maximum(), ev.horizontalScrollBar().maximum())
        assert max(before) > 0, "the setup must overflow for this test to mean anything"
        tabs_h = views.splitter.sizes()[0]
        fit_explain(views, qapp)
        assert (ev.verticalScrollBar().maximum(), ev.horizontalScrollBar().maximum()) == (0, 0)
        assert views.splitter.sizes()[0] >= 0.7 * tabs_h - 1  # the maps keep most of their height


def test_room_for_explain_grows_the_picture_for_a_long_sentence(qapp, tmp_path):
    """A ten-token sentence's softmax table does not fit even then (teacher_forcing 3-7):
    the export's window grows taller (at most 1.5×) instead of cutting the sum off."""
    from tests.helpers import main_window
    from widgets.lecture_export import EXPORT_FONT_SCALE, EXPORT_SIZE, room_for_explain
    from widgets.presenter_mode import hide_chrome

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=EXPORT_SIZE) as win:
        hide_chrome(win)
        win.set_font_scale(EXPORT_FONT_SCALE)
        win.set_sentence("나는 고양이를 좋아하고 너는 개를 싫어하고 그는 새를 봐",
                         "I love cats and you hate dogs and he sees birds")
        win.set_step(7)
        win.views.explain_cell("cross", 7, 5)
        win.views.draw_all()
        qapp.processEvents()
        tabs_h = win.views.splitter.sizes()[0]
        room_for_explain(win, qapp, EXPORT_SIZE)
        assert win.views.explain.verticalScrollBar().maximum() == 0
        # it grew only because fit_explain alone could not make room: the maps keep 70 %
        assert EXPORT_SIZE[1] < win.height() <= 1.5 * EXPORT_SIZE[1]
        assert win.views.splitter.sizes()[0] >= 0.7 * tabs_h - 1
        # a slide about the map keeps the map's whole height: the picture grows instead
        win.resize(*EXPORT_SIZE)
        win.views.splitter.setSizes([tabs_h, win.views.splitter.sizes()[1]])
        qapp.processEvents()
        tabs_h = win.views.splitter.sizes()[0]
        room_for_explain(win, qapp, EXPORT_SIZE, focus="map")
        assert win.views.explain.verticalScrollBar().maximum() == 0
        assert win.views.splitter.sizes()[0] >= tabs_h


def test_gold_link_dots_are_named_in_the_map_title(qtbot):
    """The ringed dots (gold alignment links) were explained only by a tooltip, which a
    slide PNG or handout does not have; while they are drawn the title names them."""
    from widgets.attention_map import AttentionMap

    m = AttentionMap("cross")
    qtbot.addWidget(m)
    m.resize(1000, 500)
    m.show()
    m.set_title("<b>attention</b> · rows: decoder step, columns: source token", short=("<b>attention</b>",))
    shown = lambda: m.plot.titleLabel.text  # noqa: E731
    assert "gold" not in shown()
    m.set_gold([(0, 0), (1, 2)])
    assert "gold alignment link" in shown() and "attention" in shown()
    m.set_title("<b>attention</b> · step 2", short=("<b>attention</b>",))  # a new step keeps it
    assert "gold alignment link" in shown()
    m.set_gold(())
    assert "gold" not in shown()


def test_export_progress_names_the_slide_in_the_export_language_with_formulas_typeset(qtbot, tmp_path):
    """Exporting in Korean from the GUI, the progress dialog named each slide by its English
    title, with "c_t" raw."""
    import dataclasses

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QLabel

    from widgets.lecture_export import export_to, install_export
    from widgets.mainwindow import MainWindow
    from widgets.presenter import install_lectures

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(win)
    ctl = install_lectures(win)
    install_export(ctl)
    lec = _quick(load_lecture(find_lecture("bahdanau")), steps=2)
    slide = next(s for s in lec.slides if "c_t" in s.heading("ko"))
    lec = dataclasses.replace(lec, slides=(slide,))
    ctl.lang = "ko"
    assert export_to(ctl, lec, tmp_path / "out") is not None
    shown = ctl.export_dialog_widget.findChild(QLabel).text()
    assert slide.heading("ko").split("c_t")[0] in shown  # the Korean title ...
    assert "c<sub>t</sub>" in shown and "c_t" not in shown  # ... with its formula typeset
    win.close()
