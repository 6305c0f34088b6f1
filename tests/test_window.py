"""The main window and its views (pytest-qt, offscreen).

The numbers checked here are read back from the widgets — ImageItem.image, the bar
items' opts, label texts, the explanation's text — and compared with the trace's own.
One window is reused for the whole module to keep it fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui  # needs PySide6 / pyqtgraph / pytest-qt (`pytest -m "not gui"` skips it)

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from sandbox.presets import list_presets  # noqa: E402
from sandbox.trace import MODES  # noqa: E402

from helpers import main_window  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [key for key, _path, is_user in list_presets() if not is_user]


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    with main_window(qapp, tmp_path_factory.mktemp("settings") / "window.ini") as win:
        yield win


def _nan_equal(a: np.ndarray, b: np.ndarray, atol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= atol)))


def _check_map(m, full: np.ndarray, t: int | None) -> None:
    """The map's ImageItem shows the trace's rows up to t and nothing after."""
    shown = np.asarray(m.image.image)
    want = np.array(full, dtype=np.float32, copy=True)
    if t is not None:
        want[t + 1:] = np.nan
    if m.masked is not None:
        want[m.masked] = np.nan
    assert _nan_equal(shown, want), (shown, want)


def _check_anatomy(an, rec, step) -> None:
    """Energies, weights, q, K and top-k as drawn equal the record's and the step's.

    Masked self-attention draws every decoder position. Teacher forcing records them all
    (the causal mask is in the record: e = −∞, weight 0); a free-running record stops at
    the step, and the rows after it are drawn empty as "not decoded yet" (NaN), not as
    masked (issue 13 item 2: masks come from the record, not from a rule)."""
    m = rec.energies.shape[0]
    e = np.asarray(an.energy_bars.bars.opts["width"], dtype=np.float64)
    want_e = np.where(np.isfinite(rec.energies), rec.energies, 0.0)
    np.testing.assert_allclose(e[:m], want_e, rtol=1e-6, atol=1e-7)
    assert np.all(e[m:] == 0) and np.isnan(an.energy_bars.values[m:]).all()
    w = np.asarray(an.weight_bars.bars.opts["width"])
    np.testing.assert_allclose(w[:m], rec.weights, rtol=1e-6, atol=1e-7)
    assert np.all(w[m:] == 0)
    np.testing.assert_array_equal(an.q_img.image.image[0], rec.query)
    np.testing.assert_array_equal(an.k_img.image.image[:m], rec.keys)
    assert np.isnan(an.k_img.image.image[m:]).all()
    probs = [p for _, p in step.top_k]
    np.testing.assert_allclose(an.topk_bars.bars.opts["width"], probs, rtol=1e-6)
    assert an.topk_tokens == [tok for tok, _ in step.top_k]
    assert f"t = {step.t}" in an.header.text()
    assert step.input_token.replace("<", "&lt;").replace(">", "&gt;") in an.header.text()


@pytest.mark.parametrize("key", SHIPPED)
def test_every_preset_steps_through_both_modes(window, qtbot, key):
    window.load_preset(key)
    views = window.views
    for mode in MODES:
        window.set_mode(mode)
        tr = window.trace
        assert tr.mode == mode and tr.preset == key
        window.focus_panel("map")
        for t in range(len(tr.steps)):
            window.set_step(t)
            assert window.current_view()["step"] == t
            assert window.step_label.text() == f"t = {t} / {len(tr.steps) - 1}"
            rec = views.index.record("cross", 0, 0, t)
            if rec is None:  # the no-attention baseline
                assert views.cross_map.shown is None
                assert views.cross_map.note.isVisible()
                continue
            _check_map(views.cross_map, tr.attention_matrix("cross", 0, 0), t)
            _check_anatomy(views.anatomy, rec, tr.steps[t])
        if views.index.is_transformer:
            last = len(tr.steps) - 1
            window.set_step(last)
            for panel, kind in (("masked_self", "masked_self"), ("encoder_self", "self")):
                window.focus_panel(panel)
                for layer in range(views.index.layers):
                    for head in range(views.index.heads):
                        window.set_layer_head(layer, head)
                        m = views.panel_widget(panel)
                        _check_map(m, tr.attention_matrix(kind, layer, head), None if kind == "self" else last)
            window.set_layer_head(0, 0)
            window.focus_panel("map")


def test_map_rows_blank_after_step_and_row_highlight(window, qtbot):
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    window.set_step(1)
    m = window.views.cross_map
    img = m.image.image
    assert not np.isnan(img[:2]).any() and np.isnan(img[2:]).all()
    assert img.dtype == np.float32 and img.flags["C_CONTIGUOUS"]
    assert m.highlight.isVisible() and m.highlight.rect().center().y() == pytest.approx(1.0)
    assert tuple(m.matrix.levels) == (0.0, 1.0)
    assert list(m.col_labels) == list(window.trace.source_tokens)
    assert m.describe_cell(1, 0).endswith(f"{window.trace.attention_matrix()[1, 0]:.6f}")
    assert "not computed yet" in m.describe_cell(3, 0)


def test_transformer_views_show_the_records(window, qtbot):
    window.load_preset("en_ko_transformer")
    window.set_mode("teacher_forcing")
    views = window.views
    tr = window.trace
    t = 2
    window.set_step(t)
    window.set_layer_head(1, 1)
    assert window.current_view()["layer"] == 1 and window.current_view()["head"] == 1
    # masked self-attention: the future is masked (hatched), not drawn as weight 0
    window.focus_panel("masked_self")
    assert views.anatomy.kind == "masked_self"
    m = views.masked_map
    assert m.masked[t, t + 1:].all() and not m.masked[t, : t + 1].any()
    assert np.isnan(m.image.image[t, t + 1:]).all()
    rec = views.index.record("masked_self", 1, 1, t)
    _check_anatomy(views.anatomy, rec, tr.steps[t])
    # teacher forcing runs every position at once (issue 13 item 2): the record holds every
    # decoder position's value, and the ones after t are masked in the record itself
    assert rec.values.shape[0] == len(tr.steps)
    np.testing.assert_array_equal(views.anatomy.v_img.image.image, rec.values)
    assert np.isneginf(rec.energies[t + 1:]).all() and (rec.weights[t + 1:] == 0).all()
    assert "masked" in [lab[2] for lab in views.anatomy.energy_bars.labels._labels][-1]
    assert "masked" in [lab[2] for lab in views.anatomy.weight_bars.labels._labels][-1]
    np.testing.assert_array_equal(views.anatomy.o_img.image.image[0], rec.output)
    # heads concatenated: every head's output for this step, side by side
    heads = [views.index.record("masked_self", 1, h, t) for h in range(views.index.heads)]
    np.testing.assert_array_equal(views.anatomy.cat_img.image.image[0], np.concatenate([r.output for r in heads]))
    window.focus_panel("heads")
    np.testing.assert_array_equal(views.heads.concat, np.concatenate([r.output for r in heads]))
    # encoder self-attention, one row per source token
    window.focus_panel("encoder_self")
    assert views.anatomy.kind == "self"
    views.explain_cell("self", 1, 2)
    assert views.anatomy.query_row == 1
    rec = views.index.record("self", 1, 1, 1)
    np.testing.assert_allclose(views.anatomy.weight_bars.bars.opts["width"], rec.weights, rtol=1e-6)
    # positional encoding of the source
    window.focus_panel("positions")
    from sandbox.transformer import sinusoidal_positions

    np.testing.assert_array_equal(views.positions.matrix.image.image,
                                  sinusoidal_positions(len(tr.source_tokens), tr.model["d_model"]))
    window.focus_panel("cross")
    window.set_layer_head(0, 0)


def test_keyboard_stepping(window, qtbot):
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    n = len(window.trace.steps)
    window.set_step(0)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.step == 1
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.step == 2
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.step == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.step == n - 1
    qtbot.keyClick(window, Qt.Key.Key_Right)  # stays on the last step
    assert window.step == n - 1
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.step == 0
    assert window.views.cross_map.highlight.rect().center().y() == pytest.approx(0.0)
    # PageDown: next pair (after the preset's own example, which it opens on); typing in a
    # line edit is not stepping
    shown = window.state.pair_index
    assert shown >= 0
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.current_view()["source"] == window.bundle.preset.pairs[shown + 1].source
    window.set_step(0)
    qtbot.keyClick(window.source_edit, Qt.Key.Key_Right)
    assert window.step == 0


def _shown_number(text: str, label: str) -> float:
    m = re.findall(rf"(?<![a-z] ){label} = (−?[0-9]+\.[0-9]+)", text)
    assert m, f"no '{label} = …' in {text!r}"
    return float(m[-1].replace("−", "-"))


@pytest.mark.parametrize("key", ["ko_en_cat", "ko_en_cat_dot", "ko_en_cat_scaled_dot", "ko_en_cat_general",
                                 "en_ko_transformer"])
def test_explain_a_cell_shows_the_right_sum(window, qtbot, key):
    window.load_preset(key)
    window.set_mode("teacher_forcing")
    window.set_step(2)
    views = window.views
    for t, j in ((2, 0), (1, 1)):
        views.explain_cell("cross", t, j)
        rec = views.index.record("cross", 0, 0, t)
        text = views.explain.toPlainText()
        e = rec.energies.astype(np.float64)
        exps = np.exp(e - e.max())
        assert _shown_number(text, "sum") == pytest.approx(exps.sum(), abs=2e-6)
        assert _shown_number(text, "weight") == pytest.approx(exps[j] / exps.sum(), abs=2e-6)
        assert _shown_number(text, "recorded weight") == pytest.approx(float(rec.weights[j]), abs=2e-6)
        assert "✓ matches" in text
        # the score arithmetic uses the record's own terms
        if rec.score == "scaled_dot":
            assert "1/√" in text
        if rec.score == "general":
            assert "q · (W k" in text
        if rec.score == "bahdanau":
            assert "(W₁h" in text and "tanh" in text
        assert views.explain.explanation.matches


def test_clicking_a_future_row_jumps_there(window, qtbot):
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    window.set_step(0)
    window.views.explain_cell("cross", 3, 1)
    assert window.step == 3
    assert "Why is α" in window.views.explain.toPlainText()


def test_free_running_marks_leaving_the_gold_path(window, qtbot):
    window.load_preset("ko_en_cat")
    window.reset_weights()  # untrained: it leaves the gold path at once
    assert window.state.trained_steps == 0
    window.set_mode("free_running")
    tr = window.trace
    off = [s.t for s in tr.steps if s.off_gold]
    assert off, "an untrained model should go off the gold path"
    window.set_step(len(tr.steps) - 1)
    m = window.views.cross_map
    assert f"off the gold path from step {off[0]}" in m._title
    assert set(m.overlay._flag_rows) == set(off)
    window.set_step(off[0])
    an = window.views.anatomy.header.text()
    assert "prediction" in an and "off the gold path" in an
    window.set_mode("teacher_forcing")
    assert "off the gold path" not in window.views.cross_map._title


def test_own_sentence_unknown_words_banner(window, qtbot):
    window.load_preset("ko_en_cat")
    assert window.set_sentence("나는 강아지다") is True
    assert window.mode == "free_running"
    assert window.trace.target_tokens is None
    assert "<unk>" in window.trace.source_tokens
    assert "<unk>" in window.banner_text and "강아지다" in window.banner_text
    assert not window.rb_teacher.isEnabled()
    # no target: nothing is "off the gold path"
    assert window.views.index.offgold_rows == ()
    # an empty sentence is refused with a message, not a crash
    assert window.set_sentence("   ") is False
    assert "empty" in window.banner_text
    window.set_sentence("나는 고양이로소이다", "I am a cat")
    assert window.current_view()["target"] == "I am a cat"
    assert window.rb_teacher.isEnabled()
    window.set_mode("teacher_forcing")
    assert window.banner_text == ""


def test_export_png_svg_json(window, qtbot, tmp_path):
    window.load_preset("ko_en_cat")
    window.set_step(2)
    png = window.export_view(tmp_path / "view.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not QImage(str(png)).isNull()
    svg = window.export_view(tmp_path / "view.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    for panel in ("map", "anatomy", "explain"):
        p = window.export_panel(panel, tmp_path / f"{panel}.png")
        img = QImage(str(p))
        assert not img.isNull() and img.width() > 50
    ET.parse(window.export_panel("map", tmp_path / "map.svg"))
    js = json.loads(window.export_trace_json(tmp_path / "trace.json").read_text(encoding="utf-8"))
    assert js["format"] == "attention-sandbox/trace@1"
    assert js["source_tokens"] == list(window.trace.source_tokens)
    assert len(js["steps"]) == len(window.trace.steps)
    from widgets.export import ExportError

    with pytest.raises(ExportError):
        window.export_view(tmp_path / "view.bmp")
    with pytest.raises(OSError):
        window.export_view(tmp_path / "no_such_dir" / "view.png")
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_font_scale_and_panels(window, qtbot):
    window.set_font_scale(1.0)
    before = window.views.cross_map.plot.getAxis("left").style["tickFont"].pointSizeF()
    window.zoom_in()
    assert window.font_scale > 1.0
    after = window.views.cross_map.plot.getAxis("left").style["tickFont"].pointSizeF()
    assert after > before
    window.zoom_out()
    assert window.font_scale == pytest.approx(1.0)
    window.set_panel_hidden("explain", True)
    assert window.views.explain.isHidden()
    window.focus_panel("explain")
    assert not window.views.explain.isHidden()
    with pytest.raises(ValueError):
        window.focus_panel("nope")


def test_bad_preset_keeps_the_window_running(window, qtbot, tmp_path):
    window.load_preset("ko_en_cat")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 3\n", encoding="utf-8")
    from sandbox.presets import PresetError

    with pytest.raises(PresetError):
        window.load_preset(bad)
    assert window.current_view()["preset"] == "ko_en_cat"
    assert window._guarded(lambda: window.load_preset(bad)) is False
    assert "bad.toml" in window.banner_text


def test_set_bundle_shows_another_model(window, qtbot):
    from sandbox.model import Bundle

    window.load_preset("ko_en_cat")
    window.set_step(2)
    before = window.trace
    b = Bundle.from_preset(window.bundle.preset)
    with __import__("torch").no_grad():
        for p in b.model.parameters():
            p.mul_(1.5)
    window.set_bundle(b, trained_steps=7)
    assert window.bundle is b and window.trace is not before
    assert window.step == 2
    assert "trained 7 steps" in window.model_view.toPlainText()


def test_settings_remember_preset_font_and_geometry(qtbot, _user_home):
    from widgets.mainwindow import MainWindow
    from widgets.settings import settings_path

    w = MainWindow()
    qtbot.addWidget(w)
    w.load_preset("reverse")
    w.set_font_scale(1.3)
    w.resize(1000, 700)
    w.show()
    w.close()
    path = settings_path()
    assert path is not None and path.is_file() and str(_user_home) in str(path)
    s = QSettings(str(path), QSettings.Format.IniFormat)
    assert s.value("last_preset") == "reverse"
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.font_scale == pytest.approx(1.3)
    assert s.value("geometry") is not None and s.value("splitters/main_split") is not None
    assert w2.size().height() == 700  # restored (the offscreen screen may clamp the width)


@pytest.mark.parametrize("key,value", [("font_scale", "nan"), ("font_scale", "abc"),
                                       ("geometry", "garbage"), ("geometry", "@ByteArray(xyz)"),
                                       ("splitters/main_split", "xx"), ("splitters/views_lower", "zz")])
def test_corrupt_settings_value_does_not_stop_the_window_opening(qtbot, tmp_path, key, value):
    from widgets.mainwindow import MainWindow

    ini = tmp_path / "corrupt.ini"
    ini.write_text(f"[General]\n{key}={value}\n", encoding="utf-8")
    w = MainWindow(settings=QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    assert w.font_scale == pytest.approx(1.0) and w.zoom_label.text() == "100%"
    assert w.width() > 0 and w.height() > 0


def test_bundled_font_is_loaded_only_without_a_hangul_font(qapp, monkeypatch):
    from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

    from widgets import fonts

    monkeypatch.setattr(fonts, "_state", {"family": None, "bundled": False, "done": False})
    monkeypatch.setattr(fonts, "installed_hangul_families", lambda: ["Some Installed Gothic"])
    assert fonts.ensure_korean_font() == "Some Installed Gothic" and not fonts.using_bundled_font()
    monkeypatch.setattr(fonts, "_state", {"family": None, "bundled": False, "done": False})
    monkeypatch.setattr(fonts, "installed_hangul_families", lambda: [])
    fam = fonts.ensure_korean_font()
    assert fonts.using_bundled_font() and fam
    assert fam in QFontDatabase.applicationFontFamilies(0) or fam in QFontDatabase.families()
    assert QFontMetrics(QFont(fam)).inFontUcs4(ord("고"))
    assert (fonts.FONT_DIR / "OFL.txt").is_file()


def test_window_module_imports_nothing_heavy():
    code = ("import sys; import widgets.app, widgets.mainwindow; "
            "bad = [m for m in ('torch', 'pyqtgraph', 'numpy') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_void_qt_calls_cannot_exhaust_none(qapp):
    """PySide6 6.12 on Python 3.11 dropped a reference to None on every void call, which
    aborted the interpreter after a few repaints. The pinned PySide6 (6.11.3) must not leak
    (the refcount workaround for 6.12 was removed with issue 10)."""
    from PySide6.QtGui import QImage, QPainter

    img = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(img)
    before = sys.getrefcount(None)
    for _ in range(1000):
        painter.drawLine(0, 0, 5, 5)
    leaked = before - sys.getrefcount(None)
    painter.end()
    assert leaked < 1000


def test_app_installs_editor_lectures_compare_and_bottleneck(qtbot, tmp_path):
    """What `python main.py` adds to the window once it is ready: every menu is there."""
    from widgets.app import install_extras
    from widgets.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat),
                     persist=False)
    qtbot.addWidget(win)
    win.load_preset("ko_en_cat")
    install_extras(win)
    install_extras(win)  # idempotent: a second ready signal adds nothing
    titles = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert titles.count("Lecture") == 1 and titles.count("Experiments") == 1
    from PySide6.QtWidgets import QMenu

    texts = [a.text().replace("&", "") for m in win.findChildren(QMenu)
             for a in m.actions()]
    assert any("Compare models" in t for t in texts)
    assert any("Bottleneck experiment" in t for t in texts), texts
    assert win.editor.preset().key == "ko_en_cat"
    win.close()


def test_a_long_map_title_stays_on_one_line_and_never_pushes_the_map_out_of_its_widget(qtbot):
    """A title wider than the map (free running adds "off the gold path …") used to set
    the plot's minimum width: the last source columns and the colour bar were cut off.
    Issue 14 (layout leftovers): it no longer wraps onto a second line (which ran into the
    column labels); a shorter form that keeps the warning is shown, the whole title in the
    tooltip."""
    from widgets.attention_map import AttentionMap

    m = AttentionMap("cross")
    qtbot.addWidget(m)
    m.resize(420, 300)
    m.show()
    qtbot.waitExposed(m)
    m.show_matrix(np.full((3, 3), 1 / 3, np.float32), 1, 1, ["a", "b", "c"], ["x", "y", "<eos>"])
    m.set_title("<b>cross attention</b> · layer 0, head 0 · rows: decoder step (output token), "
                "columns: source token · <b>off the gold path from step 0</b>",
                short=("<b>cross attention</b> · <b>off the gold path from step 0</b>",))
    qtbot.wait(50)
    vb = m.plot.getViewBox().sceneBoundingRect()
    bar = m.colorbar.sceneBoundingRect()
    assert vb.right() <= m.width() and bar.right() <= m.width() + 1, (vb, bar, m.width())
    label = m.plot.titleLabel
    assert label.itemRect().width() <= label.rect().width() + 1  # fits, not overflowing
    assert label.itemRect().height() <= label.rect().height() + 1  # within its row: one line
    assert "off the gold path from step 0" in label.item.toPlainText()
    assert "rows: decoder step" in label.toolTip()


def test_explain_tables_never_break_a_number_across_lines(window, qtbot):
    """In a narrow explain panel the Bahdanau table wrapped "−0.1453" into "−0.1" / "453";
    the tables keep each number on one line (the panel scrolls sideways instead)."""
    from PySide6.QtGui import QTextDocument

    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    window.views.explain_cell("cross", 1, 1)
    doc = QTextDocument()
    doc.setHtml(window.views.explain.explanation.html)
    doc.setTextWidth(220)  # the panel's minimum width
    doc.documentLayout()
    cells = 0
    block = doc.begin()
    while block.isValid():
        if block.layout() is not None and block.layout().lineCount() > 1 and \
                re.fullmatch(r"[−\d.]+", block.text().strip() or "x"):
            pytest.fail(f"number broken across lines: {block.text()!r}")
        cells += 1
        block = block.next()
    assert cells > 20


def test_another_preset_or_sentence_drops_the_old_explanation(window, qtbot):
    """The clicked cell belonged to the old sentence: after switching preset the panel said
    "no attention record for that cell"; now it goes back to the hint."""
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    window.views.explain_cell("cross", 2, 1)
    assert window.views.explain.explanation is not None
    window.set_mode("free_running")  # same sentence: the explanation stays
    assert window.views.explain.explanation is not None
    window.load_preset("en_ko_transformer")
    assert window.views.explain.explanation is None
    assert "Click any cell" in window.views.explain.toPlainText()
    assert not window.views.cross_map.selected.isVisible()


def test_set_bundle_describes_the_models_training_state(window, qtbot):
    """set_bundle used to keep the old "trained N steps" for any model of the same preset
    (and said "untrained" for a trained model of another one)."""
    from sandbox.model import Bundle

    window.load_preset("ko_en_cat")
    preset = window.bundle.preset
    window.set_bundle(Bundle.from_preset(preset), trained_steps=7)
    assert "trained 7 steps" in window.model_view.toPlainText()
    window.set_bundle(Bundle.from_preset(preset))  # another, fresh model
    assert "untrained (seeded weights)" in window.model_view.toPlainText()
    assert window.progress.format() == "untrained"
    b = Bundle.from_preset(preset)
    window.set_bundle(b, trained_steps=400, origin="lecture cache")
    assert "trained 400 steps (lecture cache)" in window.model_view.toPlainText()
    assert window.progress.format() == "trained 400 steps"
    window.set_bundle(b)  # the same model again: its state stays
    assert "trained 400 steps (lecture cache)" in window.model_view.toPlainText()


def _shorter(tr, n):
    import dataclasses

    return dataclasses.replace(tr, steps=tr.steps[:n])


def test_a_shorter_live_trace_does_not_lose_the_users_step(window, qtbot):
    """Live snapshots in free running vary in length; a short one clamped the step shown and
    the user's step was lost (the slider went back towards 0 when training started)."""
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    full = window.trace
    assert len(full.steps) >= 4
    window.set_step(3)
    window._set_trace(_shorter(full, 2), keep_step=True)  # as _on_snapshot does
    assert window.step == 1 and window.step_slider.value() == 1
    window._set_trace(full, keep_step=True)
    assert window.step == 3 and window.step_slider.value() == 3
    window.set_step(0)
    window._set_trace(full, keep_step=True)
    assert window.step == 0


def test_explanation_follows_new_traces_and_shows_the_hint_meanwhile(window, qtbot):
    """A snapshot too short for the clicked cell showed "no attention record for that cell";
    now the hint, and the cell is explained again from the next trace that has it."""
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    full = window.trace
    window.views.explain_cell("cross", 3, 1)
    assert window.views.explain.explanation is not None
    window._set_trace(_shorter(full, 2), keep_step=True)
    assert window.views.explain.explanation is None
    text = window.views.explain.toPlainText()
    assert "Click any cell" in text and "no attention record" not in text
    window._set_trace(full, keep_step=True)
    ex = window.views.explain.explanation
    assert ex is not None
    rec = full.steps[3].attention[0]
    np.testing.assert_allclose(ex.weight, rec.weights[1], rtol=1e-6)


def test_masked_labels_do_not_overlap(window, qtbot):
    """"−∞ masked" (energies) ran past its plot into "0 (masked)" (weights)."""
    window.load_preset("en_ko_transformer")
    window.set_mode("teacher_forcing")
    window.focus_panel("anatomy")
    an = window.views.anatomy
    an.set_kind("masked_self")
    window.set_step(0)
    an.gw.grab()  # paint
    e = [r for r, text in an.energy_bars.labels.painted if "∞" in text]
    w = [r for r, text in an.weight_bars.labels.painted if "masked" in text]
    assert e and w
    for a in e:
        for b in w:
            assert not a.intersects(b), (a, b)
    an.set_kind("cross")


def test_step_header_wraps_and_has_the_full_text_as_tooltip(window, qtbot):
    window.load_preset("en_ko_transformer")
    window.set_mode("free_running")
    window.set_step(len(window.trace.steps) - 1)
    h = window.views.anatomy.header
    assert h.wordWrap()
    tip = h.toolTip()
    assert tip.startswith(f"t = {window.step}") and tip.endswith("free running")
    assert "predicted:" in tip and "layer 0, head 0" in tip
    window.set_mode("teacher_forcing")


def test_offscreen_size_hint_warning_is_filtered_and_others_kept(tmp_path):
    code = (
        "import os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from widgets.qtcompat import quiet_harmless_qt_warnings\n"
        "quiet_harmless_qt_warnings()\n"
        "from PySide6.QtCore import qWarning\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "app = QApplication([])\n"
        "w = QMainWindow(); w.show(); app.processEvents()\n"
        "qWarning('keep this warning')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "keep this warning" in out.stderr
    assert "propagateSizeHints" not in out.stderr
    out = subprocess.run([sys.executable, "main.py", "render", "--preset", "reverse", "--step", "0",
                          "--out", str(tmp_path / "r.png")], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={k: v for k, v in os.environ.items() if k != "DISPLAY"})
    assert out.returncode == 0, out.stderr
    assert "propagateSizeHints" not in out.stderr
