"""Nothing is lost, nothing stale (issue 14, the new-user walk): a trained model survives a
preset switch and a lecture; a dock with unsaved edits asks before it closes; what the
window shows belongs to the preset, sentence and training point on screen."""

from __future__ import annotations

import dataclasses

import pytest

pytestmark = pytest.mark.gui

pytest.importorskip("pytestqt")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sandbox.lecture_cache import SHIPPED_ORIGIN  # noqa: E402
from sandbox.presets import find_preset, load_preset  # noqa: E402

from helpers import main_window  # noqa: E402

TIMEOUT = 60_000


@pytest.fixture
def win(qapp, tmp_path):
    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="reverse") as w:
        w.reset_weights()  # seeded weights (not the shipped model): these tests count steps from 0
        yield w


def _train_a_little(qtbot, win, steps: int = 30) -> None:
    """Train ``steps`` steps to the end (a few history points, a curve)."""
    with qtbot.waitSignal(win.training.finished, timeout=TIMEOUT):
        assert win.start_training(steps=steps)
    assert len(win.history) >= 2 and len(win.loss_plot.steps) >= 3


def _weights(win) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in win.bundle.model.state_dict().items()}


# ---------------------------------------------------------------- 1. a trained model is kept


def test_a_trained_model_comes_back_when_its_preset_is_picked_again(qtbot, win):
    from sandbox.trace import trace

    _train_a_little(qtbot, win)
    steps = win.state.trained_steps
    assert steps > 0
    weights = _weights(win)
    history = [h.step for h in win.history]
    curve = list(win.loss_plot.steps)

    win.load_preset("ko_en_cat")  # another preset: its own (shipped) model, not ours
    assert win.state.trained_origin == SHIPPED_ORIGIN
    assert win.state.trained_steps == load_preset(find_preset("ko_en_cat")).training.steps

    win.load_preset("reverse")
    assert win.state.trained_steps == steps
    assert f"trained {steps} steps" in win.model_view.toPlainText()
    assert win.progress.format() == f"trained {steps} steps"
    now = win.bundle.model.state_dict()
    assert set(now) == set(weights)
    for k, v in weights.items():
        assert torch.equal(now[k], v), k
    assert [h.step for h in win.history] == history
    assert list(win.loss_plot.steps) == curve
    # the map shows the kept model: recompute the trace with the recorded weights
    tr = trace(win.bundle, win.state.source, win.state.target, mode=win.state.mode)
    np.testing.assert_array_equal(win.trace.steps[0].attention[0].weights, tr.steps[0].attention[0].weights)
    # and training goes on from there
    with qtbot.waitSignal(win.training.finished, timeout=TIMEOUT):
        assert win.start_training(steps=3)
    assert win.state.trained_steps == steps + 3


def test_an_untrained_or_changed_model_is_not_brought_back(qtbot, win, tmp_path):
    """Seeded weights are never 'kept'; a kept model whose preset file changed what the
    model depends on (here its hidden size) is dropped, not shown."""
    src = find_preset("reverse").read_text(encoding="utf-8")
    path = tmp_path / "rev.toml"
    path.write_text(src.replace("corpora/reverse.tsv", str(find_preset("reverse").parent / "corpora/reverse.tsv")),
                    encoding="utf-8")
    win.load_preset(str(path))
    assert not win.has_kept_model(str(find_preset("reverse")))  # "reverse" was never trained
    _train_a_little(qtbot, win)
    win.load_preset("reverse")
    assert win.has_kept_model(str(path))
    text = path.read_text(encoding="utf-8")
    assert "hidden = 32" in text
    path.write_text(text.replace("hidden = 32", "hidden = 24"), encoding="utf-8")
    win.load_preset(str(path))
    assert win.state.trained_steps == 0
    assert not win.has_kept_model(str(path))


def test_a_lectures_model_of_the_same_preset_leaves_yours_one_pick_away(qtbot, win):
    """A lecture shows its own (cached) model of the preset you trained: yours is kept, the
    Model box says so, and picking the preset in the box (the one already shown) brings it back."""
    from sandbox.model import Bundle

    _train_a_little(qtbot, win)
    steps = win.state.trained_steps
    path = str(find_preset("reverse"))
    win.set_bundle(Bundle.from_preset(win.bundle.preset), trained_steps=500, origin="lecture cache")
    assert win.state.trained_steps == 500 and win.has_kept_model(path)
    assert f"your own model of this preset (trained {steps} steps) is kept" in win.model_view.toPlainText()
    i = win.preset_combo.findData(path)
    assert i >= 0 and win.preset_combo.currentIndex() == i
    win._on_preset_chosen(i)  # what the box's "activated" calls
    assert win.state.trained_steps == steps and win.state.trained_origin is None
    assert not win.has_kept_model(path) and "is kept" not in win.model_view.toPlainText()


def test_presenting_during_training_asks_and_cancel_keeps_training(qtbot, win, monkeypatch):
    """F5 while training: Cancel keeps the run going; Stop stops it, the lecture shows, and
    after Esc the trained model comes back when its preset is picked again."""
    from sandbox.lectures import TrainSpec, find_lecture, load_lecture
    from widgets.editor import EditorDialogs
    from widgets.lecture_menu import install_lectures

    monkeypatch.setattr(EditorDialogs, "ask_unsaved", lambda self, parent, name: "discard")
    ctl = install_lectures(win)
    lec = dataclasses.replace(load_lecture(find_lecture("dot_product")), train=TrainSpec(steps=2, seed=0))
    asked: list[str] = []
    answer = [False]

    def ask(what: str) -> bool:
        asked.append(what)
        return answer[0]

    monkeypatch.setattr(win, "ask_stop_training", ask)
    with qtbot.waitSignal(win.training.snapshot, timeout=TIMEOUT):
        assert win.start_training(steps=100000)
    assert ctl.present(lec) is None
    assert asked and win.training.is_active  # Cancel: still training, no lecture
    assert ctl.presenter is None or not ctl.presenter.active

    answer[0] = True
    p = ctl.present(lec)
    assert p is not None
    qtbot.waitUntil(lambda: p.trained, timeout=TIMEOUT)
    assert not win.training.is_active
    steps = win._shelf.peek(str(find_preset("reverse"))).trained_steps
    assert steps > 0
    p.leave()
    win.load_preset("reverse")
    assert win.state.trained_steps == steps


# ---------------------------------------------------------------- 2. a dock's ✕ asks


def _click_close(dock) -> None:
    """Press the dock title bar's ✕ (the button Qt puts there), as a user does."""
    from PySide6.QtWidgets import QAbstractButton

    button = dock.findChild(QAbstractButton, "qt_dockwidget_closebutton")
    assert button is not None and button.isVisible()
    button.click()


@pytest.mark.parametrize("which", ["preset", "lecture"])
def test_closing_an_editor_dock_with_unsaved_edits_asks(qtbot, win, monkeypatch, which):
    from sandbox.lectures import find_lecture, load_lecture
    from widgets.editor import EditorDialogs
    from widgets.editor_install import install_editor
    from widgets.lecture_menu import install_lectures

    answers: list[str] = []
    asked: list[str] = []

    def ask(self, parent, name):
        asked.append(name)
        return answers.pop(0)

    monkeypatch.setattr(EditorDialogs, "ask_unsaved", ask)
    if which == "preset":
        editor = install_editor(win)
        dock = win.preset_editor_dock
        dock.show()
        assert editor.set_setting("training.lr", 0.002)
        dirty = lambda: editor.is_dirty  # noqa: E731
    else:
        ctl = install_lectures(win)
        editor = ctl.edit(load_lecture(find_lecture("dot_product")))
        dock = ctl.editor_dock
        qtbot.keyClicks(editor.title_edit, " (edited)")
        dirty = lambda: editor.dirty  # noqa: E731
    qtbot.waitUntil(dock.isVisible)
    assert dirty()

    answers.append("cancel")
    _click_close(dock)
    assert asked and dock.isVisible() and dirty()  # Cancel: open, edits kept

    answers.append("discard")
    _click_close(dock)
    assert len(asked) == 2 and not dock.isVisible() and not dirty()

    dock.show()  # nothing unsaved now: ✕ closes without asking
    qtbot.waitUntil(dock.isVisible)
    _click_close(dock)
    assert len(asked) == 2 and not dock.isVisible()


# ---------------------------------------------------------------- 3. nothing stale


def test_the_own_sentence_box_starts_empty_after_a_preset_switch(qtbot, win):
    win.source_edit.setText("h f 2 d")
    win.target_edit.setText("d 2 f h")
    win.load_preset("ko_en_cat")
    assert win.source_edit.text() == "" and win.target_edit.text() == ""
    assert "나는 고양이로소이다" in win.source_edit.placeholderText()  # this preset's example as the hint


def test_the_explanation_is_not_shown_under_another_map(qtbot, win):
    win.load_preset("en_ko_transformer")
    views = win.views
    win.focus_panel("cross")
    views.explain_cell("cross", 0, 0)
    cross_text = views.explain.toPlainText()
    assert views.explain.explanation is not None and "cross attention" in cross_text
    win.focus_panel("masked_self")
    assert views.explain.explanation is None and views.explain.toPlainText() != cross_text
    assert "masked decoder self-attention" in views.explain.toPlainText()
    win.focus_panel("cross")  # back on its own map: explained again
    assert views.explain.explanation is not None and views.explain.toPlainText() == cross_text


def test_the_loss_plot_shows_the_new_presets_steps_after_a_switch(qtbot, win):
    from sandbox.presets import load_preset

    _train_a_little(qtbot, win)
    trained_x = win.loss_plot.getPlotItem().viewRange()[0]
    assert trained_x[1] < 100  # the 30-step run's axis
    win.load_preset("ko_en_cat")
    planned = load_preset(find_preset("ko_en_cat")).training.steps
    lo, hi = win.loss_plot.getPlotItem().viewRange()[0]
    assert win.loss_plot.steps == [] and lo <= 0 < planned <= hi < planned * 1.1


def test_the_model_box_names_the_history_point_shown(qtbot, win):
    _train_a_little(qtbot, win)
    h = win.history[1]
    total = win.state.trained_steps
    assert h.step != total
    win.show_history(1)
    text = win.model_view.toPlainText()
    assert f"the views show step {h.step} of training" in text
    win.show_history(len(win.history))  # live again
    assert "the views show step" not in win.model_view.toPlainText()
    assert f"trained {total} steps" in win.model_view.toPlainText()


def test_while_paused_every_counter_names_the_same_step(qtbot, win, monkeypatch):
    """Snapshots are traced now and then (here: only at history points), so the step the
    views and the Model box show lags the loss curve; pausing traces the step paused at."""
    import re

    import widgets.window_training as wt

    monkeypatch.setattr(wt, "LIVE_INTERVAL_S", 1000.0)
    assert win.start_training(steps=100000)
    qtbot.waitUntil(lambda: len(win.loss_plot.steps) >= 20, timeout=TIMEOUT)
    win.pause_training()
    qtbot.waitUntil(lambda: win.training.is_paused, timeout=TIMEOUT)

    def numbers():
        box = re.search(r"paused at step (\d+)", win.model_view.toPlainText())
        status = re.search(r"paused at step (\d+)", win.status.currentMessage())
        return (int(box.group(1)) if box else None, int(status.group(1)) if status else None,
                win.progress.value(), win.loss_plot.steps[-1], win.state.trained_steps)

    try:
        qtbot.waitUntil(lambda: len(set(numbers())) == 1, timeout=10_000)
        assert numbers()[0] >= 20
        assert win.trace is win.state.live_trace  # the views show the step paused at
    finally:
        win.training.shutdown()


def test_the_train_button_says_what_it_does(qtbot, win):
    assert win.act_train.text() == "▶ Train"
    with qtbot.waitSignal(win.training.snapshot, timeout=TIMEOUT):
        assert win.start_training(steps=100000)
    try:
        assert "Pause" in win.act_train.text() and "Train" not in win.act_train.text()
        win.pause_training()
        qtbot.waitUntil(lambda: win.training.is_paused, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: "Resume" in win.act_train.text(), timeout=TIMEOUT)
    finally:
        win.training.shutdown()
    assert win.act_train.text() == "▶ Train"


def test_after_the_layer_head_spin_boxes_the_arrow_keys_step_again(qtbot, win):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSpinBox

    win.load_preset("en_ko_transformer")
    win.activateWindow()
    win.set_step(0)
    spin = win.head_spin
    assert spin.isVisible() and spin.maximum() >= 1
    opt = QStyleOptionSpinBox()
    spin.initStyleOption(opt)
    up = spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, opt, QStyle.SubControl.SC_SpinBoxUp, spin)
    qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=up.center() if up.isValid() else QPoint(spin.width() - 4, 4))
    assert win.state.head == 1  # the click worked
    target = QApplication.focusWidget() or win
    qtbot.keyClick(target, Qt.Key.Key_Right)
    assert win.state.step == 1 and spin.value() == 1  # the key stepped; it did not go into the box
    # typed into with Tab focus, Enter hands the keys back
    spin.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    assert win.state.head == min(2, spin.maximum())
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Right)
    assert win.state.step == 2


# ---------------------------------------------------------------- 4, 5. first view, relaunch


def _launch(qtbot, ini):
    """The window as ``python main.py`` starts it (deferred: torch and the preset load behind it)."""
    from PySide6.QtCore import QSettings

    from widgets.mainwindow import MainWindow

    w = MainWindow(deferred=True, settings=QSettings(str(ini), QSettings.Format.IniFormat))
    w.show()
    with qtbot.waitSignal(w.ready, timeout=TIMEOUT):
        w.start_loading()
    return w


def _close(qapp, w) -> None:
    ctl = getattr(w, "lectures", None)
    w.close()  # saves the settings
    if ctl is not None:
        ctl.shutdown()
    w.deleteLater()
    qapp.processEvents()


def test_the_first_launch_opens_on_the_presets_own_example(qtbot, qapp, tmp_path):
    w = _launch(qtbot, tmp_path / "w.ini")
    try:
        assert w.state.preset_key == "ko_en_cat"
        assert (w.state.source, w.state.target) == ("나는 고양이로소이다", "I am a cat")
        assert list(w.trace.source_tokens[:2]) == ["나는", "고양이로소이다"]
        assert w.pair_list.currentRow() == w.pair_list.row_of("나는 고양이로소이다", "I am a cat") >= 0
    finally:
        _close(qapp, w)


def test_a_relaunch_restores_sentence_step_lecture_and_language(qtbot, qapp, tmp_path):
    from widgets.lecture_menu import install_lectures

    ini = tmp_path / "w.ini"
    w = _launch(qtbot, ini)
    try:
        ctl = install_lectures(w)
        w.set_pair(5)
        pair = w.bundle.preset.pairs[5]
        w.set_mode("free_running")
        w.set_step(2)
        ctl.combo.setCurrentIndex(ctl.combo.count() - 1)
        lecture = ctl.combo.currentData()
        ctl._set_lang("ko")
    finally:
        _close(qapp, w)
    w = _launch(qtbot, ini)
    try:
        assert (w.state.source, w.state.target, w.state.pair_index) == (pair.source, pair.target, 5)
        assert w.state.mode == "free_running" and w.state.step == min(2, w.state.last_step)
        ctl = install_lectures(w)
        assert ctl.combo.currentData() == lecture and ctl.lang == "ko"
        # your own sentence comes back too, in its boxes
        w.set_sentence("나는 큰 고양이로소이다")
        w.set_step(1)
    finally:
        _close(qapp, w)
    w = _launch(qtbot, ini)
    try:
        assert w.state.source == "나는 큰 고양이로소이다" and w.state.target is None and w.state.step == 1
        assert w.source_edit.text() == "나는 큰 고양이로소이다"
    finally:
        _close(qapp, w)


def test_a_stale_remembered_view_is_clamped_or_ignored_quietly(qtbot, qapp, tmp_path):
    from PySide6.QtCore import QSettings

    from sandbox.presets import load_preset

    ini = tmp_path / "w.ini"
    path = str(find_preset("ko_en_cat"))
    pair = load_preset(path).pairs[3]
    s = QSettings(str(ini), QSettings.Format.IniFormat)
    for key, value in (("last_preset", "ko_en_cat"), ("view/preset_path", path), ("view/source", pair.source),
                       ("view/target", pair.target), ("view/step", 99), ("view/layer", "x"),
                       ("lecture/current", "/no/such/lecture.toml"), ("lecture/lang", "xx")):
        s.setValue(key, value)
    s.sync()
    w = _launch(qtbot, ini)
    try:
        assert w.state.source == pair.source and w.state.step == w.state.last_step  # 99 clamped
        assert w.banner_text == ""
    finally:
        _close(qapp, w)
    s = QSettings(str(ini), QSettings.Format.IniFormat)
    s.setValue("view/source", "a pair removed from the corpus")
    s.setValue("view/own", "false")
    s.sync()
    w = _launch(qtbot, ini)
    try:
        assert w.state.source == "나는 고양이로소이다" and w.banner_text == ""  # the example instead
        from widgets.lecture_menu import install_lectures

        ctl = install_lectures(w)
        assert ctl.lang == "en" and ctl.combo.currentIndex() == 0  # the unknown ones ignored
    finally:
        _close(qapp, w)


# ---------------------------------------------------------------- shipped models open trained


def _same_weights(a, b) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_first_launch_shows_the_shipped_trained_model(qtbot, qapp, tmp_path):
    """A new user's first picture is a trained model's: the one shipped for the default
    preset's own settings, said so in the Model box, with 'cat' looking at 고양이로소이다."""
    from sandbox.lecture_cache import opening_model

    w = _launch(qtbot, tmp_path / "w.ini")
    try:
        preset = load_preset(find_preset("ko_en_cat"))
        assert w.state.trained_steps == preset.training.steps and w.state.trained_origin == SHIPPED_ORIGIN
        assert _same_weights(w.bundle, opening_model(preset)[0])
        assert f"trained {preset.training.steps} steps ({SHIPPED_ORIGIN})" in w.model_view.toPlainText()
        assert w.progress.format() == f"trained {preset.training.steps} steps"
        cat = next(s for s in w.trace.steps if s.gold == "cat")
        weights = cat.attention[0].weights
        assert w.trace.source_tokens[int(weights.argmax())] == "고양이로소이다"
    finally:
        _close(qapp, w)


def test_start_from_seeded_weights_shows_the_untrained_model(qtbot, win):
    from sandbox.model import Bundle

    win.load_preset("ko_en_cat")
    assert win.state.trained_origin == SHIPPED_ORIGIN and win.act_reset.isEnabled()
    assert win.act_reset in win.menuBar().actions()[[a.text() for a in win.menuBar().actions()].index("&Train")].menu().actions()
    win.act_reset.trigger()
    assert win.state.trained_steps == 0 and win.state.trained_origin is None
    assert win.progress.format() == "untrained" and "untrained (seeded weights)" in win.model_view.toPlainText()
    assert _same_weights(win.bundle, Bundle.from_preset(win.bundle.preset))
    # the map is of the seeded model now
    from sandbox.trace import trace

    tr = trace(win.bundle, win.state.source, win.state.target, mode=win.state.mode)
    np.testing.assert_array_equal(win.trace.steps[0].attention[0].weights, tr.steps[0].attention[0].weights)
    # training from there counts from step 0; meanwhile there is nothing to reset
    with qtbot.waitSignal(win.training.finished, timeout=TIMEOUT):
        assert win.start_training(steps=2)
        assert not win.act_reset.isEnabled()
    assert win.state.trained_steps == 2 and win.state.trained_origin is None
    assert win.act_reset.isEnabled()
