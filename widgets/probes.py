"""Test hooks for a real app process (``ATTENTION_SANDBOX_LAUNCH_PROBE``), used by
``tests/test_kill_while_typing.py`` and ``bench/bench_kill_typing.py``:

- ``type``: once the window is ready (editor, lectures… installed), focus the preset
  editor's description box and type :data:`TEXT` into it, one key every
  ``ATTENTION_SANDBOX_TYPE_MS`` ms (default 100), as key events through the application
  (so the window's key filter sees them, as it sees a user's keys). After each key it prints
  ``TYPED <count> <monotonic time>``; the test SIGKILLs the process at some point.
- ``restore``: answer "Restore" to the unsaved-edits question, then print
  ``RESTORED <json of the description>`` and quit.

Nothing here runs unless the variable is set.
"""

from __future__ import annotations

import json
import os
import time

TEXT = "a cat sat on the mat and the dog sat on the log "
TYPE_MS_ENV = "ATTENTION_SANDBOX_TYPE_MS"


def _description_box(win):
    from PySide6.QtWidgets import QPlainTextEdit

    boxes = win.preset_editor.settings.findChildren(QPlainTextEdit)
    return boxes[0]


def install_probe(win, probe: str) -> bool:
    """Wire ``probe`` (``type`` or ``restore``) into ``win``; False for another probe name."""
    if probe not in ("type", "restore"):
        return False
    from PySide6.QtCore import QEvent, Qt, QTimer
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    from .editor import EditorDialogs

    EditorDialogs.ask_restore_draft = lambda self, parent, name, draft: True  # the process has no user
    # "restore" quits after printing: the restored edits are let go (the test has read them)
    EditorDialogs.ask_unsaved = lambda self, parent, name: "discard" if probe == "restore" else "cancel"

    def start() -> None:
        win.preset_editor_dock.show()
        box = _description_box(win)
        if probe == "restore":
            print(f"RESTORED {json.dumps(box.toPlainText())}", flush=True)
            QTimer.singleShot(0, win.close)
            return
        box.clear()
        win.preset_editor.flush_draft()  # start from "nothing unsaved"
        box.setFocus()
        interval = int(os.environ.get(TYPE_MS_ENV, "100") or 100)
        count = [0]
        timer = QTimer(win)  # the window owns it (and keeps it alive)

        def key() -> None:
            ch = TEXT[count[0] % len(TEXT)]
            code = Qt.Key.Key_Space if ch == " " else Qt.Key(ord(ch.upper()))
            target = QApplication.focusWidget() or box
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(target, QKeyEvent(kind, code, Qt.KeyboardModifier.NoModifier, ch))
            count[0] += 1
            print(f"TYPED {count[0]} {time.monotonic():.6f}", flush=True)

        timer.timeout.connect(key)
        timer.start(interval)

    # after install_extras (connected to ``ready`` before this is)
    win.ready.connect(lambda: QTimer.singleShot(0, start))
    return True
