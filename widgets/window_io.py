"""The main window's messages and files out: the banner, Help ▸ Keys, and exports of the
views, one panel, the whole window (PNG / SVG) and the trace (JSON). A mixin of
:class:`widgets.mainwindow.MainWindow`.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog

from sandbox.names import PANELS

# Keys that are not actions (so not found among the window's shortcuts) for Help ▸ Keys.
NAV_KEYS = ("← → step", "Home / End first / last step", "Space play", "PageUp / PageDown previous / next pair")


class WindowIO:
    """Banner, keys help and exports (a mixin of MainWindow)."""

    # ================================================================== banner / help
    def show_banner(self, text: str, kind: str = "info") -> None:
        """A coloured message above the views (``text`` is rich text: escape user input)."""
        colours = {"info": ("#ddf4ff", "#0969da"), "warning": ("#fff8c5", "#9a6700"),
                   "error": ("#ffebe9", "#cf222e")}
        bg, fg = colours.get(kind, colours["info"])
        self.banner.setStyleSheet(f"#banner {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
                                  f" QLabel {{ color: {fg}; }}")
        self.banner_label.setText(text)
        self._banner_kind = kind
        self.banner.show()

    def hide_banner(self) -> None:
        self.banner.hide()
        self._banner_kind = ""

    @property
    def banner_text(self) -> str:
        """The banner's text as shown (plain), or "" when it is closed."""
        if self.banner.isHidden():
            return ""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.banner_label.text())
        return doc.toPlainText()

    def keys_text(self) -> str:
        """Every key the window answers: the stepping keys, then each action's shortcut(s),
        read from the actions themselves so a feature plugged in later is listed too."""
        from PySide6.QtGui import QKeySequence as KS

        seen: dict[str, str] = {}
        for a in self.findChildren(QAction):
            keys = [k.toString(KS.SequenceFormat.NativeText) for k in a.shortcuts() if not k.isEmpty()]
            # "Undo what-if: pin step 2 → 나는" names its last edit: the list wants "Undo what-if"
            name = a.text().replace("&", "").rstrip("…").split(":")[0].strip()
            key = " / ".join(keys)
            if keys and name and key not in seen:
                seen[key] = name
            elif keys and name and name not in seen[key].split(" / "):
                seen[key] += f" / {name}"  # one key, two places (Ctrl+Z: What-if, the preset editor)
        acts = sorted(seen.items(), key=lambda kv: (len(kv[0]), kv[0]))
        return " · ".join(list(NAV_KEYS) + [f"{k} {n}" for k, n in acts])

    def _show_keys(self) -> None:
        self.show_banner(html.escape(self.keys_text()), "info")

    # ================================================================== export
    def export_view(self, path: str | os.PathLike) -> Path:
        """The whole centre view (maps, anatomy, explanation) as PNG or SVG."""
        from .export import export_widget

        self._ensure_drawn()
        return export_widget(self.views, path)

    def export_panel(self, name: str, path: str | os.PathLike) -> Path:
        from .export import export_widget

        if name not in PANELS:
            raise ValueError(f"unknown panel {name!r}; allowed: {', '.join(PANELS)}")
        self._ensure_drawn()
        w = self.views.panel_widget(name)
        tabs = self.views.tabs
        prev = tabs.currentIndex()
        i = tabs.indexOf(w)
        if i >= 0 and i != prev:
            tabs.setCurrentIndex(i)
            QApplication.processEvents()
        try:
            return export_widget(w, path)
        finally:
            if i >= 0 and i != prev:
                tabs.setCurrentIndex(prev)

    def export_trace_json(self, path: str | os.PathLike) -> Path:
        from .export import export_trace_json

        if self.trace is None:
            raise ValueError("there is no trace to export yet")
        return export_trace_json(self.trace, path)

    def export_window(self, path: str | os.PathLike) -> Path:
        from .export import export_widget

        self._ensure_drawn()
        return export_widget(self, path)

    def _ensure_drawn(self) -> None:
        if self.views is None:
            raise ValueError("the views are still loading")
        if self.trace is not None:
            self.views.draw(self.trace, self.state.step, self.state.layer, self.state.head)

    def _export_dialog(self, what: str, fmt: str) -> None:
        if self.trace is None:
            return
        from .export import default_export_dir

        name = str(default_export_dir("pictures") / f"{self.state.preset_key or 'attention'}_t{self.state.step}_{what}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export {what} as {fmt.upper()}", name,
                                              f"{fmt.upper()} (*.{fmt})")
        if not path:
            return
        if not path.lower().endswith("." + fmt):
            path += "." + fmt
        ok = self._guarded(lambda: self.export_view(path) if what == "view" else self.export_panel(what, path))
        if ok:
            self.status.showMessage(f"saved {path}", 6000)

    def _export_json_dialog(self) -> None:
        if self.trace is None:
            return
        from .export import default_export_dir

        path, _ = QFileDialog.getSaveFileName(
            self, "Export trace as JSON", str(default_export_dir("documents") / f"{self.state.preset_key or 'trace'}.json"),
            "JSON (*.json)")
        if path and self._guarded(lambda: self.export_trace_json(path)):
            self.status.showMessage(f"saved {path}", 6000)
