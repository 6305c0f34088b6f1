"""Building the main window's chrome: actions, toolbars, menus, the left column, the
banner, the stepping bar, the history slider and the loss plot's holder; then the
toolbars' wrapping and the text scale.

A mixin of :class:`widgets.mainwindow.MainWindow`: the methods read and write the window's
widgets and its :class:`widgets.state.WindowState`; nothing here holds state of its own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QButtonGroup, QComboBox, QDoubleSpinBox, QFrame, QGridLayout, QGroupBox,
    QHBoxLayout, QLabel, QLineEdit, QMenu, QProgressBar, QPushButton, QRadioButton, QSizePolicy,
    QSlider, QSpinBox, QSplitter, QStyle, QStyleOptionComboBox, QStylePainter, QTextBrowser, QToolBar,
    QToolButton, QVBoxLayout, QWidget,
)

from sandbox.names import PANELS

from .settings import read_float

FONT_SCALES = (0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
CHROME_MAX_SCALE = 1.3  # see WindowUi._apply_font
LOSS_FOLD_H = 860  # px of window height below which the loss curve folds away
LOSS_STRIP_H = 110  # px the stepping bar takes with the loss curve shown
# The views' height at text scale s (MainWindow.view_scale): the step anatomy's minimum
# (~214 px of plots + two text lines, ~68 px per 100 %) and a six-row attention map at 1.5
# lines a row with its tab bar and labels (~60 px + 166 px per 100 %), measured offscreen.
VIEWS_FIXED_H = 274
VIEWS_PER_SCALE_H = 234


class MiddleElideComboBox(QComboBox):
    """A combo box that shortens a long current text in the middle, not at the end. Preset
    names differ at their end ("… → I am a cat (dot attention)", "… (general attention)",
    "I love cats → 나는 고양이를 좋아해 (Transformer)"): cut at the end, five presets looked
    the same. The tooltip holds the whole name."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._tip = ""
        self.currentIndexChanged.connect(lambda _i: self._update_tip())

    def setToolTip(self, tip: str) -> None:
        self._tip = tip
        self._update_tip()

    def _update_tip(self) -> None:
        text = self.currentText()
        super().setToolTip(f"{text}\n{self._tip}" if text and self._tip else (text or self._tip))

    def _edit_rect(self):
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        return opt, self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                                QStyle.SubControl.SC_ComboBoxEditField, self)

    def shown_text(self, rect=None) -> str:
        """The current text as painted: elided in the middle to the edit field's width."""
        rect = rect if rect is not None else self._edit_rect()[1]
        return self.fontMetrics().elidedText(self.currentText(), Qt.TextElideMode.ElideMiddle, max(rect.width(), 0))

    def paintEvent(self, _ev) -> None:
        painter = QStylePainter(self)
        opt, rect = self._edit_rect()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        opt.currentText = self.shown_text(rect)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)


class OneLineProgressBar(QProgressBar):
    """The toolbar's model box ("untrained", "step 34 / 400", "trained 400 steps"): at least
    ``MIN_W`` px and always as wide as its text. A fixed width let Qt's style wrap the text
    onto two half-hidden lines at 150 % text ("trained 400 / steps")."""

    MIN_W = 140

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # as wide as the size hint, no wider (a progress bar expands by default: the toolbar
        # would hand it every free pixel)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, self.sizePolicy().verticalPolicy())

    def _needed(self) -> int:
        fm = self.fontMetrics()
        return fm.horizontalAdvance(self.text()) + 2 * fm.averageCharWidth() + 8

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(max(self.MIN_W, self._needed()))
        return hint

    def minimumSizeHint(self):
        return self.sizeHint()

    def setFormat(self, fmt: str) -> None:
        super().setFormat(fmt)
        if self._needed() > self.width():
            self.updateGeometry()  # only when it must grow: a training run updates it ~20 times a second


class WindowUi:
    """Construction, toolbars and text scale of the main window (a mixin)."""

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
                             "while it runs this button (and Ctrl+R) pauses and resumes", False)
        self.act_stop = act("■ Stop", self.stop_training, None, "stop after the current step; the weights stay", False)
        self.act_reset = act("Start from seeded weights", self.reset_weights, None,
                             "show this preset's untrained model (its seeded weights), e.g. to train it "
                             "from step 0 in front of a class; a model trained here is kept", False)
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
        self.preset_combo = MiddleElideComboBox()
        self.preset_combo.setMinimumContentsLength(24)
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setToolTip("shipped presets first, then yours")
        self.preset_combo.activated.connect(self._on_preset_chosen)
        tb.addWidget(self.preset_combo)
        tb.addSeparator()
        tb.addAction(self.act_train)  # one button: Train, then Pause / Resume while a run is on
        tb.addAction(self.act_stop)
        tb.addSeparator()
        tb.addWidget(QLabel(" device "))
        self.device_combo = QComboBox()
        self.device_combo.addItem("auto", "auto")
        self.device_combo.setToolTip("auto: CUDA when available, else CPU")
        self.device_combo.activated.connect(  # the user's choice (not a refill of the list) is kept
            lambda _i: self.settings.setValue("device", self.device_combo.currentData() or "auto"))
        tb.addWidget(self.device_combo)
        self.progress = OneLineProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("untrained")
        self.progress.setTextVisible(True)
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
        for a in (self.act_train, self.act_stop):  # act_train pauses and resumes too (Ctrl+R)
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_reset)
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
        for spin in (self.layer_spin, self.head_spin):
            # A click on the arrows leaves the keyboard where it was, so ← → go on stepping
            # (the app's main keys); Tab still reaches the box, and Enter hands the keys back.
            spin.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            spin.editingFinished.connect(self._keys_back_to_views)
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
            if data is not None:
                cached = firstmap.CachedMap(data)
            elif not self.settings.contains("last_preset"):  # a first launch: the default view
                shipped = firstmap.load(firstmap.SHIPPED_PATH)
                cached = firstmap.CachedMap(shipped, note=firstmap.SHIPPED_NOTE) if shipped is not None else None
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
        # The loss curve folds away on a short window (a 1280×720 projector): the attention
        # map gets its height. This button (and a taller window) brings it back.
        self.loss_toggle = QToolButton()
        self.loss_toggle.setCheckable(True)
        self.loss_toggle.setChecked(True)
        self.loss_toggle.setAutoRaise(True)
        self.loss_toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loss_toggle.setToolTip("show or hide the loss and accuracy curve (folded away on a short window "
                                    "so that the attention map keeps readable rows)")
        self.loss_toggle.toggled.connect(self.set_loss_curve_shown)
        hrow.addWidget(self.loss_toggle)
        cgl.addLayout(hrow)
        cgl.addStretch(1)
        bol.addWidget(controls, 3)
        self.loss_holder = QVBoxLayout()
        self.loss_holder.setContentsMargins(0, 0, 0, 0)
        lw = QWidget()
        lw.setLayout(self.loss_holder)
        bol.addWidget(lw, 2)
        self.loss_box = lw
        self.bottom = bottom
        self._loss_auto_folded: bool | None = None  # the fold the window's height last chose

        self.outer_split = QSplitter(Qt.Orientation.Vertical)
        self.outer_split.setChildrenCollapsible(False)
        self.outer_split.addWidget(self.main_split)
        self.outer_split.addWidget(bottom)
        self.outer_split.setStretchFactor(0, 1)
        self.outer_split.setStretchFactor(1, 0)
        self.outer_split.setSizes([820, LOSS_STRIP_H])
        self.setCentralWidget(self.outer_split)
        self._label_loss_toggle()
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

    def _set_loading(self, loading: bool) -> None:
        for w in (self.preset_combo, self.pair_list, self.trace_button, self.source_edit, self.target_edit,
                  self.rb_teacher, self.rb_free, self.step_slider, self.device_combo):
            w.setEnabled(not loading)
        self.act_train.setEnabled(not loading and self.bundle is not None)
        self.act_reset.setEnabled(not loading and self.bundle is not None)
        if loading:
            self.status.showMessage("loading…")
        elif self.status.currentMessage() == "loading…":
            self.status.clearMessage()

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
            self._fold_loss_for_height()
            QTimer.singleShot(0, self._refit_view_scale)

    # ================================================================== loss curve fold
    def _fold_loss_for_height(self) -> None:
        """Fold the loss curve away when the window gets shorter than LOSS_FOLD_H, unfold it
        when it gets taller; the user's toggle in between is kept until the next crossing."""
        fold = self.height() < LOSS_FOLD_H
        if fold != self._loss_auto_folded:
            self._loss_auto_folded = fold
            self.set_loss_curve_shown(not fold)

    def set_loss_curve_shown(self, shown: bool) -> None:
        """Show or fold away the loss and accuracy curve beside the stepping bar; folded, the
        bar is as low as its controls and the views get the height."""
        shown = bool(shown)
        if self.loss_toggle.isChecked() != shown:
            self.loss_toggle.setChecked(shown)  # its toggled signal calls this again, with the box in step
            return
        self._label_loss_toggle()
        if self.loss_box.isVisibleTo(self.bottom) == shown:
            return
        self.loss_box.setVisible(shown)
        sizes = self.outer_split.sizes()
        if len(sizes) == 2 and sum(sizes) > 0:
            self.bottom.layout().activate()
            want = max(self.bottom.minimumSizeHint().height(), LOSS_STRIP_H if shown else 0)
            self.outer_split.setSizes([sum(sizes) - want, want])

    @property
    def loss_curve_shown(self) -> bool:
        return self.loss_toggle.isChecked()

    def _label_loss_toggle(self) -> None:
        self.loss_toggle.setText("loss curve ▾" if self.loss_toggle.isChecked() else "loss curve ▸")

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
        the views allows (VIEWS_FIXED_H + VIEWS_PER_SCALE_H per 100 %), so that a six-row
        map keeps 1.5 lines a row above the step anatomy on a 1280×720 projector at 200 %."""
        h = self.main_split.height()
        if h < 100 or not self.isVisible():
            return self._font_scale
        return min(self._font_scale, max(1.0, (h - VIEWS_FIXED_H) / VIEWS_PER_SCALE_H))

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
        self.fit_menu_fonts()
        self.fit_toolbars()
        self._fit_toolbars_later()

    def fit_menu_fonts(self) -> None:
        """Menus are windows of their own and do not inherit the window's font: give every
        menu of the window (menu bar, submenus, Export ▾) the chrome's text size, or at 150 %
        the menus stayed at 100 %. Call again after adding menus (``install_extras`` does)."""
        font = self.font()
        for menu in self.findChildren(QMenu):
            if menu.font() != font:
                menu.setFont(font)
