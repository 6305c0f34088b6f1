"""Lectures in the window: presenter mode, slide authoring and the Lecture menu.

- :class:`Presenter` turns a :class:`~widgets.mainwindow.MainWindow` into a full-screen
  presentation: the window's chrome (toolbar, pair list, stepping bar) is hidden, the views
  get a large font, and a narration panel docks on the right. → Space PageDown next slide,
  ← Backspace PageUp previous (what presentation clickers send), Home / End first / last,
  ↑ ↓ step t within the slide, R reveals hidden panels, L switches Korean / English, Esc
  leaves: the window is back in free exploration at that slide's state.
- On start the lecture's models are loaded from the cache or trained (seeded) by
  :func:`sandbox.lectures.ensure_trained` on the app's job runner, with a progress bar; leaving stops
  and joins the thread.
- :class:`LectureEditor` (a dock) builds and edits lectures: add the current view as a
  slide, edit titles and narration, reorder, delete, save. Shipped lectures are never
  written; saving one saves a copy in the user's lectures folder.
- :func:`install_lectures` adds a "Lecture" menu and a toolbar combo to a window, without
  the window knowing about lectures.

:func:`apply_slide` is the one way a slide reaches the window; the PDF/PNG export
(``widgets/lecture_export.py``) uses it too, so an exported slide is what the class saw.
"""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import shiboken6
from .keys import focus_keeps_keys
from sandbox.drafts import delete_lecture_draft, write_lecture_draft
from sandbox.shipped import is_within
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QFont, QPixmap
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDockWidget, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QListWidget, QMainWindow, QMenu, QPlainTextEdit, QProgressBar, QPushButton, QSizePolicy,
    QTextBrowser, QToolBar, QVBoxLayout, QWidget,
)

from sandbox.lectures import (
    LANGS, PANELS, Lecture, LectureError, Slide, TrainingStopped, checked_device, clamp_step, ensure_trained,
    find_lecture, image_path, lecture_presets, list_lectures, load_lecture, load_lecture_preset,
    save_lecture, slide_from_view, slide_preset_ref, slide_sentence, user_lectures_dir,
)

from .jobs import JobRunner
from .hooks import window_menu

if TYPE_CHECKING:
    from sandbox.claims import Expect
    from sandbox.model import Bundle

    from .mainwindow import MainWindow

PRESENTER_FONT_SCALE = 1.3
NARRATION_FONT_FACTOR = 1.5  # the narration is read from the back of the room
LANG_NAMES = {"ko": "한국어", "en": "English"}

AUTOSAVE_MS = 1000  # the longest a lecture edit waits to be drafted
NEXT_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_Space, Qt.Key.Key_PageDown, Qt.Key.Key_Return, Qt.Key.Key_Enter)
PREV_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Backspace)


# =============================================================================== applying a slide


@dataclasses.dataclass(frozen=True)
class SlideState:
    """What :func:`apply_slide` did: the step shown, a note for the audience (e.g. the step
    was clamped), and the panels it hid."""

    step: int
    note: str | None
    hidden: tuple[str, ...]


def untrained_bundles(lecture: Lecture) -> dict[str, "Bundle"]:
    """A fresh seeded model for every preset the lecture uses (nothing trained)."""
    from sandbox.model import Bundle

    return {ref: Bundle.from_preset(load_lecture_preset(lecture, ref)) for ref in lecture_presets(lecture)}


def lecture_trained_steps(lecture: Lecture, bundles: dict[str, "Bundle"]) -> dict[str, int]:
    """How many steps :func:`ensure_trained` trains (or trained, for a cached model) each
    preset of the lecture: the lecture's ``train.steps``, else the preset's own."""
    steps = lecture.train.steps
    return {ref: int(steps if steps is not None else b.preset.training.steps) for ref, b in bundles.items()}


def apply_slide(window: "MainWindow", lecture: Lecture, slide: Slide, bundles: dict[str, "Bundle"], *,
                reveal: bool = False, trained_steps: dict[str, int] | None = None) -> SlideState:
    """Put ``window`` into the slide's state: model, sentence, mode, layer/head, step, focused
    panel, strongest cell explained, hidden panels hidden (unless ``reveal``).

    ``trained_steps``: for trained ``bundles``, the steps each was trained (the window's
    Model box says so); None: the bundles are untrained (seeded) models.
    A step past the end of the trace is clamped to its last step; the returned note says so."""
    ref = slide_preset_ref(lecture, slide)
    bundle = bundles[ref]
    if window.bundle is not bundle:
        steps = (trained_steps or {}).get(ref, 0)
        window.set_bundle(bundle, trained_steps=steps, origin="lecture cache" if steps else None)
        set_checked = getattr(window, "set_checked_device", None)
        if set_checked is not None:  # the Model box warns when the model runs elsewhere
            set_checked(checked_device(lecture) if steps else None)
    source, target = slide_sentence(slide, bundle.preset)
    if slide.source is None:
        window.set_pair(slide.pair or 0)
    else:
        window.set_sentence(source, target)
    if window.mode != slide.mode:
        window.set_mode(slide.mode)
    if getattr(slide, "whatif", None) is not None or getattr(slide, "beam", None):
        from .whatif import apply_slide_whatif

        apply_slide_whatif(window, slide, source)
    window.set_layer_head(slide.layer, slide.head)
    n = len(window.trace.steps) if window.trace is not None else 0
    step, note = clamp_step(slide.step, n)
    window.set_step(step)
    views = window.views
    for name in PANELS:
        window.set_panel_hidden(name, False)
    window.focus_panel(slide.panel)
    if views is not None and views.index is not None:  # explain the strongest weight on screen
        view = window.current_view()
        kind = {"masked_self": "masked_self", "encoder_self": "self"}.get(slide.panel, "cross")
        row = 0 if kind == "self" else step
        rec = views.index.record(kind, view["layer"], view["head"], row)
        if rec is not None:
            views.explain_cell(kind, row, int(rec.weights.argmax()))
    hidden = quiz_hidden(slide)
    if not reveal:
        for name in hidden:
            window.set_panel_hidden(name, True)
    return SlideState(step=step, note=note, hidden=hidden)


def _view_with_edits(window) -> dict:
    """``window.current_view()`` plus its What-if edits, for a slide made from the view."""
    return {**window.current_view(), "interventions": getattr(window, "interventions", None)}


def quiz_hidden(slide: Slide) -> tuple[str, ...]:
    """The panels a slide hides until R: its ``hidden`` list, plus the explain panel, whose
    worked example of the strongest weight would give a quiz's answer away."""
    hidden = tuple(slide.hidden)
    if hidden and "explain" not in hidden:
        hidden += ("explain",)
    return hidden


# =============================================================================== training worker


def lecture_models_task(lecture: Lecture, device: str = "cpu"):
    """Load or train every model a lecture uses, as a job: ``(progress, should_stop) ->
    {ref: Bundle}``. Progress values are ``(preset ref, step, steps, preset number, presets)``;
    raises :class:`TrainingStopped` when stopped."""

    def task(progress, should_stop) -> dict:
        refs = lecture_presets(lecture)
        bundles = {}
        for i, ref in enumerate(refs):
            if should_stop():
                raise TrainingStopped("stopped")
            progress((ref, 0, 0, i + 1, len(refs)))

            def cb(m, ref=ref, i=i):
                progress((ref, m.step, m.steps, i + 1, len(refs)))

            bundles[ref] = ensure_trained(lecture, progress=cb, should_stop=should_stop,
                                          preset=ref, device=device)
        return bundles

    return task


# =============================================================================== narration panel


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
        p.lecture_label.setText(self.lecture.title)
        p.counter.setText(self.counter_text)
        from .richtext import formula_html

        p.title.setTextFormat(Qt.TextFormat.RichText)
        p.title.setText(formula_html(s.title))
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
            source, target = slide_sentence(s, self.bundles[slide_preset_ref(self.lecture, s)].preset)
        except (KeyError, IndexError):
            return ""
        mode = s.mode.replace("_", " ")
        arrow = f"{source} → {target}" if target else source
        where = f"t = {self.window.step}"
        view = self.window.current_view()
        if self.bundles[slide_preset_ref(self.lecture, s)].preset.model.kind == "transformer":
            where += f" · layer {view['layer']}, head {view['head']}"
        return f"{arrow} · {mode} · {where}"

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


# =============================================================================== authoring


class LectureEditor(QWidget):
    """Build and edit a lecture next to the live window. Edits are kept as an immutable
    Lecture (``self.lecture``); :meth:`save` validates and writes atomically."""

    changed = Signal()
    saved = Signal(str)
    presentRequested = Signal(int)

    def __init__(self, window: "MainWindow", lecture: Lecture, parent=None, *, dialogs=None,
                 autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(parent)
        from .editor import EditorDialogs

        self.window = window
        self.lecture = lecture
        self.dialogs = dialogs or EditorDialogs()
        self.dirty = False
        self._loading = False
        self._draft_key = lecture.key  # fixed while editing: a new title must not orphan the draft
        # a draft is written at most autosave_ms after the first unsaved change (never restarted)
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(autosave_ms)
        self._autosave.timeout.connect(self.flush_draft)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.title_edit = QLineEdit(lecture.title)
        self.title_edit.textEdited.connect(self._on_lecture_title)
        form.addRow("Lecture", self.title_edit)
        self.preset_label = QLabel(lecture.preset)
        form.addRow("Preset", self.preset_label)
        lay.addLayout(form)
        self.slide_list = QListWidget()
        self.slide_list.currentRowChanged.connect(self._on_row)
        lay.addWidget(self.slide_list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add current view")
        self.up_button = QPushButton("↑")
        self.down_button = QPushButton("↓")
        self.delete_button = QPushButton("Delete")
        self.show_button = QPushButton("Show")
        for b, fn in ((self.add_button, self.add_current_view), (self.up_button, lambda: self.move(-1)),
                      (self.down_button, lambda: self.move(1)), (self.delete_button, self.delete),
                      (self.show_button, self.show_current)):
            b.clicked.connect(fn)
            row.addWidget(b)
        lay.addLayout(row)
        sform = QFormLayout()
        self.slide_title = QLineEdit()
        self.slide_title.textEdited.connect(lambda _t: self._edit_slide())
        sform.addRow("Slide title", self.slide_title)
        self.hidden_edit = QLineEdit()
        self.hidden_edit.setPlaceholderText("panels hidden until R, e.g. anatomy, map")
        self.hidden_edit.editingFinished.connect(self._edit_slide)
        sform.addRow("Hidden", self.hidden_edit)
        self.ko_edit = QPlainTextEdit()
        self.en_edit = QPlainTextEdit()
        for e in (self.ko_edit, self.en_edit):
            e.textChanged.connect(self._edit_slide)
        sform.addRow("한국어", self.ko_edit)
        sform.addRow("English", self.en_edit)
        self.claims_label = QLabel()
        self.claims_label.setWordWrap(True)
        self.claims_label.setToolTip("[[slides.expect]]: what this slide says the model does; "
                                     "`main.py lecture NAME --check` verifies it for several seeds")
        sform.addRow("Claims", self.claims_label)
        crow = QHBoxLayout()
        self.claim_button = QPushButton("Add claim from current view")
        self.claim_button.setToolTip("the step on screen, its token, and the source token(s) with the "
                                     "largest weight in the panel shown (layer and head for a Transformer)")
        self.clear_claims_button = QPushButton("Clear claims")
        self.claim_button.clicked.connect(lambda: self.add_claim_from_view())
        self.clear_claims_button.clicked.connect(self.clear_claims)
        crow.addWidget(self.claim_button)
        crow.addWidget(self.clear_claims_button)
        sform.addRow("", crow)
        lay.addLayout(sform)
        brow = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_as_button = QPushButton("Save As…")
        self.present_button = QPushButton("Present from here")
        self.save_button.clicked.connect(lambda: self._guard(self.save))
        self.save_as_button.clicked.connect(self._save_as_dialog)
        self.present_button.clicked.connect(lambda: self.presentRequested.emit(self.current_index()))
        for b in (self.save_button, self.save_as_button, self.present_button):
            brow.addWidget(b)
        lay.addLayout(brow)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self._refresh_list(0)

    # -- model ---------------------------------------------------------------------------
    def current_index(self) -> int:
        return max(0, self.slide_list.currentRow())

    def _mark_dirty(self) -> None:
        self.dirty = True
        if not self._autosave.isActive():
            self._autosave.start()

    def _set_slides(self, slides: list[Slide], select: int) -> None:
        self.lecture = dataclasses.replace(self.lecture, slides=tuple(slides))
        self._mark_dirty()
        self._refresh_list(select)
        self.changed.emit()

    def _refresh_list(self, select: int) -> None:
        self._loading = True
        self.slide_list.clear()
        for i, s in enumerate(self.lecture.slides):
            self.slide_list.addItem(f"{i + 1}. {s.title}")
        self._loading = False
        if self.lecture.slides:
            self.slide_list.setCurrentRow(max(0, min(select, len(self.lecture.slides) - 1)))
        self._on_row(self.slide_list.currentRow())

    def _on_row(self, row: int) -> None:
        if self._loading:
            return
        self._loading = True
        ok = 0 <= row < len(self.lecture.slides)
        s = self.lecture.slides[row] if ok else None
        self.slide_title.setText(s.title if s else "")
        self.hidden_edit.setText(", ".join(s.hidden) if s else "")
        self.ko_edit.setPlainText(s.narration.get("ko", "") if s else "")
        self.en_edit.setPlainText(s.narration.get("en", "") if s else "")
        self._show_claims(s)
        for w in (self.slide_title, self.hidden_edit, self.ko_edit, self.en_edit, self.up_button,
                  self.down_button, self.delete_button, self.show_button, self.claim_button,
                  self.clear_claims_button):
            w.setEnabled(ok)
        self._loading = False

    def _on_lecture_title(self, text: str) -> None:
        self.lecture = dataclasses.replace(self.lecture, title=text)
        self._mark_dirty()

    def _edit_slide(self) -> None:
        if self._loading:
            return
        i = self.slide_list.currentRow()
        if not 0 <= i < len(self.lecture.slides):
            return
        hidden = tuple(h.strip() for h in self.hidden_edit.text().replace(";", ",").split(",") if h.strip())
        slide = dataclasses.replace(self.lecture.slides[i], title=self.slide_title.text(), hidden=hidden,
                                    narration={"ko": self.ko_edit.toPlainText(), "en": self.en_edit.toPlainText()})
        slides = list(self.lecture.slides)
        slides[i] = slide
        self.lecture = dataclasses.replace(self.lecture, slides=tuple(slides))
        self._mark_dirty()
        item = self.slide_list.item(i)
        if item is not None:
            item.setText(f"{i + 1}. {slide.title}")
        self.changed.emit()

    # -- actions ---------------------------------------------------------------------------
    def set_narration(self, index: int, ko: str, en: str) -> None:
        self.slide_list.setCurrentRow(index)
        self.ko_edit.setPlainText(ko)
        self.en_edit.setPlainText(en)

    def add_current_view(self) -> Slide | None:
        """Append the window's current view as a new slide after the selected one."""
        try:
            slide = slide_from_view(_view_with_edits(self.window), self.lecture)
        except LectureError as e:
            self.status.setText(f"⚠ {e}")
            return None
        slides = list(self.lecture.slides)
        at = self.slide_list.currentRow() + 1 if slides else 0
        slides.insert(at, slide)
        self._set_slides(slides, at)
        return slide

    def _show_claims(self, s: Slide | None) -> None:
        from sandbox.claims import describe_expect

        lines = [describe_expect(e) for e in s.expect] if s is not None else []
        self.claims_label.setText("\n".join(lines) if lines else "none")

    def add_claim_from_view(self) -> "Expect | None":
        """Add to the selected slide the claim the window shows: the step on screen, the token
        there, the key token(s) holding the largest weight in the panel shown (cross, masked
        decoder self; layer and head for a Transformer). The window must show the slide's
        sentence and mode (press Show first)."""
        from sandbox.claims import claim_from_view

        i = self.slide_list.currentRow()
        if not 0 <= i < len(self.lecture.slides):
            return None
        slide = self.lecture.slides[i]
        w = self.window
        view = w.current_view()
        tr = w.trace
        try:
            preset = load_lecture_preset(self.lecture, slide_preset_ref(self.lecture, slide))
        except LectureError as e:
            self.status.setText(f"⚠ {e}")
            return None
        source, target = slide_sentence(slide, preset)
        same = (view.get("preset") == preset.key and view.get("mode") == slide.mode
                and (view.get("source") or "").strip() == source.strip()
                and ((view.get("target") or "").strip() or None) == ((target or "").strip() or None))
        if not same or tr is None:
            self.status.setText(f"⚠ the window does not show slide {i + 1}'s sentence and mode; "
                                "press Show, then step to the cell you mean")
            return None
        panel = view.get("panel") or "map"
        if panel == "encoder_self":
            self.status.setText("⚠ write encoder self-attention claims by hand: kind = \"self\", "
                                "step = the query's source position")
            return None
        kind = "masked_self" if panel == "masked_self" else "cross"
        transformer = w.bundle is not None and w.bundle.preset.model.kind == "transformer"
        layer = int(view.get("layer") or 0) if transformer else None
        head = int(view.get("head") or 0) if transformer else None
        try:
            expect = claim_from_view(tr, int(view.get("step") or 0), kind, layer, head)
        except ValueError as e:
            self.status.setText(f"⚠ {e}")
            return None
        if expect in slide.expect:
            self.status.setText("this claim is already on the slide")
            return expect
        new = dataclasses.replace(slide, expect=tuple(slide.expect) + (expect,))
        slides = list(self.lecture.slides)
        slides[i] = new
        try:
            from sandbox.lectures import validate_lecture

            validate_lecture(dataclasses.replace(self.lecture, slides=tuple(slides)))
        except LectureError as e:
            self.status.setText(f"⚠ {e}")
            return None
        self._set_slides(slides, i)
        from sandbox.claims import describe_expect

        self.status.setText(f"added claim: {describe_expect(expect)}")
        return expect

    def clear_claims(self) -> None:
        i = self.slide_list.currentRow()
        if not 0 <= i < len(self.lecture.slides) or not self.lecture.slides[i].expect:
            return
        slides = list(self.lecture.slides)
        slides[i] = dataclasses.replace(slides[i], expect=())
        self._set_slides(slides, i)

    def move(self, delta: int) -> None:
        i = self.slide_list.currentRow()
        j = i + delta
        slides = list(self.lecture.slides)
        if not (0 <= i < len(slides) and 0 <= j < len(slides)):
            return
        slides[i], slides[j] = slides[j], slides[i]
        self._set_slides(slides, j)

    def delete(self) -> None:
        i = self.slide_list.currentRow()
        slides = list(self.lecture.slides)
        if not 0 <= i < len(slides):
            return
        del slides[i]
        self._set_slides(slides, min(i, len(slides) - 1))

    def show_current(self) -> None:
        """Put the window into the selected slide's state (untrained models are fine here)."""
        i = self.slide_list.currentRow()
        if not 0 <= i < len(self.lecture.slides):
            return
        lec = self.lecture
        slide = lec.slides[i]
        ref = slide_preset_ref(lec, slide)
        w = self.window
        bundle = w.bundle if (w.bundle is not None and w.current_view()["preset"] == load_lecture_preset(lec, ref).key) \
            else untrained_bundles(lec)[ref]
        self._guard(lambda: apply_slide(w, lec, slide, {ref: bundle}))

    def default_save_path(self) -> Path:
        """Where Save writes: the lecture's own file if it is the user's, else (shipped or
        new) the user's lectures folder under the lecture's key."""
        lec = self.lecture
        if lec.path is not None and not lec.is_shipped:
            return Path(lec.path)
        return user_lectures_dir() / f"{lec.key}.toml"

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Validate and write atomically; a shipped lecture is saved as a user copy."""
        target = Path(path) if path is not None else self.default_save_path()
        self.lecture = save_lecture(self.lecture, target)
        self.dirty = False
        self._autosave.stop()
        delete_lecture_draft(self._draft_key)
        self._draft_key = self.lecture.key
        delete_lecture_draft(self._draft_key)
        self.status.setText(f"saved {target}")
        self.saved.emit(str(target))
        return target

    def _save_as_dialog(self) -> None:
        folder = user_lectures_dir()
        try:  # a read-only or missing home is a message here, and the dialog still opens
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.status.setText(f"⚠ cannot create your lectures folder {folder}: {e.strerror or e}")
        path, _ = QFileDialog.getSaveFileName(self, "Save lecture as", str(self.default_save_path()),
                                              "Lecture (*.toml)")
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self._guard(lambda: self.save(path))

    # -- drafts and unsaved edits ---------------------------------------------------------
    @Slot()
    def flush_draft(self) -> None:
        """Write the draft now (or delete it when nothing is unsaved)."""
        self._autosave.stop()
        if not self.dirty:
            delete_lecture_draft(self._draft_key)
            return
        try:
            write_lecture_draft(self._draft_key, self.lecture)
        except (OSError, ValueError) as e:  # a full disk must not stop the editing
            self.status.setText(f"⚠ could not write the draft: {e}")

    def offer_draft(self) -> None:
        """If an earlier session left unsaved edits of this lecture, offer them back. A draft
        that does not validate is set aside (``*.bad``) with a message, never half-restored."""
        from sandbox.drafts import DraftError, find_lecture_draft, read_lecture_draft, set_aside

        lec = self.lecture
        path = find_lecture_draft(self._draft_key, newer_than=lec.path)
        if path is None:
            return
        try:
            draft = read_lecture_draft(path)
        except DraftError as e:
            kept = set_aside(path)
            self.status.setText(f"⚠ ignored the draft of unsaved edits: {e}" + (f"; kept as {kept}" if kept else ""))
            return
        same = (draft.origin is None and lec.path is None) or (
            draft.origin is not None and lec.path is not None and is_within(draft.origin, Path(lec.path))
            and is_within(Path(lec.path), draft.origin))  # inside each other: the same file
        if not same:
            return  # a draft of another file with the same key
        if draft.lecture == lec:
            delete_lecture_draft(self._draft_key)
            return
        if self.dialogs.ask_restore_draft(self, lec.title, path):
            self.lecture = dataclasses.replace(draft.lecture, path=lec.path, source_text=lec.source_text)
            self.title_edit.setText(self.lecture.title)
            self._refresh_list(0)
            self._mark_dirty()
            self.changed.emit()
        else:
            delete_lecture_draft(self._draft_key)

    def discard(self) -> None:
        self._autosave.stop()
        self.dirty = False
        delete_lecture_draft(self._draft_key)

    def maybe_discard(self, parent: QWidget | None = None) -> bool:
        """True when the edits may be left behind: nothing unsaved, or the user chose Save (and
        it worked) or Discard. False on Cancel or a failed save (the draft is kept either way
        until then)."""
        if not self.dirty:
            return True
        self.flush_draft()  # whatever is answered, nothing is lost while the question is open
        answer = self.dialogs.ask_unsaved(parent or self, self.lecture.title or self._draft_key)
        if answer == "save":
            return self._guard(self.save) is not None
        if answer == "discard":
            self.discard()
            return True
        return False

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (LectureError, ValueError, OSError) as e:
            self.status.setText(f"⚠ {e}")
            return None


# =============================================================================== menu and toolbar


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
        self.refresh()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def refresh(self) -> None:
        """Re-read the lecture folders into the menu and the combo."""
        entries = []
        for key, path, is_user in list_lectures():
            try:
                title = load_lecture(path).title
            except LectureError:
                title = f"{key} (broken)"
            entries.append((key, path, is_user, title))
        current = self.combo.currentData()
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
