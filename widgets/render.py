"""``main.py render``: the window's views at one step, drawn offscreen to a PNG or SVG.

No display needed (``QT_QPA_PLATFORM=offscreen`` when there is none). The picture is the
same ``views`` widget the window shows — attention map, step anatomy and, where the step
has attention, the explanation of its strongest weight — so a render is what a student
would see at that step.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

RENDER_SIZE = (1600, 1000)


def _check_range(name: str, value: int, count: int, what: str) -> None:
    if not 0 <= value < count:
        last = f"0–{count - 1}" if count > 1 else "0"
        raise ValueError(f"--{name} {value} is out of range: {what} ({last})")


def cli_render(args) -> int:
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"--out {args.out}: unknown image format {out.suffix or '(none)'!r}; use .png or .svg")
    from sandbox.cli import interventions_from_args, load_bundle, trace_with_flags

    edits = interventions_from_args(args) if hasattr(args, "force") else None
    bundle = load_bundle(args.preset, getattr(args, "checkpoint", None))
    preset = bundle.preset
    source = args.source if args.source is not None else preset.pairs[0].source
    target = args.target  # None: the preset's gold target if the source is one of its pairs
    from sandbox.cli import pick_target
    from sandbox.text import normalize

    if not normalize(source):
        raise ValueError("--source: the source sentence is empty")

    target, mode, target_from, note = pick_target(preset, source, target, args.mode or "teacher_forcing")
    tr = trace_with_flags(bundle, source, target, mode, edits)  # the step header lists the edits
    if target_from is not None and tr.target_from != target_from:
        import dataclasses

        tr = dataclasses.replace(tr, target_from=target_from)
    if note:
        print(note, file=sys.stderr)
    n = len(tr.steps)
    _check_range("step", args.step, n, f"this trace has {n} decoder step{'s' if n != 1 else ''}")
    model = tr.model
    layers = int(model.get("layers", 1)) if model.get("kind") == "transformer" else 1
    heads = int(model.get("heads", 1)) if model.get("kind") == "transformer" else 1
    _check_range("layer", getattr(args, "layer", 0), layers, f"the model has {layers} layer(s)")
    _check_range("head", getattr(args, "head", 0), heads, f"the model has {heads} head(s)")

    from PySide6.QtCore import QSettings

    from .qtcompat import headless_app

    app = headless_app()
    from .export import export_widget
    from .fonts import ensure_korean_font
    from .mainwindow import MainWindow

    ensure_korean_font()
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "render.ini"), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, persist=False)
        try:
            win.resize(*RENDER_SIZE)
            win.set_bundle(bundle)
            win._source, win._target, win._mode = source, target, mode
            win.interventions = edits
            win._pair_index = -1
            win._sync_mode_radios()
            win._live_trace = tr
            win._set_trace(tr, keep_step=False)
            win.set_layer_head(args.layer, args.head)
            win.set_step(args.step)
            win.show()
            app.processEvents()
            views = win.views
            rec = views.index.record("cross", args.layer, args.head, args.step)
            if rec is not None:
                views.explain_cell("cross", args.step, int(rec.weights.argmax()))
            views.draw_all()
            app.processEvents()
            export_widget(views, out)
        finally:
            win.shutdown()
            win.hide()
            win.deleteLater()
            app.processEvents()
    from sandbox.nonfinite import problems

    bad = list(problems(tr))
    if bad:
        print(f"warning: the model's numbers overflowed float32 (shown as NaN / +∞, not as masked): "
              f"{bad[0]}" + (f" (and {len(bad) - 1} more places)" if len(bad) > 1 else ""), file=sys.stderr)
    if tr.has_unknown:
        print(f"warning: unknown tokens became <unk>: source {list(tr.source_unknown)}, "
              f"target {list(tr.target_unknown)}", file=sys.stderr)
    print(f"wrote {out}")
    return 0
