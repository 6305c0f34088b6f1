"""The main window: toolbar, sentence pairs, model view, the views, stepping and training.

Only PySide6 is imported at module level, so ``python main.py`` can show this window
before numpy, pyqtgraph and torch have loaded. With ``deferred=True`` the window opens
in a "loading…" state; :meth:`MainWindow.start_loading` then imports torch and builds
the first trace in a background thread while the views are built in the GUI thread.

Public hooks (used by the lecture presenter, the compare view and the editor):
``load_preset``, ``set_pair``, ``set_sentence``, ``set_mode``, ``set_step``,
``set_layer_head``, ``focus_panel``, ``set_panel_hidden``, ``current_view``,
``set_bundle``, ``bundle``, ``trace`` and ``views`` (a widget that can be grabbed).
"""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QButtonGroup, QComboBox, QDoubleSpinBox, QFileDialog, QFrame,
    QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QMainWindow,
    QMenu, QProgressBar, QPushButton, QRadioButton, QSizePolicy, QSlider, QSpinBox, QSplitter,
    QTextBrowser, QToolBar, QToolButton, QVBoxLayout, QWidget,
)

from sandbox.names import MODES, PANELS

from .jobs import JobRunner
from .numfmt import count, fmt, percent
from .keys import focus_keeps_keys
from .settings import make_settings, read_bytes, read_float, read_str, settings_problem
from .training import TraceRequest, TrainingSession

if TYPE_CHECKING:
    from sandbox.model import Bundle
    from sandbox.trace import Trace

DEFAULT_PRESET = "ko_en_cat"
FONT_SCALES = (0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
APP_NAME = "Attention Sandbox"
CHROME_MAX_SCALE = 1.3  # see MainWindow._apply_font
VIEWS_NEED_H = 420
# Live training: the views follow the newest snapshot at most this often. Each snapshot is a
# trace on the trainer's thread and a repaint here; 10 a second reads as live and leaves the
# trainer most of the CPU (bench/bench_classroom.py measures window vs headless speed).
LIVE_INTERVAL_S = 0.1  # px of view height per 100 % text scale (MainWindow.view_scale)
# Keys that are not actions (so not found among the window's shortcuts) for Help ▸ Keys.
NAV_KEYS = ("← → step", "Home / End first / last step", "Space play", "PageUp / PageDown previous / next pair")


def _startup_task(preset_ref: str, wanted_mode: str):
    """The start-up job (runs on the job runner's thread): import torch, load the preset
    (the default one if it is broken), trace its first pair. ``(progress, should_stop) -> dict``."""

    def task(progress, should_stop) -> dict:
        import torch  # noqa: F401 - the slow import, off the GUI thread

        from sandbox.device import available_devices
        from sandbox.model import Bundle
        from sandbox.fileio import sweep_stale_temp_files
        from sandbox.presets import PresetError, find_preset, ignored_user_presets, load_preset
        from sandbox.trace import trace

        sweep_stale_temp_files()  # leftovers of a write a kill interrupted
        presets = _preset_entries()
        warnings = ignored_user_presets()  # broken user files named like shipped presets
        try:
            preset = load_preset(find_preset(preset_ref))
        except PresetError as e:
            warnings.append(f"could not open the last preset ({e}); opened {DEFAULT_PRESET} instead")
            preset = load_preset(find_preset(DEFAULT_PRESET))
        warning = "; ".join(warnings) or None
        bundle = Bundle.from_preset(preset)
        pair = preset.pairs[0]
        mode = wanted_mode if wanted_mode in MODES else "teacher_forcing"
        tr = trace(bundle, pair.source, pair.target, mode=mode)
        return {"presets": presets, "bundle": bundle, "trace": tr, "mode": mode,
                "devices": available_devices(), "warning": warning}

    return task


def _preset_entries() -> list[tuple[str, str, bool, str]]:
    """(key, path, is_user, display name) for every preset; broken ones are marked."""
    from sandbox.presets import PresetError, list_presets, load_preset

    out = []
    for key, path, is_user in list_presets():
        try:
            name = load_preset(path).name
        except PresetError:
            name = f"{key} (broken)"
        out.append((key, str(path), is_user, name))
    return out


def unknown_words_text(words: list[str], limit: int = 12) -> str:
    """Each unknown word once, in first-seen order, with a count when it repeats
    (“a” ×150); after ``limit`` words, "… and N more"."""
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    items = [f"“{w}”" + (f" ×{n}" if n > 1 else "") for w, n in counts.items()]
    more = f" … and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


class MainWindow(QMainWindow):
    firstShown = Signal()
    traceChanged = Signal(object)
    stepChanged = Signal(int)
    presetLoaded = Signal(str)
    ready = Signal()

    def __init__(self, *, deferred: bool = False, settings=None, persist: bool = True,
                 parent=None) -> None:
        super().__init__(parent)
        self._deferred = deferred
        self.persist = persist  # False: never write settings (offscreen rendering)
        self.setWindowTitle(APP_NAME)
        self.settings = settings if settings is not None else make_settings()
        self.bundle: Bundle | None = None
        self.trace: Trace | None = None  # what the views show
        self._live_trace: Trace | None = None  # the newest trace of the model
        self.interventions = None  # What-if edits (sandbox.whatif.Interventions) for the next trace
        self._preset_key: str | None = None
        self._preset_path: str | None = None
        self._pair_index = -1
        self._source: str | None = None
        self._target: str | None = None
        self._mode = "teacher_forcing"
        self._step = 0
        self._wanted_step = 0  # the step the user chose; a shorter live trace only clamps what is shown
        self._layer = 0
        self._head = 0
        self._trained_steps = 0
        self._trained_origin: str | None = None  # e.g. "lecture cache", shown in the Model box
        self._checked_on: str | None = None  # the device a lecture's claims were checked on
        self._history: list = []  # training.Snapshot per history point (with its weights)
        self._weights = None  # sandbox.history.WeightHistory of the same points (made on first use)
        self._first_shown = False
        self._defer_details = False
        self._loader = JobRunner(self, name="startup-loader")
        self._loader.finished.connect(self._on_loader_finished)
        self._load_started = False
        self._closing = False
        self._model_facts: tuple | None = None  # (bundle, parameter count, device) for the Model box
        self.views = None
        self.loss_plot = None
        app = QApplication.instance()
        if app is not None:
            from .fonts import ensure_fonts

            ensure_fonts()  # Latin first, Hangul fallback: digits never in the Hangul font
        base = app.font().pointSizeF() if app is not None else 9.0
        self._base_pt = base if base > 0 else 9.0
        self._font_scale = min(max(read_float(self.settings, "font_scale", 1.0), 0.5), 3.0)
        self.training = TrainingSession(self)
        self.training.snapshot.connect(self._on_snapshot)
        self.training.history.connect(self._on_history)
        self.training.metrics.connect(self._on_metrics)
        self.training.stateChanged.connect(self._on_training_state)
        self.training.finished.connect(self._on_training_finished)
        self.training.paint_now = self._paint_now
        self._play = QTimer(self)
        self._play.timeout.connect(self._play_tick)
        self._build_actions()
        self._build_ui()
        self._restore_settings()
        if app is not None:
            app.installEventFilter(self)
        if not deferred:
            self._build_views()
            self._populate_presets(_preset_entries())
            from sandbox.device import available_devices

            self._populate_devices(available_devices())
            self._set_loading(False)

    # ================================================================== construction
    def _build_actions(self) -> None:
        def act(text, slot, shortcut=None, tip=None, enabled=True):
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut:
                a.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])])
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if tip:
                a.setToolTip(tip)
                a.setStatusTip(tip)
            a.setEnabled(enabled)
            self.addAction(a)
            return a

        self.act_train = act("▶ Train", self.toggle_training, "Ctrl+R",
                             "train (Ctrl+R): continues the model on screen for another run of steps; "
                             "Ctrl+R again pauses and resumes", False)
        self.act_pause = act("❚❚ Pause", self.pause_training, None, "pause after the current step", False)
        self.act_stop = act("■ Stop", self.stop_training, None, "stop after the current step; the weights stay", False)
        self.act_quit = act("Quit", self.close, "Ctrl+Q", "close the window (stops training first)")
        self.act_zoom_in = act("A+", self.zoom_in, ["Ctrl++", "Ctrl+="], "larger text (Ctrl++), for projectors")
        self.act_zoom_out = act("A−", self.zoom_out, "Ctrl+-", "smaller text (Ctrl+-)")
        self.act_zoom_reset = act("100%", lambda: self.set_font_scale(1.0), "Ctrl+0", "normal text size (Ctrl+0)")
        self.act_open = act("Open preset file…", self._open_preset_file, "Ctrl+O", "open a preset .toml file")
        self.act_export_png = act("View as PNG…", lambda: self._export_dialog("view", "png"), "Ctrl+E")
        self.act_export_svg = act("View as SVG…", lambda: self._export_dialog("view", "svg"))
        self.act_export_json = act("Trace as JSON…", self._export_json_dialog, "Ctrl+J")

    def _build_ui(self) -> None:
        # -- toolbar --------------------------------------------------------------------
        tb = QToolBar("main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.toolbar = tb
        tb.addWidget(QLabel(" preset "))
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumContentsLength(24)
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setToolTip("shipped presets first, then yours")
        self.preset_combo.activated.connect(self._on_preset_chosen)
        tb.addWidget(self.preset_combo)
        tb.addSeparator()
        tb.addAction(self.act_train)
        tb.addAction(self.act_pause)
        tb.addAction(self.act_stop)
        tb.addSeparator()
        tb.addWidget(QLabel(" device "))
        self.device_combo = QComboBox()
        self.device_combo.addItem("auto", "auto")
        self.device_combo.setToolTip("auto: CUDA when available, else CPU")
        self.device_combo.currentIndexChanged.connect(
            lambda _i: self.settings.setValue("device", self.device_combo.currentData() or "auto"))
        tb.addWidget(self.device_combo)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("untrained")
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(220)
        self.progress.setMinimumWidth(140)
        tb.addWidget(self.progress)
        # The rest goes on a second toolbar that drops to its own row when the window is too
        # narrow for both (fit_toolbars): nothing ever hides behind a "»" overflow.
        tb = QToolBar("view")
        tb.setObjectName("view_toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.view_toolbar = tb
        self._toolbar_rows = [self.toolbar, self.view_toolbar]
        self._toolbar_breaks: set = set()
        self.rb_teacher = QRadioButton("teacher forcing")
        self.rb_free = QRadioButton("free running")
        self.rb_teacher.setToolTip("each step is fed the gold previous token")
        self.rb_free.setToolTip("each step is fed the model's own previous prediction")
        self.rb_teacher.setChecked(True)
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.rb_teacher)
        self.mode_group.addButton(self.rb_free)
        self.rb_teacher.toggled.connect(self._on_mode_radio)
        tb.addWidget(self.rb_teacher)
        tb.addWidget(self.rb_free)
        tb.addSeparator()
        tb.addAction(self.act_zoom_out)
        self.zoom_label = QLabel("100%")
        tb.addWidget(self.zoom_label)
        tb.addAction(self.act_zoom_in)
        tb.addSeparator()
        self.export_button = QToolButton()
        self.export_button.setText("Export ▾")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self)
        self.export_menu.addAction(self.act_export_png)
        self.export_menu.addAction(self.act_export_svg)
        self.export_menu.addSeparator()
        for name, title in (("map", "attention map"), ("anatomy", "step anatomy"), ("explain", "explain a cell"),
                            ("masked_self", "masked self-attention"), ("encoder_self", "encoder self-attention"),
                            ("heads", "heads"), ("positions", "positional encoding")):
            sub = self.export_menu.addMenu(f"Panel: {title}")
            for fmt in ("png", "svg"):
                a = sub.addAction(fmt.upper() + "…")
                a.triggered.connect(lambda _=False, n=name, f=fmt: self._export_dialog(n, f))
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.act_export_json)
        self.export_button.setMenu(self.export_menu)
        tb.addWidget(self.export_button)

        # -- menus ----------------------------------------------------------------------
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        m.addMenu(self.export_menu).setText("Export")
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset):
            m.addAction(a)
        m.addSeparator()
        for name in PANELS:
            a = m.addAction(f"show {name.replace('_', ' ')}")
            a.triggered.connect(lambda _=False, n=name: self.focus_panel(n))
        m = mb.addMenu("&Train")
        for a in (self.act_train, self.act_pause, self.act_stop):
            m.addAction(a)
        m = mb.addMenu("&Help")
        m.addAction("Keys…", self._show_keys)

        # -- left: pairs, own sentence, model ---------------------------------------------
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(4, 4, 4, 4)
        self.left_split = QSplitter(Qt.Orientation.Vertical)
        self.left_split.setChildrenCollapsible(False)
        pairs_box = QWidget()
        pl = QVBoxLayout(pairs_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(QLabel("<b>Sentence pairs</b> (PageUp / PageDown)"))
        from .pairlist import PairList

        self.pair_list = PairList()  # training, then held-out pairs; a filter box (issue 11)
        self.pair_list.currentRowChanged.connect(self._on_pair_row)
        pl.addWidget(self.pair_list, 1)
        own = QGroupBox("Your own sentence")
        ol = QGridLayout(own)
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("source, e.g. 나는 고양이로소이다")
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("target (optional; empty = free running)")
        self.trace_button = QPushButton("Trace")
        self.trace_button.setToolTip("run your sentence through the current model")
        self.trace_button.clicked.connect(self._on_trace_clicked)
        self.source_edit.returnPressed.connect(self._on_trace_clicked)
        self.target_edit.returnPressed.connect(self._on_trace_clicked)
        ol.addWidget(QLabel("source"), 0, 0)
        ol.addWidget(self.source_edit, 0, 1)
        ol.addWidget(QLabel("target"), 1, 0)
        ol.addWidget(self.target_edit, 1, 1)
        ol.addWidget(self.trace_button, 2, 1, alignment=Qt.AlignmentFlag.AlignRight)
        pl.addWidget(own)
        self.left_split.addWidget(pairs_box)
        model_box = QWidget()
        ml = QVBoxLayout(model_box)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(QLabel("<b>Model</b>"))
        self.model_view = QTextBrowser()
        self.model_view.setOpenLinks(False)
        ml.addWidget(self.model_view, 1)
        lh = QHBoxLayout()
        self.layer_label = QLabel("layer")
        self.layer_spin = QSpinBox()
        self.head_label = QLabel("head")
        self.head_spin = QSpinBox()
        self.layer_spin.setToolTip("Transformer layer")
        self.head_spin.setToolTip("attention head")
        self.layer_spin.valueChanged.connect(lambda v: self.set_layer_head(v, self._head))
        self.head_spin.valueChanged.connect(lambda v: self.set_layer_head(self._layer, v))
        for w in (self.layer_label, self.layer_spin, self.head_label, self.head_spin):
            lh.addWidget(w)
        lh.addStretch(1)
        ml.addLayout(lh)
        self.left_split.addWidget(model_box)
        self.left_split.setSizes([420, 300])
        ll.addWidget(self.left_split)
        self._show_layer_head(False)

        # -- centre: banner + views (placeholder until built) -----------------------------
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(8, 4, 8, 4)
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextFormat(Qt.TextFormat.RichText)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide_banner)
        bl.addWidget(self.banner_label, 1)
        bl.addWidget(close)
        self.banner.hide()
        cl.addWidget(self.banner)
        # Until torch and the first trace are ready: the map the last session closed on
        # (widgets.firstmap, plain QPainter from a JSON file), else a "loading…" note.
        cached = None
        if self._deferred:
            from . import firstmap

            data = firstmap.load()
            cached = firstmap.CachedMap(data) if data is not None else None
        if cached is not None:
            self.placeholder = cached
        else:
            self.placeholder = QLabel("<h2>loading…</h2><p>starting PyTorch and tracing the first sentence</p>")
            self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.placeholder.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        cl.addWidget(self.placeholder, 1)
        self.centre_layout = cl

        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.setChildrenCollapsible(False)
        self.main_split.addWidget(left)
        self.main_split.addWidget(centre)
        self.main_split.setStretchFactor(0, 0)
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setSizes([300, 1100])

        # -- bottom: stepping + training history + loss -----------------------------------
        bottom = QWidget()
        bol = QHBoxLayout(bottom)
        bol.setContentsMargins(4, 2, 4, 2)
        controls = QWidget()
        cgl = QVBoxLayout(controls)
        cgl.setContentsMargins(0, 0, 0, 0)
        cgl.setSpacing(2)
        row = QHBoxLayout()

        def button(text, slot, tip):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(b)
            return b

        self.btn_first = button("|◀", self.first_step, "first step (Home)")
        self.btn_prev = button("◀", self.prev_step, "previous step (←)")
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setRange(0, 0)
        self.step_slider.setPageStep(1)
        self.step_slider.valueChanged.connect(self.set_step)
        row.addWidget(self.step_slider, 1)
        self.step_label = QLabel("t = 0 / 0")
        self.step_label.setMinimumWidth(90)
        self.step_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.step_label)
        self.btn_next = button("▶", self.next_step, "next step (→)")
        self.btn_last = button("▶|", self.last_step, "last step (End)")
        self.btn_play = button("▶ play", self.toggle_play, "play the steps (Space)")
        self.speed_spin = QDoubleSpinBox()
        self.speed_spin.setRange(0.25, 20.0)
        self.speed_spin.setSingleStep(0.5)
        self.speed_spin.setValue(read_float(self.settings, "play_speed", 1.5))
        self.speed_spin.setSuffix(" steps/s")
        self.speed_spin.setToolTip("play speed")
        self.speed_spin.valueChanged.connect(self._on_speed)
        row.addWidget(self.speed_spin)
        cgl.addLayout(row)
        hrow = QHBoxLayout()
        hrow.addWidget(QLabel("training history"))
        self.history_slider = QSlider(Qt.Orientation.Horizontal)
        self.history_slider.setRange(0, 0)
        self.history_slider.setEnabled(False)
        self.history_slider.setToolTip("scrub back through training and watch the alignment form")
        self.history_slider.valueChanged.connect(self._on_history_slider)
        hrow.addWidget(self.history_slider, 1)
        self.history_label = QLabel("no training yet")
        self.history_label.setMinimumWidth(150)
        hrow.addWidget(self.history_label)
        cgl.addLayout(hrow)
        cgl.addStretch(1)
        bol.addWidget(controls, 3)
        self.loss_holder = QVBoxLayout()
        self.loss_holder.setContentsMargins(0, 0, 0, 0)
        lw = QWidget()
        lw.setLayout(self.loss_holder)
        bol.addWidget(lw, 2)
        self.bottom = bottom

        self.outer_split = QSplitter(Qt.Orientation.Vertical)
        self.outer_split.setChildrenCollapsible(False)
        self.outer_split.addWidget(self.main_split)
        self.outer_split.addWidget(bottom)
        self.outer_split.setStretchFactor(0, 1)
        self.outer_split.setStretchFactor(1, 0)
        self.outer_split.setSizes([820, 110])
        self.setCentralWidget(self.outer_split)
        self.status = self.statusBar()
        self.status_right = QLabel("")
        self.status.addPermanentWidget(self.status_right)
        self._set_loading(True)

    def _build_views(self) -> None:
        """Create the pyqtgraph views (imports numpy and pyqtgraph)."""
        if self.views is not None:
            return
        from .fonts import ensure_korean_font
        from .lossplot import LossPlot
        from .views import Views

        ensure_korean_font()
        self.views = Views()
        self.views.cellHovered.connect(lambda s: self.status.showMessage(s, 4000))
        self.views.stepRequested.connect(self.set_step)
        from .firstmap import CachedMap

        if isinstance(self.placeholder, CachedMap) and self.trace is None:
            # Keep the cached map on screen until the live trace replaces it (_swap_in_views).
            self.views.hide()
            self.centre_layout.addWidget(self.views, 1)
        else:
            self._swap_in_views()
        self.loss_plot = LossPlot()
        self.loss_holder.addWidget(self.loss_plot)
        self._restore_view_state()
        self._apply_font()

    def _swap_in_views(self) -> None:
        """Put the live views where the placeholder (or cached map) was."""
        if self.placeholder is None or self.views is None:
            return
        if self.centre_layout.indexOf(self.views) >= 0:
            self.centre_layout.removeWidget(self.views)
        self.centre_layout.replaceWidget(self.placeholder, self.views)
        self.placeholder.hide()
        self.placeholder.deleteLater()
        self.placeholder = None
        self.views.show()
        self.centre_layout.setStretchFactor(self.views, 1)

    def _save_first_map(self) -> None:
        """Keep the map on screen for the next launch's first paint (widgets.firstmap)."""
        if self.views is None or self.trace is None:
            return
        from . import firstmap

        try:
            m = self.views.cross_map
            title = f"{self.bundle.preset.name}" if self.bundle is not None else "attention"
            data = firstmap.snapshot(m, self._preset_key, title)
            if data is not None:
                firstmap.save(data)
        except (OSError, ValueError) as e:  # a cache: never stop the window closing
            print(f"warning: could not cache the first map: {e}", file=sys.stderr)

    def _set_loading(self, loading: bool) -> None:
        for w in (self.preset_combo, self.pair_list, self.trace_button, self.source_edit, self.target_edit,
                  self.rb_teacher, self.rb_free, self.step_slider, self.device_combo):
            w.setEnabled(not loading)
        self.act_train.setEnabled(not loading and self.bundle is not None)
        if loading:
            self.status.showMessage("loading…")
        elif self.status.currentMessage() == "loading…":
            self.status.clearMessage()

    # ================================================================== startup (run_app)
    def start_loading(self) -> None:
        """Deferred start: torch + preset + first trace in a thread, views built here."""
        if self._load_started or self._closing:
            return  # already started (this is connected to the first paint and a fallback timer)
        self._load_started = True
        preset = read_str(self.settings, "last_preset", DEFAULT_PRESET) or DEFAULT_PRESET
        mode = read_str(self.settings, "mode", "teacher_forcing")
        self._loader.start(_startup_task(preset, mode))
        QTimer.singleShot(0, self._build_views)

    def _join_loader(self) -> None:
        self._loader.shutdown()

    def _on_loader_finished(self, result) -> None:
        if result.status == "done":
            self._on_loaded(result.value)
        else:
            self._on_load_failed(result.error or "loading was cancelled")

    def _on_loaded(self, result: dict) -> None:
        self._join_loader()
        if self._closing:
            return
        self._build_views()
        self._populate_presets(result["presets"])
        self._populate_devices(result["devices"])
        tr = result["trace"]
        bundle = result["bundle"]
        self._set_loading(False)
        self._mode = result["mode"]
        self._install_bundle(bundle)
        pair = bundle.preset.pairs[0]
        self._pair_index = 0
        self._source, self._target = pair.source, pair.target
        self._sync_pair_list()
        self._sync_mode_radios()
        self._set_trace(tr, keep_step=False)
        self._swap_in_views()
        warning = result.get("warning")
        problem = settings_problem(self.settings) if self.persist else None
        if problem:  # found now, not silently at exit
            warning = f"{warning}; {problem}" if warning else problem
        if warning:
            self.show_banner(html.escape(warning), "warning")
        self.status.showMessage("ready — ← → step, Ctrl+R trains, click a cell to explain it", 8000)
        self.ready.emit()

    def _on_load_failed(self, message: str) -> None:
        self._join_loader()
        if self._closing:
            return
        self._build_views()
        self._swap_in_views()
        self._set_loading(False)
        self.show_banner(f"could not start: {html.escape(message)}", "error")
        self.ready.emit()

    # ================================================================== public hooks
    def load_preset(self, key_or_path: str | os.PathLike) -> None:
        """Open a preset (shipped/user key or .toml path) with a fresh, seeded model.

        Raises PresetError for a bad preset (the window keeps its current preset).
        Training, if running, is stopped first.
        """
        from sandbox.model import Bundle
        from sandbox.presets import find_preset, load_preset

        path = find_preset(key_or_path)
        preset = load_preset(path)
        bundle = Bundle.from_preset(preset)
        if self.training.is_active:
            self.training.shutdown()
        self._preset_path = str(path)
        self._install_bundle(bundle)
        self.settings.setValue("last_preset", preset.key if self._is_listed(str(path)) else str(path))
        self._clear_history()
        if self.loss_plot is not None:
            self.loss_plot.clear_data()
        self.set_pair(0)
        self.presetLoaded.emit(preset.key)

    def reload_saved_preset(self, key_or_path: str | os.PathLike) -> bool:
        """Show a preset just saved (Save / Save As). The trained model is kept when the save
        changed nothing it depends on — model settings, tokenizers, seed and the vocabulary's
        tokens (see :func:`sandbox.model.rebind`); otherwise this is :meth:`load_preset`.
        Returns True when the model was kept."""
        from sandbox.model import rebind
        from sandbox.presets import find_preset, load_preset

        path = find_preset(key_or_path)
        preset = load_preset(path)
        old = self.bundle
        kept = None if old is None or self.training.is_active else rebind(old, preset)
        if kept is None:
            self.load_preset(path)
            return False
        steps, origin = self._trained_steps, self._trained_origin
        self._preset_path = str(path)
        self.settings.setValue("last_preset", preset.key if self._is_listed(str(path)) else str(path))
        self.set_bundle(kept, trained_steps=steps, origin=origin)
        self.presetLoaded.emit(preset.key)
        return True

    def set_checked_device(self, device: str | None) -> None:
        """The device type ("cpu"/"cuda") the shown lecture model's claims were checked on;
        the Model box warns while the model runs elsewhere. None: no such promise."""
        self._checked_on = device
        self._update_model_view()

    def set_bundle(self, bundle: "Bundle", trained_steps: int | None = None,
                   origin: str | None = None) -> None:
        """Show another model (e.g. a trained one) with the current sentence.

        ``trained_steps`` says how far ``bundle`` was trained (0: seeded weights) and
        ``origin`` where it came from (e.g. "lecture cache"); both go into the Model box.
        None: the training state shown is kept if ``bundle`` is the model already shown,
        else the model is described as untrained."""
        if self.training.is_active:
            self.training.shutdown()
        same_model = bundle is self.bundle
        same_preset = self.bundle is not None and self.bundle.preset == bundle.preset
        if trained_steps is None:
            trained_steps, origin = ((self._trained_steps, self._trained_origin) if same_model
                                     else (0, None))
        if not same_model:
            self._clear_history()  # the history, like the curve, belongs to the model shown
            if self.loss_plot is not None:
                self.loss_plot.clear_data()  # the curve belongs to the model that was shown
        self._install_bundle(bundle, keep_pairs=same_preset)
        self._set_trained(int(trained_steps), origin)
        if same_preset and self._source is not None:
            self._retrace(keep_step=True)
        else:
            self.set_pair(0)

    def set_pair(self, index: int) -> None:
        if self.bundle is None:
            return
        pairs = self.bundle.preset.pairs
        if not pairs:
            return
        index = max(0, min(int(index), len(pairs) - 1))
        self._pair_index = index
        self._source, self._target = pairs[index].source, pairs[index].target
        self.interventions = None
        self._sync_pair_list()
        self._sync_mode_radios()
        self._retrace(keep_step=False)

    def set_sentence(self, source: str, target: str | None = None) -> bool:
        """Trace your own sentence; no target means free running. False (and a banner) if
        the sentence cannot be traced."""
        from sandbox.text import normalize

        typed = (source or "").strip()
        source = normalize(source or "")  # NFC, zero-width characters removed: what the model reads
        target = normalize(target or "") or None
        if not source:
            extra = " (it holds only invisible zero-width characters)" if typed else ""
            self.show_banner(f"the source sentence is empty{extra} — type something to trace", "error")
            return False
        if self.bundle is None:
            return False
        self._pair_index = -1
        for i, p in enumerate(self.bundle.preset.pairs):
            if p.source == source and p.target == target:
                self._pair_index = i
        self._source, self._target = source, target
        self.interventions = None
        if target is None:
            self._mode = "free_running"
        self._sync_pair_list()
        self._sync_mode_radios()
        return self._retrace(keep_step=False)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
        if mode == "teacher_forcing" and self._source is not None and self._target is None:
            self.show_banner("teacher forcing needs a target sentence; staying in free running", "warning")
            mode = "free_running"
        changed = mode != self._mode
        self._mode = mode
        self.settings.setValue("mode", mode)
        self._sync_mode_radios()
        if changed:
                self._retrace(keep_step=True)

    def set_step(self, t: int) -> None:
        n = len(self.trace.steps) if self.trace is not None else 1
        t = max(0, min(int(t), n - 1))
        self._wanted_step = t
        self._show_step(t)

    def _show_step(self, t: int) -> None:
        """Draw step ``t`` (already clamped) without changing the step the user chose."""
        n = len(self.trace.steps) if self.trace is not None else 1
        self._step = t
        if self.step_slider.value() != t:
            self.step_slider.blockSignals(True)
            self.step_slider.setValue(t)
            self.step_slider.blockSignals(False)
        from .steady import set_steady_text  # pinned to the widest "t = n / n": no re-layout

        set_steady_text(self.step_label, f"t = {t} / {n - 1}", f"t = {n - 1} / {n - 1}")
        if self.views is not None and self.trace is not None:
            self.views.draw(self.trace, t, self._layer, self._head, defer_details=self._defer_details)
        self.stepChanged.emit(t)

    def set_layer_head(self, layer: int, head: int) -> None:
        layers, heads = self._layers_heads()
        self._layer = max(0, min(int(layer), layers - 1))
        self._head = max(0, min(int(head), heads - 1))
        for spin, v in ((self.layer_spin, self._layer), (self.head_spin, self._head)):
            if spin.value() != v:
                spin.blockSignals(True)
                spin.setValue(v)
                spin.blockSignals(False)
        if self.views is not None and self.trace is not None:
            self.views.draw(self.trace, self._step, self._layer, self._head)

    def focus_panel(self, name: str) -> None:
        if name not in PANELS:
            raise ValueError(f"unknown panel {name!r}; allowed: {', '.join(PANELS)}")
        if self.views is not None:
            self.views.focus_panel(name)

    def set_panel_hidden(self, name: str, hidden: bool) -> None:
        if name not in PANELS:
            raise ValueError(f"unknown panel {name!r}; allowed: {', '.join(PANELS)}")
        if self.views is not None:
            self.views.set_panel_hidden(name, hidden)

    def current_view(self) -> dict[str, Any]:
        return {
            "preset": self._preset_key,
            "source": self._source,
            "target": self._target,
            "mode": self._mode,
            "step": self._step,
            "layer": self._layer,
            "head": self._head,
            "panel": self.views.current_panel() if self.views is not None else "map",
        }

    @property
    def step(self) -> int:
        return self._step

    @property
    def mode(self) -> str:
        return self._mode

    # ================================================================== stepping
    def next_step(self) -> None:
        self.set_step(self._step + 1)

    def prev_step(self) -> None:
        self.set_step(self._step - 1)

    def first_step(self) -> None:
        self.set_step(0)

    def last_step(self) -> None:
        self.set_step(len(self.trace.steps) - 1 if self.trace is not None else 0)

    def next_pair(self, delta: int = 1) -> None:
        if self.bundle is None or self.training.is_active:
            return
        n = len(self.bundle.preset.pairs)
        cur = self._pair_index if self._pair_index >= 0 else (0 if delta > 0 else 1)
        self.set_pair((cur + delta) % n)

    def toggle_play(self) -> None:
        if self._play.isActive():
            self._play.stop()
            self.btn_play.setText("▶ play")
        else:
            if self.trace is not None and self._step >= len(self.trace.steps) - 1:
                self.set_step(0)
            self._play.start(int(1000 / self.speed_spin.value()))
            self.btn_play.setText("❚❚ pause")

    def _play_tick(self) -> None:
        if self.trace is None or self._step >= len(self.trace.steps) - 1:
            self._play.stop()
            self.btn_play.setText("▶ play")
            return
        self.next_step()

    def _on_speed(self, v: float) -> None:
        self.settings.setValue("play_speed", v)
        if self._play.isActive():
            self._play.setInterval(int(1000 / v))

    # ================================================================== toolbars
    def add_toolbar(self, tb: QToolBar) -> None:
        """Add a toolbar that wraps onto a new row like the window's own (lectures use it)."""
        tb.setMovable(False)
        if tb not in self._toolbar_rows:
            self.addToolBar(tb)
            self._toolbar_rows.append(tb)
        self.fit_toolbars()

    def fit_toolbars(self) -> None:
        """Put toolbars side by side while they fit the window's width, else start a new row."""
        avail = self.width() - 8
        used = 0
        for tb in self._toolbar_rows:
            w = tb.sizeHint().width()
            want_break = used > 0 and used + w > avail
            has_break = tb in self._toolbar_breaks
            if want_break and not has_break:
                self.insertToolBarBreak(tb)
                self._toolbar_breaks.add(tb)
            elif not want_break and has_break:
                self.removeToolBarBreak(tb)
                self._toolbar_breaks.discard(tb)
            used = w if want_break else used + w

    def _fit_toolbars_later(self) -> None:
        """After a font change: once the toolbars' size hints have caught up."""
        QTimer.singleShot(0, self._refit_toolbars)

    def _refit_toolbars(self) -> None:
        self.fit_toolbars()
        self._refit_view_scale()
        # A toolbar that was once squeezed keeps its "»" even with room to spare (Qt keeps
        # the overflow state); hiding and showing it lays it out afresh.
        for tb in self._toolbar_rows:
            ext = tb.findChild(QToolButton, "qt_toolbar_ext_button")
            if tb.isVisible() and ext is not None and ext.isVisible():
                tb.setVisible(False)
                tb.setVisible(True)
    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if ev.oldSize().width() != ev.size().width():
            self.fit_toolbars()
            self._fit_toolbars_later()
        if ev.oldSize().height() != ev.size().height():
            QTimer.singleShot(0, self._refit_view_scale)

    # ================================================================== font scale
    def zoom_in(self) -> None:
        bigger = [s for s in FONT_SCALES if s > self._font_scale + 1e-6]
        self.set_font_scale(bigger[0] if bigger else FONT_SCALES[-1])

    def zoom_out(self) -> None:
        smaller = [s for s in FONT_SCALES if s < self._font_scale - 1e-6]
        self.set_font_scale(smaller[-1] if smaller else FONT_SCALES[0])

    def set_font_scale(self, scale: float) -> None:
        self._font_scale = min(max(float(scale), 0.5), 3.0)
        self.settings.setValue("font_scale", self._font_scale)
        self._apply_font()

    @property
    def font_scale(self) -> float:
        return self._font_scale

    @property
    def view_scale(self) -> float:
        """The text scale the views get: the chosen one, but no larger than the height for
        the views allows (VIEWS_NEED_H pixels per 100 %), so that a map and the step
        anatomy keep readable rows on a 1280×720 projector at 200 %."""
        h = self.main_split.height()
        if h < 100 or not self.isVisible():
            return self._font_scale
        return min(self._font_scale, max(1.0, h / VIEWS_NEED_H))

    def _refit_view_scale(self) -> None:
        if abs(self.view_scale - getattr(self, "_applied_view_scale", self.view_scale)) > 0.04:
            self._apply_font()

    def _apply_font(self) -> None:
        """The views (maps, anatomy, explanation) get the whole scale, for the back row; the
        chrome (menus, toolbars, lists, stepping bar) at most CHROME_MAX_SCALE, so that at
        200 % on a 1280×720 projector the controls still leave the views room."""
        font = QApplication.font()
        font.setPointSizeF(self._base_pt * min(self._font_scale, CHROME_MAX_SCALE))
        self.setFont(font)
        view_scale = self.view_scale
        self._applied_view_scale = view_scale
        self.zoom_label.setText(f"{round(self._font_scale * 100)}%")
        self.zoom_label.setToolTip(
            f"text size {round(self._font_scale * 100)}%" + (
                f"; the views show {round(view_scale * 100)}%, as much as this window's height leaves "
                "room for (a larger window or presenter mode shows more)" if view_scale < self._font_scale - 1e-6
                else ""))
        big = QApplication.font()
        big.setPointSizeF(self._base_pt * view_scale)
        if self.views is not None:
            self.views.setFont(big)
            self.views.set_font(big)
        if self.loss_plot is not None:
            self.loss_plot.set_font(font)
        self.fit_toolbars()
        self._fit_toolbars_later()

    # ================================================================== training
    @property
    def is_training(self) -> bool:
        return self.training.is_active

    def toggle_training(self) -> None:
        """Ctrl+R: start; while running, pause / resume."""
        if self.training.is_active:
            self.training.toggle_pause()
        else:
            self.start_training()

    def start_training(self, steps: int | None = None) -> bool:
        if self.bundle is None or self._source is None:
            return False
        if self.training.is_active:
            self.training.resume()
            return True
        device = self.device_combo.currentData() or "auto"
        # Train always continues the model on screen: a trained model gets another run of
        # steps, counted on from where it stopped (the loss curve and history go on too).
        offset = self._trained_steps
        if offset == 0:
            self._clear_history()
            if self.loss_plot is not None:
                self.loss_plot.clear_data()
        self.hide_banner()
        self.training.start(self.bundle, self._request(), device=device, steps=steps, step_offset=offset,
                            interval=LIVE_INTERVAL_S)
        self._set_training_ui(True)
        self._update_model_view()
        more = f" (continuing from step {offset})" if offset else ""
        self.status.showMessage(f"training on {device}…{more}")
        return True

    def pause_training(self) -> None:
        self.training.toggle_pause()

    def stop_training(self) -> None:
        self.training.stop()

    def _request(self) -> TraceRequest:
        return TraceRequest(self._source or "", self._target, self._mode)

    def _set_training_ui(self, active: bool) -> None:
        for w in (self.preset_combo, self.pair_list, self.trace_button, self.source_edit, self.target_edit,
                  self.device_combo):
            w.setEnabled(not active)
        self.act_open.setEnabled(not active)
        self.act_pause.setEnabled(active)
        self.act_stop.setEnabled(active)
        self.act_train.setText("▶❚❚ Train" if active else "▶ Train")
        if not active:
            self.act_train.setEnabled(self.bundle is not None)
        self.pair_list.setToolTip("stop training to switch sentences" if active else "")

    def _paint_now(self) -> None:
        """Paint what the snapshot changed now, while the worker is held: deliver the
        scenes' queued item updates (MetaCall) and the resulting paints (UpdateRequest).
        User input is not processed here."""
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.UpdateRequest)

    def _on_training_state(self, state: str) -> None:
        if state == "paused":
            self.status.showMessage("training paused — Ctrl+R resumes, ■ stops")
            self.act_pause.setText("▶ Resume")
        elif state == "running":
            self.act_pause.setText("❚❚ Pause")
        self._update_model_view()

    def _on_metrics(self, metrics: list) -> None:
        if self.loss_plot is not None:
            self.loss_plot.add(metrics)
        m = metrics[-1]
        self.progress.setRange(0, max(m.steps, 1))
        self.progress.setValue(m.step)
        self.progress.setFormat(f"step {m.step} / {m.steps}")
        em = percent(m.exact_match)
        self.status_right.setText(f"loss {fmt(m.loss, 'loss')} · token acc {percent(m.token_accuracy)} · exact {em} · "
                                  f"{m.steps_per_sec:.0f} steps/s")

    def _on_snapshot(self, snap) -> None:
        self._trained_steps = snap.step
        if snap.trace_error:
            self.status.showMessage(f"cannot trace this sentence: {snap.trace_error}", 4000)
            return
        if snap.trace is None:
            return
        self._live_trace = snap.trace
        if self._following_live():
            # Maps now, anatomy and explanation on the next tick: two short GUI blocks
            # instead of one long one (bench/bench_gui_lateness.py).
            self._defer_details = self.views is not None
            try:
                self._set_trace(snap.trace, keep_step=True)
            finally:
                self._defer_details = False
            if self.views is not None:
                self.training.queue_job(self.views.draw_details)

    def _on_history(self, entries: list) -> None:
        from sandbox.history import WeightHistory, WeightSnapshot

        follow = self._following_live()
        if self._weights is None:
            self._weights = WeightHistory()
        for e in entries:
            if e.weights is None and e.trace is None:
                continue
            self._history.append(e)
            if e.weights is not None:
                self._weights.add(WeightSnapshot(e.step, e.total, e.weights, e.metrics))
                if e.trace is not None:
                    self._weights.seed_trace(len(self._weights) - 1, e.request.source, e.request.target,
                                             e.request.mode, e.trace)
        self._update_history_slider(follow)

    def _on_training_finished(self, status: str, message: str, bundle) -> None:
        self._set_training_ui(False)
        self.act_pause.setText("❚❚ Pause")
        self.bundle = bundle
        if self.training.last_step is not None:
            self._trained_steps = self.training.last_step
        self._trained_origin = None
        self._update_model_view()
        self._update_history_label()
        if not self._closing:
            self._retrace(keep_step=True, keep_history=True)
        if status == "nonfinite":
            self.show_banner(f"training stopped: {html.escape(message)}", "error")
            self.status.showMessage(message)
        elif status == "error":
            self.show_banner(f"training could not run: {html.escape(message)}", "error")
            self.status.showMessage(message)
        else:
            self.status.showMessage(f"training {status}: {message}", 8000)

    def _following_live(self) -> bool:
        return not self._history or self.history_slider.value() >= self.history_slider.maximum()

    def _update_history_slider(self, follow: bool = True) -> None:
        n = len(self._history)
        self.history_slider.blockSignals(True)
        self.history_slider.setRange(0, max(n, 0))  # index n = live
        if follow:
            self.history_slider.setValue(n)
        self.history_slider.blockSignals(False)
        self.history_slider.setEnabled(n > 0)
        self._update_history_label()

    def _update_history_label(self) -> None:
        n = len(self._history)
        v = self.history_slider.value()
        if n == 0:
            self.history_label.setText("no training yet" if self._trained_steps == 0 else "—")
            if self.loss_plot is not None:
                self.loss_plot.set_marker(None)
        elif v >= n:
            self.history_label.setText(f"live (step {self._trained_steps})")
            if self.loss_plot is not None:
                self.loss_plot.set_marker(None)
        else:
            h = self._history[v]
            self.history_label.setText(f"step {h.step} / {h.total}")
            if self.loss_plot is not None:
                self.loss_plot.set_marker(h.step)

    def _on_history_slider(self, v: int) -> None:
        n = len(self._history)
        if n == 0:
            return
        if v >= n:
            if self._live_trace is not None:
                self._set_trace(self._live_trace, keep_step=True)
        else:
            self._show_history_point(v)
        self._update_history_label()

    def _history_trace(self, v: int):
        """The current sentence and mode traced with the weights of history point ``v``
        (the worker's own trace when it traced exactly this). Raises ValueError."""
        h = self._history[v]
        w = self._weights
        if h.weights is None or w is None or len(w) != len(self._history):
            if h.trace is None:
                raise ValueError("this history point kept no weights")
            return h.trace  # an entry without weights: only its own trace
        return w.trace_at(v, self.bundle, self._source or "", self._target, self._mode)

    def _show_history_point(self, v: int) -> bool:
        try:
            tr = self._history_trace(v)
        except ValueError as e:
            self.show_banner(f"cannot trace: {html.escape(str(e))}", "error")
            return False
        self._set_trace(tr, keep_step=True)
        return True

    def show_history(self, index: int) -> None:
        """Show the trace kept at history entry ``index`` (len = live)."""
        self.history_slider.setValue(index)

    @property
    def history(self) -> list:
        return list(self._history)

    def _clear_history(self) -> None:
        """Forget the training history (another model is shown, or training starts afresh).
        A new sentence or mode keeps it: every point is re-traced from its weights."""
        if self.training.is_active:
            return
        if self._weights is not None:
            self._weights.clear()
        if self._history:
            self._history.clear()
            self._update_history_slider()

    # ================================================================== tracing
    def _retrace(self, keep_step: bool, keep_history: bool = True) -> bool:
        """Trace the current sentence and mode: live, and at the history point shown when
        the history slider is not on "live". The history is kept (``keep_history`` is
        accepted for old callers and ignored)."""
        if self.bundle is None or not self._source:
            return False
        if self.training.is_active:
            self.training.set_request(self._request())
            if not self._following_live():
                return self._show_history_point(self.history_slider.value())
            return True
        from sandbox.trace import trace

        try:
            tr = trace(self.bundle, self._source, self._target, mode=self._mode,
                       interventions=self.interventions)
        except ValueError as e:
            if self.interventions is not None:  # an edit that no longer applies: drop the edits
                self.interventions = None
                ok = self._retrace(keep_step, keep_history)
                self.show_banner(f"what-if edits removed: {html.escape(str(e))}", "warning")
                return ok
            self.show_banner(f"cannot trace: {html.escape(str(e))}", "error")
            return False
        self._live_trace = tr
        if getattr(self, "_banner_kind", "") == "error":
            self.hide_banner()  # the last problem is fixed: this sentence traced
        self._update_history_slider(follow=False)
        if not self._following_live():  # the user looks at a point of training: show that point
            return self._show_history_point(self.history_slider.value())
        self._set_trace(tr, keep_step=keep_step)
        return True

    def show_trace(self, tr: "Trace", keep_step: bool = False) -> None:
        """Show a trace made elsewhere (a beam's) in every view; the next retrace replaces it."""
        self._set_trace(tr, keep_step=keep_step)

    def _set_trace(self, tr: "Trace", keep_step: bool) -> None:
        self.trace = tr
        n = len(tr.steps)
        self.step_slider.blockSignals(True)  # a shorter range must not become the user's step
        self.step_slider.setRange(0, max(n - 1, 0))
        self.step_slider.blockSignals(False)
        if not keep_step:
            self._wanted_step = 0
        step = max(0, min(self._wanted_step, n - 1))
        self._update_unknown_banner(tr)
        self._show_gold(tr)
        self._show_step(step)
        self.traceChanged.emit(tr)

    def _show_gold(self, tr: "Trace") -> None:
        """Mark the pair's gold alignment links on the cross-attention map (teacher forcing)."""
        if self.views is None:
            return
        from .corpus_view import gold_cells

        row = self.pair_list.row_of(self._source, self._target)
        pair = self.pair_list.pair(row) if row >= 0 else None
        self.views.cross_map.set_gold(gold_cells(pair, tr, self.bundle.preset if self.bundle else None))

    def _update_unknown_banner(self, tr: "Trace") -> None:
        if not tr.has_unknown:
            if getattr(self, "_banner_kind", "") == "unk":
                self.hide_banner()
            return
        from sandbox.vocab import tokenize

        tok = self.bundle.preset.tokenizer if self.bundle is not None else None
        words = []
        if self._source and tok is not None:
            orig = tokenize(self._source, tok.source)
            words += [orig[i] for i in tr.source_unknown if i < len(orig)]
        if self._target and tok is not None:
            orig = tokenize(self._target, tok.target)
            words += [orig[i] for i in tr.target_unknown if i < len(orig)]
        shown = unknown_words_text(words) or "some words"
        self.show_banner(f"⚠ unknown to this model, shown as &lt;unk&gt;: {html.escape(shown)} — "
                         "it has only seen the words of its preset's pairs", "warning")
        self._banner_kind = "unk"

    # ================================================================== bundle / presets
    def _install_bundle(self, bundle: "Bundle", keep_pairs: bool = False) -> None:
        self.bundle = bundle
        p = bundle.preset
        self._preset_key = p.key
        if p.path is not None:
            self._preset_path = str(p.path)
        if not keep_pairs:
            self._trained_steps, self._trained_origin = 0, None
            self._checked_on = None
        if not keep_pairs:
            self.pair_list.set_pairs(p.pairs, p.heldout_pairs)
            self._select_preset_in_combo()
        layers, heads = self._layers_heads()
        self.layer_spin.blockSignals(True)
        self.head_spin.blockSignals(True)
        self.layer_spin.setRange(0, layers - 1)
        self.head_spin.setRange(0, heads - 1)
        self._layer = min(self._layer, layers - 1)
        self._head = min(self._head, heads - 1)
        self.layer_spin.setValue(self._layer)
        self.head_spin.setValue(self._head)
        self.layer_spin.blockSignals(False)
        self.head_spin.blockSignals(False)
        self._show_layer_head(p.model.kind == "transformer")
        self.act_train.setEnabled(True)
        self.progress.setRange(0, max(p.training.steps, 1))
        self.progress.setValue(0 if not keep_pairs else self.progress.value())
        if not keep_pairs:
            self.progress.setFormat("untrained")
            self.status_right.setText("")  # the last run's loss and speed belong to the old model
        # Ends with the app name, so Qt does not append the display name a second time.
        self.setWindowTitle(f"{p.name} — {APP_NAME}")
        self._update_model_view()

    def _set_trained(self, steps: int, origin: str | None = None) -> None:
        """Describe the model on screen as trained ``steps`` steps (0: seeded weights)."""
        self._trained_steps = max(0, int(steps))
        self._trained_origin = origin if self._trained_steps else None
        if self._trained_steps:
            self.progress.setRange(0, self._trained_steps)
            self.progress.setValue(self._trained_steps)
            self.progress.setFormat(f"trained {self._trained_steps} steps")
        else:
            self.progress.setRange(0, max(self.bundle.preset.training.steps, 1) if self.bundle else 100)
            self.progress.setValue(0)
            self.progress.setFormat("untrained")
        self._update_model_view()
        self._update_history_label()

    def _layers_heads(self) -> tuple[int, int]:
        if self.bundle is None or self.bundle.preset.model.kind != "transformer":
            return 1, 1
        m = self.bundle.preset.model
        return m.layers, m.heads

    def _show_layer_head(self, on: bool) -> None:
        for w in (self.layer_label, self.layer_spin, self.head_label, self.head_spin):
            w.setVisible(on)

    def _update_model_view(self) -> None:
        if self.bundle is None:
            self.model_view.setHtml("")
            return
        b = self.bundle
        p, m, t = b.preset, b.preset.model, b.preset.training
        # Only the worker touches a model while it trains (Bundle.device reads its
        # parameters too): read them while no worker runs and keep them for the run.
        if not self.training.is_active:
            self._model_facts = (b, sum(x.numel() for x in b.model.parameters()), str(b.device))
        facts = self._model_facts
        params, device = (facts[1], facts[2]) if facts is not None and facts[0] is b else (0, "—")
        esc = html.escape
        rows = [f"<b>{esc(p.name)}</b>", f"<i>{esc(p.description)}</i>" if p.description else ""]
        if m.kind == "seq2seq":
            rows.append(f"{m.cell.upper()} encoder–decoder · attention: <b>{m.attention}</b>")
            rows.append(f"embedding {m.embed} · hidden {m.hidden}")
            if m.attention == "none":
                rows.append("no attention: the decoder starts from the encoder's last state and "
                            "never looks back (the fixed-length bottleneck)")
            elif m.attention == "bahdanau":
                rows.append("e<sub>j</sub> = vᵀ tanh(W<sub>1</sub>h<sub>j</sub> + W<sub>2</sub>s<sub>t−1</sub>); "
                            "c<sub>t</sub> goes into the GRU input")
            else:
                f = {"dot": "s<sub>t</sub>·h<sub>j</sub>", "scaled_dot": "s<sub>t</sub>·h<sub>j</sub>/√d",
                     "general": "s<sub>t</sub>ᵀWh<sub>j</sub>"}[m.attention]
                rows.append(f"e<sub>j</sub> = {f}; õ<sub>t</sub> = tanh(W<sub>c</sub>[c<sub>t</sub>; s<sub>t</sub>])")
        else:
            rows.append(f"Transformer · {m.layers} layer(s) × {m.heads} heads · d_model {m.d_model} · "
                        f"d_ff {m.d_ff}")
            rows.append("encoder self · masked decoder self · cross attention in every layer")
        rows.append(f"{count(params)} parameters · vocab {len(b.src_vocab)} → {len(b.tgt_vocab)} · "
                    f"{len(p.pairs)} pairs")
        rows.append(f"training: {t.steps} steps · batch {t.batch_size} · lr {t.lr} · "
                    f"teacher forcing {t.teacher_forcing:g} · seed {t.seed}")
        rows.append(f"device: {device}")
        if self._checked_on and device != "—" and not device.startswith(self._checked_on):
            rows.append(f"<span style='color:#9a6700'>⚠ this lecture was checked on the "
                        f"{esc(self._checked_on.upper())}; on {esc(device)} the numbers differ from "
                        "that run, and a slide's claim may not hold</span>")
        if self.training.is_active and self.training.is_paused:
            state = (f"<span style='color:#9a6700'>paused at step {self._trained_steps} "
                     "(Ctrl+R resumes, ■ stops)</span>")
        elif self.training.is_active:
            state = "<span style='color:#0969da'>training… (the views follow it live)</span>"
        elif self._trained_steps:
            origin = f" ({esc(self._trained_origin)})" if self._trained_origin else ""
            state = f"<span style='color:#1a7f37'>trained {self._trained_steps} steps{origin}</span>"
        else:
            state = "<span style='color:#8250df'>untrained (seeded weights)</span>"
        rows.append(state)
        rows.append(self._alignment_line(b))
        self.model_view.setHtml("<br>".join(r for r in rows if r))

    def _alignment_line(self, b) -> str:
        """Alignment accuracy vs gold links (corpus presets, issue 11), once per trained model."""
        if self.training.is_active or not self._trained_steps:
            return ""
        from .corpus_view import alignment_html, alignment_summary

        key = (id(b), id(b.model), self._trained_steps)
        if getattr(self, "_align_key", None) != key:
            try:
                self._align_summary = alignment_summary(b)
            except Exception:  # noqa: BLE001 - a score is never worth an error dialog
                self._align_summary = None
            self._align_key = key
        return alignment_html(self._align_summary, b.preset.model.kind == "transformer")

    def _populate_presets(self, entries: list[tuple[str, str, bool, str]]) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        names = [name for _k, _p, _u, name in entries]
        for key, path, is_user, name in entries:
            label = name
            if names.count(name) > 1:  # two presets with one display name: add the file name
                label = f"{name} ({Path(path).name})"
            if is_user:
                label += "  [yours]"
            self.preset_combo.addItem(label, path)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, f"{key} — {path}",
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.blockSignals(False)
        self._select_preset_in_combo()

    def _is_listed(self, path: str) -> bool:
        return self.preset_combo.findData(path) >= 0

    def _select_preset_in_combo(self) -> None:
        if not self._preset_path:
            return
        i = self.preset_combo.findData(self._preset_path)
        if i < 0 and self.bundle is not None:
            self.preset_combo.addItem(f"{self.bundle.preset.name}  [file]", self._preset_path)
            i = self.preset_combo.count() - 1
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(i)
        self.preset_combo.blockSignals(False)

    def _populate_devices(self, devices: list[str]) -> None:
        want = read_str(self.settings, "device", "auto")
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for d in devices:
            self.device_combo.addItem(d, d)
        i = self.device_combo.findData(want)
        self.device_combo.setCurrentIndex(max(i, 0))
        self.device_combo.blockSignals(False)

    def _on_preset_chosen(self, index: int) -> None:
        path = self.preset_combo.itemData(index)
        if not path or path == self._preset_path:
            return
        if self.training.is_active:
            self._select_preset_in_combo()
            self.status.showMessage("stop training before switching presets", 5000)
            return
        self._guarded(lambda: self.load_preset(path), revert=self._select_preset_in_combo)

    def _open_preset_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open preset", "", "Presets (*.toml);;All files (*)")
        if path:
            self._guarded(lambda: self.load_preset(path))

    def _guarded(self, fn, revert=None) -> bool:
        """Run a user action; bad input becomes a banner, never a crash."""
        try:
            fn()
            return True
        except (ValueError, OSError) as e:  # PresetError is a ValueError
            self.show_banner(html.escape(str(e)), "error")
            self.status.showMessage(str(e).splitlines()[0], 8000)
            if revert is not None:
                revert()
            return False

    # ================================================================== UI handlers
    def _on_pair_row(self, row: int) -> None:
        if row < 0 or row == self._pair_index:
            return
        if self.training.is_active:
            self._sync_pair_list()
            return
        if self.pair_list.is_heldout(row):  # a held-out pair: traced like your own sentence
            pair = self.pair_list.pair(row)
            self.set_sentence(pair.source, pair.target)
            return
        self.set_pair(row)

    def _sync_pair_list(self) -> None:
        self.pair_list.blockSignals(True)
        row = self._pair_index if self._pair_index >= 0 else self.pair_list.row_of(self._source, self._target)
        if row >= 0:
            self.pair_list.setCurrentRow(row)
        else:
            self.pair_list.clearSelection()
            self.pair_list.setCurrentRow(-1)
        self.pair_list.blockSignals(False)

    def _sync_mode_radios(self) -> None:
        for rb in (self.rb_teacher, self.rb_free):
            rb.blockSignals(True)
        self.rb_teacher.setChecked(self._mode == "teacher_forcing")
        self.rb_free.setChecked(self._mode == "free_running")
        has_target = self._target is not None
        self.rb_teacher.setEnabled(has_target)
        self.rb_teacher.setToolTip("each step is fed the gold previous token" if has_target
                                   else "needs a target sentence")
        for rb in (self.rb_teacher, self.rb_free):
            rb.blockSignals(False)

    def _on_mode_radio(self, teacher: bool) -> None:
        self.set_mode("teacher_forcing" if teacher else "free_running")

    def _on_trace_clicked(self) -> None:
        if self.training.is_active:
            return
        self.set_sentence(self.source_edit.text(), self.target_edit.text() or None)

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
            name = a.text().replace("&", "").rstrip("…").strip()
            if keys and name and " / ".join(keys) not in seen:
                seen[" / ".join(keys)] = name
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
            self.views.draw(self.trace, self._step, self._layer, self._head)

    def _export_dialog(self, what: str, fmt: str) -> None:
        if self.trace is None:
            return
        from .export import default_export_dir

        name = str(default_export_dir("pictures") / f"{self._preset_key or 'attention'}_t{self._step}_{what}.{fmt}")
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
            self, "Export trace as JSON", str(default_export_dir("documents") / f"{self._preset_key or 'trace'}.json"),
            "JSON (*.json)")
        if path and self._guarded(lambda: self.export_trace_json(path)):
            self.status.showMessage(f"saved {path}", 6000)

    # ================================================================== keys
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

    # ================================================================== show / close
    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)
        if not self._first_shown:
            self._first_shown = True
            QTimer.singleShot(0, self.firstShown.emit)

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
        s.setValue("mode", self._mode)
        problem = settings_problem(s)
        if problem:
            raise OSError(problem)

    def shutdown(self) -> None:
        """Stop playing, stop and join every thread, save settings (idempotent)."""
        if self._closing:
            return
        self._closing = True
        self._play.stop()
        self.training.shutdown()
        self._join_loader()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        try:
            self.save_settings()
        except Exception as e:  # noqa: BLE001 - never block closing
            print(f"warning: {e}" if isinstance(e, OSError) else f"warning: could not save settings: {e}",
                  file=sys.stderr)

    def closeEvent(self, ev) -> None:
        self.shutdown()
        super().closeEvent(ev)
