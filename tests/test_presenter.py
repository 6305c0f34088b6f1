"""Presenter mode and lecture authoring in the window (pytest-qt, offscreen).

Lectures run with a train spec of a couple of steps, so every test trains in well under a
second; the conftest fixture fails any test that leaves a QThread running.
"""

from __future__ import annotations

import dataclasses

import pytest

pytestmark = pytest.mark.gui  # needs PySide6 / pyqtgraph / pytest-qt (`pytest -m "not gui"` skips it)

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

from sandbox.lectures import (  # noqa: E402
    SHIPPED_LECTURES_DIR, TrainSpec, find_lecture, load_lecture, slide_sentence, user_lectures_dir,
)
from sandbox.presets import find_preset, load_preset  # noqa: E402

from helpers import main_window  # noqa: E402

TIMEOUT = 60_000


def _quick(key: str, steps: int = 2, required: bool = True):
    lec = load_lecture(find_lecture(key))
    return dataclasses.replace(lec, train=TrainSpec(steps=steps, seed=0, required=required))


def _shipped_bytes() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(SHIPPED_LECTURES_DIR.glob("*.toml"))}


@pytest.fixture
def window(qapp, tmp_path, monkeypatch):
    from widgets.editor import EditorDialogs

    # Issue 16: the lecture editor now asks Save / Discard / Cancel before its unsaved edits
    # are dropped (switching lecture, closing the window). No real message box in a test:
    # the edits made here are let go.
    monkeypatch.setattr(EditorDialogs, "ask_unsaved", lambda self, parent, name: "discard")
    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat") as win:
        yield win


def _start(qtbot, window, lecture, **kw):
    from widgets.presenter import Presenter

    p = Presenter(window, lecture, **kw)
    with qtbot.waitSignal(p.ready, timeout=TIMEOUT):
        p.start()
    return p


def _expected_view(lecture, slide, step=None):
    ref = slide.preset or lecture.preset
    preset = load_preset(find_preset(ref))
    source, target = slide_sentence(slide, preset)
    return {"preset": preset.key, "source": source, "target": target, "mode": slide.mode,
            "step": slide.step if step is None else step, "layer": slide.layer, "head": slide.head}


def _view(window):
    v = window.current_view()
    v.pop("panel")
    return v


def test_keys_move_through_slides(qtbot, window):
    lec = _quick("dot_product")
    p = _start(qtbot, window, lec, lang="en")
    assert p.active and p.trained and not p.is_training
    # (full screen is requested; the offscreen platform's 800×600 screen may undo it when the
    # window's minimum size is larger, so only the chrome is checked here)
    assert window.toolbar.isHidden() and window.menuBar().isHidden()
    assert p.panel.counter.text() == f"1 / {len(lec.slides)}"
    assert _view(window) == _expected_view(lec, lec.slides[0])
    seen = []
    for key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space, Qt.Key.Key_Left, Qt.Key.Key_PageUp,
                Qt.Key.Key_End, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_Left):
        qtbot.keyClick(window, key)
        seen.append(p.index)
    n = len(lec.slides)
    assert seen == [1, 2, 3, 2, 1, n - 1, n - 1, 0, 0]
    assert p.panel.counter.text() == f"1 / {n}"
    # Keys reach the presenter whichever widget of the window has them.
    qtbot.keyClick(window.views, Qt.Key.Key_Right)
    assert p.index == 1
    assert _view(window) == _expected_view(lec, lec.slides[1])
    # Issue 14: the narration's formulas are typeset (e_j → e with subscript j).
    assert "ej = st · hj" in p.panel.text.toPlainText()
    assert "e<sub>j</sub>" in __import__("widgets.presenter").presenter.narration_html(lec.slides[1].text("en"))
    # ↓ / ↑ walk the decoder steps inside a slide
    t = window.step
    qtbot.keyClick(window, Qt.Key.Key_Down)
    assert window.step == t + 1
    qtbot.keyClick(window, Qt.Key.Key_Up)
    assert window.step == t
    p.leave()


def test_reveal_and_language(qtbot, window):
    lec = _quick("dot_product")
    quiz = next(i for i, s in enumerate(lec.slides) if s.hidden)
    p = _start(qtbot, window, lec, lang="en", start=quiz)
    views = window.views
    assert p.index == quiz
    assert views.anatomy.isHidden()
    assert not views.tabs.isTabVisible(0)  # the attention map tab
    assert views.explain.isHidden()  # the worked example would give the answer away
    assert "press R" in p.panel.note.text()
    assert p.panel.reveal_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert p.revealed
    assert not views.anatomy.isHidden() and views.tabs.isTabVisible(0) and not views.explain.isHidden()
    assert not p.panel.reveal_button.isEnabled()
    # language: L toggles, the text follows
    en = p.panel.text.toPlainText()
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert p.lang == "ko"
    ko = p.panel.text.toPlainText()
    assert ko != en and "퀴즈" in ko
    # the next slide starts hidden-free; going back hides the quiz panels again
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert not views.anatomy.isHidden()
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert views.anatomy.isHidden() and not p.revealed
    p.leave()


def test_escape_leaves_at_that_slides_state(qtbot, window):
    lec = _quick("why_attention")
    p = _start(qtbot, window, lec, lang="ko")
    scale = 1.0
    for _ in range(2):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    slide = lec.slides[2]
    with qtbot.waitSignal(p.finished, timeout=5000) as sig:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert sig.args == [2]
    assert not p.active
    assert not window.isFullScreen()
    assert window.toolbar.isVisible() and window.menuBar().isVisible() and window.bottom.isVisible()
    assert not p.dock.isVisible()
    assert window.font_scale == pytest.approx(scale)
    # free exploration from the slide's state: its preset, sentence, mode and step
    assert _view(window) == _expected_view(lec, slide, step=min(slide.step, len(window.trace.steps) - 1))
    assert window.bundle.preset.key == "ko_en_cat_none"
    # the window's own keys work again: → steps instead of changing slides
    t = window.step
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.step == max(0, t - 1)


def test_step_past_the_end_is_clamped_with_a_note(qtbot, window):
    lec = _quick("bahdanau")
    far = dataclasses.replace(lec.slides[0], step=150)
    lec = dataclasses.replace(lec, slides=(far,) + lec.slides[1:])
    p = _start(qtbot, window, lec)
    n = len(window.trace.steps)
    assert window.step == n - 1
    assert p.state.note and "past the end" in p.state.note
    assert "past the end" in p.panel.note.text()
    p.leave()


def test_missing_image_placeholder_and_present_image(qtbot, window):
    lec = _quick("why_attention")
    i = next(k for k, s in enumerate(lec.slides) if s.image)
    p = _start(qtbot, window, lec, start=i)  # the shipped cached plot is shown
    assert p.panel.image.isVisible()
    assert p.panel.image.pixmap() is not None and not p.panel.image.pixmap().isNull()
    p.leave()
    slides = list(lec.slides)
    slides[i] = dataclasses.replace(slides[i], image="no_such_plot.png")
    p2 = _start(qtbot, window, dataclasses.replace(lec, slides=tuple(slides)), start=i)
    assert p2.panel.image.isVisible()
    assert "no_such_plot.png" in p2.panel.image.text()  # a placeholder says what is missing
    p2.leave()


def test_not_required_starts_at_once_then_swaps_in_trained(qtbot, window):
    from widgets.presenter import Presenter

    lec = _quick("teacher_forcing", steps=3, required=False)
    p = Presenter(window, lec)
    with qtbot.waitSignal(p.ready, timeout=TIMEOUT):
        p.start()
        assert p.bundles is not None and not p.trained  # shown before training finished
    assert p.trained
    assert window.bundle is p.bundles["ko_en_cat"]
    p.leave()


def test_leaving_while_training_joins_the_thread(qtbot, window):
    from widgets.presenter import Presenter

    lec = _quick("transformer", steps=100_000)
    p = Presenter(window, lec)
    p.start()
    assert p.is_training
    qtbot.wait(200)
    p.leave()  # stops training between steps and joins
    assert not p.is_training and not p.active
    assert not window.isFullScreen()


def test_closing_the_window_stops_training(qtbot, window):
    from widgets.presenter import Presenter

    p = Presenter(window, _quick("bahdanau", steps=100_000))
    p.start()
    assert p.is_training
    window.close()
    assert not p.is_training and not p.active


def test_install_lectures_menu_and_combo(qtbot, window):
    from widgets.presenter import LectureController, install_lectures

    ctl = install_lectures(window)
    assert isinstance(ctl, LectureController)
    assert install_lectures(window) is ctl
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "Lecture" in titles
    assert ctl.combo.count() >= 5
    assert ctl.combo.itemData(0).endswith("why_attention.toml")
    # present from the controller, then close the window mid-training: no thread left
    lec = _quick("dot_product", steps=50_000)
    p = ctl.present(lec)
    assert p is not None and p.is_training
    window.close()
    assert not p.is_training


def test_authoring_round_trip(qtbot, window):
    from widgets.presenter import install_lectures

    before = _shipped_bytes()
    ctl = install_lectures(window)
    editor = ctl.edit_key("bahdanau")
    n = len(editor.lecture.slides)
    # the window shows some view; add it as a slide after the first
    window.set_pair(3)
    window.set_mode("free_running")
    window.set_step(2)
    editor.slide_list.setCurrentRow(0)
    added = editor.add_current_view()
    assert added is not None and added.pair == 3 and added.mode == "free_running" and added.step == 2
    assert len(editor.lecture.slides) == n + 1 and editor.slide_list.currentRow() == 1
    # edit its title and narration through the text boxes
    editor.slide_title.setText("Pair four, free running")
    editor.slide_title.textEdited.emit("Pair four, free running")
    editor.ko_edit.setPlainText("네 번째 쌍을 스스로 생성해 봅니다.")
    editor.en_edit.setPlainText("Pair four, generated on its own.")
    # reorder: move it down one, then delete the last slide
    editor.move(1)
    assert editor.lecture.slides[2].title == "Pair four, free running"
    editor.slide_list.setCurrentRow(len(editor.lecture.slides) - 1)
    editor.delete()
    assert len(editor.lecture.slides) == n
    # Save on a shipped lecture becomes a copy in the user folder
    path = editor.save()
    assert path == user_lectures_dir() / "bahdanau.toml"
    assert _shipped_bytes() == before
    again = load_lecture(path)
    assert again == editor.lecture
    slide = again.slides[2]
    assert slide.narration == {"ko": "네 번째 쌍을 스스로 생성해 봅니다.", "en": "Pair four, generated on its own."}
    assert find_lecture("bahdanau") == path
    # the comments of the shipped file survived the save
    assert "# Lecture 3 of 5" in path.read_text(encoding="utf-8")
    # Save again writes to the same user file
    editor.set_narration(0, "수정", "edited")
    assert editor.save() == path
    assert load_lecture(path).slides[0].narration["en"] == "edited"
    assert _shipped_bytes() == before


def test_new_lecture_from_view_and_bad_edit(qtbot, window):
    from widgets.presenter import install_lectures

    ctl = install_lectures(window)
    window.load_preset("en_ko_transformer")
    window.set_pair(0)  # the preset opens on its own (held-out) example; this slide is of pair 0
    window.set_layer_head(1, 1)
    editor = ctl.new_from_view()
    assert editor is not None
    s = editor.lecture.slides[0]
    assert (s.pair, s.layer, s.head) == (0, 1, 1)
    assert editor.lecture.preset == "en_ko_transformer"
    editor.ko_edit.setPlainText("")  # invalid: narration must not be empty
    assert editor._guard(editor.save) is None
    assert "narration.ko" in editor.status.text()
    assert not (user_lectures_dir() / "new_lecture.toml").exists()
    editor.ko_edit.setPlainText("새 강의")
    path = editor.save()
    assert path == user_lectures_dir() / "new_lecture.toml"
    assert load_lecture(path).slides[0].layer == 1


def test_presenting_hides_the_preset_editor_dock_and_esc_brings_it_back(qtbot, window):
    """The slides get the whole window: an open preset editor dock is hidden while
    presenting (it took a third of the projector) and shown again on Esc."""
    from widgets.editor_install import install_editor

    install_editor(window)
    dock = window.preset_editor_dock
    dock.show()
    qtbot.waitUntil(dock.isVisible)
    p = _start(qtbot, window, _quick("dot_product"), lang="en")
    assert not dock.isVisible() and p.dock.isVisible()
    with qtbot.waitSignal(p.finished, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert dock.isVisible() and not p.dock.isVisible()


def test_after_esc_the_model_box_says_the_lecture_model_is_trained(qtbot, window):
    """After Esc the Model box said "untrained (seeded weights)" under the lecture's trained
    model; it now says how far that model was trained and where it came from."""
    lec = _quick("dot_product", steps=3)
    p = _start(qtbot, window, lec, lang="en")
    with qtbot.waitSignal(p.finished, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    text = window.model_view.toPlainText()
    assert "trained 3 steps (lecture cache)" in text
    assert "untrained" not in text
    assert window.progress.format() == "trained 3 steps"


# --------------------------------------------------------------------------- claims and devices


def _cross_row(bundle, slide, lecture, t):
    import numpy as np

    from sandbox.trace import trace

    source, target = slide_sentence(slide, bundle.preset)
    tr = trace(bundle, source, target, mode=slide.mode)
    w = tr.attention_matrix("cross")[t]
    return tr.source_tokens[int(np.argmax(w))], tr.source_tokens[int(np.argmin(w))]


def test_presenter_warns_quietly_when_a_slides_claim_fails(qtbot, window):
    """A claim that fails for the model in use gets a one-line warning on its slide (hidden
    on a quiz until R); a slide whose claim holds shows none."""
    from sandbox.claims import Expect
    from sandbox.lectures import ensure_trained

    lec = _quick("dot_product", steps=3)
    bundle = ensure_trained(lec)  # the model the presenter will load from the cache
    s0, s1 = lec.slides[0], lec.slides[1]
    best, worst = _cross_row(bundle, s0, lec, 1)
    slides = list(lec.slides)
    slides[0] = dataclasses.replace(s0, expect=(Expect(step=1, attends=(worst,)),))
    slides[1] = dataclasses.replace(s1, expect=(Expect(step=1, attends=(best,)),))
    slides[2] = dataclasses.replace(lec.slides[2], hidden=("map",), expect=(Expect(step=1, attends=(worst,)),))
    lec = dataclasses.replace(lec, slides=tuple(slides))
    p = _start(qtbot, window, lec, lang="en")
    assert p.device == "cpu"
    assert [r.holds for r in p.claims] == [False]
    assert "does not do what the slide says" in p.panel.note.text() and best in p.panel.note.text()
    p.next()
    assert [r.holds for r in p.claims] == [True]
    assert "does not do what the slide says" not in p.panel.note.text()
    p.next()  # a quiz: the warning would give the answer away until R
    assert "does not do what the slide says" not in p.panel.note.text()
    p.reveal()
    assert "does not do what the slide says" in p.panel.note.text()
    p.set_lang("ko")
    assert "슬라이드의 설명과 다릅니다" in p.panel.note.text()
    p.leave()


def test_editor_adds_a_claim_from_the_current_view(qtbot, window):
    import numpy as np

    from widgets.presenter import install_lectures

    ctl = install_lectures(window)
    editor = ctl.edit_key("dot_product")
    editor.slide_list.setCurrentRow(0)
    editor.show_current()
    window.set_step(2)
    before = editor.lecture.slides[0].expect  # the shipped slide may already carry claims
    e = editor.add_claim_from_view()
    tr = window.trace
    w = tr.attention_matrix("cross")[2]
    assert e is not None and e.step == 2 and e.kind == "cross" and (e.layer, e.head) == (None, None)
    assert e.attends == (tr.source_tokens[int(np.argmax(w))],) and e.token == tr.steps[2].gold
    assert editor.lecture.slides[0].expect == before + (e,)
    assert "cross attention on" in editor.claims_label.text()
    # the saved user copy carries it
    path = editor.save()
    assert load_lecture(path).slides[0].expect == before + (e,)
    # a view of another sentence is refused with a message, nothing added
    window.set_pair(5)
    assert editor.add_claim_from_view() is None and "press Show" in editor.status.text()
    assert len(editor.lecture.slides[0].expect) == len(before) + 1
    editor.clear_claims()
    assert editor.lecture.slides[0].expect == ()


def test_editor_claim_from_a_transformer_head(qtbot, window):
    import numpy as np

    from widgets.presenter import install_lectures

    ctl = install_lectures(window)
    editor = ctl.edit_key("transformer")
    i = next(k for k, s in enumerate(editor.lecture.slides) if s.panel == "masked_self")
    editor.slide_list.setCurrentRow(i)
    editor.show_current()
    m = window.bundle.preset.model
    layer, head = m.layers - 1, m.heads - 1
    assert head > 0
    window.set_layer_head(layer, head)
    e = editor.add_claim_from_view()
    assert e is not None and (e.kind, e.layer, e.head) == ("masked_self", layer, head)
    tr = window.trace
    t = window.step
    w = tr.attention_matrix("masked_self", layer, head)[t]
    n = t + 1
    assert e.attends == (tr.steps[int(np.nanargmax(w[:n]))].input_token,)


def test_model_box_warns_when_a_lecture_model_runs_off_its_checked_device(qtbot, window):
    lec = _quick("dot_product", steps=2)
    p = _start(qtbot, window, lec, lang="en")
    assert window._checked_on == "cpu"  # apply_slide: the lecture was checked on the CPU
    assert "numbers differ" not in window.model_view.toPlainText()
    # the same promise on a model that runs elsewhere (what `auto` picking CUDA looks like)
    window.set_checked_device("cuda")
    assert "checked on the CUDA" in window.model_view.toPlainText()
    assert "numbers differ" in window.model_view.toPlainText()
    p.leave()
    window.load_preset("ko_en_cat_general")  # another model: no promise any more
    assert "numbers differ" not in window.model_view.toPlainText()


def test_reveal_shows_the_slides_own_tab(qtbot, window):
    """Issue 14: the transformer quiz hides its cross-attention tab; R must bring back that
    tab (the slide's panel), not the tab the widget fell back to while it was hidden."""
    lec = _quick("transformer")
    quiz = next(i for i, s in enumerate(lec.slides) if s.hidden and s.panel == "cross")
    p = _start(qtbot, window, lec, lang="en", start=quiz)
    views = window.views
    assert views.current_panel() != "cross"  # hidden: the tab widget shows another tab
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert views.current_panel() == "cross"
    p.leave()


def test_transformer_quiz_shows_nothing_of_its_hidden_cross_weights_before_reveal(qtbot, window):
    """Issue 14: the transformer quiz hides the cross-attention map; the step anatomy (its
    weights strip and a picker that switches to cross attention) and the all-heads tab draw
    the same weights, so until R no visible panel can show cross-attention weights. R brings
    every one of them back."""
    lec = _quick("transformer")
    quiz = next(i for i, s in enumerate(lec.slides) if s.hidden and s.panel == "cross")
    p = _start(qtbot, window, lec, lang="en", start=quiz)
    views = window.views
    tab_visible = {name: views.tabs.isTabVisible(i) for i, name in enumerate(views._tab_names)}
    shown = [name for name, vis in tab_visible.items() if vis]
    assert "cross" not in shown and "heads" not in shown, shown
    assert views.anatomy.isHidden(), "the step anatomy draws the hidden cross weights (its picker offers them)"
    assert views.explain.isHidden()
    # what stays on screen draws another attention: the fallback tab is not the answer's
    assert views.current_panel() in shown and views.current_panel() != "cross"
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert views.current_panel() == "cross"
    assert not views.anatomy.isHidden() and views.tabs.isTabVisible(views._tab_names.index("heads"))
    p.leave()


def test_korean_mode_shows_korean_titles_and_l_switches_back(qtbot, window):
    from widgets.richtext import formula_html

    lec = _quick("dot_product")
    p = _start(qtbot, window, lec, lang="ko", start=1)
    slide = lec.slides[1]
    assert slide.title_ko and slide.title_ko != slide.title
    assert p.panel.title.text() == formula_html(slide.title_ko)
    assert p.panel.lecture_label.text() == lec.title_ko
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert p.lang == "en"
    assert p.panel.title.text() == formula_html(slide.title) and p.panel.lecture_label.text() == lec.title
    p.leave()


def test_editor_round_trips_the_korean_titles(qtbot, window):
    from widgets.presenter import install_lectures

    before = _shipped_bytes()
    ctl = install_lectures(window)
    editor = ctl.edit_key("bahdanau")
    editor.slide_list.setCurrentRow(2)
    assert editor.slide_title_ko.text() == editor.lecture.slides[2].title_ko  # shown for editing
    editor.slide_title_ko.setText("세 번째 슬라이드")
    editor.slide_title_ko.textEdited.emit("세 번째 슬라이드")
    editor.title_ko_edit.setText("바다나우 강의")
    editor.title_ko_edit.textEdited.emit("바다나우 강의")
    editor.slide_list.setCurrentRow(3)
    editor.slide_title_ko.setText("")  # emptied: no Korean title, the English one stands in
    editor.slide_title_ko.textEdited.emit("")
    path = editor.save()
    again = load_lecture(path)
    assert again.title_ko == "바다나우 강의" and again.slides[2].title_ko == "세 번째 슬라이드"
    assert again.slides[3].title_ko is None and again.slides[3].heading("ko") == again.slides[3].title
    assert again == editor.lecture and _shipped_bytes() == before
    editor.slide_list.setCurrentRow(2)
    assert editor.slide_title_ko.text() == "세 번째 슬라이드"
