"""Applying a slide to the window: :func:`apply_slide` is the one way a slide reaches the
window (the presenter, the lecture editor and the PDF/PNG export all use it, so an exported
slide is what the class saw), plus the job that loads or trains a lecture's models.
"""


from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sandbox.lectures import (PANELS, Lecture, Slide, TrainingStopped, checked_device, clamp_step, ensure_trained,
                              lecture_presets, load_lecture_preset, slide_preset_ref, slide_sentence)

if TYPE_CHECKING:
    from sandbox.model import Bundle

    from .mainwindow import MainWindow

# The panels that draw a map of attention weights (one attention kind each).
WEIGHT_MAPS = ("map", "cross", "masked_self", "encoder_self")


# =============================================================================== applying a slide


@dataclasses.dataclass(frozen=True)
class SlideState:
    """What :func:`apply_slide` did: the step shown, a note for the audience (e.g. the step
    was clamped), and the panels it hid."""

    step: int
    note: str | None
    hidden: tuple[str, ...]


def untrained_bundles(lecture: Lecture) -> dict[str, "Bundle"]:
    """A fresh seeded model for every preset the lecture uses (nothing trained)."""
    from sandbox.model import Bundle

    return {ref: Bundle.from_preset(load_lecture_preset(lecture, ref)) for ref in lecture_presets(lecture)}


def lecture_trained_steps(lecture: Lecture, bundles: dict[str, "Bundle"]) -> dict[str, int]:
    """How many steps :func:`ensure_trained` trains (or trained, for a cached model) each
    preset of the lecture: the lecture's ``train.steps``, else the preset's own."""
    steps = lecture.train.steps
    return {ref: int(steps if steps is not None else b.preset.training.steps) for ref, b in bundles.items()}


def apply_slide(window: "MainWindow", lecture: Lecture, slide: Slide, bundles: dict[str, "Bundle"], *,
                reveal: bool = False, trained_steps: dict[str, int] | None = None) -> SlideState:
    """Put ``window`` into the slide's state: model, sentence, mode, layer/head, step, focused
    panel, strongest cell explained, hidden panels hidden (unless ``reveal``).

    ``trained_steps``: for trained ``bundles``, the steps each was trained (the window's
    Model box says so); None: the bundles are untrained (seeded) models.
    A step past the end of the trace is clamped to its last step; the returned note says so."""
    ref = slide_preset_ref(lecture, slide)
    bundle = bundles[ref]
    if window.bundle is not bundle:
        steps = (trained_steps or {}).get(ref, 0)
        window.set_bundle(bundle, trained_steps=steps, origin="lecture cache" if steps else None)
        set_checked = getattr(window, "set_checked_device", None)
        if set_checked is not None:  # the Model box warns when the model runs elsewhere
            set_checked(checked_device(lecture) if steps else None)
    source, target = slide_sentence(slide, bundle.preset)
    if slide.source is None:
        window.set_pair(slide.pair or 0)
    else:
        window.set_sentence(source, target)
    if window.mode != slide.mode:
        window.set_mode(slide.mode)
    if getattr(slide, "whatif", None) is not None or getattr(slide, "beam", None):
        from .whatif import apply_slide_whatif

        apply_slide_whatif(window, slide, source)
    window.set_layer_head(slide.layer, slide.head)
    n = len(window.trace.steps) if window.trace is not None else 0
    step, note = clamp_step(slide.step, n)
    window.set_step(step)
    views = window.views
    for name in PANELS:
        window.set_panel_hidden(name, False)
    window.focus_panel(slide.panel)
    if views is not None and views.index is not None:  # explain the strongest weight on screen
        view = window.current_view()
        kind = {"masked_self": "masked_self", "encoder_self": "self"}.get(slide.panel, "cross")
        row = 0 if kind == "self" else step
        rec = views.index.record(kind, view["layer"], view["head"], row)
        if rec is not None:
            views.explain_cell(kind, row, int(rec.weights.argmax()))
    hidden = quiz_hidden(slide)
    if not reveal:
        for name in hidden:
            window.set_panel_hidden(name, True)
    return SlideState(step=step, note=note, hidden=hidden)


def _view_with_edits(window) -> dict:
    """``window.current_view()`` plus its What-if edits, for a slide made from the view."""
    return {**window.current_view(), "interventions": getattr(window, "interventions", None)}


def quiz_hidden(slide: Slide) -> tuple[str, ...]:
    """The panels a slide hides until R: its ``hidden`` list, plus every panel that would
    give the answer away. The explain panel's worked example shows the strongest weight;
    when an attention map is hidden, the step anatomy (its softmax-weights strip, and a
    kind picker that can switch to the hidden attention) and the all-heads tab show the
    same weights, so they are hidden with it."""
    hidden = tuple(slide.hidden)
    if not hidden:
        return hidden
    extra = ["explain"]
    if any(name in WEIGHT_MAPS for name in hidden):
        extra += ["anatomy", "heads"]
    return hidden + tuple(name for name in extra if name not in hidden)


# =============================================================================== training worker


def lecture_models_task(lecture: Lecture, device: str = "cpu"):
    """Load or train every model a lecture uses, as a job: ``(progress, should_stop) ->
    {ref: Bundle}``. Progress values are ``(preset ref, step, steps, preset number, presets)``;
    raises :class:`TrainingStopped` when stopped."""

    def task(progress, should_stop) -> dict:
        refs = lecture_presets(lecture)
        bundles = {}
        for i, ref in enumerate(refs):
            if should_stop():
                raise TrainingStopped("stopped")
            progress((ref, 0, 0, i + 1, len(refs)))

            def cb(m, ref=ref, i=i):
                progress((ref, m.step, m.steps, i + 1, len(refs)))

            bundles[ref] = ensure_trained(lecture, progress=cb, should_stop=should_stop,
                                          preset=ref, device=device)
        return bundles

    return task
