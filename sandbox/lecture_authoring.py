"""Writing lectures: a validated :class:`~sandbox.lecture_schema.Lecture` back to TOML
(keeping the file's comments: tomlkit edits the original document), saved atomically, and a
new slide made from the window's current view. Shipped lectures are read-only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from .claims import Expect
from .interventions import Interventions
from .lecture_course import load_lecture_preset, user_lectures_dir
from .lecture_schema import (PANELS, SHIPPED_LECTURES_DIR, Lecture, LectureError, Slide, TrainSpec, _build,
                             loads_lecture, resolve_preset)
from .presets import PresetError, load_preset
from .tomlfile import (append_trivia, atomic_write, dumps_keeping_comments, last_body, plain, pop_trailing_trivia,
                       pop_trivia, refuse_shipped, same_value, table_before, toml_value)
from .validation import MISSING as _MISSING
from .validation import describe as _describe

__all__ = ["whatif_dict", "validate_lecture", "dumps_lecture", "save_lecture", "slide_from_view"]


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



def _slide_dict(s: Any) -> dict[str, Any]:
    """The canonical TOML table for a slide (defaults left out, except the sentence and mode)."""
    d: dict[str, Any] = {"title": getattr(s, "title", _MISSING)}
    if getattr(s, "title_ko", None) is not None:
        d["title_ko"] = s.title_ko
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
    if getattr(lecture, "title_ko", None) is not None:
        data["title_ko"] = lecture.title_ko
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


def validate_lecture(lecture: Lecture) -> Lecture:
    """Apply the file checks to an in-memory lecture; return it normalised (stripped text,
    ``pair = 0`` filled in) or raise the first LectureError."""
    return _normalize(lecture, getattr(lecture, "path", None))


# --------------------------------------------------------------------------- dumping


def _set(table: Any, key: str, value: Any) -> None:
    if key in table and same_value(plain(table[key]), value):
        return
    table[key] = toml_value(value)


def _new_slide_table(d: Mapping[str, Any]) -> Table:
    t = tomlkit.table()
    for key, value in d.items():
        if key in ("narration", "expect"):
            continue
        t[key] = toml_value(value)
    n = tomlkit.table()
    for lang, text in d.get("narration", {}).items():
        n[lang] = toml_value(text)
    t["narration"] = n
    if d.get("expect"):
        t["expect"] = _expect_aot(d["expect"])
    return t


def _expect_aot(expects: Sequence[Mapping[str, Any]]) -> AoT:
    aot = tomlkit.aot()
    for e in expects:
        et = tomlkit.table()
        for key, value in e.items():
            et[key] = toml_value(value)
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
            n[lang] = toml_value(text)
        t["narration"] = n
    expect = d.get("expect") or []
    old = plain(t["expect"]) if "expect" in t else []
    if isinstance(old, Mapping):
        old = [old]
    if [dict(x) for x in old] != [dict(x) for x in expect]:
        if "expect" in t:
            del t["expect"]
        if expect:
            t["expect"] = _expect_aot(expect)


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
    if lec.title_ko is not None:
        _set(doc, "title_ko", lec.title_ko)  # a new key: tomlkit puts it above the tables
    elif "title_ko" in doc:
        del doc["title_ko"]
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
    before_table = table_before(doc, "slides")
    before = last_body(before_table) if before_table is not None else None
    lead: list[list[Any]] = [[] for _ in tables]
    lead[0] = (pop_trivia(before) if before is not None else []) or [tomlkit.nl()]
    for j in range(1, len(tables)):
        lead[j] = pop_trailing_trivia(tables[j - 1]) or [tomlkit.nl()]
    tail = pop_trailing_trivia(tables[-1])
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
            append_trivia(order[k - 1][0], order[k][1])
        aot.append(table)
    append_trivia(order[-1][0], tail)
    text = tomlkit.dumps(doc)
    if not text.endswith("\n"):
        text += "\n"
    return text


def _dumps_fresh(lec: Lecture) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Attention Sandbox lecture. Comments are kept when the app saves this file."))
    doc.add("title", lec.title)
    if lec.title_ko is not None:
        doc.add("title_ko", lec.title_ko)
    if lec.description:
        doc.add("description", toml_value(lec.description))
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
    return dumps_keeping_comments(norm, lecture.source_text, _dumps_in_place, loads_lecture, _dumps_fresh)


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

