"""Training inside the window: a worker thread, snapshots, pause / stop, closing mid-run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui  # needs PySide6 / pyqtgraph / pytest-qt (`pytest -m "not gui"` skips it)

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def win(qtbot, tmp_path):
    from widgets.mainwindow import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.load_preset("reverse")
    w.reset_weights()  # seeded weights (not the shipped model): these tests count steps from 0
    yield w
    w.shutdown()
    assert not w.training.is_active


def test_training_delivers_snapshots_and_stops(win, qtbot):
    before = win.trace
    with qtbot.waitSignal(win.training.snapshot, timeout=20000) as sig:
        assert win.start_training(steps=100000)
    snap = sig.args[0]
    assert snap.trace is not None and snap.metrics.step >= 1
    # the GUI shows the worker's trace (traced in the worker thread), never its own
    qtbot.waitUntil(lambda: win.trace is not before, timeout=5000)
    assert win.trace.source_tokens == before.source_tokens
    # while training runs the pair list and preset combo are locked
    assert not win.pair_list.isEnabled() and not win.preset_combo.isEnabled()
    qtbot.waitUntil(lambda: win.loss_plot is not None and len(win.loss_plot.steps) >= 3, timeout=10000)
    assert win.progress.value() >= 1
    qtbot.waitUntil(lambda: len(win.history) >= 1, timeout=10000)
    thread = win.training.thread
    win.stop_training()
    qtbot.waitUntil(lambda: not win.training.is_active, timeout=5000)
    assert thread.isFinished()
    assert win.training.last_status == "stopped"
    assert win.pair_list.isEnabled()
    # scrub the training history back to the first snapshot and forward to live
    n = len(win.history)
    win.show_history(0)
    assert win.trace is win.history[0].trace
    win.show_history(n)
    assert win.trace is not win.history[0].trace


def test_a_what_if_edit_is_refused_while_a_history_point_is_shown(win, qtbot):
    """At a past point of training the map shows that point, so an edit to the trained model
    would be stored but invisible (it appeared only back at live): it is refused, with a
    message, and works again at live."""
    from widgets.whatif import install_whatif

    ctl = install_whatif(win)
    with qtbot.waitSignal(win.training.snapshot, timeout=20000):
        assert win.start_training(steps=100000)
    qtbot.waitUntil(lambda: len(win.history) >= 1, timeout=20000)
    win.stop_training()
    qtbot.waitUntil(lambda: not win.training.is_active, timeout=5000)
    n = len(win.history)
    win.show_history(0)
    assert win.viewing_history
    token = win.trace.steps[0].top_k[1][0]  # not the model's own choice
    assert not ctl.force(0, token)
    assert win.interventions is None and "history slider" in win.banner_text
    win.show_history(n)
    assert not win.viewing_history
    assert ctl.force(0, token)
    assert win.trace.steps[0].forced == token


def test_pause_and_stop_take_effect_between_steps(win, qtbot):
    """Pause holds the worker between steps (no step is taken while paused), resume goes on,
    stop ends the run. How fast they act is measured by bench/bench_jobs.py, not here."""
    with qtbot.waitSignal(win.training.snapshot, timeout=20000):
        win.start_training(steps=100000)
    win.pause_training()
    qtbot.waitUntil(lambda: win.training.is_paused, timeout=5000)
    n = win.training.steps_done
    qtbot.wait(150)
    assert win.training.steps_done == n  # really paused
    win.pause_training()  # resume
    qtbot.waitUntil(lambda: win.training.steps_done > n, timeout=5000)
    win.stop_training()
    qtbot.waitUntil(lambda: not win.training.is_active, timeout=5000)
    assert win.training.last_status == "stopped"


def test_ctrl_r_starts_and_pauses(win, qtbot):
    from PySide6.QtCore import Qt

    with qtbot.waitSignal(win.training.snapshot, timeout=20000):
        qtbot.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert win.is_training
    qtbot.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.training.is_paused, timeout=1000)
    win.stop_training()
    qtbot.waitUntil(lambda: not win.training.is_active, timeout=2000)


def test_training_to_the_end_updates_the_model(win, qtbot):
    with qtbot.waitSignal(win.training.finished, timeout=60000) as sig:
        win.start_training(steps=30)
    status, _message, bundle = sig.args
    assert status == "done"
    assert win.bundle is bundle
    assert "trained 30 steps" in win.model_view.toPlainText()
    assert win.progress.value() == 30
    assert win.history[-1].step == 30


def test_closing_the_window_mid_training_joins_the_worker(qtbot, tmp_path):
    from widgets.mainwindow import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.load_preset("ko_en_cat")
    with qtbot.waitSignal(w.training.snapshot, timeout=20000):
        w.start_training(steps=100000)
    thread = w.training.thread
    w.close()  # how long this takes: bench/bench_jobs.py
    assert not w.training.is_active
    assert thread.isFinished()


def test_non_finite_loss_is_reported(win, qtbot, monkeypatch):
    from sandbox import train

    real = train.Trainer.step

    def step(self):
        if self.step_count >= 3:
            raise train.NonFiniteError("training stopped at step 4: the loss became nan (learning rate 0.005); "
                                       "the weights from step 3 are kept. Lower the learning rate.",
                                       step=4, lr=0.005, what="the loss")
        return real(self)

    monkeypatch.setattr(train.Trainer, "step", step)
    with qtbot.waitSignal(win.training.finished, timeout=20000) as sig:
        win.start_training(steps=100)
    assert sig.args[0] == "nonfinite"
    assert "became nan" in win.banner_text and "Lower the learning rate" in win.banner_text
    assert not win.training.is_active


def test_unavailable_device_is_a_clear_message(win, qtbot):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    win.device_combo.addItem("cuda", "cuda")
    win.device_combo.setCurrentIndex(win.device_combo.count() - 1)
    with qtbot.waitSignal(win.training.finished, timeout=20000) as sig:
        win.start_training(steps=10)
    assert sig.args[0] == "error"
    assert "CUDA" in win.banner_text
    assert win.pair_list.isEnabled()


def test_app_exits_0_when_closed_mid_training(tmp_path):
    """`python main.py`, train, close the window while training: exit status 0, no
    'QThread: Destroyed while thread is still running'."""
    env = dict(os.environ, ATTENTION_SANDBOX_HOME=str(tmp_path), ATTENTION_SANDBOX_LAUNCH_PROBE="train",
               QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "LAUNCH training" in out.stdout
    assert "QThread" not in out.stderr and "Traceback" not in out.stderr


def test_train_again_continues_the_same_model(win, qtbot):
    """Ctrl+R after a finished run: another run of steps on the same model, counted on from
    where it stopped; the loss curve and the training history go on (not a restart)."""
    with qtbot.waitSignal(win.training.finished, timeout=60000):
        win.start_training(steps=20)
    assert "trained 20 steps" in win.model_view.toPlainText()
    first = win.bundle
    n_hist = len(win.history)
    with qtbot.waitSignal(win.training.finished, timeout=60000) as sig:
        assert win.start_training(steps=20)  # what Ctrl+R does, with a shorter run
    status, message, bundle = sig.args
    assert status == "done" and message == "trained 40 steps"
    assert bundle.model is first.model  # the same weights trained on, not a fresh model
    assert "trained 40 steps" in win.model_view.toPlainText()
    assert win.loss_plot.steps == list(range(1, 41))  # the curve continues from step 21
    assert win.progress.value() == 40 and win.progress.maximum() == 40
    assert len(win.history) > n_hist and win.history[-1].step == 40 and win.history[-1].total == 40
    assert [h.step for h in win.history] == sorted(h.step for h in win.history)


def test_the_gui_thread_never_touches_the_model_while_it_trains(win, qtbot, monkeypatch):
    """DESIGN "Threads and devices": only the worker touches the model while it trains —
    not trace(), not model.parameters() (Bundle.device and the Model box read them)."""
    import threading

    import sandbox.trace

    touched = []
    model = win.bundle.model
    real_params, real_trace = model.parameters, sandbox.trace.trace

    def on_gui(what):
        if threading.current_thread() is threading.main_thread() and win.training.is_active:
            touched.append(what)

    def parameters(*a, **k):
        on_gui("model.parameters")
        return real_params(*a, **k)

    def trace(*a, **k):
        on_gui("trace")
        return real_trace(*a, **k)

    monkeypatch.setattr(model, "parameters", parameters)
    monkeypatch.setattr(sandbox.trace, "trace", trace)
    with qtbot.waitSignal(win.training.snapshot, timeout=20000):
        assert win.start_training(steps=100000)
    win.set_mode("free_running")
    win.set_step(2)
    win.next_pair(1)
    win.set_sentence("a b c", None)
    win._on_trace_clicked()
    win.zoom_in()
    qtbot.wait(200)
    win.stop_training()
    qtbot.waitUntil(lambda: not win.training.is_active, timeout=5000)
    assert touched == []



def test_drawing_stays_within_its_share_of_the_run(win, qtbot):
    """The GUI holds the worker while it draws; past DRAW_SHARE of the run's wall time it
    draws nothing (the newest snapshot waits), so training in the window keeps most of its
    headless speed. Here the budget is spent on purpose: no snapshot is drawn until it is
    given back."""
    from widgets.training import DRAW_SHARE

    assert 0 < DRAW_SHARE < 0.5
    drawn = []
    win.training.snapshot.connect(lambda s: drawn.append(s))
    with qtbot.waitSignal(win.training.snapshot, timeout=20000):
        assert win.start_training(steps=100000)
    win.training._held_s = 1e9  # as if the GUI had drawn for a very long time
    qtbot.wait(300)  # a tick that was already under way may still draw
    n = len(drawn)
    qtbot.wait(700)
    assert len(drawn) == n and win.training.is_active
    win.training._held_s = 0.0
    qtbot.waitUntil(lambda: len(drawn) > n, timeout=5000)
    win.stop_training()
    qtbot.waitUntil(lambda: not win.training.is_active, timeout=5000)
