"""Compare models: the same sentence pair through 2–4 models side by side, stepped in sync.

Each column is one preset of a *family* — presets with exactly the same sentence pairs
(the ``ko_en_cat*`` presets: none / dot / scaled_dot / general / bahdanau; ``en_ko_cats``
and the ``en_ko_transformer``) — with its own attention map (the window's
:class:`~widgets.attention_map.AttentionMap`) and a compact step anatomy: energies and
softmax weights per source token, the top-k output probabilities, and predicted vs gold.
For a Transformer column the map is its cross-attention (a layer/head picker appears).

One step slider (and ← → Home End) moves every column to the same decoder step t; a
column whose output is shorter (free running) stays on its last step and says so.

"Train all" trains fresh copies of the columns' models one after another with
:meth:`sandbox.train.Trainer.run` on the app's job runner (the preset's own steps, batch size,
learning rate and seed). As in the window: only the worker touches the models while it
runs; it traces the selected pair and keeps the newest snapshot per column; the GUI polls
every 50 ms; stop (and closing) joins the thread.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from .keys import keeps_keys
from .hooks import stop_on_close, window_menu
from .jobs import JobResult, JobRunner
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QFrame, QHBoxLayout, QLabel, QMainWindow,
                               QPushButton, QRadioButton, QScrollArea, QSizePolicy, QSlider, QSplitter,
                               QVBoxLayout, QWidget)

from sandbox.compare import (MAX_COLUMNS, MIN_COLUMNS, ColumnSnapshot, PresetInfo, TraceRequest,
                             TrainAllJob, TrainAllOutcome, default_columns, families, merge_columns)

from .attention_map import AttentionMap
from .bars import HBars, show_top_k
from .plots import BAD, BAR_BLUE, BAR_GREY, BAR_ORANGE, GOOD, hide_axis, set_ticks, set_title, style_plot
from .traceindex import TraceIndex

if TYPE_CHECKING:
    from sandbox.model import Bundle
    from sandbox.trace import Trace

__all__ = ["families", "default_columns", "CompareView", "CompareColumn", "CompactStep", "CompareDialog", "install_compare"]

POLL_MS = 50


# --------------------------------------------------------------------------- one column


class CompactStep(QWidget):
    """Energies and weights per source token, top-k outputs, predicted vs gold."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        lay.addWidget(self.header)
        self.gw = pg.GraphicsLayoutWidget()
        self.gw.setMinimumHeight(120)
        lay.addWidget(self.gw, 1)
        gl = self.gw.ci
        gl.setSpacing(2)
        self.e_plot = style_plot(gl.addPlot(row=0, col=0, enableMenu=False))
        self.w_plot = style_plot(gl.addPlot(row=0, col=1, enableMenu=False))
        self.k_plot = style_plot(gl.addPlot(row=0, col=2, enableMenu=False))
        for p in (self.e_plot, self.w_plot, self.k_plot):
            hide_axis(p, "bottom")
        self.w_plot.setYLink(self.e_plot)
        hide_axis(self.w_plot, "left")
        set_title(self.e_plot, "energies e<sub>j</sub>")
        set_title(self.w_plot, "weights α<sub>j</sub>")
        set_title(self.k_plot, "top-k p(y<sub>t</sub>)")
        self.energy_bars = HBars(self.e_plot, BAR_ORANGE, "energy")
        self.weight_bars = HBars(self.w_plot, BAR_BLUE, "weight")
        self.topk_bars = HBars(self.k_plot, BAR_GREY, "probability")
        self.topk_tokens: list[str] = []
        self.header_text = ""

    def show_step(self, idx: TraceIndex, t: int, layer: int, head: int, beyond: bool = False) -> None:
        step = idx.step(t)
        rec = idx.record("cross", layer, head, t)
        src = list(idx.trace.source_tokens)
        set_ticks(self.e_plot.getAxis("left"), src)
        if rec is None:
            self.energy_bars.set(np.zeros(0), nrows=len(src))
            self.weight_bars.set(np.zeros(0), xrange=(0.0, 1.3), nrows=len(src))
        else:
            n = rec.weights.shape[0]
            self.energy_bars.set(rec.energies, xrange=idx.energy_range("cross", layer, head), nrows=n)
            brushes = [BAR_BLUE] * n
            if n:
                brushes[int(np.argmax(rec.weights))] = QColor("#2f4b7c")
            self.weight_bars.set(rec.weights, xrange=(0.0, 1.3), brushes=brushes, nrows=n)
        self.topk_tokens = show_top_k(self.topk_bars, self.k_plot.getAxis("left"), step, 1.6)
        fed = "gold" if step.input_from == "gold" else "prediction"
        parts = [f"<b>t = {step.t}</b>", f"in: <b>{html.escape(step.input_token)}</b> ({fed})"]
        if step.gold is not None:
            ok = step.predicted == step.gold
            c = GOOD.name() if ok else BAD.name()
            parts.append(f"predicted <b style='color:{c}'>{html.escape(step.predicted)}</b> {'✓' if ok else '✗'} "
                         f"gold <b>{html.escape(step.gold)}</b>")
        else:
            parts.append(f"predicted <b>{html.escape(step.predicted)}</b>")
        if rec is None and not idx.has_attention:
            parts.append("<i>no attention</i>")
        if beyond:
            parts.append(f"<span style='color:{BAD.name()}'>output ended at t = {step.t}</span>")
        self.header_text = " · ".join(parts)
        self.header.setText(self.header_text)


class CompareColumn(QWidget):
    """One model: a preset picker, training status, attention map, compact step anatomy."""

    presetChosen = Signal(int, str)  # column number, preset key

    def __init__(self, number: int, members: list[PresetInfo], key: str, parent=None) -> None:
        super().__init__(parent)
        self.number = number
        self.bundle: "Bundle | None" = None
        self.trace: "Trace | None" = None
        self.tindex: TraceIndex | None = None
        self.key = key
        self.displayed_step: int | None = None  # what is on screen (tests read it)
        self.trained_steps = 0
        self.exact: float | None = None
        self.layer = 0
        self.head = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        top = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        top.addWidget(self.combo, 1)
        self.lh_combo = QComboBox()
        self.lh_combo.setToolTip("which layer and head of the Transformer's cross-attention")
        self.lh_combo.setVisible(False)
        top.addWidget(self.lh_combo)
        lay.addLayout(top)
        self.status = QLabel("untrained")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        lay.addWidget(self.status)
        self.map = AttentionMap("cross")
        lay.addWidget(self.map, 3)
        self.step_view = CompactStep()
        lay.addWidget(self.step_view, 2)
        self.set_members(members, key)
        self.combo.activated.connect(self._on_combo)
        self.lh_combo.activated.connect(self._on_lh)
        self._t = 0

    def set_members(self, members: list[PresetInfo], key: str) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        for m in members:
            self.combo.addItem(m.label, m.key)
            self.combo.setItemData(self.combo.count() - 1, m.name, Qt.ItemDataRole.ToolTipRole)
        i = self.combo.findData(key)
        self.combo.setCurrentIndex(max(i, 0))
        self.combo.blockSignals(False)
        self.key = key

    def _on_combo(self, i: int) -> None:
        key = self.combo.itemData(i)
        if key and key != self.key:
            self.presetChosen.emit(self.number, key)

    def _on_lh(self, i: int) -> None:
        lh = self.lh_combo.itemData(i)
        if lh:
            self.layer, self.head = lh
            self.show_step(self._t)

    def set_bundle(self, bundle: "Bundle", key: str) -> None:
        self.bundle = bundle
        self.key = key
        self.trained_steps = 0
        self.exact = None
        i = self.combo.findData(key)
        if i >= 0:
            self.combo.setCurrentIndex(i)
        cfg = bundle.preset.model
        transformer = cfg.kind == "transformer"
        self.lh_combo.clear()
        if transformer:
            for layer in range(cfg.layers):
                for head in range(cfg.heads):
                    self.lh_combo.addItem(f"layer {layer} · head {head}", (layer, head))
            self.layer, self.head = cfg.layers - 1, 0
            self.lh_combo.setCurrentIndex(self.lh_combo.findData((self.layer, self.head)))
        else:
            self.layer = self.head = 0
        self.lh_combo.setVisible(transformer)
        self.set_status("untrained")

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_trace(self, trace: "Trace | None", error: str | None = None) -> None:
        self.trace = trace
        self.tindex = TraceIndex(trace) if trace is not None else None
        if error:
            self.set_status(f"<span style='color:{BAD.name()}'>{html.escape(error)}</span>")

    @property
    def n_steps(self) -> int:
        return self.tindex.n_steps if self.tindex is not None else 0

    def show_step(self, t: int) -> None:
        """Show decoder step ``t``, or this trace's last step if it is shorter."""
        self._t = t
        idx = self.tindex
        if idx is None or idx.n_steps == 0:
            self.displayed_step = None
            return
        s = max(0, min(int(t), idx.n_steps - 1))
        self.displayed_step = s
        layer, head = min(self.layer, idx.layers - 1), min(self.head, idx.heads - 1)
        rows, cols = idx.row_labels("cross"), idx.col_labels("cross")
        if idx.has_attention:
            full, note = idx.matrix("cross", layer, head), None
        else:
            full, note = None, "no attention:\nthe decoder sees only\nthe encoder's final state"
        self.map.show_matrix(full, s, s, rows, cols, flag_rows=idx.offgold_rows, note=note)
        what = "cross-attention" + (f" · layer {layer}, head {head}" if idx.is_transformer else "")
        name = f"<b>{html.escape(self.key)}</b>"
        off = ""
        if idx.first_offgold is not None:
            off = f" · <span style='color:{BAD.name()}'>off gold from t = {idx.first_offgold}</span>"
        self.map.set_title(f"{name} · {what}{off}", short=(f"{name}{off}", name))
        self.step_view.show_step(idx, s, layer, head, beyond=t > s)


# --------------------------------------------------------------------------- the view


class CompareView(QWidget):
    """2–4 models on one pair, one shared step. Hooks for tests and lectures:
    ``set_family``, ``set_column_preset``, ``add_column``, ``remove_column``, ``set_pair``,
    ``set_mode``, ``set_step``, ``train_all``, ``stop``; ``columns`` and ``step`` to read."""

    stepChanged = Signal(int)
    stateChanged = Signal(str)  # "training" | "idle"

    def __init__(self, preset: str | None = None, pair: int = 0, mode: str = "teacher_forcing",
                 device: str = "auto", columns: list[str] | None = None, parent=None) -> None:
        super().__init__(parent)
        from .fonts import ensure_korean_font

        ensure_korean_font()
        self.device = device
        self.columns: list[CompareColumn] = []
        self.step = 0
        self.pair = 0
        self.mode = mode if mode in ("teacher_forcing", "free_running") else "teacher_forcing"
        self.jobs = JobRunner(self, name="compare-training", interval_ms=POLL_MS)
        self.jobs.progress.connect(self._on_progress)
        self.jobs.finished.connect(self._finish)
        self._job: TrainAllJob | None = None
        self._families = families()
        self.family = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        # -- top bar
        top = QHBoxLayout()
        top.addWidget(QLabel("pairs of"))
        self.family_combo = QComboBox()
        self.family_combo.setToolTip("presets that share the same sentence pairs can be compared")
        for pairs, members in self._families:
            self.family_combo.addItem(f"{' / '.join(m.key for m in members[:5])} ({len(pairs)} pairs)")
        top.addWidget(self.family_combo)
        top.addWidget(QLabel("pair"))
        self.pair_combo = QComboBox()
        self.pair_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pair_combo.setMinimumContentsLength(22)
        top.addWidget(self.pair_combo, 1)
        self.rb_teacher = QRadioButton("teacher forcing")
        self.rb_free = QRadioButton("free running")
        group = QButtonGroup(self)
        group.addButton(self.rb_teacher)
        group.addButton(self.rb_free)
        (self.rb_teacher if self.mode == "teacher_forcing" else self.rb_free).setChecked(True)
        top.addWidget(self.rb_teacher)
        top.addWidget(self.rb_free)
        self.add_button = QPushButton("+ column")
        self.remove_button = QPushButton("− column")
        self.train_button = QPushButton("▶ Train all")
        self.train_button.setToolTip("train fresh copies of every column's model, one after another, "
                                     "with each preset's own training settings")
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.setEnabled(False)
        for w in (self.add_button, self.remove_button, self.train_button, self.stop_button):
            top.addWidget(w)
        lay.addLayout(top)
        self.info = QLabel("")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        lay.addWidget(self.info)
        # -- columns
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        lay.addWidget(self.splitter, 1)
        # -- shared step bar
        bar = QHBoxLayout()
        self.btn_first = QPushButton("|◀")
        self.btn_prev = QPushButton("◀")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.btn_next = QPushButton("▶")
        self.btn_last = QPushButton("▶|")
        self.step_label = QLabel("t = 0 / 0")
        self.step_label.setMinimumWidth(90)
        for w in (self.btn_first, self.btn_prev):
            bar.addWidget(w)
        bar.addWidget(self.slider, 1)
        for w in (self.btn_next, self.btn_last, self.step_label):
            bar.addWidget(w)
        lay.addLayout(bar)
        # -- wiring
        self.btn_first.clicked.connect(self.first_step)
        self.btn_prev.clicked.connect(self.prev_step)
        self.btn_next.clicked.connect(self.next_step)
        self.btn_last.clicked.connect(self.last_step)
        self.slider.valueChanged.connect(self.set_step)
        self.family_combo.activated.connect(lambda i: self.set_family(i))
        self.pair_combo.activated.connect(lambda i: self.set_pair(i))
        self.rb_teacher.toggled.connect(lambda on: self.set_mode("teacher_forcing" if on else "free_running"))
        self.add_button.clicked.connect(lambda: self.add_column())
        self.remove_button.clicked.connect(lambda: self.remove_column())
        self.train_button.clicked.connect(lambda: self.train_all())
        self.stop_button.clicked.connect(self.stop)
        self._keys = {Qt.Key.Key_Right: self.next_step, Qt.Key.Key_Left: self.prev_step,
                      Qt.Key.Key_Home: self.first_step, Qt.Key.Key_End: self.last_step}
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
            app.installEventFilter(self)  # ← → Home End anywhere in this view's window
        # -- initial family and columns
        fam = self._family_of(preset)
        if fam is None:
            fam = 0
        self.set_family(fam, columns=columns, current=preset, pair=pair)

    # ================================================================== families, columns
    def _family_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        for i, (_pairs, members) in enumerate(self._families):
            if any(m.key == key for m in members):
                # a family of one has nothing to compare: fall back to the largest family
                return i if len(members) >= MIN_COLUMNS else None
        return None

    @property
    def members(self) -> list[PresetInfo]:
        return self._families[self.family][1] if self._families else []

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return self._families[self.family][0] if self._families else ()

    def set_family(self, index: int, columns: list[str] | None = None, current: str | None = None,
                   pair: int = 0) -> None:
        if not self._families:
            self.info.setText("no presets found")
            return
        self.stop()
        index = max(0, min(int(index), len(self._families) - 1))
        self.family = index
        self.family_combo.setCurrentIndex(index)
        self.pair_combo.clear()
        for s, t in self.pairs:
            self.pair_combo.addItem(f"{s} → {t}")
        keys = [k for k in (columns or []) if any(m.key == k for m in self.members)][:MAX_COLUMNS]
        if len(keys) < MIN_COLUMNS:
            keys = default_columns(self.members, current)
        for col in self.columns:
            col.setParent(None)
            col.deleteLater()
        self.columns = []
        for k in keys:
            self._append_column(k)
        self.pair = max(0, min(int(pair), len(self.pairs) - 1))
        self.pair_combo.setCurrentIndex(self.pair)
        self._update_buttons()
        self._retrace(keep_step=False)

    def _append_column(self, key: str) -> CompareColumn | None:
        bundle = self._try_build(key)
        if bundle is None:
            return None
        col = CompareColumn(len(self.columns), self.members, key)
        col.presetChosen.connect(self.set_column_preset)
        col.set_bundle(bundle, key)
        self.columns.append(col)
        self.splitter.addWidget(col)
        return col

    def _build(self, key: str) -> "Bundle":
        from sandbox.model import Bundle
        from sandbox.presets import load_preset

        info = next(m for m in self.members if m.key == key)
        return Bundle.from_preset(load_preset(info.path))

    def _try_build(self, key: str) -> "Bundle | None":
        """``_build``, or None and a message when the preset file has gone or broken since
        the dialog listed it (a user preset deleted or edited behind the app's back)."""
        try:
            return self._build(key)
        except (ValueError, OSError) as e:  # PresetError is a ValueError
            self.info.setText(f"<span style='color:{BAD.name()}'>cannot open {html.escape(key)}: "
                              f"{html.escape(str(e))}</span>")
            return None

    def add_column(self, key: str | None = None) -> bool:
        if len(self.columns) >= MAX_COLUMNS or self.is_training:
            return False
        if key is None:
            used = {c.key for c in self.columns}
            key = next((m.key for m in self.members if m.key not in used), self.members[0].key)
        if self._append_column(key) is None:
            return False
        self._update_buttons()
        self._retrace_column(self.columns[-1])
        self._sync_slider(keep_step=True)
        return True

    def remove_column(self, number: int | None = None) -> bool:
        if len(self.columns) <= MIN_COLUMNS or self.is_training:
            return False
        number = len(self.columns) - 1 if number is None else number
        col = self.columns.pop(number)
        col.setParent(None)
        col.deleteLater()
        for i, c in enumerate(self.columns):
            c.number = i
        self._update_buttons()
        self._sync_slider(keep_step=True)
        return True

    def set_column_preset(self, number: int, key: str) -> None:
        if self.is_training or not 0 <= number < len(self.columns):
            return
        col = self.columns[number]
        bundle = self._try_build(key)
        if bundle is None:
            col.set_members(self.members, col.key)  # the picker shows the model kept
            return
        col.set_bundle(bundle, key)
        self._retrace_column(col)
        self._sync_slider(keep_step=True)

    def _update_buttons(self) -> None:
        training = self.is_training
        self.add_button.setEnabled(not training and len(self.columns) < MAX_COLUMNS)
        self.remove_button.setEnabled(not training and len(self.columns) > MIN_COLUMNS)
        self.train_button.setEnabled(not training)
        self.stop_button.setEnabled(training)
        self.family_combo.setEnabled(not training)
        for c in self.columns:
            c.combo.setEnabled(not training)

    # ================================================================== sentence and mode
    def _request(self) -> TraceRequest:
        s, t = self.pairs[self.pair]
        return TraceRequest(s, t, self.mode)

    def set_pair(self, index: int) -> None:
        if not self.pairs:
            return
        self.pair = max(0, min(int(index), len(self.pairs) - 1))
        if self.pair_combo.currentIndex() != self.pair:
            self.pair_combo.setCurrentIndex(self.pair)
        self._retrace(keep_step=False)

    def set_mode(self, mode: str) -> None:
        if mode not in ("teacher_forcing", "free_running"):
            raise ValueError(f"unknown mode {mode!r}; allowed: teacher_forcing, free_running")
        if mode == self.mode:
            return
        self.mode = mode
        rb = self.rb_teacher if mode == "teacher_forcing" else self.rb_free
        if not rb.isChecked():
            rb.blockSignals(True)
            rb.setChecked(True)
            rb.blockSignals(False)
        self._retrace(keep_step=True)

    def _retrace(self, keep_step: bool) -> None:
        if self._job is not None:  # the worker owns the models: it re-traces them
            self._job.set_request(self._request())
            return
        for col in self.columns:
            self._retrace_column(col)
        self._sync_slider(keep_step)

    def _retrace_column(self, col: CompareColumn) -> None:
        from sandbox.trace import trace

        if col.bundle is None or not self.pairs:
            return
        req = self._request()
        try:
            col.set_trace(trace(col.bundle, req.source, req.target, mode=req.mode))
        except Exception as e:  # noqa: BLE001 - shown in the column
            col.set_trace(None, str(e))

    # ================================================================== stepping
    @property
    def max_step(self) -> int:
        return max([c.n_steps for c in self.columns] + [1]) - 1

    def _sync_slider(self, keep_step: bool) -> None:
        top = self.max_step
        self.slider.blockSignals(True)
        self.slider.setRange(0, top)
        self.slider.blockSignals(False)
        self.set_step(self.step if keep_step else 0, force=True)

    def set_step(self, t: int, force: bool = False) -> None:
        t = max(0, min(int(t), self.max_step))
        changed = t != self.step
        self.step = t
        if self.slider.value() != t:
            self.slider.blockSignals(True)
            self.slider.setValue(t)
            self.slider.blockSignals(False)
        self.step_label.setText(f"t = {t} / {self.max_step}")
        for col in self.columns:
            col.show_step(t)
        if changed or force:
            self.stepChanged.emit(t)

    def next_step(self) -> None:
        self.set_step(self.step + 1)

    def prev_step(self) -> None:
        self.set_step(self.step - 1)

    def first_step(self) -> None:
        self.set_step(0)

    def last_step(self) -> None:
        self.set_step(self.max_step)

    # ================================================================== training
    @property
    def is_training(self) -> bool:
        return self.jobs.is_running

    def train_all(self, steps: int | None = None) -> bool:
        """Train fresh copies of every column's model, one after another (False if running)."""
        if self.jobs.is_running or not self.columns:
            return False
        bundles = [self._try_build(col.key) for col in self.columns]  # fresh, seeded weights
        if any(b is None for b in bundles):
            return False
        for col, b in zip(self.columns, bundles):
            col.set_bundle(b, col.key)
            col.set_status("waiting to train")
            self._retrace_column(col)
        self._sync_slider(keep_step=True)
        self._job = TrainAllJob(bundles, self._request(), device=self.device, steps=steps)
        self.jobs.start(self._job, merge=merge_columns)
        self._update_buttons()
        self.info.setText("training every column in turn…")
        self.stateChanged.emit("training")
        return True

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Stop training and join the thread; True if no thread is left."""
        return self.jobs.shutdown(timeout_ms)

    def shutdown(self) -> None:
        self.stop()

    def _on_progress(self, snaps: dict[int, ColumnSnapshot]) -> None:
        self.jobs.hold()  # the worker waits between steps while this draws
        try:
            self._apply(snaps)
        finally:
            self.jobs.release()

    def _apply(self, snaps: dict[int, ColumnSnapshot]) -> None:
        for i, snap in sorted(snaps.items()):
            if i >= len(self.columns):
                continue
            col = self.columns[i]
            if snap.trace is not None or snap.error:
                col.set_trace(snap.trace, snap.error)
            col.trained_steps = snap.step
            col.exact = snap.exact_match
            em = "" if snap.exact_match is None else f" · exact match {snap.exact_match:.2f}"
            loss = "" if snap.loss is None else f" · loss {snap.loss:.3f}"
            text = {"training": f"training: step {snap.step}/{snap.total}{loss}{em}",
                    "done": f"trained {snap.step} steps{em}",
                    "stopped": f"stopped at step {snap.step}/{snap.total}{em}",
                    "nonfinite": f"<span style='color:{BAD.name()}'>{html.escape(snap.message)}</span>",
                    "waiting": "waiting to train"}.get(snap.status, snap.status)
            col.set_status(text)
        self._sync_slider(keep_step=True)

    def _finish(self, result: JobResult) -> None:
        job, self._job = self._job, None
        out = result.value if isinstance(result.value, TrainAllOutcome) else TrainAllOutcome(
            job.bundles if job else [], frozenset(), result.error or "training failed")
        worker = out
        for col, b in zip(self.columns, worker.bundles):
            col.bundle = b  # the thread is joined: the GUI may trace these now
        stopped = result.status == "cancelled"
        for i, col in enumerate(self.columns):
            if i not in worker.started and stopped:
                col.set_status("not trained (stopped before its turn)")
        self._update_buttons()
        self.info.setText(f"<span style='color:{BAD.name()}'>training failed: {html.escape(worker.error)}</span>"
                          if worker.error else ("stopped" if stopped else "all columns trained"))
        self._retrace(keep_step=True)
        self.stateChanged.emit("idle")

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        """Step keys for the whole dialog, as the window does for its own views (a
        slider or button with focus must not swallow them)."""
        if ev.type() != QEvent.Type.KeyPress or not isinstance(obj, QWidget):
            return False
        try:
            win = self.window()
            if QWidget.window(obj) is not win or (win is not self and not isinstance(win, CompareDialog)):
                return False
        except RuntimeError:  # a widget being deleted
            return False
        if ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier != Qt.KeyboardModifier.NoModifier:
            return False
        if keeps_keys(obj):  # a text input (or an open combo popup) keeps its keys (widgets.keys)
            return False
        fn = self._keys.get(ev.key())
        if fn is None:
            return False
        fn()
        return True

    def closeEvent(self, ev) -> None:
        self.stop()
        super().closeEvent(ev)


class CompareDialog(QDialog):
    """A non-modal window for the compare view; closing it stops and joins training."""

    def __init__(self, parent=None, **kwargs: Any) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare models — Attention Sandbox")
        self.setModal(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.view = CompareView(parent=self, **kwargs)
        # Three or four columns need more than a 1280×720 projector is wide: the columns
        # scroll inside a window that fits the screen instead of running off its edge.
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.view)
        lay.addWidget(self.scroll)
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        w, h = 1500, 900
        if avail is not None:  # at most the screen, centred on it
            w, h = min(w, int(avail.width() * 0.95)), min(h, int(avail.height() * 0.92))
        self.resize(w, h)
        if avail is not None:
            frame = self.frameGeometry()
            frame.moveCenter(avail.center())
            self.move(frame.topLeft())

    def closeEvent(self, ev) -> None:
        self.view.stop()
        super().closeEvent(ev)

    def reject(self) -> None:
        self.view.stop()
        super().reject()


# --------------------------------------------------------------------------- window hook


def install_compare(window: QMainWindow):
    """Add "View ▸ Compare models…"; returns the QAction.

    The dialog opens on the window's preset family (its preset in one column), pair and
    mode; it is created on first use and kept on ``window.compare_dialog``. Closing the
    window stops and joins a running "Train all".
    """
    menu = window_menu(window, "&View")
    menu.addSeparator()
    action = menu.addAction("Compare models…")
    action.setToolTip("the same sentence pair through 2–4 models side by side, stepped together")
    action.setStatusTip(action.toolTip())

    def open_dialog() -> CompareDialog:
        dlg = getattr(window, "compare_dialog", None)
        if dlg is not None and dlg.view.is_training:
            dlg.show()
            dlg.raise_()
            return dlg
        key, mode, device = None, "teacher_forcing", "auto"
        bundle = getattr(window, "bundle", None)
        if bundle is not None:
            key = bundle.preset.key
        try:
            cv = window.current_view()
            mode = cv.get("mode") or mode
            src, tgt = cv.get("source"), cv.get("target")
        except Exception:  # noqa: BLE001 - a window without the hook
            src = tgt = None
        combo = getattr(window, "device_combo", None)
        if combo is not None and combo.currentData():
            device = combo.currentData()
        if dlg is None:
            dlg = CompareDialog(window, preset=key, mode=mode, device=device)
            window.compare_dialog = dlg
        else:
            view = dlg.view
            view.device = device
            fam = view._family_of(key)
            if fam is not None and fam != view.family:
                view.set_family(fam, current=key)
            view.set_mode(mode)
        view = dlg.view
        if src is not None:
            for i, (s, t) in enumerate(view.pairs):
                if s == src and t == tgt:
                    view.set_pair(i)
                    break
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    def stop() -> None:
        dlg = getattr(window, "compare_dialog", None)
        if dlg is not None:
            dlg.view.stop()

    action.triggered.connect(lambda _checked=False: open_dialog())
    window.open_compare = open_dialog
    stop_on_close(window, stop)  # closing the window stops "Train all"
    return action
