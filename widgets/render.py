"""``main.py render``: the window's views at one step, drawn offscreen to a PNG or SVG.

No display needed (``QT_QPA_PLATFORM=offscreen`` when there is none). The picture is the
same ``views`` widget the window shows — attention map, step anatomy and, where the step
has attention, the explanation of its strongest weight — so a render is what a student
would see at that step. :func:`render_views` draws them from ``(trace, step, layer, head)``
alone: no MainWindow is built.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.trace import Trace

    from .views import Views

RENDER_SIZE = (1600, 1000)


def _check_range(name: str, value: int, count: int, what: str) -> None:
    if not 0 <= value < count:
        last = f"0–{count - 1}" if count > 1 else "0"
        raise ValueError(f"--{name} {value} is out of range: {what} ({last})")


def _gold_pair(preset, source: str, target: str | None):
    """The preset's pair (training or held-out) with this source and target, for its gold
    alignment links; None for a sentence of the user's own."""
    for pair in (*preset.pairs, *preset.heldout_pairs):
        if pair.source == source and pair.target == target:
            return pair
    return None


def render_views(trace: "Trace", step: int, layer: int = 0, head: int = 0, *, gold=None,
                 preset=None, size: tuple[int, int] = RENDER_SIZE) -> "Views":
    """The window's views (``widgets.views.Views``) drawing ``trace`` at decoder ``step`` for
    ``layer`` / ``head`` (clamped like the window does), shown offscreen at ``size`` pixels
    with every panel drawn: the attention map with ``gold``'s alignment links (a Pair or
    None), the step anatomy and, where the step has cross attention, the explanation of its
    strongest weight. No MainWindow is built. Needs a QApplication; the caller closes the
    returned widget."""
    from PySide6.QtWidgets import QApplication

    from .corpus_view import gold_cells
    from .fonts import ensure_fonts, ensure_korean_font
    from .views import Views

    app = QApplication.instance()
    if app is None:
        raise RuntimeError("render_views needs a QApplication (widgets.qtcompat.headless_app)")
    ensure_fonts()
    ensure_korean_font()
    views = Views()
    font = QApplication.font()  # the window's text at 100 %
    views.setFont(font)
    views.set_font(font)
    views.resize(*size)
    views.draw(trace, step, layer, head)
    views.cross_map.set_gold(gold_cells(gold, trace, preset))
    views.show()
    app.processEvents()
    rec = views.index.record("cross", views.layer, views.head, views.step)
    if rec is not None:
        views.explain_cell("cross", views.step, int(rec.weights.argmax()))
    views.draw_all()
    app.processEvents()
    return views


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

    from .qtcompat import headless_app

    app = headless_app()
    from .export import export_widget

    views = render_views(tr, args.step, getattr(args, "layer", 0), getattr(args, "head", 0),
                         gold=_gold_pair(preset, source, target), preset=preset)
    try:
        export_widget(views, out)
    finally:
        views.close()
        views.deleteLater()
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
