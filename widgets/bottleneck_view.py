"""The bottleneck experiment in the window, as a picture, and on the command line.

- :class:`BottleneckPlot`: exact match against source length, one line per model, a
  legend, labelled axes and a fixed 0–1 y range. Draws a (possibly partial) result.
- :class:`BottleneckView`: runs :func:`sandbox.bottleneck.run_experiment` on the app's
  job runner (:mod:`widgets.jobs`) with a progress bar, redraws the plot live as each (model, length) is scored,
  and stops on request (stop joins the thread). It opens on the cached result of the last
  finished run, if there is one (``$ATTENTION_SANDBOX_HOME/cache`` or
  ``~/.cache/attention-sandbox``).
- :func:`install_bottleneck`: "Experiments ▸ Bottleneck experiment…" in a window's menu
  bar, opening the view in a dialog — without the window knowing about it.
- :func:`cli_bottleneck`: ``main.py bottleneck --json OUT [--quick] [--seed N]`` runs the
  experiment headless (progress on stderr), writes the JSON atomically and a PNG of the
  plot beside it (same stem, ``.png``), drawn offscreen with this same plot widget.

Threads follow DESIGN.md: the worker owns the models; the GUI only ever gets immutable
JSON snapshots; the runner keeps the latest and delivers it every 50 ms (≤ 20 redraws a second).
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .hooks import stop_on_close, window_menu
from .jobs import JobResult, JobRunner
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (QApplication, QDialog, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

__all__ = ["BottleneckPlot", "BottleneckView", "install_bottleneck", "cli_bottleneck", "render_png",
           "cache_dir", "cache_path", "load_cached", "MODEL_STYLE"]

POLL_MS = 50
HOME_ENV = "ATTENTION_SANDBOX_HOME"
# colour, symbol, label for the legend
MODEL_STYLE: dict[str, tuple[str, str, str]] = {
    "none": ("#cf222e", "o", "none (fixed context: final encoder state only)"),
    "bahdanau": ("#4c72b0", "s", "bahdanau (additive attention)"),
    "dot": ("#1a7f37", "t", "dot (Luong dot-product attention)"),
    "scaled_dot": ("#8250df", "d", "scaled_dot attention"),
    "general": ("#dd8452", "+", "general (Luong, weighted dot) attention"),
}
PNG_SIZE = (900, 560)


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """The user's cache folder (:func:`sandbox.userdirs.cache_dir`)."""
    from sandbox.userdirs import cache_dir as _cache_dir

    return _cache_dir()


def cache_path(quick: bool = False) -> Path:
    return cache_dir() / ("bottleneck_quick.json" if quick else "bottleneck.json")


def load_cached() -> tuple[dict, Path] | None:
    """The cached full run if there is a readable one, else the quick run, else None."""
    from sandbox.bottleneck import BottleneckResult

    for quick in (False, True):
        p = cache_path(quick)
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
            r = BottleneckResult.from_json(obj)
        except (OSError, ValueError, TypeError):
            continue
        if r.complete:
            return r.to_json(), p
    return None


def save_cache(result: dict, quick: bool) -> Path | None:
    from sandbox.fileio import atomic_write_text

    p = cache_path(quick)
    try:
        atomic_write_text(p, json.dumps(result, ensure_ascii=False, indent=1) + "\n", make_parents=True)
        return p
    except (OSError, ValueError):
        return None  # a cache that cannot be written is not an error


# --------------------------------------------------------------------------- the plot


def _describe(result: dict) -> str:
    s = result.get("settings") or {}
    if not s:
        return ""
    lo_hi = s.get("train_lengths") or [min(result["lengths"]), max(result["lengths"])]
    return (f"{s.get('task', 'copy')} {s.get('vocab', '?')} random symbols · {str(s.get('cell', 'gru')).upper()} "
            f"hidden {s.get('hidden', '?')} · {s.get('steps', '?')} steps each, trained on lengths "
            f"{lo_hi[0]}–{lo_hi[-1]} · seed {result.get('seed', 0)}")


class BottleneckPlot(QWidget):
    """Exact match (y, 0–1) against source length (x); one line per model."""

    def __init__(self, parent=None, *, title: bool = True) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        from . import plots  # noqa: F401 - the shared pyqtgraph look (white background)

        self._pg = pg
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.widget = pg.PlotWidget()
        lay.addWidget(self.widget)
        self.plot = self.widget.getPlotItem()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().setMouseEnabled(False, False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "source length (symbols)")
        self.plot.setLabel("left", "exact match on held-out sequences")
        self.plot.setYRange(0.0, 1.0, padding=0.04)
        self.plot.setXRange(2, 19, padding=0)  # until a result says otherwise
        self.legend = self.plot.addLegend(offset=(10, -10), labelTextSize="9pt")  # bottom left: empty there
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 215))
        self._show_title = title
        self.curves: dict[str, Any] = {}  # model -> PlotDataItem (what is on screen; tests read it)
        self.token_curves: dict[str, Any] = {}
        self.show_token_accuracy = False
        self.result: dict | None = None

    def set_metric_token_accuracy(self, on: bool) -> None:
        self.show_token_accuracy = bool(on)
        if self.result is not None:
            self.show_result(self.result)

    def clear(self) -> None:
        for c in list(self.curves.values()) + list(self.token_curves.values()):
            self.plot.removeItem(c)
        self.curves.clear()
        self.token_curves.clear()
        self.legend.clear()
        self.result = None

    def show_result(self, result: dict | None) -> None:
        """Draw a result dict (``BottleneckResult.to_json()``, partial ones too)."""
        pg = self._pg
        if result is None:
            self.clear()
            return
        lengths = list(result.get("lengths") or [])
        models = result.get("models") or {}
        token = result.get("token_accuracy") or {}
        if self.result is None or list(self.result.get("lengths") or []) != lengths or \
                set(self.curves) - set(models):
            self.clear()
        self.result = result
        if lengths:
            lo, hi = min(lengths), max(lengths)
            pad = max(0.5, 0.04 * (hi - lo))
            self.plot.setXRange(lo - pad, hi + pad, padding=0)
            self.plot.getAxis("bottom").setTicks([[(L, str(L)) for L in lengths], []])
        self.plot.setYRange(0.0, 1.0, padding=0.04)
        for name, vals in models.items():
            colour, symbol, label = MODEL_STYLE.get(name, ("#444444", "x", name))
            xs, ys = lengths[: len(vals)], [float(v) for v in vals]
            c = self.curves.get(name)
            if c is None:
                c = self.plot.plot([], [], pen=pg.mkPen(colour, width=2.5), symbol=symbol, symbolSize=9,
                                   symbolBrush=pg.mkBrush(colour), symbolPen=pg.mkPen(colour), name=label)
                self.curves[name] = c
            c.setData(xs, ys)
            tvals = token.get(name) or []
            t = self.token_curves.get(name)
            if self.show_token_accuracy and tvals:
                if t is None:
                    t = self.plot.plot([], [], pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                                       name=f"{name}: token accuracy (dashed)")
                    self.token_curves[name] = t
                t.setData(lengths[: len(tvals)], [float(v) for v in tvals])
            elif t is not None:
                self.plot.removeItem(t)
                self.legend.removeItem(t)
                del self.token_curves[name]
        if self._show_title:
            head = "Fixed-length bottleneck: exact match vs source length"
            sub = _describe(result)
            self.plot.setTitle(f"<b>{head}</b>" + (f"<br><span style='font-size:8pt'>{html.escape(sub)}</span>"
                                                   if sub else ""))

    def data(self, model: str) -> tuple[list[float], list[float]]:
        """The (x, y) points drawn for ``model``."""
        c = self.curves.get(model)
        if c is None:
            return [], []
        xs, ys = c.getData()
        return ([] if xs is None else [float(x) for x in xs]), ([] if ys is None else [float(y) for y in ys])


def render_png(result: dict, size: tuple[int, int] = PNG_SIZE) -> bytes:
    """The plot of ``result`` as PNG bytes (needs a QApplication; works offscreen)."""
    from PySide6.QtCore import QBuffer, QIODevice

    w = BottleneckPlot()
    try:
        w.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        w.resize(*size)
        w.show_result(result)
        w.show()
        QApplication.processEvents()
        pix = w.grab()
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        if not pix.save(buf, "PNG"):
            raise OSError("could not encode the PNG")
        return bytes(buf.data())
    finally:
        w.hide()
        w.deleteLater()
        QApplication.processEvents()


# --------------------------------------------------------------------------- worker


def _experiment_task(kwargs: dict):
    """The experiment as a job: ``(progress, should_stop) -> result dict``."""

    def task(progress, should_stop) -> dict:
        from sandbox.bottleneck import run_experiment

        return run_experiment(**kwargs, progress=progress, should_stop=should_stop).to_json()

    return task


# --------------------------------------------------------------------------- the view


class BottleneckView(QWidget):
    """Run / Quick run / Stop, a progress bar, the live plot and one example per model."""

    stateChanged = Signal(str)  # "running" | "idle"
    resultShown = Signal(object)  # the result dict now on screen

    def __init__(self, parent=None, *, load_cache: bool = True) -> None:
        super().__init__(parent)
        self.jobs = JobRunner(self, name="bottleneck", interval_ms=POLL_MS)
        self.jobs.progress.connect(self._show_event)
        self.jobs.finished.connect(self._finish)
        self._quick = False
        self._t0 = 0.0
        self.result: dict | None = None
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Bahdanau et al. (2015), Fig. 2, in miniature. Each model <b>copies</b> a sequence of "
            "random symbols (<i>c a f b</i> → <i>c a f b</i>). All get the same GRU, hidden size, "
            "steps and batches; they differ only in attention. <b>none</b> must squeeze the whole "
            "sequence into the encoder's final state; with attention the decoder looks each symbol up "
            "again. Scored on held-out sequences of each length (exact match: the whole output right).")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.run_button = QPushButton("▶ Run")
        self.run_button.setToolTip("the full experiment (about a minute on two CPU cores)")
        self.quick_button = QPushButton("Quick run")
        self.quick_button.setToolTip("fewer lengths and steps (about 10 s)")
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.setEnabled(False)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 99999)
        self.seed_spin.setPrefix("seed ")
        self.token_button = QPushButton("token accuracy")
        self.token_button.setCheckable(True)
        self.token_button.setToolTip("also draw token accuracy (dashed)")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("save the result as JSON, or the plot as PNG")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        for w in (self.run_button, self.quick_button, self.stop_button, self.seed_spin, self.token_button,
                  self.save_button):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.plot = BottleneckPlot()
        self.plot.setMinimumSize(480, 300)
        lay.addWidget(self.plot, 1)
        self.examples = QLabel("")
        self.examples.setTextFormat(Qt.TextFormat.RichText)
        self.examples.setWordWrap(True)
        self.examples.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.examples)
        self.run_button.clicked.connect(lambda: self.start(quick=False))
        self.quick_button.clicked.connect(lambda: self.start(quick=True))
        self.stop_button.clicked.connect(self.stop)
        self.token_button.toggled.connect(self.plot.set_metric_token_accuracy)
        self.save_button.clicked.connect(self._save_dialog)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if load_cache:
            self.load_cache()
        else:
            self.status.setText("no result yet: press Run, or Quick run for a first look")

    # -- public -------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self.jobs.is_running

    def load_cache(self) -> bool:
        found = load_cached()
        if found is None:
            self.status.setText("no result yet: press Run (about a minute), or Quick run (about 10 s)")
            return False
        result, path = found
        self.show_result(result)
        self.status.setText(f"last finished run, from {path} ({result.get('seconds', 0):.0f} s); "
                            "press Run to run it again")
        return True

    def show_result(self, result: dict | None) -> None:
        self.result = result
        self.plot.show_result(result)
        self._show_examples(result)
        self.resultShown.emit(result)

    def start(self, quick: bool = False, seed: int | None = None, **kwargs) -> bool:
        """Start a run in the background (False if one is already running)."""
        if self.jobs.is_running:
            return False
        if seed is not None:
            self.seed_spin.setValue(int(seed))
        self._quick = bool(quick)
        self._t0 = time.perf_counter()
        self.plot.clear()
        self.examples.setText("")
        self.progress.setValue(0)
        self.progress.setFormat("starting… %p%")
        self.status.setText("building the data sets…")
        self._set_running(True)
        self.jobs.start(_experiment_task(dict(quick=self._quick, seed=int(self.seed_spin.value()), **kwargs)))
        return True

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Stop the run and join its thread; True if no thread is left."""
        return self.jobs.shutdown(timeout_ms)

    def shutdown(self) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------
    def _set_running(self, on: bool) -> None:
        self.run_button.setEnabled(not on)
        self.quick_button.setEnabled(not on)
        self.seed_spin.setEnabled(not on)
        self.stop_button.setEnabled(on)
        self.stateChanged.emit("running" if on else "idle")

    def _show_event(self, ev: dict) -> None:
        frac = float(ev.get("fraction", 0.0))
        self.progress.setValue(int(round(1000 * min(max(frac, 0.0), 1.0))))
        self.progress.setFormat("%p%")
        res = ev.get("result")
        n = len((res or {}).get("settings", {}).get("models", [])) or 1
        i = int(ev.get("model_index", 0)) + 1
        elapsed = time.perf_counter() - self._t0
        if ev.get("event") == "train":
            self.status.setText(f"training <b>{html.escape(ev['model'])}</b> ({i}/{n}): step "
                                f"{ev['step']}/{ev['steps']}, loss {ev['loss']:.3f} · {elapsed:.0f} s")
        elif ev.get("event") == "eval":
            self.status.setText(f"scored <b>{html.escape(ev['model'])}</b> ({i}/{n}) at length {ev['length']}: "
                                f"exact match {ev['exact_match']:.2f} · {elapsed:.0f} s")
        if res is not None and res.get("models"):
            self.show_result(res)

    def _finish(self, job: JobResult) -> None:
        self._set_running(False)
        if job.status == "error":
            self.progress.setFormat("failed")
            self.status.setText(f"<span style='color:#cf222e'>the experiment failed: "
                                f"{html.escape(job.error or '')}</span>")
            return
        res = job.value
        if res is None:
            return
        self.show_result(res)
        if res.get("complete"):
            self.progress.setValue(1000)
            self.progress.setFormat(f"done in {res.get('seconds', 0):.0f} s")
            where = save_cache(res, self._quick)
            self.status.setText(f"finished in {res.get('seconds', 0):.1f} s"
                                + (f"; saved to {where}" if where else ""))
        else:
            self.progress.setFormat("stopped")
            self.status.setText(f"stopped after {res.get('seconds', 0):.1f} s; the plot shows what was "
                                "scored so far")

    def _show_examples(self, result: dict | None) -> None:
        if not result or not result.get("examples"):
            self.examples.setText("")
            return
        lengths = result.get("lengths") or []
        lines = []
        for name, ex in result["examples"].items():
            if not ex:
                continue
            e = ex[-1]
            L = lengths[len(ex) - 1] if len(ex) - 1 < len(lengths) else "?"
            ok = e.get("predicted") == e.get("target")
            colour = "#1a7f37" if ok else "#cf222e"
            lines.append(f"<b>{html.escape(name)}</b> at length {L}: {html.escape(e.get('source', ''))} → "
                         f"<span style='color:{colour}'>{html.escape(e.get('predicted', ''))}</span>"
                         f"{'' if ok else ' ✗'}")
        self.examples.setText("held-out examples (a wrong one where there is one):<br>" + "<br>".join(lines))

    def _save_dialog(self) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the bottleneck result", "bottleneck.json",
                                              "JSON (*.json);;PNG image (*.png)")
        if not path:
            return
        try:
            self.save(path)
        except OSError as e:
            QMessageBox.warning(self, "Could not save", str(e))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the shown result: ``.png`` -> the plot, anything else -> the JSON."""
        from .export import write_bytes_atomic

        p = Path(path)
        if self.result is None:
            raise OSError(f"{p}: there is no result to save yet")
        if p.suffix.lower() == ".png":
            return write_bytes_atomic(p, render_png(self.result))
        return write_bytes_atomic(p, (json.dumps(self.result, ensure_ascii=False, indent=1) + "\n").encode())

    def closeEvent(self, ev) -> None:
        self.stop()
        super().closeEvent(ev)


class BottleneckDialog(QDialog):
    """A non-modal window for the view; closing it stops (and joins) a running experiment."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Bottleneck experiment — Attention Sandbox")
        self.setModal(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.view = BottleneckView(self)
        lay.addWidget(self.view)
        self.resize(900, 680)

    def closeEvent(self, ev) -> None:
        self.view.stop()
        super().closeEvent(ev)

    def reject(self) -> None:  # Esc
        self.view.stop()
        super().reject()


# --------------------------------------------------------------------------- window hook


def install_bottleneck(window: QMainWindow):
    """Add "Experiments ▸ Bottleneck experiment…"; returns the QAction.

    The dialog is created on first use, kept on ``window.bottleneck_dialog`` and reused;
    closing the window stops and joins a running experiment.
    """
    menu = window_menu(window, "&Experiments")
    action = menu.addAction("Bottleneck experiment…")
    action.setToolTip("train copy models with and without attention for several source lengths")
    action.setStatusTip(action.toolTip())

    def open_dialog() -> BottleneckDialog:
        dlg = getattr(window, "bottleneck_dialog", None)
        if dlg is None:
            dlg = BottleneckDialog(window)
            window.bottleneck_dialog = dlg
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    def stop() -> None:
        dlg = getattr(window, "bottleneck_dialog", None)
        if dlg is not None:
            dlg.view.stop()

    action.triggered.connect(lambda _checked=False: open_dialog())
    window.open_bottleneck = open_dialog
    stop_on_close(window, stop)  # closing the window stops the experiment
    return action


# --------------------------------------------------------------------------- command line


def cli_bottleneck(args) -> int:
    """``main.py bottleneck --json OUT [--quick] [--seed N]``."""
    from sandbox.bottleneck import format_table, run_experiment
    from sandbox.fileio import atomic_write_bytes, atomic_write_text

    out = str(args.json)
    to_stdout = out == "-"
    png = None
    if not to_stdout:
        p = Path(out)
        if p.suffix.lower() == ".png":
            raise ValueError(f"--json {out}: give a .json name; the PNG is written beside it")
        if p.is_dir():
            raise ValueError(f"--json {out}: is a directory, not a file name")
        if not p.parent.is_dir():
            raise ValueError(f"--json {out}: the folder {p.parent} does not exist")
        png = p.with_suffix(".png")
        from sandbox.shipped import refuse_shipped

        for path in (p, png):  # refused now, not after a run of minutes
            refuse_shipped(path, "experiment result")
    seed = int(getattr(args, "seed", 0) or 0)
    quick = bool(getattr(args, "quick", False))
    t0 = time.perf_counter()
    last_train: dict[str, int] = {}

    def progress(ev: dict) -> None:
        el = time.perf_counter() - t0
        if ev["event"] == "eval":
            print(f"bottleneck: {ev['model']:<9} length {ev['length']:>3}: exact match {ev['exact_match']:.2f}, "
                  f"token accuracy {ev['token_accuracy']:.2f}  [{el:5.1f} s]", file=sys.stderr, flush=True)
        elif ev["event"] == "train":
            quarter = int(4 * ev["step"] / ev["steps"])
            if last_train.get(ev["model"], -1) < quarter:
                last_train[ev["model"]] = quarter
                print(f"bottleneck: {ev['model']:<9} training step {ev['step']:>5}/{ev['steps']}, "
                      f"loss {ev['loss']:.3f}  [{el:5.1f} s]", file=sys.stderr, flush=True)

    print(f"bottleneck: {'quick' if quick else 'full'} run, seed {seed}", file=sys.stderr, flush=True)
    result = run_experiment(quick=quick, seed=seed, progress=progress)
    data = result.to_json()
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    print(format_table(result), file=sys.stderr)
    if to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
        print("bottleneck: no PNG with --json - (give a file name to get one)", file=sys.stderr)
        return 0
    atomic_write_text(Path(out), text)
    from .qtcompat import headless_app

    headless_app()
    atomic_write_bytes(png, render_png(data))
    print(f"wrote {out} and {png} ({result.seconds:.1f} s)", file=sys.stderr)
    return 0
