"""Lectures: a preset, how to train it, and a sequence of slides, as TOML.

A slide is a saved view of the window (which pair, teacher forcing or free running, which
decoder step, layer and head, which panel is in focus, which panels start hidden) plus a
narration in Korean and English. The presenter (``widgets/presenter.py``) replays slides;
``widgets/lecture_export.py`` renders them to PNGs and a PDF handout.

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

No Qt here, and no torch at import time: :func:`ensure_trained` imports the model, trainer
and checkpoint modules when it runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
from tomlkit.items import AoT, Table

from . import presets as _presets
from . import shipped as _shipped
from . import userdirs as _userdirs
from .claims import KINDS as CLAIM_KINDS
from .claims import MAX_ATTENDS, Expect
from .presets import MAX_SENTENCE_CHARS, Preset, PresetError, find_preset, load_preset
from .tomlfile import USER_HOME_ENV
from .tomlfile import (SavedFile, atomic_write, find_file, is_within, parse_toml, pop_trivia, read_file,
                       refuse_shipped, toml_files, user_data_dir)
from .tomlfile import plain as _plain
from .validation import MISSING as _MISSING
from .validation import Checker, FileError
from .validation import choices as _choices
from .validation import describe as _describe
from .interventions import Interventions, Pin, WhatIfError, parse_step_value
from .text import normalize
from .vocab import EOS, SOS, UNK, tokenize

if TYPE_CHECKING:  # pragma: no cover
    from .model import Bundle

__all__ = [
    "LANGS",
    "MODES",
    "PANELS",
    "TRANSFORMER_PANELS",
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
]

LANGS = ("ko", "en")
MODES = ("teacher_forcing", "free_running")  # the same as sandbox.trace.MODES (a test checks)
# The window's panel names (MainWindow.focus_panel). "map" is the cross-attention map ("cross"
# is the same tab); the other tabs exist only for a Transformer.
PANELS = ("map", "anatomy", "encoder_self", "masked_self", "cross", "positions", "explain", "heads")
TRANSFORMER_PANELS = ("encoder_self", "masked_self", "positions", "heads")
MIN_SLIDES, MAX_SLIDES = 1, 50
MAX_STEP = 199  # a trace is at most 200 steps long (sandbox.trace.default_max_len)
MAX_TITLE_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_NARRATION_CHARS = 4000
MAX_REF_CHARS = 500
MAX_FILE_BYTES = 1_000_000
MAX_TRAIN_STEPS = 100_000
CACHE_VERSION = 1  # bump when the meaning of a cached checkpoint changes

SHIPPED_LECTURES_DIR: Path = _shipped.SHIPPED_LECTURES_DIR

_TOP_KEYS = ("title", "description", "preset", "train", "slides")
_TRAIN_KEYS = ("steps", "seed", "required", "device")
_SLIDE_KEYS = ("title", "preset", "pair", "source", "target", "mode", "step", "layer", "head",
               "panel", "hidden", "image", "narration", "expect", "whatif")
_WHATIF_KEYS = ("force", "pin", "hide", "beam")
MAX_SLIDE_BEAM = 16
_EXPECT_KEYS = ("step", "token", "attends", "min_weight", "kind", "layer", "head")
TRAIN_DEVICES = ("cpu", "auto", "cuda")  # sandbox.train.DEVICES
MAX_EXPECTS = 20  # claims per slide


# --------------------------------------------------------------------------- errors


class LectureError(FileError):
    """One problem with a lecture: which file, which field, what is allowed.

    ``slide`` is the 0-based index of the slide at fault (None for lecture-wide problems),
    so an editor can jump to it."""

    what = "lecture"

    def __init__(self, path: str | os.PathLike[str] | None, field: str | None, message: str,
                 slide: int | None = None):
        super().__init__(path, field, message)
        self.slide: int | None = slide
        self.args = (*self.args, slide)  # picklable


class TrainingStopped(RuntimeError):
    """:func:`ensure_trained` was asked to stop; ``bundle`` holds the partly trained model
    (nothing was cached)."""

    def __init__(self, message: str, bundle: Any = None):
        super().__init__(message)
        self.bundle = bundle


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class TrainSpec:
    """How the lecture's model is trained before the first slide.

    ``steps``: None means each preset's own ``training.steps``. ``seed`` feeds the trainer
    (the initial weights come from the preset's seed). ``required``: the slides only make
    sense for a trained model, so the presenter waits for training; with ``false`` it starts
    at once on the untrained model and swaps in the trained one when it is ready.
    ``device``: where the lecture's models are trained and run (``cpu`` | ``auto`` |
    ``cuda``). Default ``cpu``: the lecture's claims were checked on the CPU, and a GPU
    trains different numbers from the same seed."""

    steps: int | None = None
    seed: int = 0
    required: bool = True
    device: str = "cpu"


@dataclass(frozen=True)
class Slide:
    """One saved view plus its narration.

    The sentence is ``pair`` (an index into the preset's pairs) or ``source`` / ``target``
    typed in; a validated slide always has one of them (``pair = 0`` when neither was given).
    ``preset`` overrides the lecture's preset for this slide only."""

    title: str
    pair: int | None = 0
    source: str | None = None
    target: str | None = None
    mode: str = "teacher_forcing"
    step: int = 0
    layer: int = 0
    head: int = 0
    panel: str = "map"
    hidden: tuple[str, ...] = ()
    narration: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    preset: str | None = None
    expect: tuple[Expect, ...] = ()  # claims about the model, checked (sandbox.claims)
    # What-if (issue 15): edits applied to the slide's trace, or a beam search whose best
    # beam the slide shows; ``expect`` claims are checked on that trace.
    whatif: Interventions | None = None
    beam: int | None = None  # beam width

    def __post_init__(self) -> None:
        if isinstance(self.hidden, list):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        if isinstance(self.expect, list):
            object.__setattr__(self, "expect", tuple(self.expect))
        if isinstance(self.narration, Mapping) and not isinstance(self.narration, _FrozenDict):
            object.__setattr__(self, "narration", _FrozenDict(self.narration))

    def text(self, lang: str) -> str:
        """The narration in ``lang``, falling back to the other language."""
        return self.narration.get(lang) or next((v for v in self.narration.values() if v), "")


class _FrozenDict(dict):
    """A read-only dict, so a frozen Slide stays hashable and cannot be edited in place."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def _readonly(self, *a: Any, **k: Any) -> None:
        raise TypeError("narration is read-only; use dataclasses.replace(slide, narration={...})")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __reduce__(self):  # pickling and deepcopy build a fresh dict
        return (_FrozenDict, (dict(self),))


@dataclass(frozen=True)
class Lecture(SavedFile):
    """A whole lecture. ``path`` and ``source_text`` do not take part in equality."""

    title: str
    preset: str
    train: TrainSpec
    slides: tuple[Slide, ...]
    description: str = ""
    path: Path | None = field(default=None, compare=False)
    source_text: str | None = field(default=None, compare=False, repr=False)

    _items, _title, _fallback = "slides", "title", "lecture"  # see SavedFile

    @property
    def is_shipped(self) -> bool:
        return self.path is not None and is_within(Path(self.path), SHIPPED_LECTURES_DIR)


# --------------------------------------------------------------------------- validation


class _Checker(Checker):
    """The shared checks, raising LectureError (with the slide index)."""

    def __init__(self, path: str | None):
        super().__init__(path)
        self.slide: int | None = None

    def error(self, field_name: str | None, message: str) -> LectureError:  # type: ignore[override]
        return LectureError(self.path, field_name, message, self.slide)

    def int_in(self, value: Any, name: str, lo: int, hi: int, allowed: str | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            allowed = allowed or (f"must be an integer ≥ {lo}" if hi >= 2**31 else
                                  f"must be an integer from {lo} to {hi}")
            raise self.error(name, f"{allowed}, got {_describe(value)}")
        return int(value)

    def boolean(self, value: Any, name: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {_describe(value)}")
        return value


class _Presets:
    """Resolve and load the presets a lecture names, once each."""

    def __init__(self, c: _Checker, lecture_path: str | os.PathLike[str] | None):
        self.c = c
        self.lecture_path = lecture_path
        self.cache: dict[str, Preset] = {}

    def get(self, ref: str, name: str) -> Preset:
        if ref not in self.cache:
            try:
                self.cache[ref] = load_preset(resolve_preset(ref, self.lecture_path))
            except PresetError as e:
                raise self.c.error(name, f"cannot use preset {ref!r}: {e}") from None
        return self.cache[ref]


def resolve_preset(ref: str, lecture_path: str | os.PathLike[str] | None = None) -> Path:
    """The preset file a lecture's ``preset`` names: a path relative to the lecture file's
    folder when one exists there, else a shipped/user key or a path (``find_preset``).
    Raises PresetError."""
    if lecture_path is not None and ("/" in ref or ref.endswith(".toml")) and not os.path.isabs(ref):
        candidate = Path(lecture_path).parent / ref
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):
            pass
    return find_preset(ref)


def _check_train(c: _Checker, data: Mapping[str, Any]) -> TrainSpec:
    raw = data.get("train", _MISSING)
    if raw is _MISSING:
        return TrainSpec()
    tr = c.table(raw, "train")
    c.no_unknown(tr, "train", _TRAIN_KEYS)
    steps = tr.get("steps")
    if steps is not None:
        steps = c.int_in(steps, "train.steps", 1, MAX_TRAIN_STEPS)
    seed = c.int_in(tr.get("seed", 0), "train.seed", 0, 2**32 - 1)
    required = c.boolean(tr.get("required", True), "train.required")
    device = c.choice(tr.get("device", "cpu"), "train.device", TRAIN_DEVICES)
    return TrainSpec(steps=steps, seed=seed, required=required, device=device)


def _check_slide(c: _Checker, raw: Any, i: int, main: Preset, presets: _Presets) -> Slide:
    prefix = f"slides[{i}]"
    c.slide = i
    if not isinstance(raw, Mapping):
        raise c.error(prefix, f"must be a table ([[slides]] section), got {_describe(raw)}")
    c.no_unknown(raw, prefix, _SLIDE_KEYS)
    title = c.text(c.get(raw, prefix, "title", "every slide needs a non-empty title"),
                   f"{prefix}.title", MAX_TITLE_CHARS)

    override = raw.get("preset")
    preset = main
    if override is not None:
        override = c.text(override, f"{prefix}.preset", MAX_REF_CHARS, raw=True)
        preset = presets.get(override, f"{prefix}.preset")

    pair = raw.get("pair")
    source = raw.get("source")
    target = raw.get("target")
    n_pairs = len(preset.pairs)
    if pair is not None:
        pair = c.int_in(pair, f"{prefix}.pair", 0, n_pairs - 1,
                        f"must be a pair index from 0 to {n_pairs - 1} "
                        f"(preset {preset.key!r} has {n_pairs} pairs)")
        if source is not None:
            raise c.error(f"{prefix}.source", "give either pair or source (with target), not both")
        if target is not None:
            raise c.error(f"{prefix}.target", "only allowed together with source, not with pair")
    elif source is not None:
        source = c.text(source, f"{prefix}.source", MAX_SENTENCE_CHARS)
        if target is not None:
            target = c.text(target, f"{prefix}.target", MAX_SENTENCE_CHARS)
    elif target is not None:
        raise c.error(f"{prefix}.target", "only allowed together with source")
    else:
        pair = 0

    mode = c.choice(raw.get("mode", "teacher_forcing"), f"{prefix}.mode", MODES)
    if mode == "teacher_forcing" and source is not None and target is None:
        raise c.error(f"{prefix}.target",
                      'missing; teacher forcing feeds the gold target, so give target or use mode = "free_running"')
    step = c.int_in(raw.get("step", 0), f"{prefix}.step", 0, MAX_STEP,
                    f"must be an integer ≥ 0 (at most {MAX_STEP})")
    m = preset.model
    if m.kind == "transformer":
        layer = c.int_in(raw.get("layer", 0), f"{prefix}.layer", 0, m.layers - 1,
                         f"must be a layer from 0 to {m.layers - 1} (preset {preset.key!r} has {m.layers})")
        head = c.int_in(raw.get("head", 0), f"{prefix}.head", 0, m.heads - 1,
                        f"must be a head from 0 to {m.heads - 1} (preset {preset.key!r} has {m.heads})")
    else:
        one = f"must be 0: preset {preset.key!r} is a seq2seq model with one attention"
        layer = c.int_in(raw.get("layer", 0), f"{prefix}.layer", 0, 0, one)
        head = c.int_in(raw.get("head", 0), f"{prefix}.head", 0, 0, one)

    panel = c.choice(raw.get("panel", "map"), f"{prefix}.panel", PANELS)
    if m.kind != "transformer" and panel in TRANSFORMER_PANELS:
        raise c.error(f"{prefix}.panel", f"{panel!r} is a Transformer panel but preset {preset.key!r} is "
                                         f"seq2seq; allowed: {_choices(p for p in PANELS if p not in TRANSFORMER_PANELS)}")
    hidden_raw = raw.get("hidden", [])
    if not isinstance(hidden_raw, (list, tuple)):
        raise c.error(f"{prefix}.hidden", f"must be an array of panel names, got {_describe(hidden_raw)}")
    hidden: list[str] = []
    for k, name in enumerate(hidden_raw):
        name = c.choice(name, f"{prefix}.hidden[{k}]", PANELS)
        if name in hidden:
            raise c.error(f"{prefix}.hidden[{k}]", f"{name!r} is listed twice")
        hidden.append(name)

    image = raw.get("image")
    if image is not None:
        image = c.text(image, f"{prefix}.image", MAX_REF_CHARS, raw=True)
        if os.path.isabs(image) or image.startswith(("~", "\\")) or re.match(r"^[A-Za-z]:", image):
            raise c.error(f"{prefix}.image", "must be a path relative to the lecture file, e.g. \"bottleneck.png\"")

    whatif, beam = _check_whatif(c, raw.get("whatif", _MISSING), prefix, preset, source, pair, mode)
    expect = _check_expects(c, raw.get("expect", _MISSING), prefix, preset, source, target, pair, mode)
    narr_raw = c.get(raw, prefix, "narration",
                     f"every slide needs [{prefix.split('[')[0]}.narration] with ko and en")
    narr_tab = c.table(narr_raw, f"{prefix}.narration")
    c.no_unknown(narr_tab, f"{prefix}.narration", LANGS, "(languages)")
    narration = {}
    for lang in LANGS:
        value = c.get(narr_tab, f"{prefix}.narration", lang,
                      "must be a non-empty string; every slide is narrated in both ko and en")
        narration[lang] = c.text(value, f"{prefix}.narration.{lang}", MAX_NARRATION_CHARS, multiline=True)
    c.slide = None
    return Slide(title=title, pair=pair, source=source, target=target, mode=mode, step=step,
                 layer=layer, head=head, panel=panel, hidden=tuple(hidden), narration=narration,
                 image=image, preset=override, expect=expect, whatif=whatif, beam=beam)


def _check_whatif(c: _Checker, raw: Any, prefix: str, preset: Preset, source: str | None,
                  pair: int | None, mode: str) -> tuple[Interventions | None, int | None]:
    """``whatif = { force = ["3=small"], pin = ["3=1"], hide = [0], beam = 4 }``: force a
    token, pin a step's cross attention (``"T=J"``, or ``{step, source, layer, head}`` for
    one Transformer layer / head), hide source tokens, or show the best beam of width K.
    Indices are checked against the slide's sentence; steps when the slide is traced."""
    if raw is _MISSING:
        return None, None
    name = f"{prefix}.whatif"
    tab = c.table(raw, name)
    c.no_unknown(tab, name, _WHATIF_KEYS)
    src = source if source is not None else preset.pairs[pair or 0].source
    n_source = len(tokenize(src, preset.tokenizer.source)) + 1  # with <eos>
    from .vocab import Vocab  # as sandbox.model.build_vocabs builds it, without torch

    tgt_vocab = Vocab.build((p.target for p in preset.pairs), preset.tokenizer.target)
    m = preset.model

    def items(key: str) -> list:
        v = tab.get(key, [])
        if not isinstance(v, (list, tuple)):
            raise c.error(f"{name}.{key}", f"must be an array, got {_describe(v)}")
        return list(v)

    try:
        force: dict[int, str] = {}
        for k, text in enumerate(items("force")):
            where = f"{name}.force[{k}]"
            if not isinstance(text, str):
                raise c.error(where, f'must be a string "T=TOKEN", got {_describe(text)}')
            t, tok = parse_step_value(text, where, "TOKEN")
            if tok not in tgt_vocab:
                raise c.error(where, f"“{tok}” is not in preset {preset.key!r}'s target vocabulary")
            if t in force:
                raise c.error(where, f"step {t} is forced twice")
            force[t] = tok
        pins = []
        for k, p in enumerate(items("pin")):
            where = f"{name}.pin[{k}]"
            if isinstance(p, str):
                t, j = parse_step_value(p, where, "J")
                if not j.isdigit():
                    raise c.error(where, 'must be "T=J" with J a source token index (0, 1, ...)')
                pin = Pin(t, int(j))
            elif isinstance(p, Mapping):
                c.no_unknown(p, where, ("step", "source", "layer", "head"))
                layers = m.layers if m.kind == "transformer" else 1
                heads = m.heads if m.kind == "transformer" else 1
                pin = Pin(c.int_in(c.get(p, where, "step", "give the decoder step"), f"{where}.step", 0, MAX_STEP),
                          c.int_in(c.get(p, where, "source", "give the source token index"), f"{where}.source",
                                   0, n_source - 1),
                          None if p.get("layer") is None else c.int_in(p["layer"], f"{where}.layer", 0, layers - 1),
                          None if p.get("head") is None else c.int_in(p["head"], f"{where}.head", 0, heads - 1))
            else:
                raise c.error(where, f'must be "T=J" or a table {{step, source, layer, head}}, got {_describe(p)}')
            if pin.source >= n_source:
                raise c.error(where, f"source token {pin.source} is out of range: the slide's sentence has "
                                     f"tokens 0–{n_source - 1} (with <eos>)")
            pins.append(pin)
        hide = set()
        for k, j in enumerate(items("hide")):
            hide.add(c.int_in(j, f"{name}.hide[{k}]", 0, n_source - 1,
                              f"must be a source token index from 0 to {n_source - 1} (with <eos>)"))
        if len(hide) >= n_source:
            raise c.error(f"{name}.hide", f"all {n_source} source tokens hidden; attention needs one to look at")
        for k, pin in enumerate(pins):
            if pin.source in hide:
                raise c.error(f"{name}.pin[{k}]", f"source token {pin.source} is hidden")
        iv = Interventions(force, tuple(pins), frozenset(hide))
    except WhatIfError as e:
        raise c.error(name, str(e)) from None
    if (iv.pins or iv.hide) and m.kind == "seq2seq" and m.attention == "none":
        raise c.error(name, f"preset {preset.key!r} has no attention to pin or hide")
    beam = tab.get("beam")
    if beam is not None:
        beam = c.int_in(beam, f"{name}.beam", 1, MAX_SLIDE_BEAM)
        if not iv.empty:
            raise c.error(f"{name}.beam", "a slide shows either a beam or force/pin/hide edits, not both")
        if mode != "free_running":
            raise c.error(f"{name}.beam", 'a beam is decoded free running: set mode = "free_running"')
    return (None if iv.empty else iv), beam


def whatif_dict(iv: Interventions | None, beam: int | None) -> dict[str, Any]:
    """The slide's ``whatif`` table (inverse of the parser; empty when there is nothing)."""
    d: dict[str, Any] = {}
    if iv is not None:
        if iv.force:
            d["force"] = [f"{t}={tok}" for t, tok in iv.force.items()]
        if iv.pins:
            d["pin"] = [f"{p.step}={p.source}" if p.layer is None and p.head is None else
                        {k: v for k, v in (("step", p.step), ("source", p.source), ("layer", p.layer),
                                           ("head", p.head)) if v is not None}
                        for p in iv.pins]
        if iv.hide:
            d["hide"] = sorted(iv.hide)
    if beam is not None:
        d["beam"] = beam
    return d


def _check_expects(c: _Checker, raw: Any, prefix: str, preset: Preset, source: str | None,
                   target: str | None, pair: int | None, mode: str) -> tuple[Expect, ...]:
    """``[[slides.expect]]``: the claims, checked against the slide's model and sentence
    where that can be known before training (token names, step range, gold token)."""
    if raw is _MISSING:
        return ()
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, (list, tuple)):
        raise c.error(f"{prefix}.expect", f"must be [[{prefix.split('[')[0]}.expect]] tables, got {_describe(raw)}")
    if len(raw) > MAX_EXPECTS:
        raise c.error(f"{prefix}.expect", f"at most {MAX_EXPECTS} claims per slide, got {len(raw)}")
    if source is None:
        p = preset.pairs[pair or 0]
        source, target = p.source, p.target
    tk = preset.tokenizer
    src_tokens = tokenize(source, tk.source) + [EOS]
    tgt_tokens = tokenize(target, tk.target) + [EOS] if target else None
    m = preset.model
    out = []
    for k, e in enumerate(raw):
        name = f"{prefix}.expect[{k}]"
        if not isinstance(e, Mapping):
            raise c.error(name, f"must be a table ([[slides.expect]]), got {_describe(e)}")
        c.no_unknown(e, name, _EXPECT_KEYS)
        kind = c.choice(e.get("kind", "cross"), f"{name}.kind", CLAIM_KINDS)
        if m.kind != "transformer":
            if kind != "cross":
                raise c.error(f"{name}.kind", f"{kind!r} needs a Transformer; preset {preset.key!r} is a "
                                              "seq2seq model, whose only attention is cross")
            if m.attention == "none":
                raise c.error(name, f"preset {preset.key!r} has no attention (attention = \"none\"), "
                                    "so there is nothing to claim")
        step = c.int_in(c.get(e, name, "step", "every claim needs a step (the decoder step, "
                                               "or the source position for kind = \"self\")"),
                        f"{name}.step", 0, MAX_STEP, f"must be an integer ≥ 0 (at most {MAX_STEP})")
        if kind == "self":
            keys, n = src_tokens, len(src_tokens)
            if step >= n:
                raise c.error(f"{name}.step", f"the source has {n} tokens ({' '.join(src_tokens)}): "
                                              f"a position from 0 to {n - 1}")
        elif mode == "teacher_forcing" and tgt_tokens is not None:
            n = len(tgt_tokens)
            if step >= n:
                raise c.error(f"{name}.step", f"teacher forcing runs {n} steps for this target "
                                              f"({' '.join(tgt_tokens)}): a step from 0 to {n - 1}")
            keys = src_tokens if kind == "cross" else [SOS] + tgt_tokens[:-1]
        else:
            keys = src_tokens if kind == "cross" else None  # free running: inputs known only after training
        token = e.get("token")
        if token is not None:
            token = c.text(token, f"{name}.token", MAX_REF_CHARS)
            at = None
            if kind == "self":
                at = src_tokens[step]
            elif mode == "teacher_forcing" and tgt_tokens is not None:
                at = tgt_tokens[step]
            if at is not None and at != normalize(token):
                what = "source position" if kind == "self" else "gold token at step"
                raise c.error(f"{name}.token", f"the {what} {step} is {at!r}, not {token!r}")
        attends_raw = c.get(e, name, "attends", 'must list the token(s) holding the largest weight, '
                                                'e.g. attends = ["고양이다"]')
        if not isinstance(attends_raw, (list, tuple)) or not attends_raw:
            raise c.error(f"{name}.attends", f"must be a non-empty array of tokens, got {_describe(attends_raw)}")
        if len(attends_raw) > MAX_ATTENDS:
            raise c.error(f"{name}.attends", f"at most {MAX_ATTENDS} tokens, got {len(attends_raw)}")
        attends: list[str] = []
        for j, a in enumerate(attends_raw):
            a = c.text(a, f"{name}.attends[{j}]", MAX_REF_CHARS)
            if keys is not None and normalize(a) not in keys and a != UNK:
                raise c.error(f"{name}.attends[{j}]", f"{a!r} is not one of the keys "
                                                     f"({' '.join(keys)})")
            if a in attends:
                raise c.error(f"{name}.attends[{j}]", f"{a!r} is listed twice")
            attends.append(a)
        mw = e.get("min_weight")
        if mw is not None:
            if isinstance(mw, bool) or not isinstance(mw, (int, float)) or not 0 < mw <= 1:
                raise c.error(f"{name}.min_weight", f"must be a number above 0 and at most 1, got {_describe(mw)}")
            mw = float(mw)
        layer = e.get("layer")
        head = e.get("head")
        if m.kind == "transformer":
            if layer is not None:
                layer = c.int_in(layer, f"{name}.layer", 0, m.layers - 1,
                                 f"must be a layer from 0 to {m.layers - 1} (preset {preset.key!r} has {m.layers})")
            if head is not None:
                head = c.int_in(head, f"{name}.head", 0, m.heads - 1,
                                f"must be a head from 0 to {m.heads - 1} (preset {preset.key!r} has {m.heads})")
        else:
            one = f"must be 0 or left out: preset {preset.key!r} is a seq2seq model with one attention"
            if layer is not None:
                layer = c.int_in(layer, f"{name}.layer", 0, 0, one)
            if head is not None:
                head = c.int_in(head, f"{name}.head", 0, 0, one)
        out.append(Expect(step=step, attends=tuple(attends), token=token, min_weight=mw, kind=kind,
                          layer=layer, head=head))
    return tuple(out)


def _build(data: Any, path: str | os.PathLike[str] | None, source_text: str | None) -> Lecture:
    c = _Checker(None if path is None else os.fspath(path))
    if not isinstance(data, Mapping):
        raise c.error(None, "the top level must be a table")
    c.no_unknown(data, "", _TOP_KEYS)
    title = c.text(c.get(data, "", "title", "must be a non-empty string"), "title", MAX_TITLE_CHARS)
    description = c.description(data, MAX_DESCRIPTION_CHARS)
    ref = c.text(c.get(data, "", "preset", 'must name a preset, e.g. preset = "ko_en_cat"'), "preset",
                 MAX_REF_CHARS, raw=True)
    presets = _Presets(c, path)
    main = presets.get(ref, "preset")
    train = _check_train(c, data)
    raw = c.get(data, "", "slides", f"add {MIN_SLIDES} to {MAX_SLIDES} [[slides]] sections")
    if not isinstance(raw, (list, tuple)):
        raise c.error("slides", f"must be an array of tables ([[slides]] sections), got {_describe(raw)}")
    if not MIN_SLIDES <= len(raw) <= MAX_SLIDES:
        raise c.error("slides", f"must have {MIN_SLIDES} to {MAX_SLIDES} slides, got {len(raw)}")
    slides = tuple(_check_slide(c, s, i, main, presets) for i, s in enumerate(raw))
    return Lecture(title=title, preset=ref, train=train, slides=slides, description=description,
                   path=None if path is None else Path(path), source_text=source_text)


# --------------------------------------------------------------------------- to plain data


def _slide_dict(s: Any) -> dict[str, Any]:
    """The canonical TOML table for a slide (defaults left out, except the sentence and mode)."""
    d: dict[str, Any] = {"title": getattr(s, "title", _MISSING)}
    if getattr(s, "preset", None) is not None:
        d["preset"] = s.preset
    if getattr(s, "source", None) is not None:
        d["source"] = s.source
        if getattr(s, "target", None) is not None:
            d["target"] = s.target
        if getattr(s, "pair", None) not in (None, 0):  # both set: let validation complain
            d["pair"] = s.pair
    elif getattr(s, "target", None) is not None:
        d["target"] = s.target
    else:
        d["pair"] = 0 if getattr(s, "pair", None) is None else s.pair
    d["mode"] = getattr(s, "mode", "teacher_forcing")
    d["step"] = getattr(s, "step", 0)
    for key in ("layer", "head"):
        value = getattr(s, key, 0)
        if value != 0:
            d[key] = value
    d["panel"] = getattr(s, "panel", "map")
    hidden = getattr(s, "hidden", ())
    if hidden:
        d["hidden"] = list(hidden) if isinstance(hidden, (list, tuple)) else hidden
    if getattr(s, "image", None) is not None:
        d["image"] = s.image
    narration = getattr(s, "narration", _MISSING)
    if narration is not _MISSING:
        d["narration"] = dict(narration) if isinstance(narration, Mapping) else narration
    expect = getattr(s, "expect", ())
    if expect:
        d["expect"] = [_expect_dict(e) if isinstance(e, Expect) else e for e in expect] \
            if isinstance(expect, (list, tuple)) else expect
    whatif = getattr(s, "whatif", None)
    w = whatif_dict(whatif if isinstance(whatif, Interventions) else None, getattr(s, "beam", None))
    if w:
        d["whatif"] = w
    elif whatif is not None and not isinstance(whatif, Interventions):
        d["whatif"] = whatif  # not an Interventions value: let validation say what is wrong
    return {k: v for k, v in d.items() if v is not _MISSING}


def _expect_dict(e: Expect) -> dict[str, Any]:
    d: dict[str, Any] = {"step": e.step}
    if e.token is not None:
        d["token"] = e.token
    d["attends"] = list(e.attends)
    if e.min_weight is not None:
        d["min_weight"] = e.min_weight
    d["kind"] = e.kind
    if e.layer is not None:
        d["layer"] = e.layer
    if e.head is not None:
        d["head"] = e.head
    return d


_SLIDE_DEFAULTS = {"mode": "teacher_forcing", "step": 0, "layer": 0, "head": 0, "panel": "map",
                   "hidden": [], "pair": 0}


def _train_dict(t: TrainSpec) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if t.steps is not None:
        d["steps"] = t.steps
    d["seed"] = t.seed
    d["required"] = t.required
    d["device"] = t.device
    return d


def _to_data(lecture: Lecture) -> dict[str, Any]:
    data: dict[str, Any] = {"title": lecture.title}
    if lecture.description:
        data["description"] = lecture.description
    data["preset"] = lecture.preset
    train = lecture.train
    data["train"] = _train_dict(train) if isinstance(train, TrainSpec) else train
    slides = lecture.slides
    data["slides"] = [_slide_dict(s) if isinstance(s, Slide) else s for s in slides] \
        if isinstance(slides, (list, tuple)) else slides
    return data


def _normalize(lecture: Any, path: str | os.PathLike[str] | None) -> Lecture:
    if not isinstance(lecture, Lecture):
        raise LectureError(path, None, f"expected a Lecture, got {_describe(lecture)}")
    return _build(_to_data(lecture), path, lecture.source_text)


# --------------------------------------------------------------------------- loading


def loads_lecture(text: str, path: str | os.PathLike[str] | None = None) -> Lecture:
    """Parse and validate lecture TOML. ``path`` labels errors, sets ``Lecture.path`` and is
    where relative preset paths and images are looked up."""
    label = None if path is None else os.fspath(path)
    data, text = parse_toml(text, label, LectureError, MAX_FILE_BYTES, "title, preset and [[slides]]")
    return _build(data, path, text)


def load_lecture(path: str | os.PathLike[str]) -> Lecture:
    """Read and validate a lecture file. Every failure, I/O included, is a LectureError."""
    label, data = read_file(path, LectureError, MAX_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise LectureError(label, None, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at line {line}); "
                                        "save the file as UTF-8") from None
    return loads_lecture(text, path)


def validate_lecture(lecture: Lecture) -> Lecture:
    """Apply the file checks to an in-memory lecture; return it normalised (stripped text,
    ``pair = 0`` filled in) or raise the first LectureError."""
    return _normalize(lecture, getattr(lecture, "path", None))


# --------------------------------------------------------------------------- dumping


def _toml_value(value: Any) -> Any:
    """A tomlkit item; narration with newlines becomes a readable multi-line string."""
    if isinstance(value, str) and "\n" in value:
        item = tomlkit.string(value, multiline=True)
        try:
            if tomlkit.parse(f"x = {item.as_string()}\n")["x"] == value:
                return item
        except Exception:
            pass
        return tomlkit.string(value)
    if isinstance(value, (list, tuple)):
        arr = tomlkit.array()
        arr.extend(_toml_value(v) if isinstance(v, Mapping) else v for v in value)
        return arr
    if isinstance(value, Mapping):  # a small table (a slide's whatif) stays on one line
        it = tomlkit.inline_table()
        for k, v in value.items():
            it[k] = _toml_value(v)
        return it
    return value


def _set(table: Any, key: str, value: Any) -> None:
    if key in table and _same(_plain(table[key]), value):
        return
    table[key] = _toml_value(value)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new
    if isinstance(old, list) and isinstance(new, list):
        return old == new
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return dict(old) == dict(new)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old == new
    return False


def _new_slide_table(d: Mapping[str, Any]) -> Table:
    t = tomlkit.table()
    for key, value in d.items():
        if key in ("narration", "expect"):
            continue
        t[key] = _toml_value(value)
    n = tomlkit.table()
    for lang, text in d.get("narration", {}).items():
        n[lang] = _toml_value(text)
    t["narration"] = n
    if d.get("expect"):
        t["expect"] = _expect_aot(d["expect"])
    return t


def _expect_aot(expects: Sequence[Mapping[str, Any]]) -> AoT:
    aot = tomlkit.aot()
    for e in expects:
        et = tomlkit.table()
        for key, value in e.items():
            et[key] = _toml_value(value)
        aot.append(et)
    return aot


def _sync_slide_table(t: Table, d: Mapping[str, Any]) -> None:
    for key in [k for k in t if k not in d and k != "narration"]:
        del t[key]
    for key, value in d.items():
        if key in ("narration", "expect"):
            continue
        if key not in t and key in _SLIDE_DEFAULTS and value == _SLIDE_DEFAULTS[key] and key != "pair":
            continue
        _set(t, key, value)
    narration = d.get("narration", {})
    if "narration" in t and isinstance(t["narration"], Table):
        n = t["narration"]
        for key in [k for k in n if k not in narration]:
            del n[key]
        for lang, text in narration.items():
            _set(n, lang, text)
    else:
        if "narration" in t:
            del t["narration"]
        n = tomlkit.table()
        for lang, text in narration.items():
            n[lang] = _toml_value(text)
        t["narration"] = n
    expect = d.get("expect") or []
    old = _plain(t["expect"]) if "expect" in t else []
    if isinstance(old, Mapping):
        old = [old]
    if [dict(x) for x in old] != [dict(x) for x in expect]:
        if "expect" in t:
            del t["expect"]
        if expect:
            t["expect"] = _expect_aot(expect)


def _last_body(table: Table) -> list:
    """The body list that holds a table's trailing lines (the deepest last sub-table's)."""
    body = table.value.body
    while body and isinstance(body[-1][1], (Table, AoT)):
        last = body[-1][1]
        if isinstance(last, AoT):
            if not last.body:
                break
            last = last.body[-1]
        body = last.value.body
    return body


def _pop_trailing_trivia(table: Table) -> list[Any]:
    """Remove and return the comments/blank lines at the end of a table (in tomlkit they
    sit there although they belong to the header that follows)."""
    return pop_trivia(_last_body(table))


def _append_trivia(table: Table, items: Sequence[Any]) -> None:
    body = _last_body(table)
    for item in items:
        body.append((None, item))


def _before_aot(doc: Any) -> list | None:
    """The body that holds the lines just above the first [[slides]] header: the end of the
    preceding table's (deepest) body. None when the header follows top-level keys; those
    lines then stay where they are (editing a tomlkit document's own body in the middle
    would break its key index)."""
    body = doc.body
    for i, (k, _item) in enumerate(body):
        if k is not None and k.key == "slides":
            if i > 0 and isinstance(body[i - 1][1], Table):
                return _last_body(body[i - 1][1])
            return None
    raise ValueError("no slides in the document")


def _match_slides(old: Sequence[Slide], new: Sequence[Slide]) -> list[int | None]:
    """For each new slide, the old table to reuse: an identical slide first, then one with
    the same title (a narration edit), then the same position."""
    assign: list[int | None] = [None] * len(new)
    used: set[int] = set()
    for rule in (lambda o, n, j, i: o == n, lambda o, n, j, i: o.title == n.title,
                 lambda o, n, j, i: j == i):
        for i, s in enumerate(new):
            if assign[i] is not None:
                continue
            for j, o in enumerate(old):
                if j not in used and rule(o, s, j, i):
                    assign[i] = j
                    used.add(j)
                    break
    return assign


def _dumps_in_place(lec: Lecture, source: str) -> str:
    old = loads_lecture(source, lec.path)
    doc = tomlkit.parse(source)
    _set(doc, "title", lec.title)
    if lec.description or "description" in doc:
        if lec.description:
            _set(doc, "description", lec.description)
        else:
            del doc["description"]
    _set(doc, "preset", lec.preset)
    train = _train_dict(lec.train)
    if "train" in doc:
        t = doc["train"]
        for key in [k for k in t if k not in train]:
            del t[key]
        for key, value in train.items():
            if key not in t and ((key == "seed" and value == 0) or (key == "required" and value is True)
                                  or (key == "device" and value == "cpu")):
                continue
            _set(t, key, value)
    elif lec.train != TrainSpec():
        raise ValueError("no [train] table to edit")  # the fresh writer places it well
    aot = doc.item("slides")
    if not isinstance(aot, AoT) or len(aot) != len(old.slides):
        raise ValueError("slides are not an array of tables")
    tables = list(aot)
    # The comments above each [[slides]] header are stored at the end of whatever precedes
    # it; collect them as that slide's "lead" so they move with the slide.
    before = _before_aot(doc)
    lead: list[list[Any]] = [[] for _ in tables]
    lead[0] = (pop_trivia(before) if before is not None else []) or [tomlkit.nl()]
    for j in range(1, len(tables)):
        lead[j] = _pop_trailing_trivia(tables[j - 1]) or [tomlkit.nl()]
    tail = _pop_trailing_trivia(tables[-1])
    assign = _match_slides(old.slides, lec.slides)
    while len(aot):
        del aot[len(aot) - 1]
    order: list[tuple[Table, list[Any]]] = []
    for i, s in enumerate(lec.slides):
        d = _slide_dict(s)
        j = assign[i]
        if j is None:
            order.append((_new_slide_table(d), [tomlkit.nl()]))
        else:
            _sync_slide_table(tables[j], d)
            order.append((tables[j], lead[j]))
    if before is not None:
        if assign[0] is not None:
            first_lead = order[0][1]
        else:  # a new slide comes first; slide 0's comments go with slide 0 if it is kept
            first_lead = [tomlkit.nl()] if 0 in assign else lead[0]
        before.extend((None, item) for item in first_lead)
    for k, (table, _lead) in enumerate(order):
        if k > 0:
            _append_trivia(order[k - 1][0], order[k][1])
        aot.append(table)
    _append_trivia(order[-1][0], tail)
    text = tomlkit.dumps(doc)
    if not text.endswith("\n"):
        text += "\n"
    return text


def _dumps_fresh(lec: Lecture) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Attention Sandbox lecture. Comments are kept when the app saves this file."))
    doc.add("title", lec.title)
    if lec.description:
        doc.add("description", _toml_value(lec.description))
    doc.add("preset", lec.preset)
    doc.add(tomlkit.nl())
    train = tomlkit.table()
    for key, value in _train_dict(lec.train).items():
        train[key] = value
    doc.add("train", train)
    aot = tomlkit.aot()
    for s in lec.slides:
        aot.append(_new_slide_table(_slide_dict(s)))
    doc.add("slides", aot)
    return tomlkit.dumps(doc)


def dumps_lecture(lecture: Lecture) -> str:
    """TOML text for a lecture; raises LectureError if it is invalid. With ``source_text``
    set, that document is edited in place so comments and key order survive (a slide that
    moved takes its comments along); otherwise, or if that cannot reproduce the lecture
    exactly, a fresh document is written."""
    norm = _normalize(lecture, getattr(lecture, "path", None))
    if isinstance(lecture.source_text, str):
        try:
            text = _dumps_in_place(norm, lecture.source_text)
            if loads_lecture(text, norm.path) == norm:
                return text
        except Exception:  # any tomlkit surprise: write a fresh document instead
            pass
    return _dumps_fresh(norm)


# --------------------------------------------------------------------------- saving


def save_lecture(lecture: Lecture, path: str | os.PathLike[str], *, allow_shipped: bool = False) -> Lecture:
    """Validate, then write atomically. Returns the lecture as saved (``path`` and
    ``source_text`` set, so the next save keeps the comments). Shipped lectures are
    read-only: saving into ``presets/lectures`` raises unless ``allow_shipped``."""
    target = Path(path)
    if not allow_shipped:
        refuse_shipped(target, SHIPPED_LECTURES_DIR, user_lectures_dir, LectureError)
    if target.suffix != ".toml":
        raise LectureError(target, None, "a lecture file name must end in .toml")
    norm = _normalize(lecture, target)
    # A copy saved elsewhere must still find a preset named by a path relative to the old file.
    text = dumps_lecture(norm)
    atomic_write(target, text.encode("utf-8"), LectureError, allow_shipped=allow_shipped)
    return replace(norm, path=target, source_text=text)


# --------------------------------------------------------------------------- finding lectures


def user_lectures_dir() -> Path:
    """Where the user's lectures are saved (:func:`sandbox.userdirs.lectures_dir`). Not created here."""
    return _userdirs.lectures_dir()


def user_cache_dir() -> Path:
    """Trained-model cache (:func:`sandbox.userdirs.cache_dir`): $ATTENTION_SANDBOX_HOME/cache,
    else the platform's user cache folder (~/.cache/attention-sandbox on Linux). Not created here."""
    return _userdirs.cache_dir()


# The order a course takes; other shipped lectures follow alphabetically.
COURSE_ORDER = ("why_attention", "dot_product", "bahdanau", "teacher_forcing", "transformer")


def list_lectures() -> list[tuple[str, Path, bool]]:
    """(key, path, is_user): shipped lectures in course order, then the user's by key."""
    shipped = toml_files(SHIPPED_LECTURES_DIR)
    rank = {k: i for i, k in enumerate(COURSE_ORDER)}
    shipped.sort(key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    return [(p.stem, p, False) for p in shipped] + [(p.stem, p, True) for p in toml_files(user_lectures_dir())]


def find_lecture(name_or_path: str | os.PathLike[str]) -> Path:
    """An existing lecture file, or a shipped/user key ("dot_product"). A user lecture with
    the key of a shipped one wins (a Save As of a shipped lecture lands there)."""
    return find_file(name_or_path, list_lectures, LectureError)


# --------------------------------------------------------------------------- slide helpers


def slide_preset_ref(lecture: Lecture, slide: Slide) -> str:
    return slide.preset or lecture.preset


def lecture_presets(lecture: Lecture) -> list[str]:
    """Every preset the lecture uses, its own first, each once."""
    refs = [lecture.preset]
    for s in lecture.slides:
        if s.preset and s.preset not in refs:
            refs.append(s.preset)
    return refs


def load_lecture_preset(lecture: Lecture, ref: str | None = None) -> Preset:
    """A preset the lecture names (default: its own), as a LectureError on failure."""
    ref = ref or lecture.preset
    try:
        return load_preset(resolve_preset(ref, lecture.path))
    except PresetError as e:
        raise LectureError(lecture.path, "preset", f"cannot use preset {ref!r}: {e}") from None


def slide_sentence(slide: Slide, preset: Preset) -> tuple[str, str | None]:
    """(source, target) the slide shows; target may be None (free running only)."""
    if slide.source is not None:
        return slide.source, slide.target
    pair = preset.pairs[slide.pair or 0]
    return pair.source, pair.target


def image_path(lecture: Lecture, slide: Slide) -> Path | None:
    """The slide's image file: the same name in :func:`user_lectures_dir` if the user made
    one (a fresh run of the experiment wins), else relative to the lecture file. None
    without an image; a path that may not exist when neither has it (callers draw a
    placeholder)."""
    if not slide.image:
        return None
    base = Path(lecture.path).parent if lecture.path is not None else Path.cwd()
    beside = base / slide.image
    for candidate in (user_lectures_dir() / slide.image, beside):
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):
            pass
    return beside


def clamp_step(step: int, n_steps: int) -> tuple[int, str | None]:
    """The step to show for a trace of ``n_steps`` steps, and a note when it was clamped."""
    if n_steps <= 0:
        return 0, "this trace has no decoder steps"
    if step < n_steps:
        return step, None
    last = n_steps - 1
    return last, f"step {step} is past the end of this trace; showing its last step, t = {last}"


def slide_from_view(view: Mapping[str, Any], lecture: Lecture, *, title: str | None = None,
                    narration: Mapping[str, str] | None = None) -> Slide:
    """A slide from ``MainWindow.current_view()`` (preset, source, target, mode, step, layer,
    head, panel). The sentence becomes a pair index when it is one of the preset's pairs;
    a preset other than the lecture's becomes a per-slide override."""
    ref = str(view.get("preset") or lecture.preset)
    main = load_lecture_preset(lecture)
    try:
        preset = main if ref == lecture.preset else load_preset(resolve_preset(ref, lecture.path))
    except PresetError as e:
        raise LectureError(lecture.path, "preset", f"cannot use preset {ref!r}: {e}") from None
    same = ref == lecture.preset or (preset.path is not None and main.path is not None
                                     and Path(preset.path).resolve() == Path(main.path).resolve())
    source = (view.get("source") or "").strip()
    target = view.get("target")
    target = target.strip() if isinstance(target, str) and target.strip() else None
    pair: int | None = None
    for i, p in enumerate(preset.pairs):
        if p.source == source and (target is None or p.target == target):
            pair = i
            break
    mode = view.get("mode") or "teacher_forcing"
    panel = view.get("panel") or "map"
    n = len(lecture.slides) + 1
    return Slide(
        title=title or f"Slide {n}",
        pair=pair,
        source=None if pair is not None else (source or None),
        target=None if pair is not None else target,
        mode=mode,
        step=max(0, int(view.get("step") or 0)),
        layer=int(view.get("layer") or 0),
        head=int(view.get("head") or 0),
        panel=panel if panel in PANELS else "map",
        hidden=(),
        narration=dict(narration) if narration else {"ko": "(설명을 입력하세요)", "en": "(write the narration)"},
        preset=None if same else ref,
        whatif=_view_whatif(view.get("interventions")),
    )


def _view_whatif(iv: Any) -> Interventions | None:
    """The window's What-if edits (``current_view()["interventions"]``) for a new slide."""
    return iv if isinstance(iv, Interventions) and not iv.empty else None


# --------------------------------------------------------------------------- training and cache


def _effective_steps(lecture: Lecture, preset: Preset) -> int:
    return lecture.train.steps if lecture.train.steps is not None else preset.training.steps


def _device_type(device: str) -> str:
    """``cpu`` or ``cuda`` for a device name (``auto`` resolved on this machine)."""
    if device == "cpu":
        return "cpu"
    from .device import resolve_device

    return resolve_device(device).type


def _cache_key(lecture: Lecture, preset: Preset, device: str = "cpu") -> str:
    """Hash of what determines the trained weights: the preset's model, tokenizer, training
    settings and pairs (not its name, description or comments), the train spec, and the
    device type when it is not the CPU (a GPU trains other numbers from the same seed)."""
    from .presets import _attrs, _model_dict, _tokenizer_dict, _TRAINING_KEYS

    payload: dict[str, Any] = {
        "v": CACHE_VERSION,
        "model": _model_dict(preset.model),
        "tokenizer": _tokenizer_dict(preset.tokenizer),  # vocab_size only for subword (keeps old keys)
        "training": _attrs(preset.training, _TRAINING_KEYS),
        "pairs": [[p.source, p.target] for p in preset.pairs],
        "train": {"steps": _effective_steps(lecture, preset), "seed": lecture.train.seed},
    }
    kind = _device_type(device)
    if kind != "cpu":
        payload["device"] = kind
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:20]


def _as_preset(lecture: Lecture, preset: "str | Preset | None") -> Preset:
    """A Preset given as itself (already loaded: a corpus preset reads its file once), as a
    reference the lecture names, or None for the lecture's own."""
    return preset if isinstance(preset, Preset) else load_lecture_preset(lecture, preset)


def training_key(lecture: Lecture, preset: "str | Preset | None" = None, device: str = "cpu") -> str:
    """The hash that names a trained model of the lecture's preset (or ``preset``): equal
    keys, equal weights (on the same device type). Shipped checkpoints are looked up by it."""
    return _cache_key(lecture, _as_preset(lecture, preset), device)


def cached_checkpoint_path(lecture: Lecture, preset: "str | Preset | None" = None, device: str = "cpu") -> Path:
    """Where the trained model for the lecture's preset (or ``preset``, one of
    :func:`lecture_presets`) is cached: ``user_cache_dir()/lectures/KEY-HASH.ckpt``."""
    p = _as_preset(lecture, preset)
    key = re.sub(r"[^\w.-]+", "_", p.key)[:60] or "preset"
    return user_cache_dir() / "lectures" / f"{key}-{_cache_key(lecture, p, device)}.ckpt"


def checked_device(lecture: Lecture) -> str:
    """The device type a lecture's claims are checked on (``lecture --check`` runs on the
    lecture's ``[train] device``): ``cuda`` for a lecture pinned to CUDA, else ``cpu``
    (``auto`` lectures are checked, and shipped, on the CPU)."""
    return "cuda" if lecture.train.device == "cuda" else "cpu"


def model_source(lecture: Lecture, preset: "str | Preset | None" = None, device: str = "cpu") -> str:
    """Where :func:`ensure_trained` will get the model: ``"cache"`` (the user's cache),
    ``"shipped"`` (a checkpoint shipped with the app) or ``"train"``."""
    p = _as_preset(lecture, preset)
    if cached_checkpoint_path(lecture, p, device).is_file():
        return "cache"
    if _device_type(device) == "cpu":
        from .lecture_models import shipped_checkpoint

        if shipped_checkpoint(lecture, p) is not None:
            return "shipped"
    return "train"


def ensure_trained(
    lecture: Lecture,
    progress: Callable[..., Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    preset: str | None = None,
    device: str = "cpu",
) -> "Bundle":
    """The lecture's model, trained: loaded from the user's cache, else from the checkpoints
    shipped with the app (``presets/lectures/models``, CPU-trained: used when ``device`` is
    the CPU and the preset and train spec are the ones they were trained with), else trained
    (seeded, so the same lecture always gives the same weights) and cached atomically.

    ``progress`` and ``should_stop`` go to the Trainer. Stopping raises TrainingStopped
    (nothing cached); a training failure (e.g. a non-finite loss) is a LectureError.
    A cache file that cannot be read is ignored and rebuilt. :func:`ensure_trained_from`
    also says which of these happened."""
    return ensure_trained_from(lecture, progress, should_stop, preset=preset, device=device)[0]


def ensure_trained_from(
    lecture: Lecture,
    progress: Callable[..., Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    preset: str | None = None,
    device: str = "cpu",
) -> tuple["Bundle", str]:
    """(bundle, origin) as :func:`ensure_trained`; origin says where the weights came from:
    ``"cache"``, ``"shipped"`` (presets/lectures/models), ``"trained"``, or ``"retrained: the cache entry FILE could not be read (WHY)"``
    (a truncated or stale entry; it is replaced). A cache that cannot be written is not an
    error (origin then ends with ``"; not cached: WHY"``)."""
    from .checkpoint import load_checkpoint, save_checkpoint
    from .model import Bundle
    from .train import Trainer

    p = load_lecture_preset(lecture, preset)
    path = cached_checkpoint_path(lecture, p, device)
    origin = "trained"
    if path.is_file():
        try:
            return load_checkpoint(path, preset=p, device=device), "cache"
        except Exception as e:  # noqa: BLE001 - stale or corrupt cache entry: train again
            why = " ".join(str(e).split()) or type(e).__name__
            origin = f"retrained: the cache entry {path} could not be read ({why})"
    if _device_type(device) == "cpu":
        from .lecture_models import shipped_checkpoint

        shipped = shipped_checkpoint(lecture, p)
        if shipped is not None:
            try:
                return load_checkpoint(shipped, preset=p, device=device), "shipped"
            except Exception:  # noqa: BLE001 - a damaged shipped file: train instead
                pass
    bundle = Bundle.from_preset(p)
    trainer = Trainer(bundle, steps=_effective_steps(lecture, p), device=device, seed=lecture.train.seed)
    result = trainer.run(progress=progress, should_stop=should_stop or (lambda: False))
    bundle = trainer.bundle  # with a seed, the trainer builds its own seeded model
    if result.status == "stopped":
        raise TrainingStopped(result.message or "training stopped", bundle)
    if result.status != "done":  # "nonfinite": the lecture's train spec does not work
        raise LectureError(lecture.path, "train", f"training preset {p.key!r} failed: {result.message}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(bundle, path)  # the one atomic writer: temp file, fsync, rename
    except (OSError, ValueError) as e:  # a cache that cannot be written only costs time
        origin += f"; not cached: {e}"
    return bundle, origin
