"""The main window's settings: geometry, splitters, text scale, mode, the editor dock's
visibility, and the cached first map for the next launch (``widgets.firstmap``). A mixin
of :class:`widgets.mainwindow.MainWindow`.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .settings import read_bytes, settings_problem


class WindowSettings:
    """Restore and save what the window remembers between sessions (a mixin of MainWindow)."""

    def _save_first_map(self) -> None:
        """Keep the map on screen for the next launch's first paint (widgets.firstmap)."""
        if self.views is None or self.trace is None:
            return
        from . import firstmap

        try:
            m = self.views.cross_map
            title = f"{self.bundle.preset.name}" if self.bundle is not None else "attention"
            data = firstmap.snapshot(m, self.state.preset_key, title)
            if data is not None:
                firstmap.save(data)
        except (OSError, ValueError) as e:  # a cache: never stop the window closing
            print(f"warning: could not cache the first map: {e}", file=sys.stderr)

    def _restore_settings(self) -> None:
        s = self.settings
        geo = read_bytes(s, "geometry")
        if geo is None or not self.restoreGeometry(geo):
            screen = QApplication.primaryScreen()
            avail = screen.availableGeometry() if screen is not None else None
            w, h = 1480, 940
            if avail is not None:
                w, h = min(w, int(avail.width() * 0.95)), min(h, int(avail.height() * 0.92))
            self.resize(w, h)
        for name in ("main_split", "left_split", "outer_split"):
            st = read_bytes(s, f"splitters/{name}")
            if st is not None:
                getattr(self, name).restoreState(st)  # False (ignored) for a bad state

    def _restore_view_state(self) -> None:
        s = self.settings
        for name in ("splitter", "lower"):
            st = read_bytes(s, f"splitters/views_{name}")
            if st is not None:
                getattr(self.views, name).restoreState(st)

    def save_settings(self) -> None:
        if not self.persist:
            return
        self._save_first_map()
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        for name in ("main_split", "left_split", "outer_split"):
            s.setValue(f"splitters/{name}", getattr(self, name).saveState())
        if self.views is not None:
            for name in ("splitter", "lower"):
                s.setValue(f"splitters/views_{name}", getattr(self.views, name).saveState())
        s.setValue("font_scale", self._font_scale)
        dock = getattr(self, "preset_editor_dock", None)
        if dock is not None:
            s.setValue("editor/visible", "true" if dock.isVisible() else "false")
        s.setValue("mode", self.state.mode)
        problem = settings_problem(s)
        if problem:
            raise OSError(problem)
