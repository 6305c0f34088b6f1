"""Every question the preset editor asks (restore a draft, unsaved edits, a file name,
overwrite, open a file), the lecture editor's "a slide on another preset?", and how they
show an error, in one class. Tests pass a subclass with canned answers instead of opening
message boxes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from sandbox.presets import user_presets_dir

from .unsaved import ask_unsaved

__all__ = ["EditorDialogs"]


class EditorDialogs:
    """Every question the editor asks. Tests pass a subclass with canned answers."""

    def ask_restore_draft(self, parent: QWidget | None, name: str, draft: Path) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved edits?",
                          f"There are unsaved edits of “{name}” from an earlier session "
                          f"(kept in {draft}).\n\nRestore them?", parent=parent)
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard them", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(restore)
        box.exec()
        return box.clickedButton() is restore

    def ask_unsaved(self, parent: QWidget | None, name: str) -> str:
        """"save", "discard" or "cancel" (:func:`widgets.unsaved.ask_unsaved`)."""
        return ask_unsaved(parent, name)

    def ask_save_name(self, parent: QWidget | None, suggestion: str, problem: str) -> str | None:
        text = f"Save a copy in {user_presets_dir()} as:"
        if problem:
            text = f"{problem}\n\n{text}"
        name, ok = QInputDialog.getText(parent, "Save preset as", text, QLineEdit.EchoMode.Normal, suggestion)
        return name if ok else None

    def confirm_overwrite(self, parent: QWidget | None, path: Path) -> bool:
        answer = QMessageBox.question(parent, "Replace preset?", f"{path.name} already exists in {path.parent}. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def open_file(self, parent: QWidget | None, start_dir: str) -> str | None:
        path, _filter = QFileDialog.getOpenFileName(parent, "Open preset file", start_dir,
                                                    "Presets (*.toml);;All files (*)")
        return path or None

    def ask_slide_preset(self, parent: QWidget | None, window_preset: str, lecture_preset: str) -> bool:
        """The lecture editor's "Add current view" while the window shows another preset than
        the lecture's: True adds the slide with its own preset, False adds nothing."""
        box = QMessageBox(QMessageBox.Icon.Question, "Another preset",
                          f"The window shows preset “{window_preset}”; this lecture is about "
                          f"“{lecture_preset}”.\n\nAdd the view as a slide on “{window_preset}” (this slide "
                          f"only), or cancel and pick “{lecture_preset}” in the toolbar first?", parent=parent)
        if parent is not None:
            box.setFont(parent.window().font())  # the window's text size (a dialog does not inherit it)
        add = box.addButton(f"Add on {window_preset}", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(add)
        box.exec()
        return box.clickedButton() is add

    def show_error(self, parent: QWidget | None, title: str, text: str) -> None:
        QMessageBox.warning(parent, title, text)
