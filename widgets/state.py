"""What the main window shows, in one object: the window's panels bind to it.

:class:`WindowState` holds the preset, the sentence (a pair of the preset or the user's
own), the mode, the decoder step, the layer and head, the trace on screen and how far the
model was trained. Each setter clamps or validates its value in this one place and emits a
change signal only when the value really changed, so a panel that writes the state from
its own Qt signal and redraws from the state's signal never loops: the echo is a no-op.

The training-history slider is state too: ``history_points`` points were kept while the
model shown trained, and ``history_index`` is the one shown, where ``history_index ==
history_points`` means "live" (the newest model, not a point of its past).

The step has two values. ``wanted_step`` is the step the user chose; ``step`` is the step
shown, the wanted one clamped to the trace on screen. A live training snapshot shorter than
the user's step clamps what is shown, and the next longer trace shows the user's step again.

No widgets here; a QObject only for its signals (tests run it without a window).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from sandbox.names import MODES

if TYPE_CHECKING:
    from sandbox.trace import Trace


class WindowState(QObject):
    """The window's view state. Signals fire once per real change, never for a no-op."""

    presetChanged = Signal(str)          # preset key
    sentenceChanged = Signal()           # source, target or pair index
    modeChanged = Signal(str)            # "teacher_forcing" | "free_running"
    stepChanged = Signal(int)            # the step shown
    layerHeadChanged = Signal(int, int)  # layer, head (also when a smaller model clamps them)
    traceChanged = Signal(object)        # the Trace shown (or None)
    trainedChanged = Signal(int)         # trained steps of the model shown
    historyChanged = Signal(int, int)    # history index shown (== points: live), history points

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preset_key: str | None = None
        self.preset_path: str | None = None
        self.pair_index = -1  # the preset pair shown; -1: the user's own sentence
        self.source: str | None = None
        self.target: str | None = None  # None: no target (free running only)
        self.mode = "teacher_forcing"
        self.step = 0  # the step shown: wanted_step clamped to the trace
        self.wanted_step = 0  # the step the user chose
        self.layer = 0
        self.head = 0
        self.layers = 1  # how many layers / heads the model shown has (1 for seq2seq)
        self.heads = 1
        self.trace: Trace | None = None  # what the views show
        self.live_trace: Trace | None = None  # the newest trace of the model (not a history point)
        self.trained_steps = 0
        self.trained_origin: str | None = None  # e.g. "lecture cache"
        self.history_points = 0  # training-history points kept for the model shown
        self.history_index = 0  # the point shown; history_points: live

    # ------------------------------------------------------------------ step
    @property
    def n_steps(self) -> int:
        """Decoder steps of the trace shown (1 when there is none, so step 0 is valid)."""
        return len(self.trace.steps) if self.trace is not None and self.trace.steps else 1

    @property
    def last_step(self) -> int:
        return self.n_steps - 1

    def clamp_step(self, t: int) -> int:
        """``t`` clamped to ``0 .. n_steps - 1`` of the trace shown: the one place that clamps."""
        return max(0, min(int(t), self.n_steps - 1))

    def set_step(self, t: int) -> int:
        """The user chose step ``t``: it is clamped, becomes the wanted step, and is shown.
        Returns the clamped step."""
        t = self.clamp_step(t)
        self.wanted_step = t
        self._show(t)
        return t

    def show_step(self, t: int) -> int:
        """Show step ``t`` (clamped) without changing the step the user chose."""
        t = self.clamp_step(t)
        self._show(t)
        return t

    def _show(self, t: int) -> None:
        if t != self.step:
            self.step = t
            self.stepChanged.emit(t)

    # ------------------------------------------------------------------ trace
    def set_trace(self, tr: "Trace | None", keep_step: bool = True, live: bool = False) -> int:
        """Show ``tr``; the step shown becomes the wanted step clamped to it (``keep_step``)
        or 0 (the wanted step too). ``live``: ``tr`` is also the model's newest trace.
        Emits traceChanged when ``tr`` is another object, then stepChanged if the step
        moved. Returns the step shown."""
        if not keep_step:
            self.wanted_step = 0
        changed = tr is not self.trace
        self.trace = tr
        if live:
            self.live_trace = tr
        step = self.clamp_step(self.wanted_step)
        moved = step != self.step
        self.step = step
        if changed:
            self.traceChanged.emit(tr)
        if moved:
            self.stepChanged.emit(step)
        return step

    # ------------------------------------------------------------------ layer / head
    def set_limits(self, layers: int, heads: int) -> None:
        """The model shown has ``layers`` × ``heads`` (1 × 1 for seq2seq); clamps layer and head."""
        self.layers, self.heads = max(1, int(layers)), max(1, int(heads))
        self.set_layer_head(self.layer, self.head)

    def set_layer_head(self, layer: int, head: int) -> bool:
        """Clamp to the model's layers and heads; True when either changed."""
        layer = max(0, min(int(layer), self.layers - 1))
        head = max(0, min(int(head), self.heads - 1))
        if (layer, head) == (self.layer, self.head):
            return False
        self.layer, self.head = layer, head
        self.layerHeadChanged.emit(layer, head)
        return True

    # ------------------------------------------------------------------ sentence / mode
    def set_sentence(self, source: str | None, target: str | None, pair_index: int = -1) -> bool:
        """The sentence shown (``pair_index`` >= 0: the preset's pair of that index); True
        when anything changed."""
        new = (source, target, int(pair_index))
        if new == (self.source, self.target, self.pair_index):
            return False
        self.source, self.target, self.pair_index = new
        self.sentenceChanged.emit()
        return True

    def set_mode(self, mode: str) -> bool:
        """Raises ValueError for a mode not in :data:`sandbox.names.MODES`; True when it changed."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
        if mode == self.mode:
            return False
        self.mode = mode
        self.modeChanged.emit(mode)
        return True

    # ------------------------------------------------------------------ preset / training
    def set_preset(self, key: str | None, path: str | None = None) -> bool:
        """The preset shown (``path`` kept when None); True when the key changed."""
        if path is not None:
            self.preset_path = path
        if key == self.preset_key:
            return False
        self.preset_key = key
        self.presetChanged.emit(key or "")
        return True

    def set_trained(self, steps: int, origin: str | None = None) -> bool:
        """The model shown was trained ``steps`` steps (0: seeded weights) and came from
        ``origin``; True when either changed."""
        steps = max(0, int(steps))
        origin = origin if steps else None
        if (steps, origin) == (self.trained_steps, self.trained_origin):
            return False
        self.trained_steps, self.trained_origin = steps, origin
        self.trainedChanged.emit(steps)
        return True

    # ------------------------------------------------------------------ training history
    @property
    def following_live(self) -> bool:
        """True when the views show the live model, not a point of its training history."""
        return self.history_index >= self.history_points

    def clamp_history(self, index: int) -> int:
        """``index`` clamped to ``0 .. history_points`` (the last: live): the one place that clamps."""
        return max(0, min(int(index), self.history_points))

    def set_history_index(self, index: int) -> bool:
        """Show history point ``index`` (clamped; ``history_points``: live); True when it changed."""
        return self._set_history(self.clamp_history(index), self.history_points)

    def set_history_points(self, points: int, follow: bool = True) -> bool:
        """``points`` history points are kept now. ``follow``: show live; otherwise the point
        shown stays (clamped to the new count). True when the index or the count changed."""
        points = max(0, int(points))
        index = points if follow else max(0, min(self.history_index, points))
        return self._set_history(index, points)

    def _set_history(self, index: int, points: int) -> bool:
        if (index, points) == (self.history_index, self.history_points):
            return False
        self.history_index, self.history_points = index, points
        self.historyChanged.emit(index, points)
        return True
