"""Issue 13, fault kinds (window side, pytest-qt offscreen): one test per kind.

Each test was run against the code before its fix and failed there.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui
from PySide6.QtCore import QSettings  # noqa: E402

from helpers import main_window, tiny_preset  # noqa: E402
from sandbox.model import Bundle  # noqa: E402
from sandbox.presets import find_preset, load_preset, loads_preset  # noqa: E402

S2S = {"kind": "seq2seq", "cell": "gru", "attention": "bahdanau", "embed": 8, "hidden": 8}
TRAIN = {"steps": 5, "batch_size": 4, "lr": 0.01, "teacher_forcing": 1.0, "seed": 0}


def overflowing_bundle() -> Bundle:
    """A Bahdanau model whose weights are huge but finite: its scores overflow to +inf and
    its weights to NaN."""
    b = Bundle.from_preset(loads_preset(tiny_preset("huge", S2S, TRAIN)))
    with torch.no_grad():
        w = b.model.scorer.v.weight
        w.copy_(torch.where(w >= 0, 3e38, -3e38))
        b.model.scorer.W1.weight.mul_(100)
    assert all(torch.isfinite(p).all() for p in b.model.parameters())
    return b


@pytest.fixture
def window(qapp, tmp_path):
    with main_window(qapp, tmp_path / "w.ini") as win:
        yield win


def _labels(bars) -> list[str]:
    return [lab[2] for lab in bars.labels._labels]


# ----------------------------------------------------------------------------- item 3


def test_nan_is_labelled_nan_never_masked(window, qapp):
    window.set_bundle(overflowing_bundle())
    window.set_sentence("a b c", "x y z")
    window.set_step(0)
    qapp.processEvents()
    views = window.views
    rec = views.index.record("cross", 0, 0, 0)
    assert np.isnan(rec.weights).all() and np.isposinf(rec.energies).all()
    an = views.anatomy
    w, e = _labels(an.weight_bars), _labels(an.energy_bars)
    assert w == ["NaN"] * len(w) and len(w) == rec.weights.shape[0]
    assert e == ["+∞"] * len(e)
    assert not any("masked" in t for t in w + e)
    m = views.cross_map
    assert "NaN" in m.describe_cell(0, 0) and "masked" not in m.describe_cell(0, 0).replace("not a mask", "")
    views.explain_cell("cross", 0, 1)
    text = views.explain.toPlainText()
    assert "NaN" in text and "is masked" not in text


def test_masked_energies_are_still_labelled_masked(qapp):
    """−inf is what a mask writes; those keys keep their "masked" label (and weight 0)."""
    from widgets.bars import HBars
    import pyqtgraph as pg

    w = pg.PlotWidget()
    bars = HBars(w.getPlotItem())
    bars.set(np.array([0.5, -np.inf, np.nan, np.inf], np.float32), xrange=(0, 1))
    assert _labels(bars) == ["0.500", "−∞ masked", "NaN", "+∞"]
    w.deleteLater()


# ----------------------------------------------------------------------------- item 4


def test_no_attention_readout_label_comes_from_the_step(window, qapp):
    window.load_preset("ko_en_cat_none")
    window.set_step(0)
    qapp.processEvents()
    an = window.views.anatomy
    step = window.trace.steps[0]
    assert step.concat == ("state",)
    assert an.cat_label == "[s]"
    ticks = an.cat_plot.getAxis("left")._tickLevels
    assert [t for _v, t in ticks[0]] == ["[s]"]
    window.load_preset("ko_en_cat_dot")
    window.set_step(0)
    qapp.processEvents()
    assert window.trace.steps[0].concat == ("context", "state") and an.cat_label == "[c; s]"


# ----------------------------------------------------------------------------- item 5


def test_the_loss_plot_shows_what_was_fed(qapp):
    from sandbox.train import Metrics
    from widgets.lossplot import LossPlot

    plot = LossPlot()
    ms = [Metrics(step=i, steps=3, loss=1.0, token_accuracy=0.5, exact_match=None, steps_per_sec=1.0,
                  elapsed=1.0, lr=0.01, fed_gold=f) for i, f in ((1, 0.4), (2, 0.6), (3, 0.5))]
    plot.add(ms)
    x, y = plot.fed_curve.getData()
    assert list(x) == [1, 2, 3] and list(y) == [0.4, 0.6, 0.5]
    plot.deleteLater()


def test_teacher_forcing_is_explained_once_and_the_same_everywhere():
    """The editor's tooltip is the one text; shipped presets' comments and a new preset's
    comment say "per target token"; the lecture says the coin is tossed per word."""
    from pathlib import Path

    from sandbox.presets import SHIPPED_DIR, TEACHER_FORCING_COMMENT, TEACHER_FORCING_HELP, dumps_preset
    from widgets.editor_settings import _HELP

    assert _HELP["training.teacher_forcing"] is TEACHER_FORCING_HELP
    assert "per token" in TEACHER_FORCING_HELP and "Bengio" in TEACHER_FORCING_HELP
    import dataclasses

    p = load_preset(find_preset("ko_en_cat"))
    assert TEACHER_FORCING_COMMENT in dumps_preset(dataclasses.replace(p, source_text=None))
    for f in sorted(Path(SHIPPED_DIR).glob("*.toml")):
        for line in f.read_text("utf-8").splitlines():
            if line.startswith("teacher_forcing") and "#" in line:
                assert line.split("#", 1)[1].strip() == TEACHER_FORCING_COMMENT, f
    lecture = (Path(SHIPPED_DIR) / "lectures" / "teacher_forcing.toml").read_text("utf-8")
    assert "every target word" in lecture and "Bengio" in lecture


# ----------------------------------------------------------------------------- item 1


def test_history_survives_mode_and_pair_switches_and_explains_its_own_numbers(qtbot, tmp_path):
    from sandbox.explain import compute
    from sandbox.trace import trace
    from widgets.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "h.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    win.load_preset("ko_en_cat")
    win.set_pair(0)  # (the preset opens on its own example; this test checks pairs 0 and 2)
    try:
        with qtbot.waitSignal(win.training.finished, timeout=120000):
            win.start_training(steps=60)
        n = len(win.history)
        assert n >= 3 and all(h.weights is not None for h in win.history)
        point = 1
        win.show_history(point)
        h = win.history[point]
        oracle = Bundle.from_preset(win.bundle.preset)
        oracle.model.load_state_dict(h.weights)

        def check(mode, pair):
            p = win.bundle.preset.pairs[pair]
            want = trace(oracle, p.source, p.target, mode=mode)
            assert win.trace.mode == mode
            assert win.trace.predicted_tokens == want.predicted_tokens
            for gs, ws in zip(win.trace.steps, want.steps):
                np.testing.assert_array_equal(gs.attention[0].weights, ws.attention[0].weights)

        check("teacher_forcing", 0)
        win.set_mode("free_running")
        assert len(win.history) == n and win.history_slider.value() == point
        check("free_running", 0)
        win.set_pair(2)
        assert len(win.history) == n and win.history_slider.value() == point
        check("free_running", 2)
        win.set_mode("teacher_forcing")
        check("teacher_forcing", 2)
        # explain a cell at this point: computed from the record shown, and it matches
        win.set_step(1)
        win.views.explain_cell("cross", 1, 0)
        rec = win.views.index.record("cross", 0, 0, 1)
        ex = compute(rec, 0)
        assert ex.matches and "✓ matches" in win.views.explain.toPlainText()
        live = trace(win.bundle, win.bundle.preset.pairs[2].source, win.bundle.preset.pairs[2].target)
        assert not np.array_equal(live.steps[1].attention[0].weights, rec.weights)
        win.show_history(n)  # back to live
        assert win.trace.predicted_tokens == live.predicted_tokens
    finally:
        win.shutdown()


# ----------------------------------------------------------------------------- item 9


class _Names:
    """Editor dialogs with canned file names (no real dialog opens)."""

    def __init__(self, names):
        from widgets.editor import EditorDialogs

        class D(EditorDialogs):
            def ask_save_name(self, parent, suggestion, problem):
                return names.pop(0) if names else None

            def confirm_overwrite(self, parent, path):
                return False

            def ask_unsaved(self, parent, name):
                return "discard"

            def show_error(self, parent, title, text):
                raise AssertionError(f"{title}: {text}")

        self.dialogs = D()


def _weights(bundle) -> dict:
    return {k: v.detach().clone() for k, v in bundle.model.state_dict().items()}


def test_save_as_keeps_the_trained_model_unless_the_model_must_change(qtbot, tmp_path):
    from sandbox.model import Bundle
    from sandbox.presets import Pair
    from sandbox.trace import trace
    from widgets.editor_install import install_editor
    from widgets.mainwindow import MainWindow

    import json as _json

    from sandbox.presets import user_presets_dir

    pairs = [("나는 학생이다", "I am a student"), ("나는 선생님이다", "I am a teacher"),
             ("나는 고양이로소이다", "I am a cat"), ("너는 학생이다", "you are a student")]
    text = 'name = "cats inline"\n[model]\n' + "\n".join(f"{k} = {_json.dumps(v)}" for k, v in S2S.items())
    text += "\n[training]\n" + "\n".join(f"{k} = {_json.dumps(v)}" for k, v in TRAIN.items()) + "\n"
    for src, tgt in pairs:
        text += f"\n[[pairs]]\nsource = {_json.dumps(src)}\ntarget = {_json.dumps(tgt)}\n"
    user_presets_dir().mkdir(parents=True, exist_ok=True)
    path = user_presets_dir() / "cats_inline.toml"
    path.write_text(text, "utf-8")
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(win)
    win.load_preset(str(path))
    editor = install_editor(win)
    editor.dialogs = _Names(["kept_copy", "kept_reordered", "new_word"]).dialogs
    try:
        # a "trained" model: weights no seeded build has
        trained = Bundle.from_preset(win.bundle.preset)
        with torch.no_grad():
            for p in trained.model.parameters():
                p.add_(torch.randn_like(p) * 0.3)
        win.set_bundle(trained, trained_steps=123)
        before = trace(trained, "나는 학생이다", "I am a student")
        w0 = _weights(trained)

        # 1. Save As with no edits: same model, same weights, still "123 steps"
        assert editor.save_as() is not None
        assert win.bundle.preset.path.name == "kept_copy.toml"
        assert all(torch.equal(w0[k], v) for k, v in _weights(win.bundle).items())
        assert win.state.trained_steps == 123

        # 2. insert, first, a pair made only of known words: no "must be retrained", and the
        #    saved preset keeps the model (its vocabulary rows follow the new token order)
        changed = []
        editor.vocabulary_changed.connect(lambda: changed.append(1))
        assert editor.add_pair(after=-1, pair=Pair("너는 고양이로소이다", "you are a cat")) == 0
        assert editor.needs_retraining() == (False, False) and not changed
        assert editor.retrain_frame.isHidden()
        assert editor.save_as() is not None
        b = win.bundle
        assert b.preset.pairs[0] == Pair("너는 고양이로소이다", "you are a cat") and win.state.trained_steps == 123
        assert b.src_vocab.tokens != trained.src_vocab.tokens  # reordered...
        after = trace(b, "나는 학생이다", "I am a student")
        assert after.predicted_tokens == before.predicted_tokens  # ...and the same model
        for s0, s1 in zip(before.steps, after.steps):
            np.testing.assert_allclose(s1.attention[0].weights, s0.attention[0].weights, rtol=1e-5, atol=1e-6)
            p0 = dict(zip(before.target_vocab, s0.probs))
            p1 = dict(zip(after.target_vocab, s1.probs))
            assert p0.keys() == p1.keys()
            np.testing.assert_allclose([p1[k] for k in p0], list(p0.values()), rtol=1e-5, atol=1e-7)
        # the saved file and the kept model agree (a checkpoint of it loads against the file)
        from sandbox.checkpoint import load_checkpoint, save_checkpoint

        ck = save_checkpoint(b, tmp_path / "k.safetensors")
        load_checkpoint(ck, preset=load_preset(b.preset.path))

        # 3. a new word changes the vocabulary: asked to retrain, and a save starts afresh
        editor.add_pair(after=-1, pair=Pair("나는 호랑이다", "I am a tiger"))
        assert editor.needs_retraining()[0] and changed
        assert editor.save_as() is not None
        fresh = Bundle.from_preset(win.bundle.preset)
        assert all(torch.equal(fresh.model.state_dict()[k], v) for k, v in _weights(win.bundle).items())
        assert win.state.trained_steps == 0
    finally:
        win.training.shutdown()


def test_user_presets_with_one_display_name_are_told_apart(qtbot, tmp_path):
    from sandbox.presets import user_presets_dir
    from widgets.mainwindow import MainWindow

    text = tiny_preset("Same name", S2S, TRAIN)
    d = user_presets_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / "cats_a.toml").write_text(text, "utf-8")
    (d / "cats_b.toml").write_text(text, "utf-8")
    win = MainWindow(settings=QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(win)
    labels = [win.preset_combo.itemText(i) for i in range(win.preset_combo.count())]
    assert len(set(labels)) == len(labels)  # every entry can be told apart
    assert "Same name (cats_a.toml)  [yours]" in labels and "Same name (cats_b.toml)  [yours]" in labels
    shipped = [t for t in labels if "[yours]" not in t]
    assert not any(".toml)" in t for t in shipped)  # unique names stay as they are
    win.training.shutdown()
