"""The preset editor's widgets: banners, the pairs table with its buttons and token
preview, the settings tab, the problem list, the save row, and the undo / redo / delete
actions. A mixin of :class:`widgets.editor.PresetEditor`, which owns the behaviour; this
only builds and lays out (every widget is an attribute of the editor)."""

from __future__ import annotations

from typing import Callable

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .editor_pairs import PairsTableModel
from .editor_settings import SettingsForm

__all__ = ["EditorLayout", "CompactButton"]


class CompactButton(QPushButton):
    """A push button as wide as its text (at the current font), without the style's 80 px
    floor: five 80 px pair buttons made the editor dock at least 440 px wide, a third of a
    1280 px projector window taken from the map and the step anatomy."""

    def _width(self) -> int:
        fm = self.fontMetrics()
        margin = self.style().pixelMetric(self.style().PixelMetric.PM_ButtonMargin, None, self)
        return fm.horizontalAdvance(self.text()) + 2 * margin + 2 * fm.averageCharWidth()

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(self._width())
        return hint

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(self._width())
        return hint


class EditorLayout:
    """Builds the editor's widgets and actions (mixed into PresetEditor, a QWidget)."""

    def sizeHint(self):
        # The dock opens at this width: no wider than the editor needs (its minimum plus a
        # little), so the map and the step anatomy keep their room; the user can widen it.
        hint = QWidget.sizeHint(self)
        hint.setWidth(min(hint.width(), QWidget.minimumSizeHint(self).width() + 8))
        return hint

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)

        self.training_banner = self._banner("training_banner", "rgb(255, 243, 205)")
        self.training_banner.setText("Training is running: editing is disabled until it stops, "
                                     "because the model being trained was built from this preset.")
        outer.addWidget(self.training_banner)

        self.error_banner = self._banner("error_banner", "rgb(255, 215, 215)")
        outer.addWidget(self.error_banner)

        self.retrain_frame = QFrame(self)
        self.retrain_frame.setObjectName("retrain_banner")
        self.retrain_frame.setStyleSheet("#retrain_banner { background: rgb(220, 235, 255); border-radius: 4px; }")
        row = QHBoxLayout(self.retrain_frame)
        row.setContentsMargins(6, 4, 6, 4)
        self.retrain_label = QLabel(self.retrain_frame)
        self.retrain_label.setWordWrap(True)
        row.addWidget(self.retrain_label, 1)
        self.train_button = QPushButton("Train now", self.retrain_frame)
        self.train_button.clicked.connect(lambda _checked=False: self.train_requested.emit())
        row.addWidget(self.train_button)
        self.retrain_frame.hide()
        outer.addWidget(self.retrain_frame)

        self.title_label = QLabel(self)
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.title_label)

        self.content = QWidget(self)  # everything that is disabled while training
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.content, 1)

        self.tabs = QTabWidget(self.content)
        content.addWidget(self.tabs, 1)

        # pairs tab
        pairs_page = QWidget()
        pl = QVBoxLayout(pairs_page)
        pl.setContentsMargins(2, 2, 2, 2)
        buttons = QHBoxLayout()
        self.add_button = self._button("Add", "Add a pair after the selected one", self._on_add, buttons)
        self.duplicate_button = self._button("Duplicate", "Copy the selected pair", lambda: self.duplicate_pair(), buttons)
        self.delete_button = self._button("Delete", "Delete the selected pairs", lambda: self.delete_pairs(), buttons)
        # ↑ / ↓ as in the lecture editor's slide list (the words made the dock wider)
        self.up_button = self._button("↑", "Move the selected pair up", lambda: self.move_pair(delta=-1), buttons)
        self.down_button = self._button("↓", "Move the selected pair down", lambda: self.move_pair(delta=1), buttons)
        self.up_button.setAccessibleName("Move pair up")
        self.down_button.setAccessibleName("Move pair down")
        buttons.addStretch(1)
        pl.addLayout(buttons)
        # A [data] corpus preset's pairs live in its TSV file: the table shows them read-only
        # and this line says where to edit them (every shipped preset is one).
        self.corpus_note = QLabel(pairs_page)
        self.corpus_note.setObjectName("corpus_note")
        self.corpus_note.setWordWrap(True)
        self.corpus_note.setTextFormat(Qt.TextFormat.RichText)
        self.corpus_note.setVisible(False)
        pl.addWidget(self.corpus_note)

        splitter = QSplitter(Qt.Orientation.Vertical, pairs_page)
        self.pairs_model = PairsTableModel(self)
        self.pairs_model.edit_requested.connect(self._on_cell_edited)
        self.table = QTableView(splitter)
        self.table.setObjectName("pairs_table")
        self.table.setModel(self.pairs_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_preview())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.preview_label = QLabel(splitter)
        self.preview_label.setObjectName("token_preview")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextFormat(Qt.TextFormat.RichText)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.preview_label.setMargin(4)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        pl.addWidget(splitter, 1)
        self.tabs.addTab(pairs_page, "Pairs")

        # settings tab
        self.settings = SettingsForm()
        self.settings.edited.connect(self._on_setting_edited)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.settings)
        self.tabs.addTab(scroll, "Settings")

        # problems and saving
        self.problems_list = QListWidget(self.content)
        self.problems_list.setObjectName("problems_list")
        self.problems_list.setMaximumHeight(90)
        self.problems_list.itemActivated.connect(self._on_problem_activated)
        self.problems_list.itemClicked.connect(self._on_problem_activated)
        content.addWidget(self.problems_list)

        bottom = QHBoxLayout()
        self.status_label = QLabel(self.content)
        self.status_label.setObjectName("save_status")
        self.status_label.setWordWrap(True)
        bottom.addWidget(self.status_label, 1)
        self.revert_button = self._button("Revert", "Go back to the last saved version (undoable)", self.revert, bottom)
        self.save_as_button = self._button("Save as…", "Save a copy in your preset folder", lambda: self.save_as(), bottom)
        self.save_button = self._button("Save", "Save the preset", lambda: self.save(), bottom)
        content.addLayout(bottom)

    def _banner(self, name: str, colour: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setStyleSheet(f"#{name} {{ background: {colour}; padding: 4px; border-radius: 4px; }}")
        label.hide()
        return label

    def _button(self, text: str, tip: str, slot: Callable, layout: QHBoxLayout) -> QPushButton:
        b = CompactButton(text, self)
        b.setToolTip(tip)
        b.clicked.connect(lambda _checked=False: slot())
        layout.addWidget(b)
        return b

    def _build_actions(self) -> None:
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.undo_action = QAction(_undo_text("Undo", ""), self)
        self.undo_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction(_undo_text("Redo", ""), self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.redo)
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(ctx)
            self.addAction(a)
        # Delete removes pairs only when the table itself has the focus (not while typing)
        self.delete_action = QAction("Delete pairs", self.table)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.triggered.connect(lambda: self.delete_pairs())
        self.table.addAction(self.delete_action)
        self.undo_stack.canUndoChanged.connect(self._on_stack_changed)
        self.undo_stack.canRedoChanged.connect(self._on_stack_changed)
        # The window's Edit menu holds the What-if undo too: each text says which edits it covers.
        self.undo_stack.undoTextChanged.connect(lambda t: self.undo_action.setText(_undo_text("Undo", t)))
        self.undo_stack.redoTextChanged.connect(lambda t: self.redo_action.setText(_undo_text("Redo", t)))

    def _on_stack_changed(self, _value: bool = False) -> None:
        if shiboken6.isValid(self.undo_stack) and shiboken6.isValid(self.undo_action):
            self._update_buttons()  # (the stack also signals while the editor is destroyed)


def _undo_text(verb: str, what: str) -> str:
    """"Undo preset edit: delete 2 pairs" — names the preset editor, not the What-if edits."""
    return f"{verb} preset edit: {what}" if what.strip() else f"{verb} preset edit"
