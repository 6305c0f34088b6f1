"""Lecture files: the data model (:class:`Lecture`, :class:`Slide`, :class:`TrainSpec`) and
its validation, which turns every problem into one :class:`LectureError` naming the file, the
field (``slides[3].step``, 0-based like ``pairs[3]``) and what is allowed.

The format is described in :mod:`sandbox.lectures`; saving lives in
:mod:`sandbox.lecture_authoring`, the course menu data in :mod:`sandbox.lecture_course` and
trained models in :mod:`sandbox.lecture_cache`. No Qt and no torch here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import shipped as _shipped
from .claims import KINDS as CLAIM_KINDS
from .claims import MAX_ATTENDS, Expect
from .interventions import Interventions, Pin, WhatIfError, parse_step_value
from .names import MODES, PANELS
from .presets import MAX_SENTENCE_CHARS, Preset, PresetError, find_preset, load_preset
from .text import normalize
from .tomlfile import SavedFile, is_within, parse_toml, read_text
from .validation import MISSING as _MISSING
from .validation import Checker, FileError
from .validation import choices as _choices
from .validation import describe as _describe
from .vocab import EOS, SOS, UNK, tokenize

__all__ = ["LANGS", "MODES", "PANELS", "TRANSFORMER_PANELS", "MIN_SLIDES", "MAX_SLIDES", "MAX_STEP",
           "MAX_TITLE_CHARS", "LectureError", "TrainingStopped", "TrainSpec", "Expect", "Slide", "Lecture",
           "SHIPPED_LECTURES_DIR", "resolve_preset", "title_in", "loads_lecture", "load_lecture"]

LANGS = ("ko", "en")
# MODES and PANELS (the window's panel names, MainWindow.focus_panel) come from sandbox.names.
# "map" is the cross-attention map ("cross" is the same tab); the Transformer-only tabs:
TRANSFORMER_PANELS = ("encoder_self", "masked_self", "positions", "heads")
MIN_SLIDES, MAX_SLIDES = 1, 50
MAX_STEP = 199  # a trace is at most 200 steps long (sandbox.trace.default_max_len)
MAX_TITLE_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_NARRATION_CHARS = 4000
MAX_REF_CHARS = 500
MAX_FILE_BYTES = 1_000_000
MAX_TRAIN_STEPS = 100_000

SHIPPED_LECTURES_DIR: Path = _shipped.SHIPPED_LECTURES_DIR

_TOP_KEYS = ("title", "title_ko", "description", "preset", "train", "slides")
_TRAIN_KEYS = ("steps", "seed", "required", "device")
_SLIDE_KEYS = ("title", "title_ko", "preset", "pair", "source", "target", "mode", "step", "layer", "head",
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
    title_ko: str | None = None  # the title in Korean mode (``title`` is the English one)

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

    def heading(self, lang: str) -> str:
        """The title in ``lang``: ``title_ko`` in Korean when the slide has one, else ``title``."""
        return title_in(self.title, self.title_ko, lang)


def title_in(title: str, title_ko: str | None, lang: str) -> str:
    """``title_ko`` for ``lang == "ko"`` when set, else the (English) ``title``."""
    return title_ko if lang == "ko" and title_ko else title


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
    title_ko: str | None = None  # the lecture's title in Korean mode
    path: Path | None = field(default=None, compare=False)
    source_text: str | None = field(default=None, compare=False, repr=False)

    _items, _title, _fallback = "slides", "title", "lecture"  # see SavedFile

    def heading(self, lang: str) -> str:
        """The lecture's title in ``lang`` (``title_ko`` in Korean when set)."""
        return title_in(self.title, self.title_ko, lang)

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


def _title_ko(c: _Checker, table: Mapping[str, Any], prefix: str) -> str | None:
    """The optional Korean title beside ``title``: checked like it (a non-empty line of at
    most MAX_TITLE_CHARS characters)."""
    raw = table.get("title_ko")
    name = f"{prefix}.title_ko" if prefix else "title_ko"
    return None if raw is None else c.text(raw, name, MAX_TITLE_CHARS)


def _check_train(c: _Checker, data: Mapping[str, Any]) -> TrainSpec:
    tr = c.optional_table(data, "train", _TRAIN_KEYS)
    if tr is None:
        return TrainSpec()
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
    title_ko = _title_ko(c, raw, prefix)

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
                 image=image, preset=override, expect=expect, whatif=whatif, beam=beam, title_ko=title_ko)


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
    title_ko = _title_ko(c, data, "")
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
    return Lecture(title=title, preset=ref, train=train, slides=slides, description=description, title_ko=title_ko,
                   path=None if path is None else Path(path), source_text=source_text)


# --------------------------------------------------------------------------- to plain data

# --------------------------------------------------------------------------- loading


def loads_lecture(text: str, path: str | os.PathLike[str] | None = None) -> Lecture:
    """Parse and validate lecture TOML. ``path`` labels errors, sets ``Lecture.path`` and is
    where relative preset paths and images are looked up."""
    label = None if path is None else os.fspath(path)
    data, text = parse_toml(text, label, LectureError, MAX_FILE_BYTES, "title, preset and [[slides]]")
    return _build(data, path, text)


def load_lecture(path: str | os.PathLike[str]) -> Lecture:
    """Read and validate a lecture file. Every failure, I/O included, is a LectureError."""
    _label, text = read_text(path, LectureError, MAX_FILE_BYTES)
    return loads_lecture(text, path)


