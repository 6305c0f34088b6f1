"""The preset editor: sentence pairs and settings, edited safely.

Safety rules this widget keeps:

- every edit (pairs and settings) goes through one QUndoStack, and a command stores the
  whole state before and after, so undo restores exactly the previous state;
- problems are the validator's own messages (``pair_problems`` for the pairs,
  ``validate_preset`` for the settings), shown on the cell or field they name, and saving
  is refused until they are fixed;
- shipped presets are never written: their "Save" is "Save as…" into the user folder,
  under a name that does not clash with a shipped one; saves are atomic and keep the
  file's comments (``save_preset``);
- a draft of the edited state is autosaved a second after each change and offered back
  when the preset is opened again (after a crash); it is deleted on save or discard.

The editor holds a :class:`~sandbox.presets.Preset` (frozen) as its state; ``path`` and
``source_text`` come from the file it was loaded from, so comments survive a save.

This module holds the state, the undoable edits and how the widgets follow the state. The
rest, one idea each: ``editor_ui`` (the widgets), ``editor_saving`` (save, save as, drafts,
the unsaved-edits guard), ``editor_files`` (shipped files, save names, saving off the GUI
thread), ``editor_vocab`` (what a trained model depends on), ``editor_dialogs`` (every
question asked), ``editor_pairs`` / ``editor_settings`` (the table and the form),
``editor_install`` (the dock in the window). Old imports from here keep working.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QAbstractItemView, QListWidgetItem, QWidget

from sandbox.presets import (
    MAX_PAIRS,
    SHIPPED_DIR,
    Pair,
    Preset,
    PresetError,
    load_preset,
    pair_problems,
    user_presets_dir,
    validate_preset,
)
from sandbox.vocab import tokenize

from .editor_dialogs import EditorDialogs
from .editor_drafts import delete_draft, find_draft
from .editor_files import check_save_name, is_shipped, run_off_gui_thread, same_file
from .editor_pairs import COLUMNS
from .editor_saving import EditorSaving
from .editor_settings import with_field
from .editor_ui import EditorLayout
from .editor_vocab import model_key, vocab_sets, vocabs

__all__ = ["PresetEditor", "EditorDialogs", "find_draft", "is_shipped", "check_save_name", "run_off_gui_thread"]

AUTOSAVE_MS = 1000
_UNSET = object()  # "nothing checked / shown yet" (None is a state: no preset)
_PLACEHOLDER_PAIR = Pair("a", "b")  # stands in for the pairs when checking only the settings


def _describe_problem(e: PresetError) -> str:
    m = re.fullmatch(r"pairs\[(\d+)\](?:\.(\w+))?", e.field or "")
    if m:
        where = f"Pair {int(m.group(1)) + 1}" + (f" {m.group(2)}" if m.group(2) else "")
        return f"{where}: {e.message}  ({e.field})"
    return f"{e.field}: {e.message}" if e.field else e.message


# --------------------------------------------------------------------------- undo


class _Change(QUndoCommand):
    """One edit: the whole state before and after, plus which row to select."""

    MERGE_ID = 0x5E7

    def __init__(self, editor: "PresetEditor", before: Preset, after: Preset, text: str,
                 merge_key: str | None, rows_before: list[int], rows_after: list[int]) -> None:
        super().__init__(text)
        self.editor, self.before, self.after = editor, before, after
        self.merge_key = merge_key
        self.rows_before, self.rows_after = rows_before, rows_after

    def id(self) -> int:
        return self.MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        # consecutive edits of one field (typing a name, clicking a spin box) are one step
        if getattr(other, "merge_key", None) != self.merge_key or other.before != self.after:
            return False
        self.after, self.rows_after = other.after, other.rows_after
        self.setObsolete(self.after == self.before)
        return True

    def redo(self) -> None:
        self.editor._set_state(self.after, self.rows_after)

    def undo(self) -> None:
        self.editor._set_state(self.before, self.rows_before)


# --------------------------------------------------------------------------- the editor


class PresetEditor(EditorLayout, EditorSaving, QWidget):
    """Edits one preset in memory; saves to the user's preset folder.

    Signals: ``changed`` after every state change; ``saved(Path)`` after a save;
    ``vocabulary_changed`` when an edit changes the source or target vocabulary;
    ``model_changed`` when an edit changes what the model is built from;
    ``train_requested`` from "Train now"; ``preset_opened(Path)`` when the user opened a
    valid file with "Open preset file…"; ``status_changed`` when what the menus show
    (can save, dirty, training) may have changed.
    """

    changed = Signal()
    saved = Signal(object)
    vocabulary_changed = Signal()
    model_changed = Signal()
    train_requested = Signal()
    preset_opened = Signal(object)
    status_changed = Signal()  # can_save / dirty / training may have changed (menus follow it)
    notice = Signal(str)  # a one-line message for the window (e.g. a draft that was ignored)

    def __init__(self, parent: QWidget | None = None, *, dialogs: EditorDialogs | None = None,
                 autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(parent)
        self.dialogs = dialogs or EditorDialogs()
        self._baseline: Preset | None = None  # the preset as last loaded or saved
        self._state: Preset | None = None  # the edited preset (may be invalid)
        self._reference: Preset | None = None  # what the window's model was built from
        self._draft_key: str | None = None
        self._saving = False
        self._training = False
        self._problems: list[PresetError] = []
        self._settings_problem: PresetError | None = None
        self._checked: Preset | None | object = _UNSET  # the state _problems belong to
        self._shown: Preset | None | object = _UNSET  # the state the table and form show

        self.undo_stack = QUndoStack(self)
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(autosave_ms)
        self._autosave.timeout.connect(self.flush_draft)

        self._build_ui()
        self._build_actions()
        self._refresh()

    # ------------------------------------------------------------------ UI

    # ------------------------------------------------------------------ public state

    def preset(self) -> Preset:
        """The edited state as a Preset (path and source_text of the loaded file kept);
        it may be invalid: see :meth:`problems`."""
        if self._state is None:
            raise RuntimeError("no preset loaded")
        return self._state

    def has_preset(self) -> bool:
        return self._state is not None

    @property
    def is_dirty(self) -> bool:
        """True when the edited state differs from the file as last loaded or saved."""
        return self._state is not None and self._state != self._baseline

    @property
    def is_training(self) -> bool:
        return self._training

    @property
    def can_save(self) -> bool:
        return self._state is not None and not self._problems and self._settings_problem is None and not self._training

    @property
    def saves_as_copy(self) -> bool:
        """True when "Save" must ask for a name: a shipped preset, or one never saved."""
        return self._state is not None and (self._state.path is None or is_shipped(self._state.path))

    def problems(self) -> list[PresetError]:
        """Every current problem: the settings' (at most one) first, then the pairs'."""
        return ([self._settings_problem] if self._settings_problem else []) + list(self._problems)

    def needs_retraining(self) -> tuple[bool, bool]:
        """(vocabulary differs, model settings differ) from the preset the model was built from."""
        ref = self._reference or self._baseline
        if ref is None or self._state is None:
            return False, False
        return vocab_sets(self._state) != vocab_sets(ref), model_key(self._state) != model_key(ref)

    def preview(self) -> dict:
        """The selected pair's tokens and which are not in the model's vocabulary."""
        row = self.current_row()
        if self._state is None or row is None:
            return {}
        pair, tok = self._state.pairs[row], self._state.tokenizer
        known = vocabs(self._reference or self._baseline)
        out = {"row": row}
        for side, text, kind, vocab in (("source", pair.source, tok.source, known and known[0]),
                                        ("target", pair.target, tok.target, known and known[1])):
            try:
                tokens = tokenize(text, kind)
            except ValueError:
                tokens = []
            out[side] = tokens
            out[f"{side}_unknown"] = [i for i, t in enumerate(tokens) if vocab is not None and t not in vocab]
        return out

    def current_row(self) -> int | None:
        idx = self.table.currentIndex()
        if idx.isValid() and self._state is not None and idx.row() < len(self._state.pairs):
            return idx.row()
        return None

    def selected_rows(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        if not rows and self.current_row() is not None:
            rows = [self.current_row()]
        return rows

    # ------------------------------------------------------------------ loading

    def set_preset(self, preset: Preset, *, offer_draft: bool = True) -> None:
        """Start editing ``preset`` (its file becomes the saved baseline). Unsaved edits of
        the previous preset are flushed to its draft first, so they are never lost."""
        if self.is_dirty:
            self.flush_draft()
        self._autosave.stop()
        self._baseline = self._state = preset
        self._draft_key = preset.key
        self.undo_stack.clear()
        self.error_banner.hide()
        self._refresh()
        if preset.pairs:
            self._select_rows([0])
        self.changed.emit()
        if offer_draft:
            self._offer_draft()

    def load_file(self, path: str | os.PathLike[str]) -> bool:
        """Load a preset file into the editor; a broken file shows its error and returns False."""
        try:
            preset = load_preset(path)
        except PresetError as e:
            self._show_open_error(e)
            return False
        self.set_preset(preset)
        return True

    def open_file(self, path: str | os.PathLike[str] | None = None) -> bool:
        """"Open preset file…": ask for a file (unless given), check it, then — if the
        current edits may be left — load it and emit ``preset_opened``."""
        if path is None:
            start = user_presets_dir() if user_presets_dir().is_dir() else SHIPPED_DIR
            path = self.dialogs.open_file(self, str(start))
            if not path:
                return False
        try:
            preset = load_preset(path)
        except PresetError as e:
            self._show_open_error(e)
            return False
        if not self.maybe_discard(self):
            return False
        self.set_preset(preset)
        self.preset_opened.emit(Path(path))
        return True

    def _show_open_error(self, e: PresetError) -> None:
        self.error_banner.setText(f"Could not open the preset: {e}")
        self.error_banner.show()
        self.dialogs.show_error(self, "Could not open preset", str(e))

    def set_reference(self, preset: Preset | None) -> None:
        """The preset the window's current model was built from (for "must be retrained")."""
        self._reference = preset
        self._refresh()

    @Slot(object)
    def window_preset_changed(self, preset: Preset | None) -> None:
        """The window now shows ``preset``: make it the reference and, unless it is what is
        being edited already, edit it."""
        if preset is None:
            return
        self._reference = preset
        if self._state is not None and same_file(preset.path, self._state.path) and preset == self._state:
            self._refresh()
            return
        self.set_preset(preset)

    # ------------------------------------------------------------------ editing (all undoable)

    def _push(self, new: Preset, text: str, *, merge_key: str | None = None,
              rows_after: list[int] | None = None) -> bool:
        if self._state is None or self._training or new == self._state:
            return False
        rows_before = self.selected_rows()
        cmd = _Change(self, self._state, new, text, merge_key, rows_before,
                      rows_before if rows_after is None else rows_after)
        self.undo_stack.push(cmd)
        return True

    def _with_pairs(self, pairs: list[Pair]) -> Preset:
        return replace(self._state, pairs=tuple(pairs))

    def add_pair(self, after: int | None = None, pair: Pair | None = None) -> int | None:
        """Insert a pair (blank unless given) after ``after`` (default: the selected row);
        returns its row."""
        if self._state is None:
            return None
        pairs = list(self._state.pairs)
        if after is None:
            after = self.current_row() if self.current_row() is not None else len(pairs) - 1
        row = max(0, min(after + 1, len(pairs)))
        pairs.insert(row, pair or Pair("", ""))
        return row if self._push(self._with_pairs(pairs), "Add pair", rows_after=[row]) else None

    def duplicate_pair(self, row: int | None = None) -> int | None:
        row = self.current_row() if row is None else row
        if self._state is None or row is None:
            return None
        pairs = list(self._state.pairs)
        pairs.insert(row + 1, pairs[row])
        return row + 1 if self._push(self._with_pairs(pairs), f"Duplicate pair {row + 1}", rows_after=[row + 1]) else None

    def delete_pairs(self, rows: list[int] | None = None) -> bool:
        rows = self.selected_rows() if rows is None else sorted(set(rows))
        if self._state is None or not rows:
            return False
        keep = [p for i, p in enumerate(self._state.pairs) if i not in rows]
        after = [min(rows[0], len(keep) - 1)] if keep else []
        text = f"Delete pair {rows[0] + 1}" if len(rows) == 1 else f"Delete {len(rows)} pairs"
        return self._push(self._with_pairs(keep), text, rows_after=after)

    def move_pair(self, row: int | None = None, delta: int = 1) -> bool:
        row = self.current_row() if row is None else row
        if self._state is None or row is None:
            return False
        dest = row + delta
        pairs = list(self._state.pairs)
        if not 0 <= dest < len(pairs):
            return False
        pairs.insert(dest, pairs.pop(row))
        return self._push(self._with_pairs(pairs), f"Move pair {row + 1} {'up' if delta < 0 else 'down'}", rows_after=[dest])

    def edit_pair(self, row: int, column: int | str, text: str) -> bool:
        """Set the source (column 0) or target (column 1) of pair ``row``."""
        if self._state is None or not 0 <= row < len(self._state.pairs):
            return False
        key = column if isinstance(column, str) else COLUMNS[column]
        pairs = list(self._state.pairs)
        pairs[row] = replace(pairs[row], **{key: text})
        return self._push(self._with_pairs(pairs), f"Edit pair {row + 1} {key}", rows_after=[row])

    def set_setting(self, field: str, value) -> bool:
        """Set one setting ("model.heads", "training.lr", "name", ...), undoably."""
        if self._state is None:
            return False
        return self._push(with_field(self._state, field, value), f"Set {field}", merge_key=field)

    def revert(self) -> bool:
        """Back to the last saved version, as one undoable step."""
        if self._baseline is None or not self.is_dirty:
            return False
        return self._push(self._baseline, "Revert to saved", rows_after=[0] if self._baseline.pairs else [])

    def discard(self) -> None:
        """Throw the edits away (explicitly): back to the saved version, draft deleted."""
        if self._baseline is None:
            return
        self._autosave.stop()
        if self._draft_key:
            delete_draft(self._draft_key)
        self.undo_stack.clear()
        self._set_state(self._baseline, [0] if self._baseline.pairs else [])

    @Slot()
    def undo(self) -> None:
        if not self._training:
            self.undo_stack.undo()

    @Slot()
    def redo(self) -> None:
        if not self._training:
            self.undo_stack.redo()

    def _on_add(self) -> None:
        row = self.add_pair()
        if row is not None:
            self.table.setFocus()
            self.table.edit(self.pairs_model.index(row, 0))

    def _on_cell_edited(self, row: int, column: int, text: str) -> None:
        self.edit_pair(row, column, text)

    def _on_setting_edited(self, field: str, value) -> None:
        if not self.set_setting(field, value):
            self.settings.show_preset(self._state)  # refused (training): put the widget back

    # ------------------------------------------------------------------ state changes

    def _set_state(self, state: Preset, rows: list[int] | None = None) -> None:
        """Show a new state. Called by undo commands; path and source_text stay the file's."""
        old = self._state
        if self._baseline is not None:
            state = replace(state, path=self._baseline.path, source_text=self._baseline.source_text)
        self._state = state
        self._refresh()
        if rows is not None:
            self._select_rows(rows)
        self.changed.emit()
        if old is not None:
            old_v, new_v = vocab_sets(old), vocab_sets(state)
            if old_v != new_v:
                self.vocabulary_changed.emit()
            if model_key(old) != model_key(state):
                self.model_changed.emit()
        self._schedule_draft()

    def _schedule_draft(self) -> None:
        """Write a draft at most ``autosave_ms`` after the FIRST unsaved change: the timer
        is started when it is idle and never restarted, so steady typing is drafted too
        (a restarting debounce would wait for a pause that may never come before a crash)."""
        if not self._autosave.isActive():
            self._autosave.start()

    def _select_rows(self, rows: list[int]) -> None:
        sel = self.table.selectionModel()
        rows = [r for r in rows if 0 <= r < self.pairs_model.rowCount()]
        if not rows:
            sel.clearSelection()
            self._update_preview()
            return
        col = max(self.table.currentIndex().column(), 0)
        sel.setCurrentIndex(self.pairs_model.index(rows[0], col),
                            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        for r in rows[1:]:
            sel.select(self.pairs_model.index(r, 0),
                       QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.pairs_model.index(rows[0], 0))
        self._update_preview()

    def _check(self) -> None:
        state = self._state
        if state is self._checked:
            return  # the same (frozen) state: its problems are already known
        self._checked = state
        path = state.path if state is not None else None
        if state is None:
            self._problems, self._settings_problem = [], None
            return
        # a [data] corpus's pairs come from its file, checked when it is read (issue 11)
        self._problems = [] if state.data is not None else pair_problems(state.pairs, path, state.tokenizer)
        try:
            validate_preset(replace(state, pairs=(_PLACEHOLDER_PAIR,)))
            self._settings_problem = None
        except PresetError as e:
            self._settings_problem = e

    def _refresh(self) -> None:
        """Bring every part of the editor up to date. What depends only on the state (its
        problems, the table, the settings form, the problem list) is redone only when the
        state changed: training starting or stopping, or the window showing the same preset
        again, costs no validation and no re-rendering of a 200-pair table."""
        self._check()
        state = self._state
        if state is not None:
            corpus = state.data is not None
            if state is not self._shown:
                self.pairs_model.set_pairs(state.pairs[:MAX_PAIRS] if corpus else state.pairs, self._problems)
                self.settings.show_preset(state)
            self.pairs_model.set_editable(not self._training and not corpus)
            if corpus:
                shown = "" if len(state.pairs) <= MAX_PAIRS else f" (the first {MAX_PAIRS} shown)"
                self.corpus_note.setText(
                    f"These {len(state.pairs):,} training pairs{shown} come from the corpus file "
                    f"<i>{html.escape(str(state.data.file))}</i> (<code>[data]</code>): edit them there, "
                    "or import your own with File ▸ Import pairs…")
            self.corpus_note.setVisible(corpus)
        if state is not self._shown:
            self._shown = state
            self.settings.show_problem(self._settings_problem)
            self.problems_list.clear()
            for e in self.problems():
                item = QListWidgetItem(_describe_problem(e))
                item.setData(Qt.ItemDataRole.UserRole, e.field)
                item.setToolTip(str(e))
                self.problems_list.addItem(item)
            self.problems_list.setVisible(bool(self.problems()))

        self._update_title()
        self._update_buttons()
        self._update_retrain()
        self._update_preview()
        self.status_changed.emit()

    def _update_title(self) -> None:
        state = self._state
        if state is None:
            self.title_label.setText("No preset loaded. Use “Open preset file…”.")
            return
        dirty = " • unsaved edits" if self.is_dirty else ""
        name = html.escape(state.name or state.key)
        if state.path is None:
            where = "not saved yet: “Save as…” puts it in your preset folder"
        elif is_shipped(state.path):
            where = (f"shipped preset <i>{html.escape(state.key)}</i> (read-only): "
                     "“Save as…” makes your own copy")
        else:
            where = f"your preset <i>{html.escape(str(state.path))}</i>"
        self.title_label.setText(f"<b>{name}</b>{dirty}<br><small>{where}</small>")

    def _update_buttons(self) -> None:
        has = self._state is not None
        editable = has and not self._training
        pairs = editable and self._state.data is None  # a corpus's pairs are edited in its file
        rows = self.selected_rows() if has else []
        n = len(self._state.pairs) if has else 0
        self.add_button.setEnabled(pairs and n < MAX_PAIRS)
        self.duplicate_button.setEnabled(pairs and len(rows) == 1 and n < MAX_PAIRS)
        self.delete_button.setEnabled(pairs and bool(rows))
        self.up_button.setEnabled(pairs and len(rows) == 1 and rows[0] > 0)
        self.down_button.setEnabled(pairs and len(rows) == 1 and rows[0] < n - 1)
        self.undo_action.setEnabled(editable and self.undo_stack.canUndo())
        self.redo_action.setEnabled(editable and self.undo_stack.canRedo())
        self.revert_button.setEnabled(editable and self.is_dirty)

        save_as_only = self.saves_as_copy
        self.save_button.setText("Save as…" if save_as_only else "Save")
        self.save_button.setEnabled(self.can_save)
        self.save_as_button.setEnabled(self.can_save)
        self.save_as_button.setVisible(not save_as_only)
        n_problems = len(self.problems())
        if not has:
            self.status_label.setText("")
        elif n_problems:
            self.status_label.setText(f"<span style='color: rgb(170,0,0)'>Saving is off until "
                                      f"{'this problem is' if n_problems == 1 else f'these {n_problems} problems are'}"
                                      f" fixed.</span>")
        elif self._training:
            self.status_label.setText("Saving is off while training runs.")
        elif self.is_dirty:
            self.status_label.setText("Unsaved edits (a draft is kept automatically).")
        else:
            self.status_label.setText("Saved.")

    def _update_retrain(self) -> None:
        vocab, model = self.needs_retraining()
        if not (vocab or model):
            self.retrain_frame.hide()
            return
        what = " and ".join(w for w, on in (("the vocabulary", vocab), ("the model settings", model)) if on)
        msg = f"Your edits change {what}: the model must be retrained."
        if self.problems():
            msg += " Fix the problems first."
        self.retrain_label.setText(msg)
        self.train_button.setEnabled(not self._training and not self.problems())
        self.retrain_frame.show()

    def _update_preview(self) -> None:
        info = self.preview()
        if not info:
            self.preview_label.setText("<i>Select a pair to see how it is split into tokens.</i>")
            return

        def chips(tokens: list[str], unknown: list[int]) -> str:
            if not tokens:
                return "<i>(no tokens)</i>"
            out = []
            for i, t in enumerate(tokens):
                style = "background: rgb(255, 200, 120);" if i in unknown else "background: rgb(225, 225, 225);"
                out.append(f"<span style='{style}'>&nbsp;{html.escape(t)}&nbsp;</span>")
            return " ".join(out) + " <span style='color: gray'>&lt;eos&gt;</span>"

        tok = self._state.tokenizer
        any_unknown = info["source_unknown"] or info["target_unknown"]
        note = ("<br><small><span style='background: rgb(255, 200, 120)'>&nbsp;orange&nbsp;</span>: "
                "not in the trained model's vocabulary (it would read &lt;unk&gt;); retrain to learn it.</small>"
                if any_unknown else "")
        self.preview_label.setText(
            f"<b>Pair {info['row'] + 1}</b><br>"
            f"source ({tok.source}): {chips(info['source'], info['source_unknown'])}<br>"
            f"target ({tok.target}): {chips(info['target'], info['target_unknown'])}{note}")

    def _on_problem_activated(self, item: QListWidgetItem) -> None:
        field = item.data(Qt.ItemDataRole.UserRole) or ""
        m = re.fullmatch(r"pairs\[(\d+)\](?:\.(\w+))?", field)
        if m:
            self.tabs.setCurrentIndex(0)
            row = int(m.group(1))
            col = COLUMNS.index(m.group(2)) if m.group(2) in COLUMNS else 0
            self.table.setCurrentIndex(self.pairs_model.index(row, col))
            self.table.setFocus()
        elif field in self.settings.widgets:
            self.tabs.setCurrentIndex(1)
            self.settings.widgets[field].setFocus()

    # ------------------------------------------------------------------ training

    @Slot(bool)
    def set_training(self, running: bool) -> None:
        """While training runs the editor is read-only (and says why)."""
        self._training = bool(running)
        self.pairs_model.set_editable(not self._training)
        if self._training and self.table.state() == QAbstractItemView.State.EditingState:
            self.table.closePersistentEditor(self.table.currentIndex())
        self.settings.setEnabled(not self._training)
        self.training_banner.setVisible(self._training)
        self._refresh()

    def closeEvent(self, event) -> None:
        # write a pending draft now: a timer firing after the editor is gone must not write
        self.flush_draft()
        super().closeEvent(event)
