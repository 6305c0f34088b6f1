"""Issue 14: the window holds at projector sizes and font scales; digits are drawn in a
Latin font; long sentences keep their labels apart.

Geometry is read back from the widgets after an offscreen layout (no timing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QRectF, QSettings  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QToolBar, QToolButton  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1280, 720), (1366, 768), (1920, 1080))
SCALES = (1.0, 1.25, 1.5, 2.0)


@pytest.fixture(scope="module")
def win(qapp, tmp_path_factory):
    from widgets.app import install_extras
    from widgets.mainwindow import MainWindow

    ini = tmp_path_factory.mktemp("settings") / "w.ini"
    w = MainWindow(settings=QSettings(str(ini), QSettings.Format.IniFormat), persist=False)
    w.load_preset("en_ko_transformer")
    install_extras(w)
    w.show()
    qapp.processEvents()
    yield w
    w.set_font_scale(1.0)
    w.close()
    w.deleteLater()
    qapp.processEvents()


def _settle(qapp, n: int = 6) -> None:
    for _ in range(n):
        qapp.processEvents()


def layout_problems(w, requested: tuple[int, int]) -> list[str]:
    """What is wrong with the window's layout right now, resized to ``requested`` (empty: it
    holds)."""
    win = w
    bad = []
    if w.height() > requested[1] or w.width() > requested[0]:
        bad.append(f"window grew to {w.width()}×{w.height()} (minimum sizes exceed the screen)")
    for tb in w.findChildren(QToolBar):
        if not tb.isVisible():
            continue
        ext = [b for b in tb.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button"]
        if any(b.isVisible() for b in ext):
            bad.append(f"toolbar {tb.objectName()} overflows into »")
        for a in tb.actions():
            if a.isSeparator() or not a.isVisible():
                continue
            aw = tb.widgetForAction(a)
            if aw is None or not aw.isVisible() or not tb.rect().contains(aw.geometry()):
                bad.append(f"toolbar {tb.objectName()}: {a.text() or aw!r} not shown")
    v = w.views
    an = v.anatomy
    panels = {"map tabs": (v.tabs, 150), "step anatomy": (an, 250), "anatomy plots": (an.gw, 200),
              "explain": (v.explain, 120), "pair list": (w.pair_list, 60), "model box": (w.model_view, 60)}
    for name, (widget, min_h) in panels.items():
        if widget.height() < min_h:
            bad.append(f"{name} is {widget.height()} px high (< {min_h})")
    # The plots' data areas, not only their widgets: rows must stay readable.
    for name, vb, min_h in (("map data area", v.cross_map.plot.getViewBox(), 70),
                            ("anatomy keys/bars area", an.k_plot.getViewBox(), 45)):
        if vb.height() < min_h:
            bad.append(f"{name} is {vb.height():.0f} px high (< {min_h})")
    paint(win)
    bad += anatomy_problems(an)
    current = v.tabs.currentWidget()
    if current in (v.cross_map, v.masked_map, v.self_map):
        bad += map_problems(current)
    for name, widget in (("step slider", w.step_slider), ("Train", w.toolbar.widgetForAction(w.act_train)),
                         ("Present", w.lectures.toolbar.widgetForAction(w.lectures.present_action)),
                         ("A+", w.view_toolbar.widgetForAction(w.act_zoom_in))):
        if not widget.isVisible() or widget.width() < 20:
            bad.append(f"{name} not usable ({widget.width()} px wide, visible={widget.isVisible()})")
    return bad


def paint(widget) -> None:
    """Paint ``widget`` as the screen would (value labels and axes decide what to draw when
    they paint), twice: a first paint can still move things (pending layouts)."""
    from PySide6.QtWidgets import QApplication

    for _ in range(2):
        widget.grab()
        QApplication.processEvents()


def anatomy_problems(an) -> list[str]:
    """The step anatomy's plots lie wholly inside its widget (the bottom strip is not cut
    off) and no plot title runs past its own plot into the next one's."""
    bad = []
    gw = an.gw
    view_h = gw.viewport().height()
    gw_bottom = gw.mapTo(an, gw.rect().bottomLeft()).y()
    if gw_bottom > an.height():
        bad.append(f"anatomy plots end at y={gw_bottom}, below the panel's {an.height()} px")
    names = {"q": an.q_plot, "keys": an.k_plot, "context": an.c_plot, "energies": an.e_plot,
             "weights": an.w_plot, "values": an.v_plot, "head output": an.o_plot, "readout input": an.cat_plot,
             "top-k": an.topk_plot, "output": an.out_plot}
    plots = [p for p in names.values() if p.isVisible() and p.scene() is not None]
    for name, p in names.items():
        r = p.sceneBoundingRect()
        if p in plots and r.bottom() > view_h + 0.5:
            bad.append(f"anatomy plot {name} ends at {r.bottom():.0f} px, below the plots' view "
                       f"({view_h} px): clipped")
    titled = []
    for p in plots:
        label = p.titleLabel
        if not label.isVisible() or not label.text:
            continue
        text = label.item.mapRectToScene(label.item.boundingRect())
        room = label.sceneBoundingRect()
        if text.left() < room.left() - 1 or text.right() > room.right() + 1:
            bad.append(f"title {label.text!r} is {text.width():.0f} px wide in {room.width():.0f} px of plot")
        titled.append((p, text))
    for i, (p, a) in enumerate(titled):
        for q, b in titled[i + 1:]:
            if a.intersects(b):
                bad.append(f"titles {p.titleLabel.text!r} and {q.titleLabel.text!r} overlap")
            elif a.adjusted(-2, 0, 2, 0).intersects(b):
                bad.append(f"titles {p.titleLabel.text!r} and {q.titleLabel.text!r} touch")
    bad += text_problems(plots)
    for name, bars in (("energies", an.energy_bars), ("weights", an.weight_bars), ("top-k", an.topk_bars)):
        if bars.plot.isVisible():
            bad += [f"{name}: {p}" for p in bar_label_problems(bars)]
    return bad


def axis_texts(axis) -> list[tuple[QRectF, str]]:
    """(scene rect, text) of each tick label the axis draws now (pyqtgraph's own draw specs)."""
    from PySide6.QtGui import QImage, QPainter

    if not axis.isVisible() or not axis.style.get("showValues", True):
        return []
    img = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if not specs:
        return []
    return [(axis.mapRectToScene(rect), text) for rect, _flags, text in specs[2]]


def text_problems(plots) -> list[str]:
    """Text that cannot be read in a row of plots: tick labels of one axis printed over each
    other ("10" and "20" as "1020"), a title on two lines, a title that runs out of its row
    into the plot below or over tick labels."""
    from PySide6.QtGui import QFontMetricsF

    bad = []
    for p in plots:
        ticks = []
        for side in ("left", "bottom", "top"):
            texts = axis_texts(p.getAxis(side))
            for i, (a, ta) in enumerate(texts):
                for b, tb in texts[i + 1:]:
                    if a.adjusted(-1, -1, 1, 1).intersects(b):
                        bad.append(f"{side} tick labels {ta!r} and {tb!r} print over each other")
            ticks += texts
        label = p.titleLabel
        if not label.isVisible() or not label.text:
            continue
        doc = label.item.document()
        doc.setTextWidth(label.item.textWidth())
        line = QFontMetricsF(label.item.font()).lineSpacing()
        lines = max(doc.lineCount(), round((label.item.boundingRect().height() - 8) / line))
        if lines > 1:
            bad.append(f"title {label.text!r} is on {lines} lines")
        text = label.item.mapRectToScene(label.item.boundingRect())
        room = label.sceneBoundingRect()
        shown = label.item.toPlainText()
        if text.bottom() > room.bottom() + 1 or text.top() < room.top() - 1:
            bad.append(f"title {shown!r} ({text.height():.0f} px) runs out of its {room.height():.0f} px row")
        ink = text.adjusted(0, 4 * label.item.scale(), 0, -4 * label.item.scale())  # less the document margin
        for r, t in ticks:
            if ink.intersects(r):
                bad.append(f"title {shown!r} runs over the tick label {t!r}")
    return bad


def bar_label_problems(bars) -> list[str]:
    """A bar's value label must be readable: inside the plot, whole, and never over its own
    bar's end — outside the bar, or inside it short of the end in a colour that contrasts
    with the bar (WCAG ratio ≥ 4.5). Read from the last paint of the labels."""
    import numpy as np
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QFontMetricsF

    bad = []
    vb = bars.plot.getViewBox()
    area = vb.sceneBoundingRect()
    fm = QFontMetricsF(bars.labels._font)
    # (row, colour, inside the bar) per painted label; a LabelsItem that does not say drew
    # every label of a row of bars in order, in dark ink, outside (as it did before issue 14)
    placed = getattr(bars.labels, "placed", None) or [(k, QColor("#222222"), False)
                                                      for k in range(len(bars.labels.painted))]
    colours = getattr(bars, "colours", None) or [bars.color] * len(bars.values)
    for (rect, text), (k, colour, inside) in zip(bars.labels.painted, placed):
        if not area.adjusted(-1, -1, 1, 1).contains(rect):
            bad.append(f"label {text!r} at x {rect.left():.0f}–{rect.right():.0f}, y {rect.top():.0f}–"
                       f"{rect.bottom():.0f} leaves the plot (x {area.left():.0f}–{area.right():.0f}, "
                       f"y {area.top():.0f}–{area.bottom():.0f})")
        if fm.horizontalAdvance(text) > rect.width() + 0.5:
            bad.append(f"label {text!r} is wider than its {rect.width():.0f} px")
        v = float(bars.values[k]) if k < len(bars.values) else float("nan")
        if not np.isfinite(v) or v == 0:
            continue
        a, b = vb.mapViewToScene(QPointF(0.0, k - 0.35)), vb.mapViewToScene(QPointF(v, k + 0.35))
        bar = QRectF(a, b).normalized()
        end = b.x()
        if inside:
            if not bar.adjusted(-0.5, -fm.height(), 0.5, fm.height()).contains(rect):
                bad.append(f"label {text!r} said inside is not inside its bar")
            if (v > 0 and rect.right() > end - 2) or (v < 0 and rect.left() < end + 2):
                bad.append(f"label {text!r} covers its bar's end")
            ratio = contrast_ratio(colour, colours[k])
            if ratio < 4.5:
                bad.append(f"label {text!r} inside its bar: contrast {ratio:.1f} < 4.5")
        elif rect.adjusted(0.5, 0.5, -0.5, -0.5).intersects(bar):
            bad.append(f"label {text!r} is printed over its own bar ({v:.3f})")
    return bad


def contrast_ratio(a, b) -> float:
    """WCAG 2.x contrast ratio of two QColors (1 to 21), from its relative-luminance formula."""
    def lum(c):
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in (c.redF(), c.greenF(), c.blueF())]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def map_problems(m, min_rows_lines: float = 1.5) -> list[str]:
    """An attention map's title and labels can be read, and a short sentence's rows are at
    least ``min_rows_lines`` lines of its labels high (the row label, and the weight in the
    cells at full size)."""
    from PySide6.QtGui import QFontMetricsF

    bad = [f"{m.kind} map: {p}" for p in text_problems([m.plot])]
    rows = len(m.row_labels)
    if 0 < rows <= 8:
        line = QFontMetricsF(m.plot.getAxis("left").style["tickFont"]).height()
        per = m.plot.getViewBox().height() / rows
        if per < min_rows_lines * line:
            bad.append(f"{m.kind} map: {per:.1f} px a row for {rows} rows (< {min_rows_lines} × {line:.0f} px lines)")
    return bad


def problems_at_every_scale(win, qapp, size, panels=("map",)) -> list[str]:
    """layout_problems of the window at ``size`` for every font scale in SCALES, with each
    of ``panels`` (map tabs) in front."""
    problems = []
    for scale in SCALES:
        win.set_font_scale(scale)
        win.resize(*size)
        for panel in panels:
            win.focus_panel(panel)
            _settle(qapp)
            problems += [f"{size[0]}×{size[1]} at {scale:.0%}, {panel}: {p}" for p in layout_problems(win, size)]
    if panels != ("map",):
        win.focus_panel("map")
    return problems


def _shipped(lecture: str, preset: str | None = None):
    """A lecture's model as shipped (presets/lectures/models): trained weights, no training."""
    from sandbox.lecture_cache import ensure_trained_from
    from sandbox.lectures import find_lecture, load_lecture

    bundle, origin = ensure_trained_from(load_lecture(find_lecture(lecture)), preset=preset)
    return bundle


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_window_holds_at_projector_sizes_and_font_scales(win, qapp, size):
    problems = problems_at_every_scale(win, qapp, size)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", SIZES[:2], ids=lambda s: f"{s[0]}x{s[1]}")
def test_seq2seq_anatomy_fits_at_projector_sizes_and_font_scales(win, qapp, size):
    """A seq2seq model's formula line wraps onto two lines: the anatomy still holds."""
    win.load_preset("ko_en_cat")
    try:
        # The first view (the preset's example, whose long token "고양이로소이다" widens the
        # keys' axis), then corpus pair 0.
        for pair in (None, 0):
            if pair is not None:
                win.set_pair(pair)
            problems = problems_at_every_scale(win, qapp, size)
            assert not problems, f"pair {pair}:\n" + "\n".join(problems)
    finally:
        win.set_font_scale(1.0)
        win.load_preset("en_ko_transformer")


@pytest.mark.parametrize("size", SIZES[:2], ids=lambda s: f"{s[0]}x{s[1]}")
def test_transformer_tabs_hold_at_projector_sizes_and_font_scales(win, qapp, size):
    """The masked-self and encoder-self tabs too: their titles (the longest) stay on one line."""
    win.set_mode("teacher_forcing")
    problems = problems_at_every_scale(win, qapp, size, panels=("masked_self", "encoder_self"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lecture,preset,mode", [("bahdanau", None, "teacher_forcing"),
                                                  ("why_attention", "ko_en_cat_none", "free_running"),
                                                  ("transformer", None, "teacher_forcing")],
                         ids=["bahdanau", "no_attention", "transformer"])
def test_trained_models_hold_at_1280x720_and_every_font_scale(win, qapp, lecture, preset, mode):
    """Trained weights put near-full-width bars (0.99) in the weights and top-k columns;
    the model without attention shows "states h_j (unused)"; free running goes off the
    gold path (a red title part). Every label stays readable at 1280×720 and 1920×1080."""
    bundle = _shipped(lecture, preset)
    try:
        win.set_bundle(bundle, 400, "shipped")
        win.set_mode(mode)
        win.set_pair(0)
        problems = []
        for t in range(min(3, len(win.trace.steps))):
            win.set_step(t)
            problems += problems_at_every_scale(win, qapp, (1280, 720))
        win.set_step(1)
        problems += problems_at_every_scale(win, qapp, (1920, 1080))
        assert not problems, "\n".join(problems)
    finally:
        win.set_font_scale(1.0)
        win.load_preset("en_ko_transformer")


def test_views_hold_beside_the_docked_preset_editor(win, qapp):
    """A 1480-wide window with the preset editor docked: the step anatomy's titles are
    shown whole (a shorter form) or elided, never clipped ("eys = value"), never touching."""
    bundle = _shipped("dot_product")
    dock = win.preset_editor_dock
    try:
        win.set_bundle(bundle, 400, "shipped")
        win.set_mode("teacher_forcing")
        win.set_step(3)
        dock.setVisible(True)
        problems = []
        for height in (940, 720):
            for scale in SCALES:
                win.set_font_scale(scale)
                win.resize(1480, height)
                _settle(qapp)
                paint(win)
                problems += [f"1480×{height} at {scale:.0%}: {p}" for p in anatomy_problems(win.views.anatomy)]
                problems += [f"1480×{height} at {scale:.0%}: {p}" for p in map_problems(win.views.cross_map, 0)]
        assert not problems, "\n".join(problems)
    finally:
        dock.setVisible(False)
        win.set_font_scale(1.0)
        win.load_preset("en_ko_transformer")


def test_presenter_slides_hold_at_1280x720(win, qapp, qtbot):
    """The presenter at a 1280×720 projector: its narration takes a quarter of the width and
    its text scale is larger. Slide 1 (no attention: "states h_j (unused)", a numbered K
    matrix) and slide 4 (free running off the gold path: the map's red title) read cleanly."""
    import dataclasses

    from sandbox.lectures import TrainSpec, find_lecture, load_lecture
    from widgets.presenter import Presenter

    lec = load_lecture(find_lecture("why_attention"))
    lec = dataclasses.replace(lec, train=TrainSpec(steps=2, seed=0, required=True))
    win.resize(1280, 720)
    p = Presenter(win, lec, fullscreen=False)
    with qtbot.waitSignal(p.ready, timeout=60_000):
        p.start()
    try:
        problems = []
        for index in (0, 3):
            p.go(index)
            _settle(qapp)
            paint(win)
            problems += [f"slide {index + 1}: {x}" for x in anatomy_problems(win.views.anatomy)]
            problems += [f"slide {index + 1}: {x}" for x in map_problems(win.views.cross_map)]
        assert "off the gold path" in (win.views.cross_map._title or "")  # slide 4 has the red part
        assert not problems, "\n".join(problems)
    finally:
        p.shutdown()
        win.set_font_scale(1.0)
        win.load_preset("en_ko_transformer")


def test_anatomy_text_never_overprints_in_a_narrow_panel(qtbot):
    """The step anatomy alone, 300–600 px wide (the presenter's, beside a docked editor) at
    9–18 pt: the K matrix's column numbers ("10", "20" printed as "1020"), the plot titles
    and the bar labels stay readable."""
    from PySide6.QtGui import QFont

    from sandbox.model import Bundle
    from sandbox.presets import find_preset, load_preset
    from sandbox.trace import trace
    from widgets.anatomy import StepAnatomy
    from widgets.traceindex import TraceIndex

    an = StepAnatomy()
    qtbot.addWidget(an)
    idx = TraceIndex(trace(Bundle.from_preset(load_preset(find_preset("ko_en_cat"))), "나는 고양이로소이다", "I am a cat"))
    an.show()
    problems = []
    for pt in (9, 12, 14, 18):
        for width in (300, 420, 600):
            font = QFont()
            font.setPointSize(pt)
            an.set_font(font)
            an.resize(width, 420)
            an.show_step(idx, 1, 0, 0)
            paint(an)
            problems += [f"{width} px at {pt} pt: {p}" for p in anatomy_problems(an)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", [60, 90, 140, 260, 500])
def test_bar_labels_never_sit_over_their_bar_at_any_width(qtbot, width):
    """A near-full-width bar (0.992 of a 0–1.35 range; top-k 0.978 of 0–1.5), negative
    energies, and a small bar, in plots from 60 to 500 px wide and at two text sizes."""
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtGui import QFont

    from widgets.bars import HBars
    from widgets.plots import BAR_BLUE, BAR_ORANGE, GOOD, style_plot

    gw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(gw)
    plots = [style_plot(gw.ci.addPlot(row=0, col=c)) for c in range(3)]
    bars = [HBars(plots[0], BAR_BLUE, "weight"), HBars(plots[1], GOOD, "probability"),
            HBars(plots[2], BAR_ORANGE, "energy")]
    gw.resize(3 * width + 40, 220)
    gw.show()
    qtbot.waitExposed(gw)
    problems = []
    for pt in (9, 16):
        font = QFont()
        font.setPointSize(pt)
        for b in bars:
            b.labels.set_font(font)
        bars[0].set(np.array([0.992, 0.004, 0.004], np.float32), xrange=(0.0, 1.35))
        bars[1].set(np.array([0.978, 0.014, 0.002, 0.001], np.float32), xrange=(0.0, 1.5),
                    brushes=[GOOD] + [pg.mkColor("#9aa0a6")] * 3)
        bars[2].set(np.array([2.092, -1.624, -1.191, -0.053], np.float32), xrange=(-2.0, 3.1))
        gw.grab()
        # painted (a label with no room at all in a 60 px plot is left out, never clipped)
        assert bars[0].labels.painted or width < 90
        for name, b in zip(("weights", "top-k", "energies"), bars):
            if width >= 260:
                assert len(b.labels.painted) == len(b.values), (name, b.labels.painted)
            problems += [f"{width} px, {pt} pt, {name}: {p}" for p in bar_label_problems(b)]
    assert not problems, "\n".join(problems)


def test_the_loss_curve_folds_away_on_a_short_window_and_comes_back(win, qapp):
    """At 1280×720 the loss curve folds away (the map gets the height); the button brings
    it back, and a tall window shows it again."""
    win.resize(1280, 720)
    _settle(qapp)
    assert not win.loss_curve_shown and not win.loss_plot.isVisible()
    assert win.loss_toggle.isVisible() and win.bottom.height() < 90
    win.loss_toggle.click()
    _settle(qapp)
    assert win.loss_curve_shown and win.loss_plot.isVisible() and win.loss_plot.height() >= 60
    win.resize(1920, 1080)
    _settle(qapp)
    assert win.loss_plot.isVisible()
    win.resize(1280, 720)
    _settle(qapp)
    assert not win.loss_plot.isVisible()
    win.resize(1920, 1080)
    _settle(qapp)
    assert win.loss_plot.isVisible()


def test_lecture_menu_sits_before_help_and_keys_list_every_shortcut(win):
    titles = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert titles[-1] == "Help" and titles.index("Lecture") < titles.index("Help")
    text = win.keys_text()
    for key in ("F5", "Ctrl+Shift+E", "Ctrl+O", "Ctrl+S", "Ctrl+Z", "Ctrl+R", "Ctrl+E"):
        assert key in text, (key, text)


def test_window_title_names_the_app_once_at_its_end(win):
    title = win.windowTitle()
    assert title.endswith("Attention Sandbox") and title.count("Attention Sandbox") == 1
    assert win.bundle.preset.name in title


def test_digits_are_drawn_in_a_latin_font_on_a_bare_machine():
    """No system CJK font (bundled fonts forced): Hangul comes from NanumGothic, but the
    digits, decimal points, minus signs and subscripts of every view do not."""
    code = r"""
import os
from PySide6.QtWidgets import QApplication
app = QApplication([])
from PySide6.QtCore import QSettings
from widgets import fonts
from widgets.mainwindow import MainWindow
w = MainWindow(settings=QSettings(os.environ["INI"], QSettings.Format.IniFormat), persist=False)
w.load_preset("ko_en_cat")
hangul = fonts.ensure_korean_font()
assert fonts.using_bundled_font() and hangul, hangul
digits = "−17.634 (0.754)·(1.174) lr 0.005 s₁ h₂ 18 214"
for scale in (0.7, 1.0, 1.5, 2.0):
    w.set_font_scale(scale)
    an = w.views.anatomy
    for name, font in (("window", w.font()), ("map ticks", w.views.cross_map.plot.getAxis("left").style["tickFont"]),
                       ("bar labels", an.weight_bars.labels._font), ("explain", w.views.explain.document().defaultFont())):
        fams = fonts.families_drawing(digits, font)
        assert hangul not in fams, (name, scale, fams)
        assert fonts.families_drawing("고양이", font) == {hangul}, (name, scale)
print("OK", fonts.latin_family(), hangul)
"""
    env = dict(os.environ, ATTENTION_SANDBOX_BUNDLED_FONT="1", QT_QPA_PLATFORM="offscreen",
               INI=str(Path(os.environ["ATTENTION_SANDBOX_HOME"]) / "w.ini"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]


def test_choose_latin_family_never_picks_a_hangul_first_font():
    from widgets.fonts import LATIN_FALLBACK, choose_latin_family

    assert choose_latin_family("Segoe UI", ["Segoe UI", "NanumGothic"]) == ("Segoe UI", False)
    assert choose_latin_family("NanumGothic", ["NanumGothic"]) == (LATIN_FALLBACK, True)
    assert choose_latin_family("Sans Serif", ["DejaVu Sans"]) == (LATIN_FALLBACK, False)
    assert choose_latin_family("DejaVu Sans", ["DejaVu Sans"], forced=True) == (LATIN_FALLBACK, True)


def test_numfmt_one_format_per_quantity():
    from widgets.numfmt import count, fmt

    assert fmt(-17.6341, "energy") == "−17.634" and fmt(0.75449, "weight") == "0.754"
    assert fmt(0.75449, "weight", exact=True) == "0.754490"
    assert fmt(-0.0001, "energy") == "0.000"  # never "−0.000"
    assert fmt(float("-inf"), "energy") == "−∞"
    assert count(18214) == "18\u2009214"
    with pytest.raises(ValueError, match="unknown quantity"):
        fmt(1.0, "weigth")


def test_unknown_words_are_listed_once_with_a_count():
    from widgets.mainwindow import unknown_words_text

    assert unknown_words_text(["a"] * 150 + ["zebra"]) == "“a” ×150, “zebra”"
    text = unknown_words_text([f"w{i}" for i in range(20)])
    assert text.count("“") == 12 and text.endswith("… and 8 more")


def test_long_sentence_labels_never_overprint(win, qapp):
    """A 60-token sentence: the map's axes thin their labels so none overlap, and the last
    token (<eos>) keeps its label."""
    from PySide6.QtGui import QFontMetricsF

    win.set_font_scale(1.0)
    win.resize(1280, 720)
    src = " ".join(["I", "love", "cats"] * 20)
    assert win.set_sentence(src, None)
    win.focus_panel("map")
    _settle(qapp)
    m = win.views.cross_map
    m.grab()  # paint: the axes decide what to draw when they paint
    sides = [side for side in ("top", "bottom") if m.plot.getAxis(side).isVisible()]
    assert "top" in sides
    for side in sides:
        ax = m.plot.getAxis(side)
        drawn = ax.drawn
        assert drawn and drawn[-1][1] == "<eos>", drawn[-3:]
        fm = QFontMetricsF(ax.style["tickFont"])
        ppu = ax.geometry().width() / (abs(ax.range[1] - ax.range[0]) or 1)
        for (a, ta), (b, tb) in zip(drawn, drawn[1:]):
            gap = (b - a) * ppu
            assert gap >= (fm.horizontalAdvance(ta) + fm.horizontalAdvance(tb)) / 2, (ta, tb, gap)


def test_a_short_map_labels_every_row_of_a_short_sentence(win, qapp):
    """At a projector's 1280×720 (less a title bar and a taskbar: 1216×662) with the lecture
    toolbar, the map sits above the step anatomy: a six-row map still labels all six rows
    (the bottom copy of the source labels makes room), and its top labels stay."""
    win.load_preset("ko_en_cat")
    try:
        win.set_mode("teacher_forcing")  # the gold target's six rows
        win.set_pair(0)
        win.set_font_scale(1.0)
        win.resize(1216, 662)
        win.focus_panel("map")
        _settle(qapp)
        m = win.views.cross_map
        m.grab()
        rows = m.plot.getAxis("left").drawn
        assert [t for _, t in rows] == list(m.row_labels) and len(rows) >= 6, (rows, m.row_labels, m.height())
        assert m.plot.getAxis("top").drawn
    finally:
        win.load_preset("en_ko_transformer")


def test_first_map_cache_round_trips_and_paints(qapp, qtbot, tmp_path):
    """The map a session closes on is written to the cache and painted at the next start
    without numpy, pyqtgraph or torch; a broken cache file is ignored."""
    from PySide6.QtCore import QSettings

    from widgets import firstmap
    from widgets.mainwindow import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / "a.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.load_preset("ko_en_cat")
    w.set_step(2)
    w.show()
    qapp.processEvents()
    w.close()  # persist=True: closing writes the first-map cache
    data = firstmap.load()
    assert data is not None
    shown = w.views.cross_map.shown
    assert data["rows"] == list(w.views.cross_map.row_labels) and data["current"] == 2
    for r in range(shown.shape[0]):
        for c in range(shown.shape[1]):
            v = shown[r, c]
            assert (data["values"][r][c] is None) == bool(v != v)
            if v == v:
                assert abs(data["values"][r][c] - float(v)) <= 5e-4
    cm = firstmap.CachedMap(data)
    qtbot.addWidget(cm)
    cm.resize(600, 300)
    img = cm.grab().toImage()
    assert cm.painted
    colours = {c for row in data["cells"] for c in row if c and c.startswith("#")}
    found = {img.pixelColor(x, y).name() for x in range(0, 600, 3) for y in range(0, 300, 3)}
    assert colours & found  # the cells are drawn in their cached colours
    firstmap.cache_path().write_text("{not json", encoding="utf-8")
    assert firstmap.load() is None
    code = ("import sys, widgets.firstmap as f; print(','.join(m for m in ('torch', 'numpy', 'pyqtgraph') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
