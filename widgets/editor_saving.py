"""Saving the preset editor's state and keeping a draft of it: Save (in place, or "Save
as…" for a shipped or new preset), "Save as…" into the user folder, the autosaved draft and
its restore after a crash, and the Save / Discard / Cancel guard before edits are left
(:mod:`widgets.unsaved`). A mixin of :class:`widgets.editor.PresetEditor`."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget

from sandbox.presets import Preset, PresetError, list_presets, load_preset, save_preset
from sandbox.shipped import ShippedFileError

from sandbox.drafts import delete_draft, pending_draft, set_aside, write_draft

from .editor_files import check_save_name, is_shipped, run_off_gui_thread, same_file
from .unsaved import may_leave

__all__ = ["EditorSaving"]


class EditorSaving:
    """Save, Save as…, drafts and the unsaved-edits guard (mixed into PresetEditor)."""

    def _refuse(self, message: str) -> None:
        self.status_label.setText(f"<span style='color: rgb(170,0,0)'>{html.escape(message)}</span>")

    def _why_not_save(self) -> str | None:
        if self._state is None:
            return "No preset loaded."
        if self._training:
            return "Saving is off while training runs."
        if self.problems():
            return f"Cannot save: fix the problems first ({self.problems()[0]})."
        return None

    def save(self) -> Path | None:
        """Save in place (a user preset) or, for a shipped or new preset, "Save as…".
        Returns the file written, or None if nothing was saved."""
        why = self._why_not_save()
        if why:
            self._refuse(why)
            return None
        path = self._state.path
        if path is None or is_shipped(path):
            return self.save_as()
        return self._write(Path(path))

    def suggest_name(self) -> str:
        """A free user-folder name: ``<key>_edited`` for a shipped or new preset,
        ``<key>_copy`` for a user preset."""
        state = self._state
        key = state.key if state is not None else "preset"
        base = f"{key}_copy" if state is not None and state.path is not None and not is_shipped(state.path) else f"{key}_edited"
        taken = {k.casefold() for k, _p, _u in list_presets()}
        name, n = base, 2
        while name.casefold() in taken:
            name, n = f"{base}{n}", n + 1
        return name

    def save_as(self, name: str | None = None) -> Path | None:
        """Save a copy in the user folder under ``name`` (asked for when not given, and asked
        again while it is refused: a shipped key, a bad file name, a declined overwrite)."""
        why = self._why_not_save()
        if why:
            self._refuse(why)
            return None
        suggestion, problem = self.suggest_name(), ""
        while True:
            if name is None:
                name = self.dialogs.ask_save_name(self, suggestion, problem)
                if not name:
                    if problem:
                        self._refuse(problem)
                    return None
            target, problem = check_save_name(name)
            name = None
            if target is None:
                continue
            if target.exists() and not same_file(target, self._state.path):
                if not self.dialogs.confirm_overwrite(self, target):
                    problem = f"{target.name} already exists; choose another name."
                    continue
            return self._write(target)

    def _write(self, target: Path) -> Path | None:
        if self._saving:
            return None  # a save is already under way (its nested event loop is running)
        old_key = self._draft_key
        state = self._state

        def write() -> Preset:
            return load_preset(save_preset(state, target))

        self._saving = True
        self.setEnabled(False)  # no edit may slip in between the state saved and the baseline
        try:
            fresh = run_off_gui_thread(write)
            written = Path(fresh.path)
        except (PresetError, ShippedFileError) as e:
            self._refuse(f"Not saved: {e}")
            self.dialogs.show_error(self, "Could not save preset", str(e))
            return None
        finally:
            self._saving = False
            self.setEnabled(True)
        self._autosave.stop()
        if old_key:
            delete_draft(old_key)
        self._baseline = fresh
        self._draft_key = fresh.key
        delete_draft(fresh.key)
        rows = self.selected_rows()
        self._set_state(fresh, rows)
        self._autosave.stop()  # nothing to draft: the state is the file
        self.saved.emit(written)
        return written

    # ------------------------------------------------------------------ drafts

    @Slot()
    def flush_draft(self) -> None:
        """Write the draft now (or delete it when there is nothing unsaved)."""
        self._autosave.stop()
        if self._state is None or not self._draft_key:
            return
        if not self.is_dirty:
            delete_draft(self._draft_key)
            return
        try:
            write_draft(self._draft_key, self._state, self._state.path)
        except OSError as e:  # a full disk must not stop the editing
            self._refuse(f"Could not write the draft: {e.strerror or e}")
        except ShippedFileError as e:  # a user folder pointed into the shipped tree
            self._refuse(f"Could not write the draft: {e}")

    def _offer_draft(self) -> None:
        key, base = self._draft_key, self._baseline
        if not key or base is None:
            return
        pending = pending_draft(key, base)
        if pending.problem:
            self._tell(pending.problem[0].upper() + pending.problem[1:])
        draft = pending.draft
        if draft is None:
            return
        path = draft.file
        if self.dialogs.ask_restore_draft(self, base.name, path):
            try:
                self._push(draft.preset, "Restore unsaved edits", rows_after=[0] if draft.preset.pairs else [])
            except (OverflowError, ValueError, TypeError) as e:  # a value no widget can show
                self.undo_stack.clear()
                self._baseline = self._state = base
                self._refresh()
                kept = set_aside(path)
                self._tell(f"Could not restore the draft {path}: {e}" + (f"; kept as {kept}" if kept else ""))
        else:
            delete_draft(key)

    def _tell(self, message: str) -> None:
        """Show a message in the editor and pass it to the window (``notice``)."""
        self.error_banner.setText(message)
        self.error_banner.show()
        self.notice.emit(message)

    # ------------------------------------------------------------------ guarding edits

    def maybe_discard(self, parent: QWidget | None = None) -> bool:
        """True when the current edits may be left behind: nothing unsaved, or the user
        chose Save (and it worked) or Discard. False on Cancel or a failed save. The draft is
        written before asking (:func:`widgets.unsaved.may_leave`)."""
        return may_leave(dirty=self.is_dirty, name=self._state.name or self._state.key if self._state else "",
                         ask=self.dialogs.ask_unsaved, parent=parent or self,
                         save=lambda: self.save() is not None, discard=self.discard,
                         before_asking=self.flush_draft)
