"""Beam search panel: the search tree, the finished beams, and any beam in every view.

The tree shows every candidate the search scored, under the hypothesis it extends: its
token, its probability p and the hypothesis' log-probability so far. Pruned candidates
(scored, not among the best ``width``) are grey; finished ones (``<eos>``) are bold. The
list above holds the beams best first; choosing one shows its trace (free running along
the beam's tokens) in every view, where it can be stepped through like any trace.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSpinBox, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from .hooks import window_menu

if TYPE_CHECKING:
    from sandbox.trace import Trace
    from sandbox.whatif import BeamResult

PRUNED = QColor("#a0a0a0")


class BeamPanel(QWidget):
    """Draws a :class:`~sandbox.whatif.BeamResult`; asks for a search with ``searchRequested``."""

    searchRequested = Signal(int)  # width
    beamChosen = Signal(int)  # index into result.beams

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.result: "BeamResult | None" = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("width K:"))
        self.width_spin = QSpinBox()
        self.width_spin.setRange(1, 16)
        self.width_spin.setValue(4)
        self.width_spin.setToolTip("how many hypotheses the search keeps at each step (1 = greedy)")
        row.addWidget(self.width_spin)
        self.search_button = QPushButton("Search")
        self.search_button.setToolTip("beam search the current source sentence with the model shown")
        self.search_button.clicked.connect(lambda: self.searchRequested.emit(self.width_spin.value()))
        row.addWidget(self.search_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel("Search the current sentence: the best K translations by log-probability.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Vertical)
        self.beams = QListWidget()
        self.beams.setToolTip("beams, best first: choose one to step through it in every view")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["token", "p", "log p (sum)"])
        self.tree.setToolTip("every candidate the search scored; grey = pruned, bold = finished")
        split.addWidget(self.beams)
        split.addWidget(self.tree)
        split.setSizes([120, 300])
        lay.addWidget(split, 1)
        self.beams.currentRowChanged.connect(self._on_row)
        self.tree.itemClicked.connect(self._on_tree_item)
        self.node_items: list[QTreeWidgetItem] = []

    def show_result(self, result: "BeamResult") -> None:
        self.result = result
        self.beams.blockSignals(True)
        self.beams.clear()
        for i, b in enumerate(result.beams):
            end = "" if b.finished else "  (unfinished: length limit)"
            item = QListWidgetItem(f"{i + 1}. {' '.join(b.tokens)}   log p = {b.log_prob:.3f}{end}")
            self.beams.addItem(item)
        self.beams.setCurrentRow(-1)
        self.beams.blockSignals(False)
        self.tree.clear()
        self.node_items = []
        bold = QFont(self.tree.font())
        bold.setBold(True)
        finals = {b.node for b in result.beams}
        for i, n in enumerate(result.nodes):
            item = QTreeWidgetItem([n.token, f"{math.exp(n.log_prob):.3f}", f"{n.total:.3f}"])
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            if n.status == "pruned":
                for c in range(3):
                    item.setForeground(c, QBrush(PRUNED))
                item.setToolTip(0, f"pruned at step {n.step}: not among the best {result.width}")
            elif n.status == "finished" or i in finals:
                for c in range(3):
                    item.setFont(c, bold)
                item.setToolTip(0, f"step {n.step}: " + ("finished (<eos>)" if n.status == "finished" else "kept"))
            parent = self.node_items[n.parent] if n.parent >= 0 else None
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
            self.node_items.append(item)
        self.tree.expandAll()
        for c in range(3):
            self.tree.resizeColumnToContents(c)
        extra = "" if result.greedy_kept else " · the search pruned the greedy path; it was added back as a candidate"
        self.status.setText(f"width {result.width}: {len(result.beams)} beams, "
                            f"{sum(n.status == 'pruned' for n in result.nodes)} candidates pruned{html.escape(extra)}")

    def choose(self, index: int) -> None:
        self.beams.setCurrentRow(index)

    def _on_row(self, row: int) -> None:
        if self.result is not None and 0 <= row < len(self.result.beams):
            node = self.result.beams[row].node
            if 0 <= node < len(self.node_items):
                self.tree.setCurrentItem(self.node_items[node])
            self.beamChosen.emit(row)

    def _on_tree_item(self, item: QTreeWidgetItem, _col: int) -> None:
        if self.result is None:
            return
        node = item.data(0, Qt.ItemDataRole.UserRole)
        for i, b in enumerate(self.result.beams):
            if b.node == node:
                self.beams.setCurrentRow(i)
                return


class BeamController:
    """Runs the search for the window's sentence and shows a chosen beam in every view."""

    def __init__(self, window, panel: BeamPanel) -> None:
        self.window = window
        self.panel = panel
        panel.searchRequested.connect(self.search)
        panel.beamChosen.connect(self.show_beam)
        self._source: str | None = None
        self._bundle = None
        self._traces: dict = {}

    def search(self, width: int) -> "BeamResult | None":
        from sandbox.whatif import beam_search

        w = self.window
        if w.bundle is None or w.trace is None:
            return None
        if w.is_training:
            w.show_banner("stop training to run a beam search on a model that is not changing", "warning")
            return None
        source = w.current_view()["source"]
        try:
            res = beam_search(w.bundle, source, int(width), traces=False)  # traced when chosen
        except ValueError as e:
            w.show_banner(f"cannot search: {html.escape(str(e))}", "error")
            return None
        self._source, self._bundle, self._traces = source, w.bundle, {}
        self.panel.show_result(res)
        return res

    def trace_of(self, index: int) -> "Trace":
        """Beam ``index``'s trace, made on first use and kept."""
        from sandbox.whatif import beam_trace

        tr = self._traces.get(index)
        if tr is None:
            tr = beam_trace(self._bundle, self._source, self.panel.result.beams[index])
            self._traces[index] = tr
        return tr

    def show_beam(self, index: int) -> None:
        from .whatif import install_whatif

        res = self.panel.result
        if res is None or not 0 <= index < len(res.beams):
            return
        b = res.beams[index]
        if self._bundle is not self.window.bundle:
            self.window.show_banner("the model changed since this search; search again", "warning")
            return
        install_whatif(self.window).show_beam(
            self.trace_of(index), f"beam {index + 1} of {len(res.beams)} (width {res.width}, log p = {b.log_prob:.3f}):")


def install_beam(window) -> QDockWidget:
    """Add the beam panel as a dock (View ▸ Beam search); returns the dock (``window.beam_dock``)."""
    dock = getattr(window, "beam_dock", None)
    if dock is not None:
        return dock
    panel = BeamPanel()
    dock = QDockWidget("Beam search", window)
    dock.setObjectName("beam_dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.setVisible(False)
    window.beam_dock = dock
    window.beam_panel = panel
    window.beam = BeamController(window, panel)
    action = dock.toggleViewAction()
    action.setText("Beam search")
    action.setToolTip("search the K best translations and step through any of them")
    window_menu(window, "&View").addAction(action)
    return dock
