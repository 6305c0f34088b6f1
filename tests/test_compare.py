"""Compare view: columns of one preset family, one shared step, training in the background."""

from __future__ import annotations


import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui  # needs PySide6 / pyqtgraph / pytest-qt (`pytest -m "not gui"` skips it)
from PySide6.QtCore import Qt  # noqa: E402


@pytest.fixture
def view(qtbot):
    from widgets.compare import CompareView

    v = CompareView(preset="ko_en_cat_dot")
    qtbot.addWidget(v)
    v.resize(1500, 850)
    v.show()
    yield v
    v.stop()


def _shown_steps(v) -> list:
    """Each column's step as its own widgets show it: the map's highlighted row and the
    step anatomy's header."""
    out = []
    for c in v.columns:
        header = c.step_view.header_text
        t_header = int(header.split("t = ")[1].split("<")[0])
        assert c.map.current_row == c.displayed_step == t_header
        out.append(c.displayed_step)
    return out


def test_default_columns_follow_the_window_preset(view):
    assert [c.key for c in view.columns] == ["ko_en_cat_none", "ko_en_cat_dot", "ko_en_cat"]
    assert [c.bundle.preset.model.attention for c in view.columns] == ["none", "dot", "bahdanau"]
    assert all(c.trace is not None for c in view.columns)
    src = view.pairs[view.pair][0]
    assert all(" ".join(c.trace.source_tokens[:-1]) == src for c in view.columns)


def test_every_column_steps_in_sync(view, qtbot):
    assert _shown_steps(view) == [0, 0, 0]
    view.set_step(2)
    assert view.step == 2 and view.slider.value() == 2
    assert _shown_steps(view) == [2, 2, 2]
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert _shown_steps(view) == [3, 3, 3]
    qtbot.keyClick(view, Qt.Key.Key_Left)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert _shown_steps(view) == [1, 1, 1]
    view.slider.setValue(4)  # the shared slider drives every column too
    assert _shown_steps(view) == [4, 4, 4]
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.step == view.max_step and _shown_steps(view) == [view.max_step] * 3
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert _shown_steps(view) == [0, 0, 0]
    assert view.step_label.text() == f"t = 0 / {view.max_step}"


def test_a_shorter_free_running_column_stays_on_its_last_step(view):
    view.set_mode("free_running")
    assert all(c.trace.mode == "free_running" for c in view.columns)
    view.last_step()
    for c in view.columns:
        assert c.displayed_step == min(view.step, c.n_steps - 1)
        if c.n_steps - 1 < view.step:
            assert "output ended" in c.step_view.header_text


def test_attention_shown_is_the_models_own(view):
    view.set_step(1)
    none, dot = view.columns[0], view.columns[1]
    assert none.map.shown is None  # no attention, no weights
    rec = dot.tindex.record("cross", 0, 0, 1)
    assert dot.step_view.weight_bars.values.tolist() == pytest.approx(rec.weights.tolist())
    assert dot.map.shown[1].tolist() == pytest.approx(rec.weights.tolist())


def test_columns_can_be_added_removed_and_changed(view):
    assert view.add_column() and len(view.columns) == 4
    assert not view.add_column()  # at most four
    assert view.columns[3].key not in [c.key for c in view.columns[:3]]
    assert view.remove_column() and view.remove_column() and len(view.columns) == 2
    assert not view.remove_column()  # at least two
    view.set_step(2)
    view.set_column_preset(1, "ko_en_cat_general")
    assert view.columns[1].key == "ko_en_cat_general"
    assert view.columns[1].bundle.preset.model.attention == "general"
    assert _shown_steps(view) == [2, 2]
    view.set_pair(3)
    assert all(" ".join(c.trace.source_tokens[:-1]) == view.pairs[3][0] for c in view.columns)


def test_a_family_with_a_transformer(qtbot):
    from widgets.compare import CompareView

    v = CompareView(preset="en_ko_transformer")
    qtbot.addWidget(v)
    keys = [c.key for c in v.columns]
    assert "en_ko_transformer" in keys and "en_ko_cats" in keys
    tcol = next(c for c in v.columns if c.key == "en_ko_transformer")
    assert not tcol.lh_combo.isHidden()
    v.set_step(1)
    rec = tcol.tindex.record("cross", tcol.layer, tcol.head, 1)
    assert rec is not None and tcol.map.shown[1].tolist() == pytest.approx(rec.weights.tolist())


def test_train_all_trains_every_column_in_turn(view, qtbot):
    before = [c.trace for c in view.columns]
    assert view.train_all(steps=15)
    assert view.is_training and not view.train_button.isEnabled()
    assert not view.add_button.isEnabled() and not view.columns[0].combo.isEnabled()
    qtbot.waitUntil(lambda: not view.is_training, timeout=60000)
    assert [c.trained_steps for c in view.columns] == [15, 15, 15]
    assert all("trained 15 steps" in c.status.text() for c in view.columns)
    assert all(a is not b for a, b in zip(before, (c.trace for c in view.columns)))
    assert view.train_button.isEnabled() and view.columns[0].combo.isEnabled()
    assert _shown_steps(view) == [view.step] * 3


def test_train_all_stops_and_joins(view, qtbot):
    assert view.train_all(steps=100000)
    qtbot.waitUntil(lambda: view.columns[0].trained_steps > 0, timeout=30000)
    view.set_pair(2)  # while training: the worker re-traces; the GUI never touches the models
    qtbot.waitUntil(lambda: " ".join(view.columns[0].trace.source_tokens[:-1]) == view.pairs[2][0],
                    timeout=30000)
    assert view.stop()  # how long stopping takes: bench/bench_jobs.py
    assert not view.is_training and view.train_button.isEnabled()
    assert "stopped" in view.columns[0].status.text()
    assert "not trained" in view.columns[2].status.text()
    view.set_step(1)
    assert _shown_steps(view) == [1, 1, 1]


def test_install_compare_adds_the_action_and_stops_training_on_close(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from widgets.compare import install_compare

    win = QMainWindow()
    qtbot.addWidget(win)
    win.menuBar().addMenu("&View")
    action = install_compare(win)
    view_menu = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "View")
    assert action in view_menu.actions() and action.text() == "Compare models…"
    action.trigger()
    dlg = win.compare_dialog
    assert dlg.isVisible() and len(dlg.view.columns) >= 2
    assert dlg.view.train_all(steps=100000)
    qtbot.waitUntil(lambda: dlg.view.columns[0].trained_steps > 0, timeout=30000)
    win.close()
    assert not dlg.view.is_training


def test_the_compare_window_fits_the_screen_and_scrolls_its_columns(qtbot):
    """A 1280×720 projector: the compare window opened at 1500×900 (its columns at least
    1529 px wide) and ran off the screen. It fits the screen's available area; the columns
    scroll inside it."""
    from PySide6.QtWidgets import QMainWindow

    from widgets.compare import install_compare

    win = QMainWindow()
    qtbot.addWidget(win)
    win.menuBar().addMenu("&View")
    install_compare(win).trigger()
    dlg = win.compare_dialog
    qtbot.waitExposed(dlg)
    avail = dlg.screen().availableGeometry()
    frame = dlg.frameGeometry()
    assert avail.contains(frame), (frame, avail)
    assert dlg.scroll.widget() is dlg.view
    win.close()


def test_install_compare_on_the_real_window_opens_on_its_preset_and_pair(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from widgets.compare import install_compare
    from widgets.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(win)
    win.load_preset("ko_en_cat_general")
    win.set_pair(2)
    win.set_mode("free_running")
    action = install_compare(win)
    action.trigger()
    v = win.compare_dialog.view
    assert "ko_en_cat_general" in [c.key for c in v.columns]
    assert v.pair == 2 and v.mode == "free_running"
    # arrow keys in the dialog step the comparison, not the window
    win_step = win.step
    qtbot.keyClick(v, Qt.Key.Key_Right)
    assert v.step == 1 and win.step == win_step
    win.close()


def test_a_user_preset_deleted_after_the_dialog_opened_is_a_message_not_a_crash(qtbot, _user_home):
    from sandbox.presets import find_preset, user_presets_dir
    from widgets.compare import CompareView

    path = user_presets_dir() / "my_cat.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    shipped = find_preset("ko_en_cat_dot")
    # a user copy (key my_cat) that reads the same shipped corpus, so it joins ko_en_cat's family
    text = shipped.read_text(encoding="utf-8")
    assert 'file = "corpora/' in text
    text = text.replace('file = "corpora/', f'file = "{(shipped.parent / "corpora").as_posix()}/')
    path.write_text(text, encoding="utf-8")
    v = CompareView(preset="ko_en_cat")
    qtbot.addWidget(v)
    assert any(m.key == "my_cat" for m in v.members)
    path.unlink()
    keys = [c.key for c in v.columns]
    v.set_column_preset(0, "my_cat")  # the column's picker → a slot: must not raise
    assert [c.key for c in v.columns] == keys and v.columns[0].combo.currentData() == keys[0]
    assert "my_cat" in v.info.text()
    assert v.add_column("my_cat") is False and len(v.columns) == len(keys)
    v.columns[0].key = "my_cat"  # as if the column had been built from it before
    assert v.train_all(steps=5) is False and not v.is_training


def test_columns_open_on_the_shipped_trained_models_and_train_all_starts_seeded(view, qtbot):
    """As the window does, each column opens on the model shipped for its preset's own
    settings (said in its status); Train all trains fresh seeded copies."""
    import torch

    from sandbox.lecture_cache import SHIPPED_ORIGIN, opening_model
    from sandbox.model import Bundle

    def same(a, b):
        sa, sb = a.model.state_dict(), b.model.state_dict()
        return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)

    for c in view.columns:
        bundle, steps = opening_model(c.bundle.preset)
        assert steps > 0 and same(c.bundle, bundle), c.key
        assert c.trained_steps == steps and f"trained {steps} steps ({SHIPPED_ORIGIN})" in c.status.text()
    # Train all builds seeded copies (the GUI may not read weights while the worker trains,
    # so the builder is watched instead)
    asked = []
    build = view._build
    view._build = lambda key, seeded=False: asked.append((key, seeded)) or build(key, seeded)
    for c in view.columns:
        assert same(build(c.key, seeded=True)[0], Bundle.from_preset(c.bundle.preset))
    assert view.train_all(steps=2)
    assert asked == [(c.key, True) for c in view.columns]
    qtbot.waitUntil(lambda: not view.is_training, timeout=60_000)
    assert all(c.trained_steps == 2 for c in view.columns)
