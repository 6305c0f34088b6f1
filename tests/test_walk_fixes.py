"""What the classroom walk (issue 14) found a user tripping over, each checked in the window:

- Edit ▸ Undo covers the What-if edits (force, pin, hide, "Original run") and each Undo entry
  names what it undoes (the preset editor's own entry says "preset edit");
- the lecture editor's "Add current view" asks before it adds a slide on a preset other than
  the lecture's;
- View ▸ Preset editor (Ctrl+Shift+E) with unsaved edits keeps them and says so;
- the toolbar's model box keeps "trained 400 steps" on one line at 150 % text.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui
from PySide6.QtCore import Qt  # noqa: E402

from sandbox.whatif import Interventions, Pin  # noqa: E402
from helpers import main_window  # noqa: E402


def _menu(window, title: str):
    for a in window.menuBar().actions():
        if a.menu() is not None and a.text().replace("&", "") == title:
            return a.menu()
    raise AssertionError(f"no {title} menu")


# --------------------------------------------------------------------------- a) undo what-if
@pytest.fixture
def whatif_window(qapp, tmp_path):
    from widgets.editor_install import install_editor
    from widgets.whatif import install_whatif

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat",
                     installs=(install_editor, install_whatif)) as win:
        yield win


def test_edit_undo_steps_back_through_what_if_edits(whatif_window, qtbot, qapp):
    win = whatif_window
    ctl = win.whatif
    win.set_mode("teacher_forcing")
    undo, redo = ctl.act_undo, ctl.act_redo
    edit = _menu(win, "Edit")
    assert undo in edit.actions() and redo in edit.actions()
    assert not undo.isEnabled()
    # the preset editor's entries say whose edits they undo
    assert win.preset_editor.undo_action.text().startswith("Undo preset edit")

    token = win.trace.steps[1].top_k[1][0]
    assert ctl.force(1, token)
    assert ctl.pin(0, 1)
    both = Interventions(force={1: token}, pins=(Pin(0, 1),))
    assert win.interventions == both
    src = win.trace.source_tokens[1]
    assert undo.isEnabled() and undo.text() == f"Undo what-if: pin step 0 → {src}"

    # Ctrl+Z in the window's own panels undoes the last What-if edit
    win.activateWindow()
    win.step_slider.setFocus()
    qapp.processEvents()
    qtbot.keyClick(win.step_slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.interventions == Interventions(force={1: token})
    assert win.trace.steps[1].forced == token and not any(
        r.original_weights is not None for r in win.trace.steps[0].attention)
    assert undo.text() == f"Undo what-if: force step 1 → {token}"
    assert redo.text() == f"Redo what-if: pin step 0 → {src}"
    undo.trigger()
    assert win.interventions is None and win.trace.steps[1].forced is None
    assert not undo.isEnabled()
    redo.trigger()
    assert win.interventions == Interventions(force={1: token})

    # "Original run" drops every edit in one click, and Undo brings them back
    ctl.bar.reset_button.click()
    assert win.interventions is None
    assert undo.text() == "Undo what-if: original run"
    undo.trigger()
    assert win.interventions == Interventions(force={1: token})

    # Help ▸ Keys names both things Ctrl+Z undoes
    keys = win.keys_text()
    assert "Ctrl+Z Undo" in keys and "Undo what-if" in keys and "Undo preset edit" in keys

    # another sentence: the edits of the last one are not undoable here
    win.set_pair(1)
    assert win.interventions is None and not undo.isEnabled() and not redo.isEnabled()


def test_an_edit_that_clashes_with_earlier_ones_keeps_them(whatif_window):
    """Forcing <eos> at step 0 ends a free-running decode there, so an earlier force at step 2
    no longer applies: the window used to drop every edit; now only the new one is refused."""
    win = whatif_window
    ctl = win.whatif
    win.set_mode("free_running")
    assert len(win.trace.steps) > 2
    token = win.trace.steps[2].top_k[1][0]
    assert ctl.force(2, token)
    assert not ctl.force(0, "<eos>")
    assert win.interventions == Interventions(force={2: token})
    assert win.trace.steps[2].forced == token
    assert "force step 0 → <eos>" in win.banner_text and "kept" in win.banner_text
    assert ctl.act_undo.text() == f"Undo what-if: force step 2 → {token}"


# --------------------------------------------------------------------------- c) hiding the editor
def test_hiding_the_preset_editor_with_unsaved_edits_asks_like_its_close_button(qapp, tmp_path):
    """View ▸ Preset editor / Ctrl+Shift+E hides the dock through close(), so it asks Save /
    Discard / Cancel as the dock's ✕ does (already so on main: this guards it); the menu entry
    says when there are unsaved edits (new)."""
    from widgets.editor import EditorDialogs
    from widgets.editor_install import install_editor

    class Answers(EditorDialogs):
        answer = "cancel"
        asked: list = []

        def ask_unsaved(self, parent, name):
            self.asked.append(name)
            return self.answer

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat",
                     installs=(install_editor,)) as win:
        editor, dock = win.preset_editor, win.preset_editor_dock
        editor.dialogs = Answers()
        dock.show()
        toggle = dock.toggleViewAction()
        assert toggle.shortcut().toString() == "Ctrl+Shift+E"
        assert editor.edit_pair(0, 1, "I am a big cat")
        edited = editor.preset()
        assert toggle.text() == "Preset editor (unsaved edits)"
        toggle.trigger()  # Cancel: the dock stays, with the edits
        assert editor.dialogs.asked and not dock.isHidden() and editor.preset() == edited
        assert toggle.isChecked()  # in step with the dock, so the next Ctrl+Shift+E hides it again
        editor.dialogs.answer = "discard"
        toggle.trigger()
        assert dock.isHidden() and not editor.is_dirty
        assert toggle.text() == "Preset editor"


# --------------------------------------------------------------------------- b) add current view
def test_add_current_view_asks_before_a_slide_on_another_preset(qapp, tmp_path, monkeypatch):
    """The bahdanau lecture is about ko_en_cat; with reverse in the window, "Add current view"
    used to add a reverse slide without a word. It asks now; Cancel adds nothing and says why."""
    from widgets.editor import EditorDialogs
    from widgets.presenter import install_lectures

    asked: list = []
    answer = {"add": False}

    def ask(self, parent, window_preset, lecture_preset):
        asked.append((window_preset, lecture_preset))
        return answer["add"]

    monkeypatch.setattr(EditorDialogs, "ask_unsaved", lambda self, parent, name: "discard")
    monkeypatch.setattr(EditorDialogs, "ask_slide_preset", ask)
    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat") as win:
        ctl = install_lectures(win)
        editor = ctl.edit_key("bahdanau")
        assert editor.lecture.preset == "ko_en_cat"
        n = len(editor.lecture.slides)
        # the lecture's own preset: no question
        assert editor.add_current_view() is not None and not asked
        win.load_preset("reverse")
        assert editor.add_current_view() is None
        assert asked == [("reverse", "ko_en_cat")]
        assert len(editor.lecture.slides) == n + 1
        assert "reverse" in editor.status.text() and "not added" in editor.status.text()
        answer["add"] = True
        slide = editor.add_current_view()
        assert slide is not None and slide.preset == "reverse"
        assert len(editor.lecture.slides) == n + 2
        row = editor.slide_list.currentRow()
        assert editor.lecture.slides[row] == slide
        assert "[reverse]" in editor.slide_list.item(row).text()  # the list shows it too
        assert "reverse" in editor.status.text() and "this slide only" in editor.status.text()
        ctl.shutdown()


# --------------------------------------------------------------------------- d) the model box
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1.5), ((1280, 720), 2.0), ((1280, 720), 1.0)])
def test_the_toolbar_model_box_keeps_its_text_on_one_line(qapp, tmp_path, size, scale):
    """At 150 % text the box was 140 px for a 141 px "trained 400 steps": Qt's style wrapped it
    onto two lines, both cut. The style's own label rectangle must hold the whole text."""
    from PySide6.QtWidgets import QStyle, QStyleOptionProgressBar

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=size) as win:
        win.set_font_scale(scale)
        pb = win.progress
        widest = 0
        for text in ("trained 400 steps", "step 12345 / 20000", "untrained"):
            pb.setFormat(text)
            qapp.processEvents()
            assert pb.text() == text
            opt = QStyleOptionProgressBar()
            pb.initStyleOption(opt)
            label = pb.style().subElementRect(QStyle.SubElement.SE_ProgressBarLabel, opt, pb)
            need = pb.fontMetrics().horizontalAdvance(text)
            assert need <= label.width(), (text, need, label.width(), scale)
            assert pb.isVisible() and pb.visibleRegion().boundingRect().width() == pb.width()
            widest = max(widest, need + 2 * pb.fontMetrics().averageCharWidth() + 8)
            assert pb.width() <= max(pb.MIN_W, widest)  # and no wider than its widest text so far


# --------------------------------------------------------------------------- preset names
@pytest.mark.parametrize("size,scale", [((1280, 720), 1.0), ((1920, 1080), 1.5)])
def test_the_preset_box_shows_what_tells_presets_apart(qapp, tmp_path, size, scale):
    """Cut at the end, "I love cats → 나는 고양이를 좋아해 (Tra" and the five "나는 고양이로소이다
    → I am a cat (…" presets could not be told apart in the toolbar; the text is now shortened
    in the middle, so each shown name keeps its own ending, and fits the box."""
    from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=size) as win:
        win.set_font_scale(scale)
        combo = win.preset_combo
        shown = {}
        for key in ("en_ko_cats", "en_ko_transformer", "ko_en_cat_dot", "ko_en_cat_general"):
            win.load_preset(key)
            qapp.processEvents()
            name = win.bundle.preset.name
            assert combo.currentText() == name
            text = combo.shown_text()
            opt = QStyleOptionComboBox()
            combo.initStyleOption(opt)
            field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                                 QStyle.SubControl.SC_ComboBoxEditField, combo)
            assert combo.fontMetrics().horizontalAdvance(text) <= field.width()
            tail = name[name.rfind(" "):] if name.endswith(")") else name[-4:]
            assert text.endswith(tail), (name, text)
            assert name in combo.toolTip()
            shown[key] = text
            # what is painted is shown_text: the same pixels as a plain combo box holding it
            plain = QComboBox(combo.parentWidget())
            plain.setFont(combo.font())
            plain.addItem(text)
            plain.setGeometry(combo.geometry())
            plain.show()
            qapp.processEvents()
            assert combo.grab().toImage() == plain.grab().toImage()
            plain.deleteLater()
        assert len(set(shown.values())) == 4


# --------------------------------------------------------------------------- the editor's width
@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_the_preset_editor_leaves_the_views_their_room_at_1280(qapp, tmp_path, scale):
    """Five 80 px pair buttons held the dock at 440 px or more, over a third of a 1280 px
    projector window: the step anatomy's weights dropped to one decimal ("0.2 0.2 0.2").
    Opened, the dock now takes at most 30 % of the width, and every button shows its whole text."""
    from PySide6.QtWidgets import QPushButton

    from widgets.editor_install import install_editor

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=(1280, 720),
                     installs=(install_editor,)) as win:
        win.set_font_scale(scale)
        dock = win.preset_editor_dock
        dock.show()
        qapp.processEvents()
        assert dock.width() <= 0.30 * win.width(), (dock.width(), win.width())
        buttons = [b for b in win.preset_editor.findChildren(QPushButton) if b.isVisible()]
        assert {"Add", "Duplicate", "Delete", "↑", "↓", "Save as…"} <= {b.text() for b in buttons}
        for b in buttons:
            assert b.fontMetrics().horizontalAdvance(b.text()) < b.width(), (b.text(), b.width())


# --------------------------------------------------------------------------- the loss curve
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1.5), ((1920, 1080), 1.0), ((1920, 1080), 2.0)])
def test_loss_curve_labels_do_not_overprint_and_follow_the_text_size(qapp, tmp_path, size, scale):
    """At 150 % the loss plot's axes drew "0.2 0.4 0.6 0.8" 12.5 px apart in 14.9 px tall
    labels, and its legend stayed at 7 pt. The axes' own draw specs must not overlap, and the
    legend's text grows with the plot's."""
    from PySide6.QtGui import QImage, QPainter

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=size) as win:
        win.set_font_scale(scale)
        win.set_loss_curve_shown(True)
        qapp.processEvents()
        plot = win.loss_plot.getPlotItem()
        for name in ("left", "right"):
            axis = plot.getAxis(name)
            axis.picture = None
            img = QImage(8, 8, QImage.Format.Format_ARGB32)
            painter = QPainter(img)
            rects = sorted((spec[0] for spec in axis.generateDrawSpecs(painter)[2]), key=lambda r: r.top())
            painter.end()
            assert rects, f"{name} axis has no label"
            for a, b in zip(rects, rects[1:]):
                assert a.bottom() <= b.top() + 0.5, (name, a, b)
        from PySide6.QtGui import QFontMetricsF

        tick_font = plot.getAxis("left").style["tickFont"]
        for _sample, label in win.loss_plot.legend.items:  # the text as laid out, against the tick font's line
            assert label.item.boundingRect().height() >= 0.8 * QFontMetricsF(tick_font).height(), label.text


# --------------------------------------------------------------------------- heads tab
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1.5), ((1280, 720), 1.0)])
def test_every_head_gets_the_same_width(qapp, tmp_path, size, scale):
    """The heads tab drew head 0 at 565 px and head 1 at 1006 px (1920 px window): the row
    labels of head 0 tilted the grid. Side by side, the heads are compared: one width each."""
    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="en_ko_transformer", size=size) as win:
        win.set_font_scale(scale)
        tabs = win.views.tabs
        tabs.setCurrentIndex([tabs.tabText(k) for k in range(tabs.count())].index("heads"))
        qapp.processEvents()
        from widgets.heads import HeadsView

        view = win.views.findChildren(HeadsView)[0]
        widths = [p.sceneBoundingRect().width() for p, _m, _hl in view.maps]
        assert len(widths) >= 2
        assert max(widths) - min(widths) <= 0.05 * max(widths), widths


# --------------------------------------------------------------------------- menus at 150 %
def test_menus_take_the_windows_text_size(qapp, tmp_path):
    """A+ grew the menu bar but not the menus that drop from it (a popup is a window of its
    own and does not inherit the font): at 150 % on a projector the menu items stayed small."""
    from PySide6.QtWidgets import QMenu

    from widgets.app import install_extras

    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=(1920, 1080)) as win:
        win.set_font_scale(1.5)
        install_extras(win)  # menus added after the scale was set
        qapp.processEvents()
        want = win.font().pointSizeF()
        assert want > QApplicationFont() * 1.2
        menus = win.findChildren(QMenu)
        titles = {m.title().replace("&", "") for m in menus}
        assert {"File", "Edit", "View", "Lecture", "Help"} <= titles
        for m in menus:
            assert m.font().pointSizeF() == pytest.approx(want), (m.title(), m.font().pointSizeF(), want)
        ctl = win.whatif
        assert ctl.cell_menu(0, 0).font().pointSizeF() == pytest.approx(want)
        win.set_font_scale(1.0)
        assert all(m.font().pointSizeF() == pytest.approx(win.font().pointSizeF()) for m in win.findChildren(QMenu))


def QApplicationFont() -> float:
    from PySide6.QtWidgets import QApplication

    return QApplication.font().pointSizeF()


# --------------------------------------------------------------------------- long titles
def test_long_titles_show_their_beginning(qapp, tmp_path, monkeypatch):
    """The lecture editor showed "attention: an additive score from the previous state" for
    "Bahdanau attention: …": a line edit filled by setText keeps its cursor, and so its view,
    at the end."""
    from widgets.editor import EditorDialogs
    from widgets.presenter import install_lectures

    monkeypatch.setattr(EditorDialogs, "ask_unsaved", lambda self, parent, name: "discard")
    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat", size=(1280, 720)) as win:
        ctl = install_lectures(win)
        editor = ctl.edit_key("bahdanau")
        assert editor.title_edit.text().startswith("Bahdanau") and editor.title_edit.cursorPosition() == 0
        editor.slide_list.setCurrentRow(2)
        assert editor.slide_title.text() and editor.slide_title.cursorPosition() == 0
        ctl.shutdown()
