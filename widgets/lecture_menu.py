"""The Lecture menu: :func:`install_lectures` adds a "Lecture" menu and a toolbar combo to a
window, without the window knowing about lectures; :class:`LectureController` opens the
presenter and the editor dock from it.
"""


from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QComboBox, QDockWidget, QFileDialog, QLabel, QToolBar, QWidget

from sandbox.lectures import (LANGS, Lecture, LectureError, find_lecture, list_lectures, load_lecture,
                              slide_from_view, user_lectures_dir)

from .hooks import window_menu
from .lecture_editor import LectureEditor
from .presenter_mode import LANG_NAMES, Presenter
from .slide_apply import _view_with_edits
from .unsaved import ask_before_closing

if TYPE_CHECKING:
    from .mainwindow import MainWindow


class LectureController(QObject):
    """What :func:`install_lectures` adds to a window: the Lecture menu, a toolbar combo, the
    editor dock, and the presenter while one runs."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.presenter: Presenter | None = None
        self.editor: LectureEditor | None = None
        self.editor_dock: QDockWidget | None = None
        self.lang = "en"
        self.extra_actions: list[QAction] = []
        self.menu = window_menu(window, "&Lecture")  # before Help, like every other menu
        self.combo = QComboBox()
        self.combo.setToolTip("lectures: shipped first, then yours")
        self.combo.setMinimumContentsLength(18)
        self.present_action = QAction("Present ▶", window)
        self.present_action.setToolTip("present the chosen lecture full screen (F5)")
        self.present_action.setShortcut("F5")
        self.present_action.triggered.connect(lambda: self.present_key(self.combo.currentData()))
        window.addAction(self.present_action)
        # A toolbar of its own that wraps onto a new row when the window is narrow, so
        # "Present" is never hidden behind the main toolbar's "»" overflow.
        tb = QToolBar("lecture")
        tb.setObjectName("lecture_toolbar")
        tb.addWidget(QLabel(" lecture "))
        tb.addWidget(self.combo)
        tb.addAction(self.present_action)
        self.toolbar = tb
        add = getattr(window, "add_toolbar", None)
        if add is not None:
            add(tb)
        else:
            window.addToolBar(tb)
        self._restore_settings()
        self.refresh()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # Settings keys (the window's settings object; written by the window's save_settings).
    LECTURE_KEY, LANG_KEY = "lecture/current", "lecture/lang"

    def _restore_settings(self) -> None:
        """The lecture chosen and the narration language of the last session; a lecture that
        is gone or a language not offered is ignored."""
        s = getattr(self.window, "settings", None)
        if s is None:
            return
        lang = s.value(self.LANG_KEY, self.lang)
        if isinstance(lang, str) and lang in LANGS:
            self.lang = lang
        current = s.value(self.LECTURE_KEY, "")
        self._wanted_lecture = current if isinstance(current, str) and current else None

    def save_settings(self, s) -> None:
        """Write the lecture chosen and the narration language into ``s`` (QSettings)."""
        current = self.combo.currentData()
        if current:
            s.setValue(self.LECTURE_KEY, str(current))
        s.setValue(self.LANG_KEY, self.lang)

    def refresh(self) -> None:
        """Re-read the lecture folders into the menu and the combo."""
        entries = []
        for key, path, is_user in list_lectures():
            try:
                title = load_lecture(path).heading(self.lang)
            except LectureError:
                title = f"{key} (broken)"
            entries.append((key, path, is_user, title))
        current = self.combo.currentData()
        if current is None:  # the first fill: the last session's lecture, if it is still there
            current = getattr(self, "_wanted_lecture", None)
        self.combo.blockSignals(True)
        self.combo.clear()
        for key, path, is_user, title in entries:
            self.combo.addItem(f"{title}{'  [yours]' if is_user else ''}", str(path))
        if current is not None:
            i = self.combo.findData(current)
            if i >= 0:
                self.combo.setCurrentIndex(i)
        self.combo.blockSignals(False)
        m = self.menu
        m.clear()
        pres = m.addMenu("Present")
        for key, path, is_user, title in entries:
            a = pres.addAction(f"{title}{'  [yours]' if is_user else ''}")
            a.triggered.connect(lambda _=False, p=str(path): self.present_key(p))
        langm = m.addMenu("Narration language")
        for lang in LANGS:
            a = langm.addAction(LANG_NAMES[lang])
            a.setCheckable(True)
            a.setChecked(lang == self.lang)
            a.triggered.connect(lambda _=False, l=lang: self._set_lang(l))
        m.addSeparator()
        edit = m.addMenu("Edit lecture")
        for key, path, is_user, title in entries:
            a = edit.addAction(f"{title}{'  [yours]' if is_user else ''}")
            a.triggered.connect(lambda _=False, p=str(path): self.edit_key(p))
        m.addAction("New lecture from this view", self.new_from_view)
        m.addAction("Open lecture file…", self._open_dialog)
        if self.extra_actions:  # added by other modules (lecture_export.install_export)
            m.addSeparator()
            for a in self.extra_actions:
                m.addAction(a)
        m.addSeparator()
        m.addAction("Show lectures folder path", lambda: self._message(f"your lectures: {user_lectures_dir()}"))

    def _set_lang(self, lang: str) -> None:
        self.lang = lang
        if self.presenter is not None and self.presenter.active:
            self.presenter.set_lang(lang)
        self.refresh()

    def _message(self, text: str, kind: str = "info") -> None:
        show = getattr(self.window, "show_banner", None)
        if show is not None:
            show(html.escape(text), kind)

    def _load(self, key_or_path: str | None) -> Lecture | None:
        if not key_or_path:
            return None
        try:
            return load_lecture(find_lecture(key_or_path))
        except LectureError as e:
            self._message(str(e), "error")
            return None

    def present_key(self, key_or_path: str | None, start: int = 0) -> Presenter | None:
        lec = self._load(key_or_path)
        return self.present(lec, start) if lec is not None else None

    def present(self, lecture: Lecture, start: int = 0, **kw) -> Presenter | None:
        if self.presenter is not None and self.presenter.active:
            self.presenter.leave()
        if self.window.views is None:
            self._message("the window is still loading; try again in a moment", "warning")
            return None
        confirm = getattr(self.window, "confirm_stop_training", None)
        if confirm is not None and not confirm("Presenting a lecture"):
            return None  # Cancel: the window's training goes on
        kw.setdefault("lang", self.lang)
        self.presenter = Presenter(self.window, lecture, start=start, **kw)
        self.presenter.finished.connect(self._on_presenter_finished)
        self.presenter.start()
        return self.presenter

    def _on_presenter_finished(self, index: int) -> None:
        if self.presenter is not None:
            self.lang = self.presenter.lang

    def edit_key(self, key_or_path: str) -> LectureEditor | None:
        lec = self._load(key_or_path)
        return self.edit(lec) if lec is not None else None

    def edit(self, lecture: Lecture) -> LectureEditor:
        """Open ``lecture`` in the editor dock. Unsaved edits of the lecture being edited are
        asked about first (Save / Discard / Cancel); on Cancel the current editor stays."""
        if self.editor is not None and shiboken6.isValid(self.editor) and not self.editor.maybe_discard(self.window):
            return self.editor
        if self.editor_dock is None:
            self.editor_dock = QDockWidget("Lecture editor", self.window)
            self.editor_dock.setObjectName("lecture_editor_dock")
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.editor_dock)
            ask_before_closing(self.editor_dock, self._editor_may_close)  # ✕: Save / Discard / Cancel
        old = self.editor
        self.editor = LectureEditor(self.window, lecture)
        self.editor.presentRequested.connect(lambda i: self.present(self.editor.lecture, i))
        self.editor.saved.connect(lambda _p: self.refresh())
        self.editor_dock.setWidget(self.editor)
        if old is not None:
            old._autosave.stop()
            old.deleteLater()
        self.editor_dock.show()
        self.editor.offer_draft()
        return self.editor

    def _editor_may_close(self) -> bool:
        editor = self.editor
        if editor is None or not shiboken6.isValid(editor):
            return True
        if not editor.maybe_discard(self.window):
            return False
        editor.flush_draft()
        return True

    def new_from_view(self) -> LectureEditor | None:
        view = self.window.current_view()
        if not view.get("preset"):
            self._message("open a preset first", "warning")
            return None
        from sandbox.lectures import TrainSpec

        stub = Lecture(title="New lecture", preset=str(view["preset"]), train=TrainSpec(), slides=())
        try:
            slide = slide_from_view(_view_with_edits(self.window), stub, title="Slide 1")
        except LectureError as e:
            self._message(str(e), "error")
            return None
        return self.edit(dataclasses.replace(stub, slides=(slide,)))

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open lecture", str(user_lectures_dir()),
                                              "Lecture (*.toml)")
        if path:
            self.edit_key(path)

    def shutdown(self) -> None:
        if self.presenter is not None:
            self.presenter.shutdown()


def install_lectures(window: "MainWindow") -> LectureController:
    """Add the Lecture menu, the toolbar's lecture combo and F5 (present) to ``window``.
    Idempotent; the controller is kept on the window as ``window.lectures``."""
    existing = getattr(window, "lectures", None)
    if isinstance(existing, LectureController):
        return existing
    controller = LectureController(window)
    window.lectures = controller  # type: ignore[attr-defined]
    # Closing the window must stop a presenter's training thread too.
    window.installEventFilter(_CloseWatcher(window, controller))
    return controller


class _CloseWatcher(QObject):
    def __init__(self, window: QWidget, controller: LectureController) -> None:
        super().__init__(window)
        self.controller = controller

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Close and obj is self.parent():
            editor = self.controller.editor
            if editor is not None and shiboken6.isValid(editor):
                if not editor.maybe_discard(self.parent()):  # Cancel: the window stays open
                    ev.ignore()
                    return True
                editor.flush_draft()
            self.controller.shutdown()
        return False
