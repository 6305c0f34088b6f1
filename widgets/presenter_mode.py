"""Presenter mode: :class:`Presenter` turns a :class:`~widgets.mainwindow.MainWindow` into a
full-screen presentation: the window's chrome (toolbar, pair list, stepping bar) is hidden,
the views get a large font, and a :class:`NarrationPanel` docks on the right. → Space
PageDown next slide, ← Backspace PageUp previous (what presentation clickers send), Home /
End first / last, ↑ ↓ step t within the slide, R reveals hidden panels, L switches Korean /
English, Esc leaves: the window is back in free exploration at that slide's state.

On start the lecture's models are loaded from the cache, from the shipped checkpoints, or
trained (seeded) by :func:`sandbox.lectures.ensure_trained` on the app's job runner, with a
progress bar; leaving stops and joins the thread.
"""


from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (QApplication, QDockWidget, QHBoxLayout, QLabel, QMainWindow, QProgressBar,
                               QPushButton, QSizePolicy, QTextBrowser, QToolBar, QVBoxLayout, QWidget)

from sandbox.lectures import (LANGS, PANELS, Lecture, LectureError, Slide, TrainingStopped, image_path,
                              slide_preset_ref, slide_sentence, user_lectures_dir)

from .jobs import JobRunner
from .keys import focus_keeps_keys
from .slide_apply import (SlideState, apply_slide, lecture_models_task, lecture_trained_steps, quiz_hidden,
                          untrained_bundles)

if TYPE_CHECKING:
    from sandbox.model import Bundle

    from .mainwindow import MainWindow

PRESENTER_FONT_SCALE = 1.3
NARRATION_FONT_FACTOR = 1.5  # the narration is read from the back of the room
LANG_NAMES = {"ko": "한국어", "en": "English"}
NEXT_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_Space, Qt.Key.Key_PageDown, Qt.Key.Key_Return, Qt.Key.Key_Enter)
PREV_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Backspace)


class NarrationPanel(QWidget):
    """Title, slide counter, narration, optional image, notes, training progress, buttons."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        top = QHBoxLayout()
        self.lecture_label = QLabel()
        self.lecture_label.setWordWrap(True)
        self.counter = QLabel("0 / 0")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.lecture_label, 1)
        top.addWidget(self.counter)
        lay.addLayout(top)
        self.title = QLabel()
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self.context = QLabel()  # the sentence, the mode and the step on screen
        self.context.setWordWrap(True)
        self.context.setStyleSheet("color: #57606a;")
        lay.addWidget(self.context)
        for label in (self.lecture_label, self.counter, self.title, self.context):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.text.setFrameShape(QTextBrowser.Shape.NoFrame)
        lay.addWidget(self.text, 1)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.image.hide()
        lay.addWidget(self.image)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #9a6700;")
        self.note.hide()
        lay.addWidget(self.note)
        prow = QHBoxLayout()
        self.progress_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        for w in (self.progress_label, self.progress, self.cancel_button):
            prow.addWidget(w)
        self.progress_box = QWidget()
        self.progress_box.setLayout(prow)
        prow.setContentsMargins(0, 0, 0, 0)
        self.progress_box.hide()
        lay.addWidget(self.progress_box)
        brow = QHBoxLayout()
        self.prev_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        self.reveal_button = QPushButton("Reveal (R)")
        self.lang_button = QPushButton()
        self.leave_button = QPushButton("Leave (Esc)")
        for b in (self.prev_button, self.next_button, self.reveal_button, self.lang_button, self.leave_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            brow.addWidget(b)
        lay.addLayout(brow)
        self._pixmap: QPixmap | None = None

    def set_fonts(self, base: QFont) -> None:
        f = QFont(base)
        f.setPointSizeF(base.pointSizeF() * NARRATION_FONT_FACTOR)
        self.text.setFont(f)
        self.text.document().setDefaultFont(f)
        t = QFont(base)
        t.setPointSizeF(base.pointSizeF() * 1.6)
        t.setBold(True)
        self.title.setFont(t)
        for w in (self.lecture_label, self.counter, self.context, self.note, self.progress_label):
            w.setFont(base)

    def set_image(self, path: Path | None, missing_text: str) -> None:
        if path is None:
            self.image.hide()
            self._pixmap = None
            return
        pix = QPixmap(str(path)) if path.is_file() else QPixmap()
        if pix.isNull():
            self._pixmap = None
            self.image.setPixmap(QPixmap())
            self.image.setText(missing_text)
            self.image.setStyleSheet("border: 1px dashed #8c959f; color: #57606a; padding: 12px;")
        else:
            self._pixmap = pix
            self.image.setStyleSheet("")
            self._scale_image()
        self.image.show()

    def _scale_image(self) -> None:
        if self._pixmap is not None:
            w = max(100, self.width() - 30)
            self.image.setPixmap(self._pixmap.scaledToWidth(w, Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._scale_image()


def narration_html(text: str) -> str:
    """Narration as HTML: blank lines make paragraphs, single newlines line breaks, and
    plain-text formulas (s_{t-1}, h_j, W1) typeset (widgets.richtext)."""
    from .richtext import paragraphs_html

    return paragraphs_html(text)


def context_line(source: str, target: str | None, mode: str, step: int,
                 layer_head: tuple[int, int] | None = None) -> str:
    """"source → target · teacher forcing · t = 2 · layer 1, head 0": what a slide shows,
    under its title in the presenter and in an exported slide."""
    arrow = f"{source} → {target}" if target else source
    where = f"t = {step}"
    if layer_head is not None:
        where += f" · layer {layer_head[0]}, head {layer_head[1]}"
    return f"{arrow} · {mode.replace('_', ' ')} · {where}"


def missing_image_text(lecture: Lecture, slide: Slide, lang: str) -> str:
    """What to show instead of a slide image that is not there (yet)."""
    name = slide.image or ""
    folder = user_lectures_dir()
    hint = ""
    if Path(name).stem == "bottleneck":
        cmd = f"python main.py bottleneck --json {folder / 'bottleneck.json'}"
        hint = (f" 명령줄에서는 {cmd} 를 실행하면 JSON 옆에 {name}이(가) 만들어집니다." if lang == "ko"
                else f" From a terminal, {cmd} writes {name} beside the JSON.")
    if lang == "ko":
        return (f"그림 {name}이(가) 아직 없습니다. Experiments ▸ Bottleneck experiment… 같은 실험을 실행하고 "
                f"그림을 {folder} 에 {name}(으)로 저장하세요.{hint}")
    return (f"No {name} yet: run the experiment (e.g. Experiments ▸ Bottleneck experiment…) and save its "
            f"plot as {name} in {folder}.{hint}")


# =============================================================================== presenter


class Presenter(QObject):
    """Presenter mode over a MainWindow. ``start()`` enters it; ``leave()`` (Esc) ends it and
    leaves the window at the current slide's state with every panel visible."""

    slideChanged = Signal(int)
    ready = Signal()  # the models are in place and the first slide is shown
    finished = Signal(int)  # left presenter mode at this slide
    failed = Signal(str)

    def __init__(self, window: "MainWindow", lecture: Lecture, *, lang: str = "en", start: int = 0,
                 font_scale: float = PRESENTER_FONT_SCALE, fullscreen: bool = True,
                 device: str | None = None) -> None:
        super().__init__(window)
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(LANGS)}")
        self.window = window
        self.lecture = lecture
        self.lang = lang
        self.index = max(0, min(int(start), len(lecture.slides) - 1))
        self.font_scale = font_scale
        self.fullscreen = fullscreen
        self.device = device or lecture.train.device  # lectures pin their device (default cpu)
        self.claims: list = []  # ClaimResult of the slide shown, measured on the model in use
        self.bundles: dict[str, Bundle] | None = None
        self.trained = False
        self.revealed = False
        self.active = False
        self.state: SlideState | None = None
        self.jobs = JobRunner(self, name="lecture-trainer")
        self.jobs.progress.connect(self._on_job_progress)
        self.jobs.finished.connect(self._on_job_finished)
        self._saved: dict[str, Any] = {}
        self._progress_text = ""
        self.panel = NarrationPanel()
        self.dock = QDockWidget("Lecture", window)
        self.dock.setObjectName("lecture_presenter_dock")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.dock.setWidget(self.panel)
        self.dock.hide()
        p = self.panel
        p.prev_button.clicked.connect(self.prev)
        p.next_button.clicked.connect(self.next)
        p.reveal_button.clicked.connect(self.reveal)
        p.lang_button.clicked.connect(self.toggle_lang)
        p.leave_button.clicked.connect(self.leave)
        p.cancel_button.clicked.connect(self._cancel_training)
        window.installEventFilter(self)  # Close: stop and join the training thread

    # -- properties -----------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.lecture.slides)

    @property
    def slide(self) -> Slide:
        return self.lecture.slides[self.index]

    @property
    def counter_text(self) -> str:
        return f"{self.index + 1} / {self.count}"

    @property
    def is_training(self) -> bool:
        return self.jobs.is_running

    # -- entering and leaving -----------------------------------------------------------
    def start(self) -> None:
        """Enter presenter mode and start loading or training the lecture's models."""
        w = self.window
        if w.views is None:
            raise RuntimeError("the window is still loading; try again in a moment")
        if self.active:
            return
        self.active = True
        self._hide_chrome()
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.show()
        width = w.width() if w.width() > 0 else 1400
        w.resizeDocks([self.dock], [max(360, int(width * 0.27))], Qt.Orientation.Horizontal)
        self._saved["font_scale"] = w.font_scale
        w.set_font_scale(self.font_scale)
        self.panel.set_fonts(w.font())
        QApplication.instance().installEventFilter(self)  # after the window's: ours runs first
        if self.fullscreen:
            self._saved["state"] = w.windowState()
            w.showFullScreen()
        self._update_panel()
        if self.lecture.train.required:
            self.panel.text.setHtml(narration_html(self._training_message()))
        else:
            self.bundles = untrained_bundles(self.lecture)
            self.go(self.index)
        self._start_training()

    def leave(self) -> None:
        """Esc: stop training, restore the window, stay at this slide's state (all panels
        visible) so the class can keep exploring from here."""
        if not self.active:
            return
        self.active = False
        self._stop_training()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        w = self.window
        for name in PANELS:
            w.set_panel_hidden(name, False)
        self._restore_chrome()
        w.removeDockWidget(self.dock)
        self.dock.hide()
        if "font_scale" in self._saved:
            w.set_font_scale(self._saved.pop("font_scale"))
        if self.fullscreen and "state" in self._saved:
            w.setWindowState(self._saved.pop("state"))
        self.finished.emit(self.index)

    def shutdown(self) -> None:
        """Leave if presenting and make sure no thread is left running (idempotent)."""
        self.leave()
        self._stop_training()

    def _hide_chrome(self) -> None:
        self._saved["chrome"] = hide_chrome(self.window)

    def _restore_chrome(self) -> None:
        restore_chrome(self.window, self._saved.pop("chrome", {}))

    # -- training -----------------------------------------------------------------------
    def _training_message(self) -> str:
        if self.lang == "ko":
            return "강의에 쓰는 모델을 준비하고 있습니다(캐시에서 불러오거나 학습합니다)…"
        return "Preparing this lecture's models (loading them from the cache or training them)…"

    def _start_training(self) -> None:
        p = self.panel
        p.progress.setRange(0, 0)
        p.progress_label.setText("")
        p.progress_box.show()
        self.jobs.start(lecture_models_task(self.lecture, device=self.device))

    def _stop_training(self) -> None:
        self._join()

    def _join(self) -> None:
        self.jobs.shutdown()
        self.panel.progress_box.hide()

    def _cancel_training(self) -> None:
        self.jobs.cancel()

    def _on_job_progress(self, p: tuple) -> None:
        self._on_progress(*p)

    def _on_job_finished(self, result) -> None:
        if result.status == "done":
            self._on_trained(result.value)
        elif result.status == "cancelled" or isinstance(result.exception, TrainingStopped):
            self._on_stopped()
        else:
            e = result.exception
            self._on_failed(str(e) if isinstance(e, LectureError) else (result.error or "failed"))

    def _on_progress(self, ref: str, step: int, steps: int, i: int, n: int) -> None:
        p = self.panel
        if steps <= 0:
            p.progress.setRange(0, 0)
            p.progress_label.setText(f"{ref} ({i}/{n})")
        else:
            p.progress.setRange(0, steps)
            p.progress.setValue(step)
            p.progress.setFormat(f"{step} / {steps}")
            p.progress_label.setText(f"training {ref} ({i}/{n})")

    def _on_trained(self, bundles: dict) -> None:
        self._join()
        if not self.active:
            return
        self.bundles = dict(bundles)
        self.trained = True
        self.go(self.index)
        self.ready.emit()

    def _on_failed(self, message: str) -> None:
        self._join()
        if not self.active:
            return
        self.panel.note.setText(f"⚠ {message}")
        self.panel.note.show()
        self.failed.emit(message)
        if self.bundles is None:  # nothing to show: fall back to untrained models, say so
            self.bundles = untrained_bundles(self.lecture)
            self.go(self.index)

    def _on_stopped(self) -> None:
        self._join()
        if not self.active:
            return
        if self.bundles is None:
            if self.lecture.train.required:
                self.leave()
                return
            self.bundles = untrained_bundles(self.lecture)
        self.go(self.index)

    # -- navigation -----------------------------------------------------------------------
    def go(self, index: int) -> None:
        self.index = max(0, min(int(index), self.count - 1))
        self.revealed = False
        if self.bundles is not None:
            trained = lecture_trained_steps(self.lecture, self.bundles) if self.trained else None
            self.state = apply_slide(self.window, self.lecture, self.slide, self.bundles, trained_steps=trained)
        self.claims = self._measure_claims()
        self._update_panel()
        self.slideChanged.emit(self.index)

    def _measure_claims(self) -> list:
        """The slide's claims checked on the trace on screen (the model in use: the lecture's,
        or one the user retrained). Untrained models make no claims."""
        from sandbox.claims import check_claim

        tr = self.window.trace
        if not self.trained or not self.slide.expect or tr is None:
            return []
        return [check_claim(tr, e) for e in self.slide.expect]

    def claim_warning(self) -> str | None:
        """A quiet one-line warning when a claim of this slide fails for the model in use."""
        bad = [r for r in self.claims if not r.holds]
        if not bad:
            return None
        r = bad[0]
        more = f" (+{len(bad) - 1})" if len(bad) > 1 else ""
        if self.lang == "ko":
            return f"⚠ 이 모델에서는 슬라이드의 설명과 다릅니다{more}: {r.reason}"
        return f"⚠ this model does not do what the slide says{more}: {r.reason}"

    def next(self) -> None:
        if self.index < self.count - 1:
            self.go(self.index + 1)

    def prev(self) -> None:
        if self.index > 0:
            self.go(self.index - 1)

    def reveal(self) -> None:
        """R: show the panels this slide hid (the quiz answer)."""
        self.revealed = True
        for name in quiz_hidden(self.slide):
            self.window.set_panel_hidden(name, False)
        # Un-hiding a tab leaves the tab widget on whichever tab it fell back to while the
        # slide's own was hidden: show the slide's panel, as the slide says.
        self.window.focus_panel(self.slide.panel)
        self._update_panel()

    def set_lang(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(LANGS)}")
        self.lang = lang
        self._update_panel()

    def toggle_lang(self) -> None:
        self.set_lang("en" if self.lang == "ko" else "ko")

    def _update_panel(self) -> None:
        p = self.panel
        s = self.slide
        p.lecture_label.setText(self.lecture.heading(self.lang))
        p.counter.setText(self.counter_text)
        from .richtext import formula_html

        p.title.setTextFormat(Qt.TextFormat.RichText)
        p.title.setText(formula_html(s.heading(self.lang)))
        p.context.setText(self._context_text())
        other = "en" if self.lang == "ko" else "ko"
        p.lang_button.setText(f"{LANG_NAMES[other]} (L)")
        if self.bundles is not None or not self.lecture.train.required:
            p.text.setHtml(narration_html(s.text(self.lang)))
        p.set_image(image_path(self.lecture, s), missing_image_text(self.lecture, s, self.lang))
        notes = []
        if self.state is not None and self.state.note:
            notes.append(self.state.note)
        if s.hidden and not self.revealed:
            names = ", ".join(s.hidden)
            notes.append(f"숨긴 패널: {names} — R을 누르면 보입니다" if self.lang == "ko"
                         else f"hidden: {names} — press R to reveal")
        if self.bundles is not None and not self.trained and not self.is_training:
            notes.append("이 모델은 학습되지 않았습니다" if self.lang == "ko" else "this model is untrained")
        warning = self.claim_warning()
        if warning and (self.revealed or not s.hidden):  # a quiz keeps its answer until R
            notes.append(warning)
        p.note.setText(" · ".join(notes))
        p.note.setVisible(bool(notes))
        p.reveal_button.setEnabled(bool(s.hidden) and not self.revealed)
        p.prev_button.setEnabled(self.index > 0)
        p.next_button.setEnabled(self.index < self.count - 1)

    def _context_text(self) -> str:
        if self.bundles is None or self.state is None:
            return ""
        s = self.slide
        try:
            bundle = self.bundles[slide_preset_ref(self.lecture, s)]
            source, target = slide_sentence(s, bundle.preset)
        except (KeyError, IndexError):
            return ""
        view = self.window.current_view()
        heads = (view["layer"], view["head"]) if bundle.preset.model.kind == "transformer" else None
        return context_line(source, target, s.mode, self.window.step, heads)

    # -- keys -------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Close and obj is self.window:
            self.shutdown()  # never leave the training thread running behind a closed window
            return False
        if not self.active or ev.type() != QEvent.Type.KeyPress or not isinstance(obj, QWidget):
            return False
        try:
            if QWidget.window(obj) is not self.window:  # (LectureEditor.window shadows the method)
                return False
        except RuntimeError:
            return False
        mods = ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
            return False
        if focus_keeps_keys(self.window, obj):  # typing in a text input is text (widgets.keys)
            return False
        key = ev.key()
        if key in NEXT_KEYS:
            self.next()
        elif key in PREV_KEYS:
            self.prev()
        elif key == Qt.Key.Key_Home:
            self.go(0)
        elif key == Qt.Key.Key_End:
            self.go(self.count - 1)
        elif key == Qt.Key.Key_Down:
            self.window.next_step()
            self.panel.context.setText(self._context_text())
        elif key == Qt.Key.Key_Up:
            self.window.prev_step()
            self.panel.context.setText(self._context_text())
        elif key == Qt.Key.Key_R:
            self.reveal()
        elif key == Qt.Key.Key_L:
            self.toggle_lang()
        elif key == Qt.Key.Key_Escape:
            self.leave()
        else:
            return False
        return True


def _left_panel(window: QMainWindow) -> QWidget | None:
    split = getattr(window, "main_split", None)
    if split is None or split.count() < 2:
        return None
    return split.widget(0)


def hide_chrome(window: QMainWindow) -> dict[str, Any]:
    """Hide everything but the views (toolbars, pair list, stepping bar, menu and status
    bars); returns what :func:`restore_chrome` needs to put it back."""
    w = window
    shown = w.isVisible()
    saved: dict[str, Any] = {"toolbars": []}
    bottom = getattr(w, "bottom", None)
    left = _left_panel(w)
    for name, widget in (("bottom", bottom), ("left", left)):
        if widget is not None:
            saved[name] = widget.isVisible() or not shown
            widget.hide()
    for tb in w.findChildren(QToolBar):
        saved["toolbars"].append((tb, tb.isVisible() or not shown))
        tb.hide()
    for dock in w.findChildren(QDockWidget):  # the preset editor: the slides need the room
        saved.setdefault("docks", []).append((dock, dock.isVisible()))
        dock.hide()
    saved["menubar"] = w.menuBar().isVisible() or not shown
    w.menuBar().hide()
    saved["statusbar"] = w.statusBar().isVisible() or not shown
    w.statusBar().hide()
    return saved


def restore_chrome(window: QMainWindow, saved: dict[str, Any]) -> None:
    w = window
    for name, widget in (("bottom", getattr(w, "bottom", None)), ("left", _left_panel(w))):
        if widget is not None and saved.get(name, True):
            widget.show()
    for tb, vis in saved.get("toolbars", []):
        tb.setVisible(vis)
    for dock, vis in saved.get("docks", []):
        if vis and shiboken6.isValid(dock):
            dock.show()
    w.menuBar().setVisible(saved.get("menubar", True))
    w.statusBar().setVisible(saved.get("statusbar", True))
