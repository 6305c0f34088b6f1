"""The main window's settings: geometry, splitters, text scale, mode, the editor dock's
visibility, the view (the sentence, step, layer and head of the preset shown), the lecture
chosen and its narration language, and the cached first map for the next launch
(``widgets.firstmap``). A mixin of :class:`widgets.mainwindow.MainWindow`.

A remembered value that no longer fits (a pair removed from the preset, a step past the end
of a shorter sentence, a lecture deleted) is clamped or ignored without a message.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .settings import read_bytes, read_str, settings_problem


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

    def _saved_view(self) -> dict | None:
        """The last session's view (``view/*``), or None when none was saved."""
        s = self.settings
        path = read_str(s, "view/preset_path")
        source = read_str(s, "view/source")
        if not path or not source:
            return None

        def num(key: str) -> int:
            try:
                return max(0, int(s.value(key, 0)))
            except (TypeError, ValueError):
                return 0

        return {"preset_path": path, "source": source, "target": read_str(s, "view/target") or None,
                "own": read_str(s, "view/own") == "true", "step": num("view/step"), "layer": num("view/layer"),
                "head": num("view/head")}

    def _restore_view(self, view: dict) -> None:
        """Put back the saved step, layer and head (clamped to the trace and model shown) and
        an own sentence's text in its boxes."""
        if view.get("own"):
            self.source_edit.setText(self.state.source or "")
            self.target_edit.setText(self.state.target or "")
        self.set_layer_head(view.get("layer", 0), view.get("head", 0))
        self.set_step(view.get("step", 0))

    def _save_view(self) -> None:
        s, st = self.settings, self.state
        if not st.source or not st.preset_path:
            return
        own = st.pair_index < 0 and self.pair_list.row_of(st.source, st.target) < 0
        for key, value in (("preset_path", st.preset_path), ("source", st.source), ("target", st.target or ""),
                           ("own", "true" if own else "false"), ("step", st.wanted_step),
                           ("layer", st.layer), ("head", st.head)):
            s.setValue(f"view/{key}", value)

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
        self._save_view()
        lectures = getattr(self, "lectures", None)
        if lectures is not None and hasattr(lectures, "save_settings"):
            lectures.save_settings(s)  # the lecture chosen and the narration language
        problem = settings_problem(s)
        if problem:
            raise OSError(problem)
