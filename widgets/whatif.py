"""What-if in the window: force a token, pin or hide attention, and go back in one click.

- a click on a top-k bar in the step anatomy forces that token at the current step;
- a right click on a cross-attention cell offers to pin that step's attention there (every
  layer and head, or only the head shown) and to hide the source token;
- a right click on a source token's label (the map's column axis) offers to hide it;
- the What-if bar lists the edits, shows the original continuation dimmed next to the
  edited one, and "Original run" returns to the unmodified trace in one click;
- Edit ▸ "Undo what-if: …" / "Redo what-if: …" (Ctrl+Z / Ctrl+Shift+Z while the focus is in
  the window's own panels, not in an editor dock) step back and forth through the edits of
  the sentence shown, "Original run" included; the menu text names the edit it undoes.

The edits live on ``window.interventions`` (a :class:`sandbox.whatif.Interventions`); the
window's own retrace applies them through :func:`sandbox.trace.trace`, so every view shows
records of the edited run. :func:`install_whatif` plugs this in without other changes to
the window.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QSizePolicy, QToolBar, QWidget

from .hooks import window_menu
from .plots import WHATIF

if TYPE_CHECKING:
    from sandbox.trace import Trace
    from sandbox.whatif import Interventions


def _tokens_html(tokens: list[str], changed_from: int | None, colour: str) -> str:
    out = []
    for i, tok in enumerate(tokens):
        t = html.escape(tok)
        out.append(f"<b style='color:{colour}'>{t}</b>" if changed_from is not None and i >= changed_from else t)
    return " ".join(out)


class WhatIfBar(QWidget):
    """The edits, the original continuation (dimmed) against the edited one, and a reset."""

    resetRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        # A fixed two-line height: a longer text on the next edit must never re-lay out the
        # window (every view would resize and repaint); the tooltip holds the whole text.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._fit_height()
        self.reset_button = QPushButton("↺ Original run")
        self.reset_button.setToolTip("drop every what-if edit and show the model's own run again")
        self.reset_button.clicked.connect(self.resetRequested)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.reset_button, 0)
        self.text = ""

    def _fit_height(self) -> None:
        self.label.setFixedHeight(2 * self.label.fontMetrics().lineSpacing() + 4)

    def changeEvent(self, ev) -> None:
        from PySide6.QtCore import QEvent

        if ev.type() == QEvent.Type.FontChange:
            self._fit_height()
        super().changeEvent(ev)

    def show_comparison(self, title: str, edits: list[str], original: "Trace | None", edited: "Trace") -> None:
        new = edited.output_tokens
        old = original.output_tokens if original is not None else None
        first = None
        if old is not None:
            first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), None)
            if first is None and len(old) != len(new):
                first = min(len(old), len(new))
        parts = [f"<b style='color:{WHATIF.name()}'>{html.escape(title)}</b>"]
        if edits:
            parts.append(html.escape("; ".join(edits)))
        parts.append("now: " + _tokens_html(new, first, WHATIF.name()))
        if old is not None:
            parts.append(f"<span style='color:#8c8c8c'>original: {html.escape(' '.join(old))}</span>")
        self.text = " · ".join(parts)
        self.label.setText(self.text)
        self.label.setToolTip(self.text)


class WhatIfController(QObject):
    """Turns clicks into :class:`~sandbox.whatif.Interventions` on the window and back."""

    changed = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.original: "Trace | None" = None  # the unmodified run, kept for comparison
        self.bar = WhatIfBar()
        self.toolbar = QToolBar("What-if", window)
        self.toolbar.setObjectName("whatif_toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.bar)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.toolbar.setVisible(False)
        self.bar.resetRequested.connect(self.reset)
        self._beam_title: str | None = None
        self._beam_trace: "Trace | None" = None
        self._original_key: tuple | None = None  # what the cached unmodified run was made for
        self._original_cache: "Trace | None" = None
        views = window.views
        views.anatomy.topkClicked.connect(self.force)
        views.cross_map.cellMenuRequested.connect(self._cell_menu)
        views.cross_map.columnMenuRequested.connect(self._column_menu)
        window.traceChanged.connect(self._on_trace)
        self.last_menu: QMenu | None = None  # the last context menu (tests trigger its actions)
        # Undo / redo of the edits: (the edits before, what the step did), newest last. They
        # belong to one sentence of one model (_history_key); showing another one clears them.
        self._undo: list[tuple["Interventions | None", str]] = []
        self._redo: list[tuple["Interventions | None", str]] = []
        self._history_key: tuple | None = None
        self._build_undo_actions()

    # -- state --------------------------------------------------------------------------
    @property
    def interventions(self) -> "Interventions":
        from sandbox.whatif import Interventions

        return self.window.interventions or Interventions()

    @property
    def active(self) -> bool:
        return (self.window.interventions is not None and not self.window.interventions.empty) or \
            self._beam_title is not None

    def _can_edit(self) -> bool:
        w = self.window
        if w.trace is None or w.bundle is None:
            return False
        if w.is_training:
            w.show_banner("stop training to try a what-if: the edits apply to a model that is not changing",
                          "warning")
            return False
        if getattr(w, "viewing_history", False):
            # The edits apply to the trained model; the map shows an earlier point of its
            # training, which would hide them until the slider went back to live.
            w.show_banner("move the training-history slider to live to try a what-if: the edits apply to "
                          "the trained model, not to an earlier point of its training", "warning")
            return False
        return True

    def apply(self, iv: "Interventions | None", label: str | None = None) -> bool:
        """Retrace the window's sentence with ``iv`` (None or empty: the original run).
        ``label`` (e.g. "force step 2 → cat") makes the change undoable under that name."""
        w = self.window
        if iv is not None and iv.empty:
            iv = None
        before = w.interventions
        pushed = label is not None and iv != before
        if pushed:
            self._push_undo(before, label)
        self._beam_title = None
        w.interventions = iv
        ok = w.retrace(keep_step=True)  # traceChanged -> _on_trace -> the bar
        applied = iv is None or w.interventions is not None
        if not applied and pushed:
            # The new edit made an earlier one impossible (e.g. <eos> forced before a forced
            # step): the window dropped them all. Keep the earlier edits, refuse only this one.
            reason = str(getattr(w, "banner_text", "") or "").removeprefix("what-if edits removed: ")
            self._undo.pop()
            self._update_undo_actions()
            if before is not None:
                w.interventions = before
                w.retrace(keep_step=True)
                w.show_banner(html.escape(f"“{label}” was not applied: {reason} — the edits before it are kept"),
                              "warning")
        self.changed.emit()
        return ok and applied

    def reset(self) -> None:
        """One click back to the unmodified run (undoable: Edit ▸ Undo what-if brings the edits back)."""
        if self.window.interventions is not None and not self.window.interventions.empty:
            self._push_undo(self.window.interventions, "original run")
        self.original = None
        self._beam_title = None
        self.window.interventions = None
        self.window.retrace(keep_step=True)
        self._refresh()
        self.changed.emit()

    def show_beam(self, trace: "Trace", title: str) -> None:
        """Show a beam's trace in every view (the bar says which beam)."""
        w = self.window
        if w.interventions is not None:
            w.interventions = None
            w.retrace(keep_step=False)
        self.original = w.trace
        self._beam_title = title
        self._beam_trace = trace
        w.show_trace(trace)
        self._refresh()
        self.changed.emit()

    # -- edits --------------------------------------------------------------------------
    def force(self, step: int, token: str) -> bool:
        """Force ``token`` as step ``step``'s output (again on the same token: undo it)."""
        if not self._can_edit():
            return False
        iv = self.interventions
        if iv.force.get(step) == token:
            return self.apply(iv.with_force(step, None), f"unforce step {step}")
        return self.apply(iv.with_force(step, token), f"force step {step} → {token}")

    def pin(self, step: int, source: int, layer: int | None = None, head: int | None = None) -> bool:
        from sandbox.whatif import Pin

        if not self._can_edit():
            return False
        iv = self.interventions.with_pin(Pin(step, source, layer, head))
        return self.apply(iv, f"pin step {step} → {self._source_label(source)}")

    def unpin(self, step: int) -> bool:
        return self.apply(self.interventions.with_pin(None, step=step), f"unpin step {step}")

    def hide(self, source: int, hidden: bool = True) -> bool:
        if not self._can_edit():
            return False
        verb = "hide" if hidden else "show again"
        return self.apply(self.interventions.with_hidden(source, hidden), f"{verb} {self._source_label(source)}")

    def _source_label(self, j: int) -> str:
        tr = self.window.trace
        return tr.source_tokens[j] if tr is not None and 0 <= j < len(tr.source_tokens) else f"source {j}"

    # -- undo / redo --------------------------------------------------------------------
    def _build_undo_actions(self) -> None:
        w = self.window
        self.act_undo = QAction("Undo what-if edit", w)
        self.act_redo = QAction("Redo what-if edit", w)
        for a, keys, slot in ((self.act_undo, [QKeySequence(QKeySequence.StandardKey.Undo)], self.undo),
                              (self.act_redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")], self.redo)):
            a.setShortcuts(keys)
            # the window's own panels only: inside the preset editor dock Ctrl+Z undoes its edits
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(lambda _checked=False, f=slot: f())
            central = w.centralWidget()
            (central if central is not None else w).addAction(a)
        menu = window_menu(w, "&Edit", before="View")
        first = menu.actions()[0] if menu.actions() else None
        menu.insertAction(first, self.act_undo)
        menu.insertAction(first, self.act_redo)
        if first is not None:
            menu.insertSeparator(first)
        self._update_undo_actions()

    def _view_key(self) -> tuple:
        cv = self.window.current_view()
        return (id(self.window.bundle), cv.get("preset"), cv.get("source"), cv.get("target"), cv.get("mode"))

    def _push_undo(self, before: "Interventions | None", label: str) -> None:
        self._undo.append((before, label))
        self._redo.clear()
        self._history_key = self._view_key()
        self._update_undo_actions()

    def _step_history(self, src: list, dst: list) -> bool:
        if not src or not self._can_edit():
            return False
        before, label = src.pop()
        dst.append((self.window.interventions, label))
        self._history_key = self._view_key()
        ok = self.apply(before)
        self._update_undo_actions()
        return ok

    def undo(self) -> bool:
        """Back to the edits before the last what-if change (False when there is none)."""
        return self._step_history(self._undo, self._redo)

    def redo(self) -> bool:
        """Redo the last undone what-if change (False when there is none)."""
        return self._step_history(self._redo, self._undo)

    def _update_undo_actions(self) -> None:
        for a, stack, verb in ((self.act_undo, self._undo, "Undo"), (self.act_redo, self._redo, "Redo")):
            a.setEnabled(bool(stack))
            a.setText(f"{verb} what-if: {stack[-1][1]}" if stack else f"{verb} what-if edit")
            a.setStatusTip("what-if edits of the sentence shown (force, pin, hide, original run); "
                           "the preset editor's own Undo is further down this menu")

    # -- menus --------------------------------------------------------------------------
    def cell_menu(self, row: int, col: int) -> QMenu:
        w = self.window
        tr = w.trace
        tok = tr.source_tokens[col] if tr is not None and col < len(tr.source_tokens) else str(col)
        menu = QMenu(w)
        menu.setFont(w.font())  # a popup does not inherit the window's text size
        transformer = tr is not None and (tr.model or {}).get("kind") == "transformer"
        a = menu.addAction(f"Pin step {row}'s attention to “{tok}”" + (" (every layer and head)" if transformer else ""))
        a.triggered.connect(lambda: self.pin(row, col))
        if transformer:
            layer, head = w.current_view()["layer"], w.current_view()["head"]
            a = menu.addAction(f"Pin only layer {layer}, head {head} at step {row} to “{tok}”")
            a.triggered.connect(lambda: self.pin(row, col, layer, head))
        if any(p.step == row for p in self.interventions.pins):
            a = menu.addAction(f"Unpin step {row}")
            a.triggered.connect(lambda: self.unpin(row))
        menu.addSeparator()
        self._add_hide(menu, col, tok)
        if self.active:
            menu.addSeparator()
            menu.addAction("Original run (drop every edit)").triggered.connect(self.reset)
        self.last_menu = menu
        return menu

    def column_menu(self, col: int) -> QMenu:
        tr = self.window.trace
        tok = tr.source_tokens[col] if tr is not None and col < len(tr.source_tokens) else str(col)
        menu = QMenu(self.window)
        menu.setFont(self.window.font())
        self._add_hide(menu, col, tok)
        if self.active:
            menu.addAction("Original run (drop every edit)").triggered.connect(self.reset)
        self.last_menu = menu
        return menu

    def _add_hide(self, menu: QMenu, col: int, tok: str) -> None:
        if col in self.interventions.hide:
            menu.addAction(f"Show “{tok}” again").triggered.connect(lambda: self.hide(col, False))
        else:
            menu.addAction(f"Hide “{tok}” from every step").triggered.connect(lambda: self.hide(col, True))

    def _cell_menu(self, row: int, col: int, point) -> None:
        self.cell_menu(row, col).popup(point)

    def _column_menu(self, col: int, point) -> None:
        self.column_menu(col).popup(point)

    # -- display ------------------------------------------------------------------------
    def _on_trace(self, tr: "Trace") -> None:
        w = self.window
        if (self._undo or self._redo) and self._view_key() != self._history_key:
            self._undo.clear()  # another sentence, mode or model: its edits are not these
            self._redo.clear()
            self._update_undo_actions()
        if self._beam_title is not None and tr is not self._beam_trace:
            self._beam_title = None  # the window traced something else: the beam is gone
        if self._beam_title is None:
            self.original = None
            if tr is not None and tr.edited:
                # the unmodified run of the same sentence, model and mode, for comparison
                from sandbox.trace import trace

                cv = w.current_view()
                key = (id(w.bundle), cv["source"], cv["target"], cv["mode"], w.state.trained_steps)
                if key != self._original_key or self._original_cache is None:
                    try:
                        self._original_cache = trace(w.bundle, cv["source"], cv["target"], mode=cv["mode"])
                    except ValueError:
                        self._original_cache = None
                    self._original_key = key
                self.original = self._original_cache
        self._refresh()

    def _refresh(self) -> None:
        w = self.window
        tr = w.trace
        if tr is None or not (self._beam_title is not None or tr.edited):
            self.toolbar.setVisible(False)  # what is on screen is the model's own run
            return
        if self._beam_title is not None:
            self.bar.show_comparison(self._beam_title, [], self.original, tr)
        else:
            self.bar.show_comparison("what-if:", self.interventions.describe(tr.source_tokens),
                                     self.original, tr)
        self.toolbar.setVisible(True)


def install_whatif(window) -> WhatIfController:
    """Plug What-if into ``window`` (once); returns the controller (``window.whatif``)."""
    ctl = getattr(window, "whatif", None)
    if ctl is None:
        ctl = WhatIfController(window)
        window.whatif = ctl
    return ctl


def apply_slide_whatif(window, slide, source: str) -> None:
    """Show a lecture slide's What-if: its edits on the window's trace, or its best beam."""
    ctl = install_whatif(window)
    if slide.beam:
        from sandbox.whatif import beam_search, beam_trace

        res = beam_search(window.bundle, source, int(slide.beam), traces=False)
        best = res.beams[0]
        ctl.show_beam(beam_trace(window.bundle, source, best),
                      f"beam 1 of {len(res.beams)} (width {res.width}, log p = {best.log_prob:.3f}):")
    elif slide.whatif is not None:
        ctl.apply(slide.whatif)
