"""Step anatomy: one decoder step laid out left to right as the model computed it.

    query q ─┐
    keys K   │→ energies e_j → softmax weights α_j → Σ α_j v_j = context / head output
    values V ┘                                       → [c; s] → õ → top-k probabilities

Source tokens run down the rows of every panel (K, the energy bars, the weight bars, V),
so a row reads across as "this token's key, its score, its weight, its value". Every
number drawn comes from one AttentionRecord and its Step.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from .bars import HBars, show_top_k
from .plots import (token_axes, WHATIF, BAD, BAR_BLUE, BAR_GREY, BAR_ORANGE, GOOD, VECTOR_CMAP, MatrixItem, hide_axis,
                    set_plot_font, set_ticks, set_title, style_plot)
from .steady import RichLine
from .traceindex import KIND_TITLES, TraceIndex

SCORE_FORMULAS = {
    "dot": "e<sub>j</sub> = s<sub>t</sub> · h<sub>j</sub>",
    "scaled_dot": "e<sub>j</sub> = s<sub>t</sub> · h<sub>j</sub> / √d",
    "general": "e<sub>j</sub> = s<sub>t</sub>ᵀ W h<sub>j</sub>",
    "bahdanau": "e<sub>j</sub> = vᵀ tanh(W<sub>1</sub>h<sub>j</sub> + W<sub>2</sub>s<sub>t−1</sub>)",
    "transformer": "e<sub>j</sub> = q · k<sub>j</sub> / √d<sub>k</sub>",
}
# Plot titles and their shorter forms (longest first): a narrow column (a docked editor, the
# presenter's narration beside the views) shows the longest form that fits, never a clipped one.
TITLES = {
    "keys_values": ("keys = values h<sub>j</sub>", "K = V: h<sub>j</sub>", "h<sub>j</sub>"),
    "keys_head": ("keys k<sub>j</sub> (head)", "keys k<sub>j</sub>", "k<sub>j</sub>"),
    "states_unused": ("states h<sub>j</sub> (unused)", "h<sub>j</sub> (unused)", "h<sub>j</sub>"),
    "energies": ("energies e<sub>j</sub>", "e<sub>j</sub>"),
    "weights": ("weights α<sub>j</sub>", "α<sub>j</sub>"),
    "values": ("values v<sub>j</sub>", "v<sub>j</sub>"),
    "top_k": ("top-k p(y<sub>t</sub>)", "p(y<sub>t</sub>)"),
    "no_energies": ("no energies", "no e<sub>j</sub>"),
    "no_weights": ("no weights", "no α<sub>j</sub>"),
}
STRIP_H = 34
MIDDLE_MIN_H = 130


CONCAT_SYMBOLS = {"context": "c", "state": "s"}


def concat_label(names) -> str:
    """The readout input as the step records it: ("context", "state") -> "[c; s]",
    ("state",) -> "[s]" (no attention reads only the state)."""
    return "[" + "; ".join(CONCAT_SYMBOLS.get(n, n) for n in names) + "]"


def _title(plot: pg.PlotItem, name: str) -> None:
    full, *short = TITLES[name]
    set_title(plot, full, short=short)


def _strip(plot: pg.PlotItem, label: str) -> None:
    set_ticks(plot.getAxis("left"), [label])
    hide_axis(plot, "bottom")


class StepAnatomy(QWidget):
    """Draws (trace, step, layer, head) for one attention kind; holds no model state."""

    kindChanged = Signal(str)
    topkClicked = Signal(int, str)  # step, token: a click on a top-k bar (What-if: force it)
    queryRowChanged = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = "cross"
        self.query_row = 0  # encoder self-attention: which source position is the query
        self.index: TraceIndex | None = None
        self.record = None
        self._font = QFont()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        # Painted rich text, not a QLabel: a QLabel's setText re-lays out the whole window
        # on every step (widgets/steady.py). Its width is whatever the layout gives it; it
        # wraps into two lines of the font, and its tooltip holds the whole text in case
        # even two lines are too few.
        self.header = RichLine(lines=2)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        lay.addLayout(top)
        self.kind_label = QLabel("attention:")
        self.kind_combo = QComboBox()
        for k in ("cross", "masked_self", "self"):
            self.kind_combo.addItem(KIND_TITLES[k], k)
        self.kind_combo.setToolTip("which of the Transformer's three attentions to take apart")
        self.row_label = QLabel("query position:")
        self.row_spin = QSpinBox()
        self.row_spin.setToolTip("encoder self-attention: the source position whose query is shown")
        # the formula changes with the model, not the step: one or two lines as it needs
        self.formula = RichLine(lines=2, fit=True)
        # The Transformer's pickers sit right of the header; the formula gets the whole width
        # (beside a wide combo box at 200 % it was squeezed into a tall, empty column).
        for w in (self.kind_label, self.kind_combo, self.row_label, self.row_spin):
            w.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            top.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.formula)
        self.gw = pg.GraphicsLayoutWidget()
        lay.addWidget(self.gw, 1)
        self._build_plots()
        self._level_bottoms()
        self._fit_min_height()
        self.gw.scene().sigMouseClicked.connect(self._on_scene_click)
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self.row_spin.valueChanged.connect(self._on_row)
        self._set_transformer_controls(False)
        self._args = None

    # -- construction -------------------------------------------------------------------
    def _build_plots(self) -> None:
        gl = self.gw.ci
        gl.setSpacing(2)
        gl.setContentsMargins(2, 2, 2, 2)  # pyqtgraph's default 9 px a side is room the strips need
        mk = lambda r, c, **kw: style_plot(gl.addPlot(row=r, col=c, axisItems=token_axes("left"), enableMenu=False, **kw))  # noqa: E731
        self.q_plot = mk(0, 0)
        # K and V number their columns (vector components 1..d) on a token axis: its labels
        # thin out, counted back from d, instead of printing over each other ("1020").
        self.k_plot = style_plot(gl.addPlot(row=1, col=0, axisItems=token_axes("left", "bottom"), enableMenu=False))
        self.c_plot = mk(2, 0)
        self.e_plot = mk(1, 1)
        self.w_plot = mk(1, 2)
        self.v_plot = style_plot(gl.addPlot(row=1, col=3, axisItems=token_axes("left", "bottom"), enableMenu=False))
        self.o_plot = mk(2, 3)
        self.cat_plot = mk(0, 4)
        self.topk_plot = mk(1, 4)
        self.out_plot = mk(2, 4)
        for p, label in ((self.q_plot, "q"), (self.c_plot, "c"), (self.o_plot, "out"),
                         (self.cat_plot, "[c; s]"), (self.out_plot, "õ")):
            _strip(p, label)
        self.cat_label = "[c; s]"  # what the readout strip is labelled now (from the step)
        self.q_img = MatrixItem(self.q_plot, VECTOR_CMAP)
        self.k_img = MatrixItem(self.k_plot, VECTOR_CMAP)
        self.c_img = MatrixItem(self.c_plot, VECTOR_CMAP)
        self.v_img = MatrixItem(self.v_plot, VECTOR_CMAP)
        self.o_img = MatrixItem(self.o_plot, VECTOR_CMAP)
        self.cat_img = MatrixItem(self.cat_plot, VECTOR_CMAP)
        self.out_img = MatrixItem(self.out_plot, VECTOR_CMAP)
        self.energy_bars = HBars(self.e_plot, BAR_ORANGE, "energy")
        self.weight_bars = HBars(self.w_plot, BAR_BLUE, "weight")
        self.topk_bars = HBars(self.topk_plot, BAR_GREY, "probability")
        for p in (self.e_plot, self.w_plot, self.v_plot):
            p.setYLink(self.k_plot)
            hide_axis(p, "left")
        # Every bar is labelled with its value, so the bar plots need no numeric scale: the
        # row of matrices and bars keeps its height for the tokens on small screens.
        for p in (self.e_plot, self.w_plot, self.topk_plot):
            hide_axis(p, "bottom")
            p.getAxis("bottom").setHeight(4)
        # Strips and matrices line up by equal left-axis widths and equal x ranges (set per
        # shape); no setXLink, which would shift a strip whose axes differ in width.
        _title(self.e_plot, "energies")
        _title(self.w_plot, "weights")
        _title(self.k_plot, "keys_values")
        _title(self.v_plot, "values")
        _title(self.topk_plot, "top_k")
        self.head_lines: list[pg.InfiniteLine] = []
        lay = gl.layout
        for r in (0, 2):
            lay.setRowFixedHeight(r, STRIP_H + 4)
        # The middle row (K, energies, weights, V, top-k) holds the numbers: never squeezed
        # below a title, an axis and a few readable rows, whatever the window's height.
        lay.setRowMinimumHeight(1, MIDDLE_MIN_H)
        for c, s in ((0, 3), (1, 3), (2, 3), (3, 2), (4, 2)):
            lay.setColumnStretchFactor(c, s)
        self._left_width = 0

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        for p in (self.q_plot, self.k_plot, self.c_plot, self.e_plot, self.w_plot, self.v_plot,
                  self.o_plot, self.cat_plot, self.topk_plot, self.out_plot):
            set_plot_font(p, font)
        for b in (self.energy_bars, self.weight_bars, self.topk_bars):
            b.labels.set_font(font)
        self._level_bottoms()
        self.header.setFont(font)
        self.formula.setFont(font)
        self._left_width = 0
        if self._args is not None:
            self.show_step(*self._args)
        self._fit_min_height()

    def _level_bottoms(self) -> None:
        """One bottom-axis height for the middle row: K and V number their columns there and
        the bar plots leave the same room blank, so every view of the row is equally high and
        the linked rows line up (with a lower axis under the bars the linked energies and
        weights showed fewer rows than K, and the last token's bars fell off the plot)."""
        h = QFontMetrics(self._font).height() + 8
        for p in (self.k_plot, self.v_plot, self.e_plot, self.w_plot, self.topk_plot):
            p.getAxis("bottom").setHeight(h)

    def _fit_min_height(self) -> None:
        """The plots' widget is never lower than the plots' own layout needs (strips, titles
        and axes in the current font): a lower one cut the bottom strip off at 1280×720."""
        ci = self.gw.ci
        ci.layout.invalidate()
        need = ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()
        frame = 2 * self.gw.frameWidth()
        self.gw.setMinimumHeight(int(np.ceil(max(need, 2 * (STRIP_H + 4) + MIDDLE_MIN_H + 4))) + frame)

    def _set_transformer_controls(self, on: bool) -> None:
        for w in (self.kind_label, self.kind_combo):
            w.setVisible(on)
        self.row_label.setVisible(on and self.kind == "self")
        self.row_spin.setVisible(on and self.kind == "self")

    def _layout_for(self, transformer: bool) -> None:
        gl = self.gw.ci
        has_v = self.v_plot in gl.items
        if transformer and not has_v:  # separate values V and the head output
            gl.addItem(self.v_plot, row=1, col=3)
            gl.addItem(self.o_plot, row=2, col=3)
        elif not transformer and has_v:  # seq2seq: keys = values, one matrix
            gl.removeItem(self.v_plot)
            gl.removeItem(self.o_plot)
        self.c_plot.setVisible(not transformer)
        gl.layout.setColumnStretchFactor(3, 2 if transformer else 0)
        if transformer:
            _title(self.k_plot, "keys_head")
            _strip(self.cat_plot, "heads")
            self.cat_label = "heads"
            _strip(self.out_plot, "y")
        else:
            _title(self.k_plot, "keys_values")
            _strip(self.out_plot, "õ")  # the [..] strip is labelled per step from Step.concat
        self._fit_min_height()

    def _fix_left_widths(self, idx: TraceIndex) -> None:
        """Same left-axis width down each column so strips line up with the matrices."""
        fm = QFontMetrics(self._font)
        # Every token the model can output (not only this trace's): another pair, mode or
        # What-if edit of the same model then keeps the widths, and nothing re-lays out.
        vocab = set(idx.trace.target_vocab) or {tok for s in idx.trace.steps for tok, _ in s.top_k}
        toks = list(idx.trace.source_tokens) + [s.input_token for s in idx.trace.steps]
        key_in = (self._font.toString(), tuple(idx.trace.source_tokens), id(idx.trace.target_vocab),
                  len(vocab), tuple(t for t in toks if t not in vocab))
        if key_in == getattr(self, "_width_input", None):
            return
        self._width_input = key_in
        vocab_w = max((fm.horizontalAdvance(t) for t in vocab), default=0)
        w = max([fm.horizontalAdvance(t) for t in idx.trace.source_tokens if t]
                + [vocab_w, fm.horizontalAdvance("heads")]) + 14
        wk = max(vocab_w, fm.horizontalAdvance("[c; s]")) + 14
        key = (w, wk)
        if key == self._left_width:
            return
        self._left_width = key
        for p in (self.q_plot, self.k_plot, self.c_plot):
            p.getAxis("left").setWidth(w)
        for p in (self.v_plot, self.o_plot):
            p.getAxis("left").setWidth(fm.horizontalAdvance("out") + 14)
        for p in (self.cat_plot, self.topk_plot, self.out_plot):
            p.getAxis("left").setWidth(wk)

    # -- user choices -------------------------------------------------------------------
    def set_kind(self, kind: str) -> None:
        i = self.kind_combo.findData(kind)
        if i >= 0 and self.kind_combo.currentIndex() != i:
            self.kind_combo.setCurrentIndex(i)  # -> _on_kind
        elif kind != self.kind:
            self.kind = kind

    def _on_kind(self, i: int) -> None:
        kind = self.kind_combo.itemData(i)
        if kind and kind != self.kind:
            self.kind = kind
            self._set_transformer_controls(self.index is not None and self.index.is_transformer)
            self.kindChanged.emit(kind)
            if self._args is not None:
                self.show_step(*self._args)

    def set_query_row(self, row: int) -> None:
        if row != self.query_row:
            self.query_row = row
            self.row_spin.blockSignals(True)
            self.row_spin.setValue(row)
            self.row_spin.blockSignals(False)
            if self._args is not None:
                self.show_step(*self._args)

    def _on_row(self, v: int) -> None:
        if v != self.query_row:
            self.query_row = v
            self.queryRowChanged.emit(v)
            if self._args is not None:
                self.show_step(*self._args)

    # -- drawing ------------------------------------------------------------------------
    def show_step(self, idx: TraceIndex, t: int, layer: int, head: int) -> None:
        self._args = (idx, t, layer, head)
        if idx is not self.index:
            self.index = idx
            self._layout_for(idx.is_transformer)
            self._set_transformer_controls(idx.is_transformer)
            self._fix_left_widths(idx)
            n = len(idx.trace.source_tokens)
            self.row_spin.blockSignals(True)
            self.row_spin.setRange(0, max(n - 1, 0))
            self.query_row = min(self.query_row, max(n - 1, 0))
            self.row_spin.setValue(self.query_row)
            self.row_spin.blockSignals(False)
        kind = self.kind if idx.is_transformer else "cross"
        step = idx.step(t)
        position = self.query_row if kind == "self" else t
        rec = idx.record(kind, layer, head, position)
        self.record = rec
        self._header(idx, step, kind, layer, head, position)
        if rec is None:
            self.formula.setText("<i>no attention here: the decoder sees only the encoder's final state "
                                 "(the fixed-length bottleneck)</i>" if not idx.has_attention else "")
            for m in (self.q_img, self.c_img, self.v_img, self.o_img):
                m.set(np.zeros((0, 0), np.float32))
            states = idx.trace.encoder_states
            self.k_img.set(states, levels=_sym(states))  # what attention would have looked at
            _dims(self.k_plot, states.shape[1] if states.ndim == 2 else 0)
            set_ticks(self.k_plot.getAxis("left"), list(idx.trace.source_tokens))
            _title(self.k_plot, "states_unused")
            _title(self.e_plot, "no_energies")
            _title(self.w_plot, "no_weights")
            n = states.shape[0]
            self.energy_bars.set(np.zeros(0), xrange=(0.0, 1.0), nrows=n)
            self.weight_bars.set(np.zeros(0), xrange=(0.0, 1.35), nrows=n)
        else:
            self._draw_record(idx, rec, kind, layer, head, position, step)
        self._draw_output(idx, step, rec, kind, layer, position)

    def _header(self, idx, step, kind, layer, head, position) -> None:
        tf = idx.trace.mode == "teacher_forcing"
        src = step.input_from if step.input_from in ("gold", "forced") else "prediction"
        colour = {"gold": "#1a7f37", "forced": WHATIF.name()}.get(step.input_from, "#8250df")
        parts = [f"<b>t = {step.t}</b>"]
        edits = idx.trace.interventions
        if edits is not None and not edits.empty:  # a screenshot says what was changed
            parts.append(f"<b style='color:{WHATIF.name()}'>what-if:</b> "
                         + html.escape("; ".join(edits.describe(idx.trace.source_tokens))))
        if any(s.chosen is not None for s in idx.trace.steps):
            parts.append(f"<b style='color:{WHATIF.name()}'>beam search path</b>")
        parts.append(f"input: <b>{html.escape(step.input_token)}</b> "
                     f"<span style='color:{colour}'>({src})</span>")
        if step.gold is not None:
            ok = step.predicted == step.gold
            c = GOOD.name() if ok else BAD.name()
            parts.append(f"predicted: <b style='color:{c}'>{html.escape(step.predicted)}</b> "
                         f"{'✓' if ok else '✗'} gold: <b>{html.escape(step.gold)}</b>")
        else:
            parts.append(f"predicted: <b>{html.escape(step.predicted)}</b> (no gold)")
        if step.forced is not None:
            parts.append(f"<span style='color:{WHATIF.name()}'>forced output: <b>{html.escape(step.forced)}</b></span>")
        elif step.chosen is not None:
            parts.append(f"<span style='color:{WHATIF.name()}'>beam output: <b>{html.escape(step.chosen)}</b></span>")
        rec = idx.record(kind, layer, head, position)
        if rec is not None and rec.pinned:
            j = int(np.argmax(rec.weights))
            parts.append(f"<span style='color:{WHATIF.name()}'>attention pinned to "
                         f"“{html.escape(idx.trace.source_tokens[j])}” ({j})</span>")
        if idx.has_gold and step.off_gold:
            parts.append(f"<span style='color:{BAD.name()}'>off the gold path"
                         f"{f' from step {idx.first_offgold}' if idx.first_offgold is not None else ''}</span>")
        if idx.is_transformer:
            where = f"layer {layer}, head {head}"
            if kind == "self":
                tok = idx.trace.source_tokens[position]
                where += f", query “{html.escape(tok)}” ({position})"
            parts.append(where)
        parts.append("teacher forcing" if tf else "free running")
        target_from = getattr(idx.trace, "target_from", None)
        if idx.trace.target_tokens is None:
            parts.append("no target (nothing to compare with)")
        elif target_from == "preset":
            parts.append("gold target: the preset's pair")
        # " · " with ordinary spaces (not &nbsp;) so the header can wrap between its parts.
        text = " · ".join(f"<span style='white-space:nowrap'>{p}</span>" for p in parts)
        if text != self.header.text():
            self.header.setText(text)
            self.header.setToolTip(self.header.plain_text())

    def _draw_record(self, idx, rec, kind, layer, head, position, step) -> None:
        keys = idx.key_tokens(kind, position)
        lv = idx.vector_levels(kind, layer)
        K, V, E, W = rec.keys, rec.values, rec.energies, rec.weights
        absent = None
        if kind == "masked_self" and K.shape[0] < idx.n_steps:
            # Free running: step t's record has keys 0..t only (later positions are not
            # decoded yet, so nothing is masked). Blank rows keep the shapes fixed across
            # steps (no re-layout). A teacher-forced trace records every position, the
            # future ones with e = −∞ and weight 0, drawn below from the record itself.
            n, m = idx.n_steps, K.shape[0]
            keys = idx.col_labels(kind)
            absent = np.arange(n) >= m
            K = np.vstack([K, np.full((n - m, K.shape[1]), np.nan, np.float32)])
            V = np.vstack([V, np.full((n - m, V.shape[1]), np.nan, np.float32)])
            E = np.concatenate([E, np.full(n - m, np.nan, np.float32)])
            W = np.concatenate([W, np.full(n - m, np.nan, np.float32)])
        elif kind == "masked_self":
            keys = idx.col_labels(kind)
        masked = np.isneginf(E)
        score = "transformer" if idx.is_transformer else rec.score
        formula = SCORE_FORMULAS[score]
        if idx.is_transformer:
            dk = rec.query.shape[0]
            self.formula.setText(f"<b>{KIND_TITLES[kind]}</b> · score: {formula} (d<sub>k</sub> = {dk}) · "
                                 f"weights α = softmax(e) · output: Σ<sub>j</sub> α<sub>j</sub> v<sub>j</sub>")
        else:
            q = "s<sub>t−1</sub> (state before this step)" if rec.score == "bahdanau" else "s<sub>t</sub>"
            concat = " ; ".join("c<sub>t</sub>" if c == "context" else "s<sub>t</sub>" for c in step.concat)
            self.formula.setText(f"score <b>{rec.score}</b>: {formula} · weights α = softmax(e) · query = {q} · "
                                 f"c<sub>t</sub> = Σ<sub>j</sub> α<sub>j</sub> h<sub>j</sub> · "
                                 f"õ<sub>t</sub> = tanh(W<sub>c</sub>[{concat}]) → softmax(W<sub>o</sub>õ<sub>t</sub>)")
        _title(self.e_plot, "energies")
        _title(self.w_plot, "weights")
        _title(self.k_plot, "keys_head" if idx.is_transformer else "keys_values")
        self.q_img.set(rec.query[None, :], levels=lv)
        self.k_img.set(K, levels=lv)
        _dims(self.k_plot, K.shape[1])
        set_ticks(self.k_plot.getAxis("left"), keys)
        _strip(self.q_plot, "q" if idx.is_transformer else ("sₜ₋₁" if rec.score == "bahdanau" else "sₜ"))
        n = len(keys)
        self.energy_bars.set(E, xrange=idx.energy_range(kind, layer, head), nrows=n, absent=absent)
        brushes = [BAR_BLUE] * n
        if n and np.isfinite(W).any():  # an overflow can leave every weight NaN
            brushes[int(np.nanargmax(np.where(np.isfinite(W), W, np.nan)))] = QColor("#2f4b7c")
        self.weight_bars.set(W, xrange=(0.0, 1.35), brushes=brushes, nrows=n, masked=masked,
                             masked_label="0 (masked)", absent=absent)
        if idx.is_transformer:
            self.v_img.set(V, levels=lv)
            _dims(self.v_plot, V.shape[1])
            self.o_img.set(rec.output[None, :], levels=lv)
        else:
            self.c_img.set(rec.output[None, :], levels=lv)

    def _draw_output(self, idx, step, rec, kind, layer, position) -> None:
        if idx.is_transformer:
            recs = idx.head_records(kind, layer, position)
            if recs:
                cat = np.concatenate([r.output for r in recs])[None, :]
                self.cat_img.set(cat, levels=idx.vector_levels(kind, layer))
                self._head_boundaries([r.output.shape[0] for r in recs])
            out = step.output
        else:
            parts = []
            for name in step.concat:
                parts.append(rec.output if (name == "context" and rec is not None) else step.state)
            cat = np.concatenate(parts) if parts else step.state
            label = concat_label(step.concat or ("state",))
            if label != self.cat_label:
                self.cat_label = label
                _strip(self.cat_plot, label)
            self.cat_img.set(cat[None, :], levels=_sym(cat, step.output))
            self._head_boundaries([p.shape[0] for p in parts] if len(parts) > 1 else [])
            out = step.output
        self.out_img.set(out[None, :], levels=_sym(out))
        self.topk_tokens = show_top_k(self.topk_bars, self.topk_plot.getAxis("left"), step, 1.5)

    def topk_token_at(self, scene_pos) -> str | None:
        """The top-k token whose bar row is under ``scene_pos`` (None elsewhere)."""
        vb = self.topk_plot.getViewBox()
        if not getattr(self, "topk_tokens", None) or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        row = int(round(vb.mapSceneToView(scene_pos).y()))
        return self.topk_tokens[row] if 0 <= row < len(self.topk_tokens) else None

    def _on_scene_click(self, ev) -> None:
        tok = self.topk_token_at(ev.scenePos())
        if tok is not None and self._args is not None and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.topkClicked.emit(self._args[1], tok)

    def _head_boundaries(self, sizes: list[int]) -> None:
        pos = np.cumsum(sizes)[:-1] - 0.5 if len(sizes) > 1 else []
        while len(self.head_lines) < len(pos):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#000000", width=2))
            self.cat_plot.addItem(line)
            self.head_lines.append(line)
        for i, line in enumerate(self.head_lines):
            if i < len(pos):
                line.setPos(pos[i])
                line.setVisible(True)
            else:
                line.setVisible(False)


def _dims(plot: pg.PlotItem, d: int) -> None:
    """Number a vector matrix's columns 1..d on its bottom axis (unchanged: free)."""
    ax = plot.getAxis("bottom")
    if getattr(ax, "_sandbox_dims", None) != d:
        ax._sandbox_dims = d
        set_ticks(ax, [str(i + 1) for i in range(d)])


def _sym(*arrays: np.ndarray) -> tuple[float, float]:
    """Symmetric levels over the finite entries (a NaN from an overflow is left out)."""
    m = max((float(np.abs(a[np.isfinite(a)]).max(initial=0.0)) for a in arrays if a is not None and a.size),
            default=1.0) or 1.0
    return (-m, m)
