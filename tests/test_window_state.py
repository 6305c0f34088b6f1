"""widgets/state.py: the window's state object (headless, no window), and the main window's
plug-in API (issue 10): features register guards and hooks instead of writing private fields."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.gui  # needs PySide6 (`pytest -m "not gui"` skips it)

pytest.importorskip("PySide6")


def _trace(n: int) -> SimpleNamespace:
    """Stands for a Trace: the state reads only ``steps``."""
    return SimpleNamespace(steps=[object()] * n)


class Recorder:
    """Every emission of every signal of a WindowState, in order."""

    NAMES = ("presetChanged", "sentenceChanged", "modeChanged", "stepChanged", "layerHeadChanged",
             "traceChanged", "trainedChanged")

    def __init__(self, state) -> None:
        self.calls: list[tuple] = []
        for name in self.NAMES:
            getattr(state, name).connect(lambda *a, n=name: self.calls.append((n, *a)))

    def take(self) -> list[tuple]:
        out, self.calls = self.calls, []
        return out


@pytest.fixture
def state():
    from widgets.state import WindowState

    return WindowState()


def test_the_step_is_clamped_to_the_trace_shown(state):
    assert state.clamp_step(5) == 0 and state.clamp_step(-3) == 0  # no trace: step 0 only
    state.set_trace(_trace(4))
    assert [state.clamp_step(t) for t in (-1, 0, 2, 3, 4, 99)] == [0, 0, 2, 3, 3, 3]
    assert state.set_step(10) == 3 and (state.step, state.wanted_step) == (3, 3)
    assert state.set_step(-2) == 0 and (state.step, state.wanted_step) == (0, 0)


def test_step_signals_fire_once_per_real_change_and_never_for_a_no_op(state):
    state.set_trace(_trace(5))
    rec = Recorder(state)
    state.set_step(2)
    assert rec.take() == [("stepChanged", 2)]
    state.set_step(2)  # the same step
    state.set_step(4)
    state.set_step(9)  # clamps to 4: no change
    assert rec.take() == [("stepChanged", 4)]
    state.show_step(1)
    assert rec.take() == [("stepChanged", 1)] and state.wanted_step == 4  # shown, not chosen


def test_a_shorter_trace_clamps_the_step_shown_not_the_users_step(state):
    full = _trace(6)
    state.set_trace(full)
    state.set_step(4)
    rec = Recorder(state)
    short = _trace(2)
    assert state.set_trace(short, keep_step=True) == 1
    assert (state.step, state.wanted_step) == (1, 4)
    assert rec.take() == [("traceChanged", short), ("stepChanged", 1)]
    assert state.set_trace(full, keep_step=True) == 4
    assert rec.take() == [("traceChanged", full), ("stepChanged", 4)]
    state.set_trace(full, keep_step=True)  # the same trace object at the same step: nothing
    assert rec.take() == []
    assert state.set_trace(_trace(6), keep_step=False) == 0 and state.wanted_step == 0


def test_the_live_trace_is_kept_apart_from_the_trace_shown(state):
    live, point = _trace(3), _trace(3)
    state.set_trace(live, live=True)
    state.set_trace(point)  # a history point
    assert state.trace is point and state.live_trace is live


def test_layer_and_head_are_clamped_to_the_model(state):
    rec = Recorder(state)
    assert not state.set_layer_head(3, 2)  # a seq2seq model: 1 x 1, nothing changes
    assert (state.layer, state.head) == (0, 0) and rec.take() == []
    state.set_limits(2, 4)
    assert rec.take() == []
    assert state.set_layer_head(1, 9) and (state.layer, state.head) == (1, 3)
    assert rec.take() == [("layerHeadChanged", 1, 3)]
    assert not state.set_layer_head(1, 3) and rec.take() == []
    state.set_limits(1, 2)  # a smaller model: clamped once
    assert (state.layer, state.head) == (0, 1) and rec.take() == [("layerHeadChanged", 0, 1)]


def test_mode_sentence_preset_and_training_signal_only_on_change(state):
    rec = Recorder(state)
    with pytest.raises(ValueError, match="unknown mode 'beam'"):
        state.set_mode("beam")
    assert not state.set_mode("teacher_forcing")  # already
    assert state.set_mode("free_running") and not state.set_mode("free_running")
    assert state.set_sentence("나는 고양이로소이다", "I am a cat", 0)
    assert not state.set_sentence("나는 고양이로소이다", "I am a cat", 0)
    assert state.set_sentence("나는 고양이로소이다", "I am a cat", -1)  # now the user's own
    assert state.set_preset("ko_en_cat", "/p/ko_en_cat.toml") and not state.set_preset("ko_en_cat")
    assert state.preset_path == "/p/ko_en_cat.toml"
    assert state.set_trained(400, "lecture cache") and not state.set_trained(400, "lecture cache")
    assert state.set_trained(0, "lecture cache") and state.trained_origin is None  # untrained: no origin
    assert [c[0] for c in rec.take()] == ["modeChanged", "sentenceChanged", "sentenceChanged",
                                         "presetChanged", "trainedChanged", "trainedChanged"]


def test_the_training_history_point_is_clamped_and_follows_live_only_when_asked(state):
    got = []
    state.historyChanged.connect(lambda i, n: got.append((i, n)))
    assert state.following_live and state.clamp_history(3) == 0  # no history: live only
    assert not state.set_history_index(2)  # clamps to 0, which it is
    assert state.set_history_points(3) and (state.history_index, state.history_points) == (3, 3)
    assert [state.clamp_history(i) for i in (-1, 0, 2, 3, 9)] == [0, 0, 2, 3, 3]
    assert state.set_history_index(1) and not state.following_live
    assert not state.set_history_index(1)  # the same point: no signal
    assert state.set_history_points(5, follow=False) and state.history_index == 1  # the point stays
    assert state.set_history_points(6, follow=True) and state.following_live  # live goes on being live
    assert state.set_history_index(-4) and state.history_index == 0
    assert state.set_history_points(0) and state.following_live
    assert got == [(3, 3), (1, 3), (1, 5), (6, 6), (0, 6), (0, 0)]


# ------------------------------------------------------------------ the window binds to it


@pytest.fixture
def window(qapp, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from widgets.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(win)
    win.load_preset("ko_en_cat")
    yield win
    win.shutdown()


def test_the_panels_follow_the_state_and_write_it_once(window):
    st = window.state
    # the preset opens on its own example, the pair its name states (issue 14: not corpus pair 0)
    assert st.trace is window.trace and st.preset_key == "ko_en_cat"
    assert (st.source, st.target) == ("나는 고양이로소이다", "I am a cat")
    p = window.bundle.preset.pairs[st.pair_index]
    assert (p.source, p.target) == (st.source, st.target)
    steps = []
    window.stepChanged.connect(steps.append)
    window.step_slider.setValue(2)  # as a drag does
    assert (st.step, st.wanted_step, window.views.step) == (2, 2, 2) and steps == [2]
    window.set_step(99)  # clamped by the state; the slider follows without writing back
    last = len(window.trace.steps) - 1
    assert window.step_slider.value() == last and st.wanted_step == last and steps == [2, last]
    window.load_preset("en_ko_transformer")
    window.head_spin.setValue(1)
    assert (st.layer, st.head, window.views.head) == (0, 1, 1)
    window.load_preset("ko_en_cat")  # a seq2seq model: layer and head clamp to 0, and so do the spins
    assert (st.layer, st.head) == (0, 0) and (window.head_spin.maximum(), window.head_spin.value()) == (0, 0)
    window.rb_free.setChecked(True)
    assert st.mode == "free_running" and window.trace.mode == "free_running"
    window.pair_list.setCurrentRow(1)
    assert st.pair_index == 1 and st.source == window.bundle.preset.pairs[1].source


def test_a_leave_guard_keeps_the_preset_and_a_close_guard_keeps_the_window(window, qtbot):
    answers = {"leave": False, "close": False}
    stopped = []
    window.add_leave_guard(lambda: answers["leave"], "the test editor")
    window.add_close_guard(lambda: answers["close"])
    window.add_shutdown_hook(lambda: stopped.append(True))
    with pytest.raises(ValueError, match="the test editor has unsaved edits"):
        window.load_preset("reverse")
    assert window.bundle.preset.key == "ko_en_cat"
    answers["leave"] = True
    window.load_preset("reverse")
    assert window.bundle.preset.key == "reverse"
    window.show()
    assert not window.close() and window.isVisible() and stopped == []
    answers["close"] = True
    assert window.close() and stopped == [True]
    window.shutdown()  # idempotent: the hook ran once
    assert stopped == [True]


def test_refresh_presets_lists_a_new_user_preset(window, tmp_path, monkeypatch):
    from sandbox.presets import find_preset, user_presets_dir

    user = user_presets_dir()
    user.mkdir(parents=True, exist_ok=True)
    text = find_preset("reverse").read_text(encoding="utf-8")
    path = user / "state_test_copy.toml"
    path.write_text(text.replace('name = "', 'name = "state test copy of ', 1), encoding="utf-8")
    assert window.preset_combo.findData(str(path)) < 0
    window.refresh_presets()
    assert window.preset_combo.findData(str(path)) >= 0
    assert window.preset_combo.currentData() == window.state.preset_path  # the shown one stays selected


def test_whatif_compares_with_the_unmodified_run_of_the_model_as_trained_now(window):
    """What-if keeps the unmodified run per (model, sentence, mode, trained steps): after
    more training of the same model it is traced again, with the new weights."""
    import numpy as np
    import torch

    from sandbox.trace import trace
    from sandbox.whatif import Interventions, Pin
    from widgets.whatif import install_whatif

    ctl = install_whatif(window)
    window.set_mode("teacher_forcing")
    assert ctl.apply(Interventions(pins=(Pin(1, 0),)))
    before = ctl.original
    assert before is not None
    b = window.bundle
    with torch.no_grad():  # stands for a training run on the same model object
        for p in b.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    window.set_bundle(b, trained_steps=50)
    cv = window.current_view()
    want = trace(b, cv["source"], cv["target"], mode=cv["mode"])
    got = ctl.original
    assert got is not before
    np.testing.assert_allclose(got.steps[0].probs, want.steps[0].probs, rtol=1e-5, atol=1e-7)


def test_the_history_slider_and_the_state_move_together(window, qtbot):
    """The slider writes the history point into the state once; the state's point (clamped)
    moves the slider without the slider writing it back."""
    with qtbot.waitSignal(window.training.snapshot, timeout=20000):
        assert window.start_training(steps=60)  # a history point every step
    qtbot.waitUntil(lambda: len(window.history) >= 2, timeout=20000)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.training.is_active, timeout=5000)
    st, slider, n = window.state, window.history_slider, len(window.history)
    assert (st.history_points, st.history_index) == (n, n) and (slider.maximum(), slider.value()) == (n, n)
    got = []
    st.historyChanged.connect(lambda i, points: got.append(i))
    slider.setValue(0)  # as a drag does
    assert st.history_index == 0 and window.viewing_history and got == [0]
    window.show_history(n + 5)  # clamped to live by the state; the slider follows
    assert st.history_index == n and slider.value() == n and not window.viewing_history and got == [0, n]
