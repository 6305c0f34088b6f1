"""Wiring the preset editor into the main window, without the window knowing about it.

:func:`install_editor` adds the editor as a dock, File/Edit/View menu entries, and keeps
the two in step:

- window → editor: whenever the window shows another preset (``load_preset``,
  ``set_bundle``, the startup load) the editor edits it; while training runs the editor
  is read-only;
- editor → window: after a save the window reloads the saved file; "Train now" applies
  the edits (in memory when unsaved) and starts training;
- guards: switching preset or closing the window with unsaved edits asks Save / Discard /
  Cancel first.

The window hooks used (``widgets/mainwindow.py``): ``bundle``, ``load_preset``,
``reload_saved_preset``, ``set_bundle``, ``start_training``, ``is_training``,
``presetLoaded``, ``traceChanged``, ``ready``, ``training.stateChanged``, ``act_open``,
``show_banner``, ``refresh_presets()``, ``add_leave_guard(fn)`` and ``add_close_guard(fn)``.
"""

from __future__ import annotations

import html
from pathlib import Path

import shiboken6
from .hooks import window_menu
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow

from sandbox.presets import PresetError

from .editor import EditorDialogs, PresetEditor
from .unsaved import ask_before_closing

__all__ = ["install_editor"]


def _taken_shortcuts(window: QMainWindow) -> set[str]:
    return {s.toString() for a in window.findChildren(QAction) for s in a.shortcuts() if not s.isEmpty()}


def _action(window: QMainWindow, text: str, slot, shortcut: QKeySequence | None, tip: str) -> QAction:
    a = QAction(text, window)
    if shortcut is not None and shortcut.toString() not in _taken_shortcuts(window):
        a.setShortcut(shortcut)  # never steal (or make ambiguous) a shortcut the window uses
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    a.setToolTip(tip)
    a.setStatusTip(tip)
    a.triggered.connect(lambda _checked=False: slot())
    window.addAction(a)
    return a


def install_editor(window: QMainWindow, *, dialogs: EditorDialogs | None = None,
                   area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> PresetEditor:
    """Add a :class:`PresetEditor` to ``window`` as a dock with menu actions; returns it."""
    editor = PresetEditor(dialogs=dialogs)
    editor.notice.connect(lambda text: _banner(window, text, "warning"))  # e.g. an ignored draft
    dock = QDockWidget("Preset editor", window)
    dock.setObjectName("preset_editor_dock")
    dock.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
    dock.setWidget(editor)
    window.addDockWidget(area, dock)
    window.preset_editor = editor
    window.preset_editor_dock = dock

    # ---------------------------------------------------------------- menus
    file_menu = window_menu(window, "&File")
    act_save = _action(window, "Save preset", editor.save, QKeySequence(QKeySequence.StandardKey.Save),
                       "save the edited preset (a shipped one is saved as your own copy)")
    act_save_as = _action(window, "Save preset as…", editor.save_as, QKeySequence("Ctrl+Shift+S"),
                          "save a copy of the edited preset in your preset folder")
    act_revert = _action(window, "Revert preset", editor.revert, None,
                         "go back to the last saved version of the preset (undoable)")
    act_open = getattr(window, "act_open", None)
    if not isinstance(act_open, QAction):  # the window has no Open of its own: use the editor's
        act_open = _action(window, "Open preset file…", editor.open_file, QKeySequence(QKeySequence.StandardKey.Open),
                           "open a preset .toml file")
        file_menu.insertAction(file_menu.actions()[0] if file_menu.actions() else None, act_open)
    actions = file_menu.actions()
    after = actions.index(act_open) + 1 if act_open in actions else 0
    anchor = actions[after] if after < len(actions) else None
    for a in (act_save, act_save_as, act_revert):
        file_menu.insertAction(anchor, a)
    file_menu.insertSeparator(anchor) if anchor is not None else file_menu.addSeparator()

    edit_menu = window_menu(window, "&Edit", before="View")
    edit_menu.addAction(editor.undo_action)
    edit_menu.addAction(editor.redo_action)
    toggle = dock.toggleViewAction()
    toggle.setText("Preset editor")
    if "Ctrl+Shift+E" not in _taken_shortcuts(window):
        toggle.setShortcut(QKeySequence("Ctrl+Shift+E"))
        toggle.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    # (hiding goes through the dock's close(), so with unsaved edits it asks Save / Discard /
    # Cancel exactly as the dock's ✕ does: see ask_before_closing below)
    toggle.setStatusTip("show or hide the preset editor: edit pairs and settings, undo, save as "
                        "(with unsaved edits, hiding asks Save / Discard / Cancel)")
    window.addAction(toggle)
    window_menu(window, "&View").addAction(toggle)
    edit_menu.addSeparator()
    edit_menu.addAction(toggle)
    window.act_save_preset, window.act_save_preset_as, window.act_revert_preset = act_save, act_save_as, act_revert

    def update_actions() -> None:
        if not shiboken6.isValid(editor):
            return
        act_save.setEnabled(editor.can_save)
        act_save_as.setEnabled(editor.can_save)
        act_revert.setEnabled(editor.is_dirty and not editor.is_training)
        act_save.setText("Save preset (as your copy)…" if editor.saves_as_copy else "Save preset")
        toggle.setText("Preset editor (unsaved edits)" if editor.is_dirty else "Preset editor")

    editor.status_changed.connect(update_actions)
    update_actions()

    # ---------------------------------------------------------------- window → editor
    seen: list = [None]

    def sync_from_window(*_args) -> None:
        bundle = getattr(window, "bundle", None)
        if bundle is None or not shiboken6.isValid(editor):
            return
        preset = bundle.preset
        if preset is seen[0]:
            return  # cheap: traceChanged fires up to 20 times a second while training
        seen[0] = preset
        editor.window_preset_changed(preset)

    for name in ("presetLoaded", "traceChanged", "ready"):
        sig = getattr(window, name, None)
        if sig is not None:
            sig.connect(sync_from_window)
    sync_from_window()

    training = getattr(window, "training", None)
    if training is not None and hasattr(training, "stateChanged"):
        training.stateChanged.connect(lambda state: editor.set_training(state != "idle"))
    editor.set_training(bool(getattr(window, "is_training", False)))

    # ---------------------------------------------------------------- editor → window
    def reload_in_window(path: Path) -> None:
        window.refresh_presets()
        try:
            window.load_preset(str(path))
        except (PresetError, ValueError, OSError) as e:
            _banner(window, f"could not reload {path}: {e}")

    def reload_saved(path: Path) -> None:
        window.refresh_presets()
        try:
            window.reload_saved_preset(str(path))  # keeps a still-valid trained model
        except (PresetError, ValueError, OSError) as e:
            _banner(window, f"could not reload {path}: {e}")

    editor.saved.connect(reload_saved)
    editor.preset_opened.connect(reload_in_window)

    def train_now() -> None:
        if not editor.has_preset() or editor.problems() or getattr(window, "is_training", False):
            return
        state = editor.preset()
        bundle = getattr(window, "bundle", None)
        try:
            if bundle is None or bundle.preset != state or bundle.preset.path != state.path:
                if not editor.is_dirty and state.path is not None:
                    window.load_preset(str(state.path))
                else:  # apply the unsaved edits in memory; the file is untouched
                    from sandbox.model import Bundle

                    window.set_bundle(Bundle.from_preset(state))
        except (PresetError, ValueError, OSError) as e:
            _banner(window, f"could not apply the edits: {e}")
            return
        window.start_training()

    editor.train_requested.connect(train_now)

    # ---------------------------------------------------------------- guards
    def may_leave() -> bool:
        return not shiboken6.isValid(editor) or editor.maybe_discard(window)

    def may_close() -> bool:
        if not shiboken6.isValid(editor):
            return True
        if not editor.maybe_discard(window):
            return False  # Cancel keeps the window open
        editor.flush_draft()
        return True

    window.add_leave_guard(may_leave, "the preset editor")  # switching preset asks Save / Discard / Cancel
    window.add_close_guard(may_close)
    ask_before_closing(dock, may_close)  # the dock's ✕ asks too; Cancel keeps it open
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(lambda: editor.flush_draft() if shiboken6.isValid(editor) else None)
    return editor


def _banner(window, text: str, kind: str = "error") -> None:
    show = getattr(window, "show_banner", None)
    if callable(show):
        show(html.escape(text), kind)
