"""The main window: the class that ties the window's parts together.

Only PySide6 is imported at module level, so ``python main.py`` can show this window
before numpy, pyqtgraph and torch have loaded. With ``deferred=True`` the window opens
in a "loading…" state; :meth:`MainWindow.start_loading` then imports torch and builds
the first trace in a background thread while the views are built in the GUI thread.

Which file holds what:

- ``widgets/state.py``: :class:`WindowState`, what the window shows (preset, sentence,
  mode, step, layer / head, trace, trained steps); the one place that clamps the step;
- this file: :class:`MainWindow` — start-up, the public hooks below, tracing, keeping the
  panels in step with the state, the plug-in API and closing;
- ``window_ui.py`` building the widgets, toolbars, text scale; ``window_steps.py`` stepping,
  play and keys; ``window_training.py`` training and the history slider;
  ``window_presets.py`` preset / device boxes and the Model box; ``window_io.py`` banner,
  help and exports; ``window_settings.py`` what is remembered between sessions;
  ``sandbox/model_shelf.py`` keeps models trained here, per preset, for the session.

Public hooks (used by the lecture presenter, the compare view, the editor, what-if):
``load_preset``, ``reload_saved_preset``, ``set_pair``, ``set_sentence``, ``set_mode``,
``set_step``, ``set_layer_head``, ``focus_panel``, ``set_panel_hidden``, ``current_view``,
``set_bundle``, ``show_trace``, ``retrace``, ``bundle``, ``trace``, ``state`` and ``views``
(a widget that can be grabbed). Features plug in through ``refresh_presets``,
``add_leave_guard``, ``add_close_guard``, ``add_shutdown_hook`` and ``extras_installed``.
"""

from __future__ import annotations

import html
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow

from sandbox.example import first_sentence
from sandbox.names import MODES, PANELS

from .jobs import JobRunner
from .settings import make_settings, read_float, read_str, settings_problem
from .state import WindowState
from .training import TrainingSession
from .window_io import NAV_KEYS, WindowIO
from .window_presets import WindowPresets, preset_entries
from .window_settings import WindowSettings
from .window_steps import WindowSteps
from .window_training import LIVE_INTERVAL_S, WindowTraining
from .window_ui import CHROME_MAX_SCALE, FONT_SCALES, VIEWS_FIXED_H, VIEWS_PER_SCALE_H, WindowUi

if TYPE_CHECKING:
    from sandbox.model import Bundle
    from sandbox.trace import Trace

__all__ = ["MainWindow", "unknown_words_text", "DEFAULT_PRESET", "APP_NAME", "FONT_SCALES",
           "CHROME_MAX_SCALE", "VIEWS_FIXED_H", "VIEWS_PER_SCALE_H", "LIVE_INTERVAL_S", "NAV_KEYS"]

DEFAULT_PRESET = "ko_en_cat"
APP_NAME = "Attention Sandbox"


def _startup_task(preset_ref: str, wanted_mode: str, saved: dict | None = None):
    """The start-up job (runs on the job runner's thread): import torch, load the preset
    (the default one if it is broken), trace its first sentence (:func:`first_sentence`;
    ``saved`` is the last session's view, used when it is of this preset file).
    ``(progress, should_stop) -> dict``."""

    def task(progress, should_stop) -> dict:
        import torch  # noqa: F401 - the slow import, off the GUI thread

        from sandbox.device import available_devices
        from sandbox.fileio import sweep_stale_temp_files
        from sandbox.lecture_cache import opening_model
        from sandbox.presets import PresetError, find_preset, ignored_user_presets, load_preset
        from sandbox.trace import trace

        sweep_stale_temp_files()  # leftovers of a write a kill interrupted
        presets = preset_entries()
        warnings = ignored_user_presets()  # broken user files named like shipped presets
        try:
            preset = load_preset(find_preset(preset_ref))
        except PresetError as e:
            warnings.append(f"could not open the last preset ({e}); opened {DEFAULT_PRESET} instead")
            preset = load_preset(find_preset(DEFAULT_PRESET))
        warning = "; ".join(warnings) or None
        bundle, trained = opening_model(preset)  # the shipped trained model when there is one
        mode = wanted_mode if wanted_mode in MODES else "teacher_forcing"
        mine = saved if saved and saved.get("preset_path") == str(preset.path) else None
        source, target, index = first_sentence(preset, mine)
        try:
            tr = trace(bundle, source, target, mode=mode if target is not None else "free_running")
        except ValueError:  # a saved sentence this model cannot trace any more: the example
            mine = None
            source, target, index = first_sentence(preset)
            tr = trace(bundle, source, target, mode=mode)
        return {"presets": presets, "bundle": bundle, "trained_steps": trained, "trace": tr, "mode": tr.mode,
                "devices": available_devices(), "warning": warning, "source": source, "target": target,
                "pair_index": index, "restored": mine}

    return task


def unknown_words_text(words: list[str], limit: int = 12) -> str:
    """Each unknown word once, in first-seen order, with a count when it repeats
    (“a” ×150); after ``limit`` words, "… and N more"."""
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    items = [f"“{w}”" + (f" ×{n}" if n > 1 else "") for w, n in counts.items()]
    more = f" … and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


class MainWindow(WindowUi, WindowSteps, WindowTraining, WindowPresets, WindowIO, WindowSettings,
                 QMainWindow):
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
        self.state = WindowState(self)  # preset, sentence, mode, step, layer/head, trace, trained steps
        self.bundle: Bundle | None = None
        self.interventions = None  # What-if edits (sandbox.whatif.Interventions) for the next trace
        self.extras_installed = False  # widgets.app.install_extras ran (the editor, lectures, ...)
        self._checked_on: str | None = None  # the device a lecture's claims were checked on
        self._history: list = []  # training.Snapshot per history point (with its weights)
        self._weights = None  # sandbox.history.WeightHistory of the same points (made on first use)
        self._metrics_log: list = []  # every training step's Metrics of the model shown (the loss curve)
        from sandbox.model_shelf import ModelShelf

        self._shelf = ModelShelf()  # models trained here, kept per preset file for the session
        self._leave_guards: list[tuple[Callable[[], bool], str]] = []  # asked before another preset replaces this one
        self._close_guards: list[Callable[[], bool]] = []  # asked before the window closes
        self._shutdown_hooks: list[Callable[[], None]] = []  # run when the window shuts down
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
        self._bind_state()
        self._restore_settings()
        if app is not None:
            app.installEventFilter(self)
        if not deferred:
            self._build_views()
            self._populate_presets(preset_entries())
            from sandbox.device import available_devices

            self._populate_devices(available_devices())
            self._set_loading(False)

    # ================================================================== startup (run_app)
    def start_loading(self) -> None:
        """Deferred start: torch + preset + first trace in a thread, views built here."""
        if self._load_started or self._closing:
            return  # already started (this is connected to the first paint and a fallback timer)
        self._load_started = True
        preset = read_str(self.settings, "last_preset", DEFAULT_PRESET) or DEFAULT_PRESET
        mode = read_str(self.settings, "mode", "teacher_forcing")
        self._loader.start(_startup_task(preset, mode, self._saved_view()))
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
        self.state.set_mode(result["mode"])
        self._install_bundle(bundle)
        if result.get("trained_steps"):
            from sandbox.lecture_cache import SHIPPED_ORIGIN

            self._set_trained(result["trained_steps"], SHIPPED_ORIGIN)
        # the pair list and radios follow
        self.state.set_sentence(result.get("source"), result.get("target"), result.get("pair_index", -1))
        self._set_trace(tr, keep_step=False, live=True)
        if result.get("restored"):
            self._restore_view(result["restored"])  # step, layer, head, own sentence (clamped)
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
        """Open a preset (shipped/user key or .toml path) on its own example sentence.

        The model is the one trained for this preset file earlier in the session, when one
        is kept and still fits the file (sandbox.model_shelf), else the trained model shipped
        for the preset's own settings (sandbox.lecture_cache.opening_model), else a fresh,
        seeded one; a model trained here for the preset shown before is kept in turn
        (Train ▸ Start from seeded weights shows the untrained model). Raises PresetError
        for a bad preset (the window keeps its current preset). Training, if running, is
        stopped first (its model is kept)."""
        from sandbox.lecture_cache import SHIPPED_ORIGIN, opening_model
        from sandbox.presets import find_preset, load_preset

        path = find_preset(key_or_path)
        preset = load_preset(path)  # a broken file fails here, before any guard asks anything
        refused = self._refused_leave()
        if refused is not None:
            raise ValueError(f"kept the current preset: {refused} has unsaved edits (save or discard them first)")
        if self.training.is_active:
            self.training.shutdown()  # its model is the one shown now, and goes on the shelf below
        if str(path) != self.state.preset_path:
            self._shelve_current()  # a model trained here comes back when this preset is picked again
        kept = self._unshelve(str(path), preset)
        bundle, shipped_steps = (kept[1], 0) if kept is not None else opening_model(preset)
        self.state.set_preset(preset.key, str(path))
        self._install_bundle(bundle)
        self.settings.setValue("last_preset", preset.key if self._is_listed(str(path)) else str(path))
        self._clear_history()
        self._clear_curve()
        if kept is not None:
            self._put_back(*kept)
        elif shipped_steps:
            self._set_trained(shipped_steps, SHIPPED_ORIGIN)
        self.show_example()
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
        steps, origin = self.state.trained_steps, self.state.trained_origin
        self.state.set_preset(preset.key, str(path))
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
            self.training.shutdown()  # its model is the one shown now, and goes on the shelf below
        same_model = bundle is self.bundle
        same_preset = self.bundle is not None and self.bundle.preset == bundle.preset
        if trained_steps is None:
            trained_steps, origin = ((self.state.trained_steps, self.state.trained_origin) if same_model
                                     else (0, None))
        if not same_model:
            if self.bundle is not None and bundle.model is not self.bundle.model:
                self._shelve_current()  # e.g. a lecture's model replaces one trained here
            self._clear_history()  # the history, like the curve, belongs to the model shown
        self._install_bundle(bundle, keep_pairs=same_preset)
        if not same_model:
            self._clear_curve()  # the curve belongs to the model that was shown
        self._set_trained(int(trained_steps), origin)
        if same_preset and self.state.source is not None:
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
        self.state.set_sentence(pairs[index].source, pairs[index].target, index)  # panels follow
        self.interventions = None
        self._retrace(keep_step=False)

    def show_example(self) -> None:
        """Show the preset's own example (the pair its name states; a held-out one is traced
        like your own sentence), else its first pair."""
        if self.bundle is None or not self.bundle.preset.pairs:
            return
        source, target, index = first_sentence(self.bundle.preset)
        if index >= 0:
            self.set_pair(index)
        else:
            self.set_sentence(source, target)

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
        index = -1
        for i, p in enumerate(self.bundle.preset.pairs):
            if p.source == source and p.target == target:
                index = i
        if target is None:
            self.state.set_mode("free_running")
        self.state.set_sentence(source, target, index)  # the pair list and radios follow
        self.interventions = None
        return self._retrace(keep_step=False)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
        if mode == "teacher_forcing" and self.state.source is not None and self.state.target is None:
            self.show_banner("teacher forcing needs a target sentence; staying in free running", "warning")
            mode = "free_running"
        changed = self.state.set_mode(mode)  # the radios follow
        self.settings.setValue("mode", mode)
        self._sync_mode_radios()  # also when unchanged: a refused teacher forcing puts them back
        if changed:
            self._retrace(keep_step=True)

    def set_step(self, t: int) -> None:
        """Show decoder step ``t`` (clamped by the state) and make it the user's step."""
        self._show_step(self.state.set_step(t))

    def _show_step(self, t: int) -> None:
        """Draw step ``t`` (clamped by the state) without changing the step the user chose."""
        t = self.state.show_step(t)  # the step slider follows the state
        from .steady import set_steady_text  # pinned to the widest "t = n / n": no re-layout

        last = self.state.last_step
        set_steady_text(self.step_label, f"t = {t} / {last}", f"t = {last} / {last}")
        if self.views is not None and self.trace is not None:
            self.views.draw(self.trace, t, self.state.layer, self.state.head, defer_details=self._defer_details)
        self.stepChanged.emit(t)

    def set_layer_head(self, layer: int, head: int) -> None:
        """Show ``layer`` and ``head`` (clamped to the model's by the state; the spin boxes follow)."""
        self.state.set_layer_head(layer, head)
        if self.views is not None and self.trace is not None:
            self.views.draw(self.trace, self.state.step, self.state.layer, self.state.head)

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
            "preset": self.state.preset_key,
            "source": self.state.source,
            "target": self.state.target,
            "mode": self.state.mode,
            "step": self.state.step,
            "layer": self.state.layer,
            "head": self.state.head,
            "panel": self.views.current_panel() if self.views is not None else "map",
        }

    @property
    def step(self) -> int:
        return self.state.step

    @property
    def mode(self) -> str:
        return self.state.mode

    # ================================================================== tracing
    def _retrace(self, keep_step: bool, keep_history: bool = True) -> bool:
        """Trace the current sentence and mode: live, and at the history point shown when
        the history slider is not on "live". The history is kept (``keep_history`` is
        accepted for old callers and ignored)."""
        if self.bundle is None or not self.state.source:
            return False
        if self.training.is_active:
            self.training.set_request(self._request())
            if not self._following_live():
                return self._show_history_point(self.state.history_index)
            return True
        from sandbox.trace import trace

        try:
            tr = trace(self.bundle, self.state.source, self.state.target, mode=self.state.mode,
                       interventions=self.interventions)
        except ValueError as e:
            if self.interventions is not None:  # an edit that no longer applies: drop the edits
                self.interventions = None
                ok = self._retrace(keep_step, keep_history)
                self.show_banner(f"what-if edits removed: {html.escape(str(e))}", "warning")
                return ok
            self.show_banner(f"cannot trace: {html.escape(str(e))}", "error")
            return False
        self.state.live_trace = tr
        if getattr(self, "_banner_kind", "") == "error":
            self.hide_banner()  # the last problem is fixed: this sentence traced
        self._update_history_slider(follow=False)
        if not self._following_live():  # the user looks at a point of training: show that point
            return self._show_history_point(self.state.history_index)
        self._set_trace(tr, keep_step=keep_step)
        return True

    def show_trace(self, tr: "Trace", keep_step: bool = False) -> None:
        """Show a trace made elsewhere (a beam's) in every view; the next retrace replaces it."""
        self._set_trace(tr, keep_step=keep_step)

    def _set_trace(self, tr: "Trace", keep_step: bool, live: bool = False) -> None:
        """Show ``tr`` at the user's step clamped to it (``keep_step``) or at step 0; a
        shorter trace clamps only the step shown, never the user's (WindowState)."""
        step = self.state.set_trace(tr, keep_step=keep_step, live=live)  # the step slider follows
        self._update_unknown_banner(tr)
        self._show_gold(tr)
        self._show_step(step)
        self.traceChanged.emit(tr)

    @property
    def trace(self) -> "Trace | None":
        """The trace the views show (the state's)."""
        return self.state.trace

    def _show_gold(self, tr: "Trace") -> None:
        """Mark the pair's gold alignment links on the cross-attention map (teacher forcing)."""
        if self.views is None:
            return
        from .corpus_view import gold_cells

        row = self.pair_list.row_of(self.state.source, self.state.target)
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
        if self.state.source and tok is not None:
            orig = tokenize(self.state.source, tok.source)
            words += [orig[i] for i in tr.source_unknown if i < len(orig)]
        if self.state.target and tok is not None:
            orig = tokenize(self.state.target, tok.target)
            words += [orig[i] for i in tr.target_unknown if i < len(orig)]
        shown = unknown_words_text(words) or "some words"
        self.show_banner(f"⚠ unknown to this model, shown as &lt;unk&gt;: {html.escape(shown)} — "
                         "it has only seen the words of its preset's pairs", "warning")
        self._banner_kind = "unk"

    # ================================================================== bundle / presets
    def _install_bundle(self, bundle: "Bundle", keep_pairs: bool = False) -> None:
        self.bundle = bundle
        p = bundle.preset
        self.state.set_preset(p.key, str(p.path) if p.path is not None else None)
        if not keep_pairs:
            self.state.set_trained(0)
            self._checked_on = None
        if not keep_pairs:
            self.pair_list.set_pairs(p.pairs, p.heldout_pairs)
            self._select_preset_in_combo()
            # "Your own sentence" was typed for the old model's vocabulary: start empty,
            # with this preset's example as the hint
            from sandbox.example import example_pair

            ex = example_pair(p)
            self.source_edit.clear()
            self.target_edit.clear()
            if ex is not None:
                self.source_edit.setPlaceholderText(f"source, e.g. {ex.source}")
            self._fit_empty_curve()
        self.state.set_limits(*self._layers_heads())  # clamps layer and head
        self._sync_layer_head()  # the spin boxes' ranges, even when layer and head stay
        self._show_layer_head(p.model.kind == "transformer")
        self.act_train.setEnabled(True)
        self.act_reset.setEnabled(not self.training.is_active)
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
        self.state.set_trained(steps, origin)
        if self.state.trained_steps:
            self.progress.setRange(0, self.state.trained_steps)
            self.progress.setValue(self.state.trained_steps)
            self.progress.setFormat(f"trained {self.state.trained_steps} steps")
        else:
            self.progress.setRange(0, max(self.bundle.preset.training.steps, 1) if self.bundle else 100)
            self.progress.setValue(0)
            self.progress.setFormat("untrained")
        self._update_model_view()
        self._update_history_label()

    # ================================================================== panels ↔ state
    # Each control writes the state from its own Qt signal and is set from the state's
    # signal; a control's echo of the state's value is a no-op (the handler compares with
    # the state first), so no signals need blocking.
    def _bind_state(self) -> None:
        st = self.state
        st.stepChanged.connect(self._sync_step_slider)
        st.traceChanged.connect(self._sync_step_slider)
        st.layerHeadChanged.connect(self._sync_layer_head)
        st.historyChanged.connect(self._sync_history_slider)
        st.modeChanged.connect(self._sync_mode_radios)
        st.sentenceChanged.connect(self._sync_pair_list)
        st.sentenceChanged.connect(self._sync_mode_radios)  # teacher forcing needs a target
        self.step_slider.valueChanged.connect(self._on_step_slider)
        self.layer_spin.valueChanged.connect(
            lambda v: self.set_layer_head(v, self.state.head) if v != self.state.layer else None)
        self.head_spin.valueChanged.connect(
            lambda v: self.set_layer_head(self.state.layer, v) if v != self.state.head else None)
        self.rb_teacher.toggled.connect(self._on_mode_radio)
        self.pair_list.currentRowChanged.connect(self._on_pair_row)

    @staticmethod
    def _set_range_value(w, top: int, value: int) -> None:
        """Set a slider's or spin box's range to ``0..top`` and its value to ``value``
        without passing through any other value (widen, set, narrow): its valueChanged
        only ever carries ``value``, which the handlers ignore as the state's own."""
        w.setRange(0, max(w.maximum(), top, value))
        w.setValue(value)
        w.setRange(0, top)

    def _sync_step_slider(self, *_args) -> None:
        self._set_range_value(self.step_slider, self.state.last_step, self.state.step)

    def _on_step_slider(self, v: int) -> None:
        if v != self.state.step:
            self.set_step(v)

    def _sync_layer_head(self, *_args) -> None:
        st = self.state
        self._set_range_value(self.layer_spin, st.layers - 1, st.layer)
        self._set_range_value(self.head_spin, st.heads - 1, st.head)

    def _current_row(self) -> int:
        """The pair list's row of the sentence shown (-1: the user's own sentence)."""
        st = self.state
        return st.pair_index if st.pair_index >= 0 else self.pair_list.row_of(st.source, st.target)

    def _on_pair_row(self, row: int) -> None:
        if row < 0 or row == self._current_row():
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
        row = self._current_row()
        if row >= 0:
            self.pair_list.setCurrentRow(row)
        else:
            self.pair_list.clearSelection()
            self.pair_list.setCurrentRow(-1)

    def _sync_mode_radios(self, *_args) -> None:
        teacher = self.state.mode == "teacher_forcing"
        (self.rb_teacher if teacher else self.rb_free).setChecked(True)  # the other unchecks
        has_target = self.state.target is not None
        self.rb_teacher.setEnabled(has_target)
        self.rb_teacher.setToolTip("each step is fed the gold previous token" if has_target
                                   else "needs a target sentence")

    def _on_mode_radio(self, teacher: bool) -> None:
        mode = "teacher_forcing" if teacher else "free_running"
        if mode != self.state.mode:
            self.set_mode(mode)

    def _on_trace_clicked(self) -> None:
        if self.training.is_active:
            return
        self.set_sentence(self.source_edit.text(), self.target_edit.text() or None)

    # ================================================================== plug-in API
    def refresh_presets(self) -> None:
        """Read the preset folders again and list what is there (after a save or an import)."""
        self._populate_presets(preset_entries())

    def retrace(self, keep_step: bool = True) -> bool:
        """Trace the sentence shown again (e.g. after ``interventions`` changed). False (and
        a banner) when it cannot be traced."""
        return self._retrace(keep_step=keep_step)

    def add_leave_guard(self, may_leave: Callable[[], bool], name: str = "an editor") -> None:
        """``may_leave()`` is asked before :meth:`load_preset` replaces the preset shown (after
        the new file proved valid); False keeps the current preset: load_preset raises
        ValueError naming ``name`` (e.g. "the preset editor"). The preset editor asks
        Save / Discard / Cancel here."""
        self._leave_guards.append((may_leave, name))

    def add_close_guard(self, may_close: Callable[[], bool]) -> None:
        """``may_close()`` is asked when the window is closed; False keeps it open."""
        self._close_guards.append(may_close)

    def add_shutdown_hook(self, stop: Callable[[], None]) -> None:
        """``stop()`` runs when the window shuts down (closed or the app quits), before the
        window's own threads are joined: a dialog's worker stops here."""
        self._shutdown_hooks.append(stop)

    def _refused_leave(self) -> str | None:
        """The name of the first leave guard that says no, or None when all agree."""
        for may_leave, name in list(self._leave_guards):
            if not may_leave():
                return name
        return None

    # ================================================================== show / close
    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)
        if not self._first_shown:
            self._first_shown = True
            QTimer.singleShot(0, self.firstShown.emit)

    def shutdown(self) -> None:
        """Stop playing, stop and join every thread, save settings (idempotent)."""
        if self._closing:
            return
        self._closing = True
        for stop in list(self._shutdown_hooks):
            try:
                stop()
            except Exception as e:  # noqa: BLE001 - never block closing
                print(f"warning: could not stop a background task: {e}", file=sys.stderr)
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
        if not self._closing and not all(guard() for guard in list(self._close_guards)):
            ev.ignore()  # e.g. Cancel on "unsaved edits"
            return
        self.shutdown()
        super().closeEvent(ev)
