"""The lecture editor dock: :class:`LectureEditor` builds and edits lectures next to the live
window: add the current view as a slide, edit titles and narration, reorder, delete, save.
Shipped lectures are never written; saving one saves a copy in the user's lectures folder.
Edits are drafted (``sandbox.drafts``) so a crash loses at most ``AUTOSAVE_MS``.
"""


from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from sandbox.drafts import delete_lecture_draft, pending_draft, write_lecture_draft
from sandbox.lectures import (Lecture, LectureError, Slide, load_lecture_preset, save_lecture, slide_from_view,
                              slide_preset_ref, slide_sentence, user_lectures_dir)

from .slide_apply import _view_with_edits, apply_slide, untrained_bundles
from .unsaved import may_leave

if TYPE_CHECKING:
    from sandbox.claims import Expect

    from .mainwindow import MainWindow

AUTOSAVE_MS = 1000  # the longest a lecture edit waits to be drafted


def _item_text(i: int, slide: Slide) -> str:
    """A slide's line in the list: number, title, and its own preset when it has one."""
    return f"{i + 1}. {slide.title}" + (f"  [{slide.preset}]" if slide.preset else "")


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
        self.title_edit.setCursorPosition(0)  # show a long title's beginning, not its end
        self.title_edit.textEdited.connect(self._on_lecture_title)
        form.addRow("Lecture", self.title_edit)
        self.title_ko_edit = QLineEdit(lecture.title_ko or "")
        self.title_ko_edit.setCursorPosition(0)
        self.title_ko_edit.setPlaceholderText("한국어 제목 (없으면 영어 제목)")
        self.title_ko_edit.textEdited.connect(self._on_lecture_title_ko)
        form.addRow("강의 제목", self.title_ko_edit)
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
        self.slide_title_ko = QLineEdit()
        self.slide_title_ko.setPlaceholderText("한국어 제목 (없으면 영어 제목)")
        self.slide_title_ko.textEdited.connect(lambda _t: self._edit_slide())
        sform.addRow("슬라이드 제목", self.slide_title_ko)
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
            self.slide_list.addItem(_item_text(i, s))
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
        self.slide_title_ko.setText((s.title_ko or "") if s else "")
        for edit in (self.slide_title, self.slide_title_ko):
            edit.setCursorPosition(0)  # a long title shows its beginning
        self.hidden_edit.setText(", ".join(s.hidden) if s else "")
        self.ko_edit.setPlainText(s.narration.get("ko", "") if s else "")
        self.en_edit.setPlainText(s.narration.get("en", "") if s else "")
        self._show_claims(s)
        for w in (self.slide_title, self.slide_title_ko, self.hidden_edit, self.ko_edit, self.en_edit, self.up_button,
                  self.down_button, self.delete_button, self.show_button, self.claim_button,
                  self.clear_claims_button):
            w.setEnabled(ok)
        self._loading = False

    def _on_lecture_title(self, text: str) -> None:
        self.lecture = dataclasses.replace(self.lecture, title=text)
        self._mark_dirty()

    def _on_lecture_title_ko(self, text: str) -> None:
        self.lecture = dataclasses.replace(self.lecture, title_ko=text.strip() or None)  # empty: none
        self._mark_dirty()

    def _edit_slide(self) -> None:
        if self._loading:
            return
        i = self.slide_list.currentRow()
        if not 0 <= i < len(self.lecture.slides):
            return
        hidden = tuple(h.strip() for h in self.hidden_edit.text().replace(";", ",").split(",") if h.strip())
        slide = dataclasses.replace(self.lecture.slides[i], title=self.slide_title.text(), hidden=hidden,
                                    title_ko=self.slide_title_ko.text().strip() or None,
                                    narration={"ko": self.ko_edit.toPlainText(), "en": self.en_edit.toPlainText()})
        slides = list(self.lecture.slides)
        slides[i] = slide
        self.lecture = dataclasses.replace(self.lecture, slides=tuple(slides))
        self._mark_dirty()
        item = self.slide_list.item(i)
        if item is not None:
            item.setText(_item_text(i, slide))
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
        if slide.preset is not None:
            # The window shows another preset than the lecture's: the slide would carry its own
            # preset (a per-slide override). Say so and let the author choose.
            if not self.dialogs.ask_slide_preset(self, slide.preset, self.lecture.preset):
                self.status.setText(f"not added: the window shows preset {slide.preset}, the lecture is about "
                                    f"{self.lecture.preset} (pick {self.lecture.preset} in the toolbar first)")
                return None
        slides = list(self.lecture.slides)
        at = self.slide_list.currentRow() + 1 if slides else 0
        slides.insert(at, slide)
        self._set_slides(slides, at)
        if slide.preset is not None:
            self.status.setText(f"slide {at + 1} added on preset {slide.preset} (this slide only; the lecture's "
                                f"preset is {self.lecture.preset})")
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
        lec = self.lecture
        pending = pending_draft(self._draft_key, lec, lecture=True)
        if pending.problem:
            self.status.setText(f"⚠ {pending.problem}")
        draft = pending.draft
        if draft is None:
            return
        if self.dialogs.ask_restore_draft(self, lec.title, draft.file):
            self.lecture = dataclasses.replace(draft.lecture, path=lec.path, source_text=lec.source_text)
            self.title_edit.setText(self.lecture.title)
            self.title_ko_edit.setText(self.lecture.title_ko or "")
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
        return may_leave(dirty=self.dirty, name=self.lecture.title or self._draft_key,
                         ask=self.dialogs.ask_unsaved, parent=parent or self,
                         save=lambda: self._guard(self.save) is not None,
                         discard=self.discard, before_asking=self.flush_draft)

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (LectureError, ValueError, OSError) as e:
            self.status.setText(f"⚠ {e}")
            return None
