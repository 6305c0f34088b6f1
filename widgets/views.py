"""The centre of the window: attention maps (tabs), step anatomy and explain-a-cell.

``Views.draw(trace, step, layer, head)`` is the only way in. Each panel takes what it
needs from a :class:`TraceIndex` of that trace; nothing here holds or touches a model.
Only visible panels are redrawn on a step; hidden ones catch up when they are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from sandbox.names import PANELS

from .anatomy import StepAnatomy
from .attention_map import AttentionMap
from .explain import ExplainView, explain
from .heads import HeadsView
from .positions import PositionsView
from .traceindex import KIND_TITLES, TraceIndex

if TYPE_CHECKING:
    from sandbox.trace import Trace

TRANSFORMER_ONLY = ("masked_self", "encoder_self", "heads", "positions")


class Views(QWidget):
    cellHovered = Signal(str)
    stepRequested = Signal(int)
    panelChanged = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.index: TraceIndex | None = None
        self.step = 0
        self.layer = 0
        self.head = 0
        self._font = QFont()
        self._hidden: set[str] = set()
        self.cross_map = AttentionMap("cross")
        self.masked_map = AttentionMap("masked_self")
        self.self_map = AttentionMap("self")
        self.heads = HeadsView()
        self.positions = PositionsView()
        self.anatomy = StepAnatomy()
        self.explain = ExplainView()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._tab_names = ("cross", "masked_self", "encoder_self", "heads", "positions")
        for w, name in ((self.cross_map, "attention map (cross)"), (self.masked_map, "masked decoder self"),
                        (self.self_map, "encoder self"), (self.heads, "heads"),
                        (self.positions, "positions")):
            self.tabs.addTab(w, name)
        self.lower = QSplitter(Qt.Orientation.Horizontal)
        self.lower.addWidget(self.anatomy)
        self.lower.addWidget(self.explain)
        self.lower.setStretchFactor(0, 4)
        self.lower.setStretchFactor(1, 2)
        self.lower.setSizes([900, 390])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.lower)
        self.splitter.setChildrenCollapsible(False)  # a projector's small screen never hides a panel
        self.lower.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 380])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)
        self._explain_cell: tuple[str, int, int, int, int] | None = None
        self._defer = False
        self._explained_key = None
        self._drawn: dict[str, tuple] = {}
        for m in (self.cross_map, self.masked_map, self.self_map):
            m.cellHovered.connect(self.cellHovered)
            m.cellClicked.connect(lambda r, c, m=m: self.explain_cell(m.kind, r, c))
        self.tabs.currentChanged.connect(self._on_tab)
        self.anatomy.kindChanged.connect(self._on_anatomy_kind)
        self.anatomy.queryRowChanged.connect(lambda _r: self._redraw())
        self._set_model_tabs(False)

    # -- public -------------------------------------------------------------------------
    @property
    def trace(self) -> "Trace | None":
        return self.index.trace if self.index is not None else None

    def draw(self, trace: "Trace | None", step: int, layer: int = 0, head: int = 0,
             defer_details: bool = False) -> None:
        """Show ``trace`` at decoder step ``step`` (clamped) for one layer and head.

        ``defer_details``: draw the maps now and the anatomy / explanation only on
        :meth:`draw_details` (live training spreads one snapshot over two GUI ticks).
        """
        if trace is None:
            self.index = None
            return
        new = self.index is None or self.index.trace is not trace
        old = self.index
        idx = TraceIndex(trace) if new else self.index
        self.step = max(0, min(step, idx.n_steps - 1))
        self.layer = max(0, min(layer, idx.layers - 1))
        self.head = max(0, min(head, idx.heads - 1))
        if new:
            self.index = idx
            self._drawn.clear()
            if old is None or old.is_transformer != idx.is_transformer:
                self._set_model_tabs(idx.is_transformer)
        if new and self._explain_cell is not None and not _same_sentence(old, idx):
            self.clear_explanation()  # another sentence or model: the clicked cell means nothing now
        if self._explain_cell is not None:  # the explanation follows the layer and head shown
            kind, _l, _h, row, col = self._explain_cell
            self._explain_cell = (kind, self.layer, self.head, row, col)
        self._defer = defer_details
        try:
            self._redraw()
        finally:
            self._defer = False

    def draw_details(self) -> None:
        """Draw what ``draw(..., defer_details=True)`` left for later."""
        self._redraw()

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        for w in (self.cross_map, self.masked_map, self.self_map, self.heads, self.positions, self.anatomy):
            w.set_font(font)
        ef = QFont(font)
        self.explain.document().setDefaultFont(ef)
        self._drawn.clear()
        self._explained_key = None
        self._redraw()

    def panel_widget(self, name: str) -> QWidget:
        return {"map": self.cross_map, "cross": self.cross_map, "masked_self": self.masked_map,
                "encoder_self": self.self_map, "heads": self.heads, "positions": self.positions,
                "anatomy": self.anatomy, "explain": self.explain}[name]

    def current_panel(self) -> str:
        return self._tab_names[self.tabs.currentIndex()] if self.tabs.currentIndex() >= 0 else "cross"

    def focus_panel(self, name: str) -> None:
        if name not in PANELS:
            raise ValueError(f"unknown panel {name!r}; allowed: {', '.join(PANELS)}")
        if name in self._hidden:
            self.set_panel_hidden(name, False)
        if name in ("anatomy", "explain"):
            w = self.panel_widget(name)
            w.setVisible(True)
            w.setFocus()
            self._redraw()
        else:
            key = "cross" if name == "map" else name
            i = self._tab_names.index(key)
            if not self.tabs.isTabVisible(i):  # a Transformer-only panel on a seq2seq model
                i = 0
            self.tabs.setCurrentIndex(i)
        self.panelChanged.emit(name)

    def set_panel_hidden(self, name: str, hidden: bool) -> None:
        if name not in PANELS:
            raise ValueError(f"unknown panel {name!r}; allowed: {', '.join(PANELS)}")
        key = "cross" if name == "map" else name
        (self._hidden.add if hidden else self._hidden.discard)(key)
        if key in ("anatomy", "explain"):
            self.panel_widget(key).setVisible(not hidden)
        else:
            self._apply_tab_visibility()
        self._redraw()

    def clear_explanation(self) -> None:
        """Back to the "click a cell" hint; no cell selected."""
        self._explain_cell = None
        self._explained_key = None
        for m in (self.cross_map, self.masked_map, self.self_map):
            m.select_cell(None, None)
        self.explain.show_explanation(None)

    def explain_cell(self, kind: str, row: int, col: int) -> None:
        """Show the arithmetic of one weight (as a click on a map does)."""
        idx = self.index
        if idx is None:
            return
        layer, head = self.layer, self.head
        self._explain_cell = (kind, layer, head, row, col)
        self._explained_key = None
        if kind != "self" and row > self.step:
            self.stepRequested.emit(row)  # jump to the clicked row so it is drawn
        if kind == "self":
            self.anatomy.set_query_row(row)
        m = {"cross": self.cross_map, "masked_self": self.masked_map, "self": self.self_map}[kind]
        for other in (self.cross_map, self.masked_map, self.self_map):
            other.select_cell(row, col) if other is m else other.select_cell(None, None)
        if "explain" in self._hidden:
            self.set_panel_hidden("explain", False)
        self._draw_explain()
        self._redraw()

    # -- internals ----------------------------------------------------------------------
    def _set_model_tabs(self, transformer: bool) -> None:
        self._transformer = transformer
        self.tabs.setTabText(0, "cross attention" if transformer else "attention map")
        self._apply_tab_visibility()
        if not transformer:
            self.tabs.setCurrentIndex(0)
            self.anatomy.set_kind("cross")

    def _apply_tab_visibility(self) -> None:
        for i, name in enumerate(self._tab_names):
            visible = (self._transformer or name not in TRANSFORMER_ONLY) and name not in self._hidden
            self.tabs.setTabVisible(i, visible)

    def _on_tab(self, i: int) -> None:
        name = self._tab_names[i] if 0 <= i < len(self._tab_names) else "cross"
        kind = {"cross": "cross", "masked_self": "masked_self", "encoder_self": "self"}.get(name)
        if kind is not None and self.index is not None and self.index.is_transformer:
            self.anatomy.set_kind(kind)
        self._redraw()
        self.panelChanged.emit(name)

    def _on_anatomy_kind(self, kind: str) -> None:
        name = {"cross": "cross", "masked_self": "masked_self", "self": "encoder_self"}[kind]
        j = self._tab_names.index(name)
        if self.tabs.currentIndex() != j and self.tabs.isTabVisible(j):
            self.tabs.setCurrentIndex(j)
        self._redraw()

    def _state(self) -> tuple:
        return (id(self.index), self.step, self.layer, self.head, self.anatomy.kind, self.anatomy.query_row)

    def _redraw(self) -> None:
        idx = self.index
        if idx is None:
            return
        state = self._state()
        current = self.tabs.currentWidget()
        if current is self.cross_map:
            self._draw_map(self.cross_map, "cross", state)
        elif current is self.masked_map:
            self._draw_map(self.masked_map, "masked_self", state)
        elif current is self.self_map:
            self._draw_map(self.self_map, "self", state)
        elif current is self.heads:
            if self._drawn.get("heads") != state:
                kind = self.anatomy.kind
                pos = self.anatomy.query_row if kind == "self" else self.step
                self.heads.show_step(idx, kind, self.step, self.layer, pos)
                self._drawn["heads"] = state
        elif current is self.positions:
            self.positions.show_trace(idx)
        if self._defer:
            return
        if self.anatomy.isVisible() or not self.isVisible():
            if self._drawn.get("anatomy") != state:
                self.anatomy.show_step(idx, self.step, self.layer, self.head)
                self._drawn["anatomy"] = state
        self._draw_explain()

    def draw_all(self) -> None:
        """Draw every panel now, hidden tabs included (offscreen rendering, export)."""
        idx = self.index
        if idx is None:
            return
        state = self._state()
        self._draw_map(self.cross_map, "cross", state)
        if idx.is_transformer:
            self._draw_map(self.masked_map, "masked_self", state)
            self._draw_map(self.self_map, "self", state)
            kind = self.anatomy.kind
            pos = self.anatomy.query_row if kind == "self" else self.step
            self.heads.show_step(idx, kind, self.step, self.layer, pos)
            self.positions.show_trace(idx)
        self.anatomy.show_step(idx, self.step, self.layer, self.head)
        self._drawn["anatomy"] = state
        self._draw_explain()

    def _draw_map(self, m: AttentionMap, kind: str, state: tuple) -> None:
        if self._drawn.get(kind) == state:
            return
        self._drawn[kind] = state
        idx = self.index
        rows, cols = idx.row_labels(kind), idx.col_labels(kind)
        where = f" · layer {self.layer}, head {self.head}" if idx.is_transformer else ""
        if kind == "self":
            full = idx.matrix(kind, self.layer, self.head)
            m.show_matrix(full, None, self.anatomy.query_row, rows, cols,
                          masked=idx.mask(kind, self.layer, self.head))
            name = f"<b>{KIND_TITLES[kind]}</b>{where}"
            m.set_title(f"{name} · rows: query token, columns: key token · click a row to take it apart",
                        short=(f"{name} · click a row to take it apart", name, where[3:] or name))
            return
        note = None
        if kind == "cross" and not idx.has_attention:
            note = "no attention: the decoder only sees the encoder's final state"
            full = None
        else:
            full = idx.matrix(kind, self.layer, self.head)
        masked = idx.mask(kind, self.layer, self.head) if full is not None else None
        flags = idx.offgold_rows
        m.show_matrix(full, self.step, self.step, rows, cols, masked=masked, flag_rows=flags, note=note)
        hatched = ""
        if kind == "cross":
            what = "rows: decoder step (output token), columns: source token"
            if masked is not None and masked.any():
                hatched = " · hatched = masked (−∞ in the record)"
        elif masked is not None and masked.any():
            what = "rows: decoder step, columns: decoder inputs"
            hatched = " · hatched = masked future (−∞ in the record)"
        else:
            what = "rows: decoder step, columns: decoder inputs so far (free running: no future to mask)"
        name = f"<b>{KIND_TITLES[kind] if idx.is_transformer else 'attention'}</b>"
        off = ""
        if idx.first_offgold is not None:
            off = (f" · <span style='color:#cf222e'><b>off the gold path from step "
                   f"{idx.first_offgold}</b></span>")
        # One line at any width: the row/column legend goes first, then the kind's name; the
        # layer/head and a warning (off the gold path) stay as long as anything is shown.
        short = (f"{name}{where}{off}{' · hatched = masked' if hatched else ''}", f"{name}{where}{off}")
        if where:
            short += (f"{where[3:]}{off}",)
        if off:
            short += (off[3:],)
        m.set_title(f"{name}{where} · {what}{hatched}{off}", short=short)

    def _draw_explain(self) -> None:
        if self._explain_cell is None or self.index is None:
            return
        if not (self.explain.isVisible() or not self.isVisible()):
            return
        idx = self.index
        kind, layer, head, row, col = self._explain_cell
        tab = self.tabs.currentWidget()
        shown = tab.kind if isinstance(tab, AttentionMap) else None
        if shown is not None and shown != kind:
            # Another attention map is on screen: the clicked cell is not on it. Say so (the
            # cell is kept, and explained again when its own map is shown).
            if self._explained_key != ("other map", shown, self._explain_cell):
                self._explained_key = ("other map", shown, self._explain_cell)
                self.explain.show_explanation(
                    None, f"the cell explained here was on the {KIND_TITLES[kind]} map; click a cell of "
                          f"this {KIND_TITLES[shown]} map to explain it")
            return
        # The index itself, not its id(): a new trace's index can reuse a freed one's id, and
        # the explanation must always be of the record on screen (a history point's included).
        key = (idx, self._explain_cell)
        if self._explained_key is not None and self._explained_key[0] is idx and self._explained_key[1] == key[1]:
            return
        self._explained_key = key
        rec = idx.record(kind, layer, head, row)
        if rec is None and idx.has_attention and row >= (idx.n_steps if kind != "self"
                                                          else len(idx.trace.source_tokens)):
            # Live training (free running): this trace is shorter than the one the cell was
            # clicked on. Show the hint; the cell is kept and explained again from the first
            # trace that has it.
            self.explain.show_explanation(None)
            return
        if rec is None or col >= rec.weights.shape[0]:
            msg = ("that cell is masked: a decoder step may not look at later positions, so its "
                   "weight is exactly 0" if kind == "masked_self" and rec is not None else
                   "no attention record for that cell")
            self.explain.show_explanation(None, msg)
            return
        keys = idx.key_tokens(kind, row)
        if kind == "self":
            qlabel = f"source position {row} “{idx.trace.source_tokens[row]}”"
        else:
            qlabel = f"decoder step {row} (input “{idx.trace.steps[row].input_token}”)"
        where = f"{KIND_TITLES[kind]}, layer {layer}, head {head} · " if idx.is_transformer else ""
        self.explain.show_explanation(explain(rec, col, keys, qlabel, title=where))


def _same_sentence(old: TraceIndex | None, new: TraceIndex) -> bool:
    """Whether a clicked cell still names the same tokens (live training, a mode switch)."""
    if old is None:
        return False
    a, b = old.trace, new.trace
    return (a.source_tokens == b.source_tokens and a.target_tokens == b.target_tokens
            and old.is_transformer == new.is_transformer and old.has_attention == new.has_attention)
