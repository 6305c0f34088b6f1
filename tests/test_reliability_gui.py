"""No edit lost (issue 16), in the window: drafts written at most a second after the first
unsaved change, text inputs keep their keys, the lecture editor asks before dropping edits
and keeps a draft, a bad draft or a broken user file does not break start-up, and a
settings file that cannot be written is reported (pytest-qt, offscreen)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QAction  # noqa: E402
from PySide6.QtWidgets import QLineEdit  # noqa: E402

from sandbox.lectures import TrainSpec, find_lecture, load_lecture  # noqa: E402
from sandbox.presets import SHIPPED_DIR, find_preset, load_preset, user_presets_dir  # noqa: E402
from widgets.editor import EditorDialogs, PresetEditor  # noqa: E402
from widgets.editor_drafts import draft_path, dumps_draft, find_draft, read_draft  # noqa: E402
from helpers import main_window  # noqa: E402

TIMEOUT = 60_000


class Answers(EditorDialogs):
    """Canned answers; records every question."""

    def __init__(self, *, restore: bool = True, unsaved: str = "cancel"):
        self.restore, self.unsaved = restore, unsaved
        self.asked: list[tuple] = []

    def ask_restore_draft(self, parent, name, draft):
        self.asked.append(("restore", name))
        return self.restore

    def ask_unsaved(self, parent, name):
        self.asked.append(("unsaved", name))
        return self.unsaved

    def show_error(self, parent, title, text):
        self.asked.append(("error", title, text))


@pytest.fixture
def window(qapp, tmp_path, monkeypatch):
    # no real message box may open in a test (an unfixed start-up would ask about a draft)
    monkeypatch.setattr(EditorDialogs, "ask_restore_draft", lambda self, parent, name, draft: True)
    monkeypatch.setattr(EditorDialogs, "ask_unsaved", lambda self, parent, name: "discard")
    with main_window(qapp, tmp_path / "w.ini", persist=False, preset="ko_en_cat") as win:
        yield win


# --------------------------------------------------------------------------- drafts: maximum delay


def test_steady_editing_is_drafted_within_the_interval(qtbot):
    """One edit every 60 ms for 1.2 s with a 250 ms autosave: a restarting debounce never
    writes (it waits for a pause); a maximum delay writes within 250 ms of the first edit."""
    editor = PresetEditor(dialogs=Answers(), autosave_ms=250)
    qtbot.addWidget(editor)
    assert editor.load_file(find_preset("ko_en_cat"))
    draft = draft_path("ko_en_cat")
    first_seen = None
    text = ""
    t0 = time.monotonic()
    for i in range(20):
        text += "abcdefghij"[i % 10]
        editor.set_setting("description", text)
        qtbot.wait(60)
        if first_seen is None and draft.exists():
            first_seen = i
    assert first_seen is not None, "no draft was written while the user kept typing"
    # what the draft holds is at most one interval behind what was typed
    qtbot.waitUntil(lambda: draft.exists() and read_draft(draft).preset.description == text, timeout=3000)
    assert time.monotonic() - t0 > 0  # (the loop ran; no timing is asserted)


# --------------------------------------------------------------------------- keys


def _type_into(qtbot, widget, text: str) -> None:
    widget.setFocus()
    qtbot.keyClicks(widget, text)


def test_text_boxes_keep_space_arrows_home_end_and_page_keys(qtbot, window):
    from widgets.editor_install import install_editor
    from widgets.presenter import install_lectures

    editor = install_editor(window, dialogs=Answers())
    window.preset_editor_dock.show()
    from PySide6.QtWidgets import QPlainTextEdit

    boxes = editor.settings.findChildren(QPlainTextEdit)
    assert boxes, "the preset editor has a multi-line description box"
    desc = boxes[0]
    ctl = install_lectures(window)
    lecture_editor = ctl.edit(load_lecture(find_lecture("dot_product")))
    lecture_editor.dialogs = Answers(unsaved="discard")
    window.set_step(2)
    view = window.current_view()
    for box in (desc, lecture_editor.en_edit, lecture_editor.ko_edit, lecture_editor.slide_title):
        box.clear()
        _type_into(qtbot, box, "a cat sat")
        for key in (Qt.Key.Key_Left, Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            qtbot.keyClick(box, key)
        got = box.toPlainText() if hasattr(box, "toPlainText") else box.text()
        assert got == "a cat sat", f"{type(box).__name__} lost keys to the window: {got!r}"
        assert window.current_view() == view and not window._play.isActive()
    lecture_editor.discard()


def test_the_presenter_leaves_typing_to_text_inputs(qtbot, window):
    from widgets.presenter import Presenter

    lec = load_lecture(find_lecture("dot_product"))
    lec = dataclasses.replace(lec, train=TrainSpec(steps=2, seed=0))
    p = Presenter(window, lec)
    with qtbot.waitSignal(p.ready, timeout=TIMEOUT):
        p.start()
    box = QLineEdit(p.panel)  # any text input in the presenting window
    p.panel.layout().addWidget(box)
    box.show()
    _type_into(qtbot, box, "a cat sat")
    qtbot.keyClick(box, Qt.Key.Key_Left)
    assert box.text() == "a cat sat" and p.index == 0
    window.views.setFocus()  # elsewhere the keys still drive the slides
    qtbot.keyClick(window.views, Qt.Key.Key_Right)
    assert p.index == 1
    p.leave()


# --------------------------------------------------------------------------- the lecture editor


def test_lecture_editor_asks_before_dropping_edits_and_keeps_a_draft(qtbot, window):
    from sandbox.drafts import find_lecture_draft
    from widgets.presenter import install_lectures

    ctl = install_lectures(window)
    ed = ctl.edit(load_lecture(find_lecture("dot_product")))
    ed.dialogs = Answers(unsaved="cancel")
    ed._autosave.setInterval(50)
    ed.slide_list.setCurrentRow(1)
    ed.en_edit.setFocus()
    qtbot.keyClicks(ed.en_edit, " Extra words.")
    assert ed.dirty
    narration = ed.lecture.slides[1].narration["en"]
    qtbot.waitUntil(lambda: find_lecture_draft("dot_product") is not None, timeout=3000)

    # switching lecture: Cancel keeps the editor and its edits
    other = ctl.edit(load_lecture(find_lecture("bahdanau")))
    assert other is ed and ed.dialogs.asked == [("unsaved", ed.lecture.title)]
    assert ed.lecture.slides[1].narration["en"] == narration
    # closing the window: Cancel keeps it open
    window.close()
    assert window.isVisible() and ed.dirty
    assert [a[0] for a in ed.dialogs.asked] == ["unsaved", "unsaved"]

    # a "crash": the editor is replaced without being asked; its draft is offered back
    ed.dialogs.unsaved = "cancel"
    ed._autosave.stop()
    ed.dirty = False  # (what a killed process leaves: the draft on disk, nothing else)
    again = ctl.edit(load_lecture(find_lecture("dot_product")))
    again.dialogs = Answers()
    again.offer_draft()
    assert again.lecture.slides[1].narration["en"] == narration.strip() and again.dirty  # validated: stripped
    # Discard: switching goes ahead and the draft is gone
    again.dialogs = Answers(unsaved="discard")
    third = ctl.edit(load_lecture(find_lecture("bahdanau")))
    assert third is not again and find_lecture_draft("dot_product") is None
    third.discard()


def test_lecture_save_as_on_an_unwritable_home_is_a_message(qtbot, window, monkeypatch, tmp_path):
    import widgets.lecture_editor as lecture_editor
    from widgets.presenter import install_lectures

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the home folder should be")
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(blocker / "home"))
    ctl = install_lectures(window)
    ed = ctl.edit(load_lecture(find_lecture("dot_product")))
    ed.dialogs = Answers(unsaved="discard")
    target = blocker / "home" / "lectures" / "mine.toml"
    monkeypatch.setattr(lecture_editor.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "Lecture (*.toml)")))
    ed._save_as_dialog()  # no traceback
    assert str(target) in ed.status.text() and "⚠" in ed.status.text()
    assert not target.exists()


# --------------------------------------------------------------------------- start-up


def _bad_draft(path: Path) -> None:
    preset = load_preset(find_preset("ko_en_cat"))
    text = dumps_draft(dataclasses.replace(preset, name="edited"), find_preset("ko_en_cat"))
    path.parent.mkdir(parents=True, exist_ok=True)
    import re

    path.write_text(re.sub(r"(?m)^embed = \d+", "embed = 99999999999999", text), encoding="utf-8")


def test_a_bad_draft_does_not_break_start_up(qtbot, window):
    from widgets.app import install_extras

    draft = draft_path("ko_en_cat")
    _bad_draft(draft)
    install_extras(window)  # no exception
    actions = {a.text() for a in window.findChildren(QAction)}
    assert getattr(window, "lectures", None) is not None
    assert "Compare models…" in actions and "Bottleneck experiment…" in actions
    banner = window.banner_text
    assert str(draft) in banner and "model.embed" in banner
    assert window.preset_editor.preset() == load_preset(find_preset("ko_en_cat"))
    # the bad draft is kept aside, not overwritten by the next autosave
    assert find_draft("ko_en_cat") is None and Path(str(draft) + ".bad").exists()


def test_a_broken_user_preset_named_like_a_shipped_one_still_starts(qtbot, qapp, tmp_path):
    from widgets.mainwindow import MainWindow

    user = user_presets_dir() / "ko_en_cat.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("name = 'cut short\n", encoding="utf-8")
    win = MainWindow(deferred=True, settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat),
                     persist=False)
    try:
        with qtbot.waitSignal(win.ready, timeout=TIMEOUT):
            win.start_loading()
        assert win.bundle is not None and win.bundle.preset.path == SHIPPED_DIR / "ko_en_cat.toml"
        assert win.preset_combo.count() >= len(list(SHIPPED_DIR.glob("*.toml")))
        assert str(user) in win.banner_text and "ignored" in win.banner_text
    finally:
        win.shutdown()
        win.deleteLater()
        qapp.processEvents()


def test_settings_that_cannot_be_written_are_reported(qtbot, qapp, tmp_path, capfd):
    from widgets.mainwindow import MainWindow

    blocker = tmp_path / "file"
    blocker.write_text("x")
    ini = blocker / "settings" / "w.ini"  # its folder cannot exist
    win = MainWindow(settings=QSettings(str(ini), QSettings.Format.IniFormat))
    win.load_preset("reverse")
    win.shutdown()
    win.deleteLater()
    qapp.processEvents()
    err = capfd.readouterr().err
    assert f"could not save the window settings to {ini}" in err


# --------------------------------------------------------------------------- user folder in the shipped tree


@pytest.fixture
def shipped_home(monkeypatch):
    """``$ATTENTION_SANDBOX_HOME`` pointed into the shipped ``presets/`` folder (a folder that
    does not exist yet); removed afterwards whatever the app did."""
    import shutil
    import uuid

    home = SHIPPED_DIR / f"_test_home_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(home))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_window_settings_inside_the_shipped_tree_are_refused(qapp, shipped_home):
    """Issue 16: the window's QSettings file is a user file too; with the user folder pointed
    into presets/ it is never written (no file, no folder) and the reason names the file."""
    import gc

    from widgets.settings import make_settings, settings_path, settings_problem

    ini = settings_path()
    assert ini is not None and ini.is_relative_to(SHIPPED_DIR)
    s = make_settings()
    s.setValue("geometry", b"\x01\x02")
    s.setValue("font_scale", 1.5)
    problem = settings_problem(s)
    del s
    gc.collect()  # a QSettings writes what is pending when it is destroyed
    assert not shipped_home.exists()
    assert problem is not None and str(ini) in problem and "ATTENTION_SANDBOX_HOME" in problem
    assert "\n" not in problem


def test_window_with_its_settings_in_the_shipped_tree_says_so_and_writes_nothing(qtbot, qapp, shipped_home,
                                                                                  capfd):
    from widgets.mainwindow import MainWindow
    from widgets.settings import settings_path

    win = MainWindow(deferred=True)  # its own settings, from the user folder
    try:
        with qtbot.waitSignal(win.ready, timeout=TIMEOUT):
            win.start_loading()
        assert str(settings_path()) in win.banner_text and "not saved" in win.banner_text
        win.set_font_scale(1.25)
    finally:
        win.shutdown()  # saves the settings: refused, with a one-line warning
        win.deleteLater()
        qapp.processEvents()
    assert not shipped_home.exists()
    err = capfd.readouterr().err
    assert "Traceback" not in err and str(settings_path()) in err


def test_drafts_inside_the_shipped_tree_are_refused_with_a_message(qtbot, shipped_home):
    """The editor's autosaved draft goes through the atomic writer, which refuses the shipped
    tree: the editor says so on its status line instead of raising from its timer."""
    editor = PresetEditor(dialogs=Answers())
    qtbot.addWidget(editor)
    assert editor.load_file(find_preset("ko_en_cat"))
    assert editor.set_setting("name", "edited")
    editor.flush_draft()  # raised ShippedFileError (a ValueError) before
    assert not shipped_home.exists()
    text = editor.status_label.text()
    assert "Could not write the draft" in text and "drafts" in text and "read-only" in text

