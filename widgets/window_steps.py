"""Stepping through a trace: next / previous / first / last step, the next pair, play,
and the keys that do these (← → Home End Space PageUp PageDown). The step itself is
clamped by :class:`widgets.state.WindowState`. A mixin of
:class:`widgets.mainwindow.MainWindow`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QWidget

from .keys import focus_keeps_keys


class WindowSteps:
    """Stepping, playing and the stepping keys (a mixin of MainWindow)."""

    # ================================================================== stepping
    def next_step(self) -> None:
        self.set_step(self.state.step + 1)

    def prev_step(self) -> None:
        self.set_step(self.state.step - 1)

    def first_step(self) -> None:
        self.set_step(0)

    def last_step(self) -> None:
        self.set_step(self.state.last_step)

    def next_pair(self, delta: int = 1) -> None:
        if self.bundle is None or self.training.is_active:
            return
        n = len(self.bundle.preset.pairs)
        cur = self.state.pair_index if self.state.pair_index >= 0 else (0 if delta > 0 else 1)
        self.set_pair((cur + delta) % n)

    def toggle_play(self) -> None:
        if self._play.isActive():
            self._play.stop()
            self.btn_play.setText("▶ play")
        else:
            if self.trace is not None and self.state.step >= self.state.last_step:
                self.set_step(0)
            self._play.start(int(1000 / self.speed_spin.value()))
            self.btn_play.setText("❚❚ pause")

    def _play_tick(self) -> None:
        if self.trace is None or self.state.step >= self.state.last_step:
            self._play.stop()
            self.btn_play.setText("▶ play")
            return
        self.next_step()

    def _on_speed(self, v: float) -> None:
        self.settings.setValue("play_speed", v)
        if self._play.isActive():
            self._play.setInterval(int(1000 / v))

    # ================================================================== keys
    def _keys_back_to_views(self) -> None:
        """Give the keyboard back to the views (after a spin box is done), so ← → step."""
        if self.views is not None and QApplication.focusWidget() in (self.layer_spin, self.head_spin):
            self.views.setFocus(Qt.FocusReason.OtherFocusReason)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() != QEvent.Type.KeyPress or not isinstance(obj, QWidget):
            return False
        try:
            if QWidget.window(obj) is not self:  # (a widget may shadow window(), e.g. LectureEditor.window)
                return False
        except RuntimeError:
            return False
        mods = ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods != Qt.KeyboardModifier.NoModifier:
            return False
        key = ev.key()
        if focus_keeps_keys(self, obj):  # text inputs keep every key (widgets.keys)
            return False
        handlers = {
            Qt.Key.Key_Right: self.next_step, Qt.Key.Key_Left: self.prev_step,
            Qt.Key.Key_Home: self.first_step, Qt.Key.Key_End: self.last_step,
            Qt.Key.Key_Space: self.toggle_play,
            Qt.Key.Key_PageUp: lambda: self.next_pair(-1), Qt.Key.Key_PageDown: lambda: self.next_pair(1),
        }
        fn = handlers.get(key)
        if fn is None:
            return False
        fn()
        return True
