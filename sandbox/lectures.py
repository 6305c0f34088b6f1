"""Lectures: a preset, how to train it, and a sequence of slides, as TOML.

A slide is a saved view of the window (which pair, teacher forcing or free running, which
decoder step, layer and head, which panel is in focus, which panels start hidden) plus a
narration in Korean and English (``[slides.narration] ko / en``). ``title`` is the English
title; an optional ``title_ko`` beside it (for the lecture and for each slide) is shown in
Korean mode, else the English title stands in. The presenter (``widgets/presenter.py``)
replays slides; ``widgets/lecture_export.py`` renders them to PNGs and a PDF handout.

Like presets, loading validates everything and turns every problem into one
:class:`LectureError` naming the file, the field (``slides[3].step``, 0-based like
``pairs[3]``) and what is allowed. Saving keeps comments (tomlkit edits the original
document) and writes atomically; shipped lectures are read-only.

Decisions worth knowing:

- **One preset per lecture**, with an optional per-slide ``preset = "..."`` override for
  lectures that compare two models (no attention vs. attention; a Transformer for
  cross-attention vs. one for encoder self-attention). ``train`` applies to every preset the
  lecture uses.
- **A step past the end of the trace is clamped at render time**, with a visible note:
  free-running traces end wherever the model emits ``<eos>``, so the length is only known
  once the model is trained. Load time only checks ``0 <= step <= MAX_STEP``.
- ``image`` is optional and relative to the lecture file; a missing image is shown as a
  placeholder, never an error (plots are made by other tools, e.g. Experiments ▸ Bottleneck experiment…).

This module is the public face of four modules of one idea each (import from here):

- :mod:`sandbox.lecture_schema`: ``Lecture``, ``Slide``, ``TrainSpec``, ``LectureError``;
  loading and validation.
- :mod:`sandbox.lecture_authoring`: back to TOML (comments kept), saving, a slide from the
  window's view.
- :mod:`sandbox.lecture_course`: the course order, finding lectures, what a slide refers to.
- :mod:`sandbox.lecture_cache`: trained models (user cache, shipped checkpoints, training).

No Qt here, and no torch at import time: :func:`ensure_trained` imports the model, trainer
and checkpoint modules when it runs.
"""

from __future__ import annotations

from .lecture_authoring import dumps_lecture, save_lecture, slide_from_view, validate_lecture, whatif_dict
from .lecture_authoring import _dumps_fresh, _to_data  # noqa: F401 - used by drafts and tests
from .lecture_cache import (CACHE_VERSION, cached_checkpoint_path, checked_device, ensure_trained,
                            ensure_trained_from, model_source, training_key, user_cache_dir)
from .lecture_course import (COURSE_ORDER, clamp_step, find_lecture, image_path, lecture_presets, list_lectures,
                             load_lecture_preset, slide_preset_ref, slide_sentence, user_lectures_dir)
from .lecture_schema import (LANGS, MAX_SLIDES, MAX_STEP, MAX_TITLE_CHARS, MIN_SLIDES, MODES, PANELS,
                             SHIPPED_LECTURES_DIR, TRANSFORMER_PANELS, Expect, Lecture, LectureError, Slide,
                             TrainingStopped, TrainSpec, load_lecture, loads_lecture, resolve_preset)
from .lecture_schema import _build  # noqa: F401 - used by drafts and tests


__all__ = [
    "LANGS",
    "MODES",
    "PANELS",
    "TRANSFORMER_PANELS",
    "MIN_SLIDES",
    "MAX_TITLE_CHARS",
    "MAX_SLIDES",
    "MAX_STEP",
    "LectureError",
    "TrainingStopped",
    "TrainSpec",
    "Expect",
    "Slide",
    "Lecture",
    "loads_lecture",
    "load_lecture",
    "validate_lecture",
    "whatif_dict",
    "dumps_lecture",
    "save_lecture",
    "SHIPPED_LECTURES_DIR",
    "user_lectures_dir",
    "user_cache_dir",
    "list_lectures",
    "find_lecture",
    "lecture_presets",
    "load_lecture_preset",
    "resolve_preset",
    "slide_preset_ref",
    "slide_sentence",
    "slide_from_view",
    "image_path",
    "clamp_step",
    "COURSE_ORDER",
    "cached_checkpoint_path",
    "training_key",
    "model_source",
    "checked_device",
    "ensure_trained",
    "ensure_trained_from",
    "CACHE_VERSION",
]
