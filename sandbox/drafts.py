"""Drafts: an editor's unsaved state, autosaved so a crash loses at most a second of work.

A draft is a small TOML file in :func:`sandbox.userdirs.drafts_dir`: ``<key>.toml`` for the
preset editor, ``lectures/<key>.toml`` for the lecture editor. It is written without
validating (a half-typed, invalid state survives too); it has a ``[draft]`` table naming its
format and the file being edited, so it is never mistaken for a preset or a lecture.

Reading a draft back validates it the way a preset (or a lecture) is validated, ranges
included: every setting must be a value the editor could hold (``embed = 99999999999999`` is
refused, not passed to a spin box), at most :data:`~sandbox.presets.MAX_PAIRS` pairs, and
texts within the limits below. Only what an editor may legitimately hold mid-edit is let
through: blank or duplicate sentences, a name being typed, heads that do not divide d_model
(the editor shows those as problems). Any other problem is a :class:`DraftError` naming the
draft file and the field; :func:`set_aside` then renames the file to ``*.bad`` so the next
autosave does not overwrite it unseen.

No Qt here; the editors decide when to write, offer and delete drafts.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from . import presets as _p
from .corpus import DataConfig, format_alignment, parse_alignment
from .fileio import atomic_write_bytes, same_file
from .presets import ModelConfig, Pair, Preset, TokenizerConfig, TrainingConfig, data_file, dumps_preset, loads_preset
from .userdirs import drafts_dir

__all__ = ["DRAFT_FORMAT", "LECTURE_DRAFT_FORMAT", "MAX_DRAFT_BYTES", "MAX_DRAFT_SENTENCE_CHARS", "Draft",
           "DraftError", "drafts_dir", "draft_path", "find_draft", "dumps_draft", "write_draft", "read_draft",
           "delete_draft", "set_aside", "LectureDraft", "lecture_draft_path", "write_lecture_draft",
           "read_lecture_draft", "find_lecture_draft", "delete_lecture_draft", "PendingDraft", "pending_draft"]

DRAFT_FORMAT = "attention-sandbox/draft@1"
LECTURE_DRAFT_FORMAT = "attention-sandbox/lecture-draft@1"
MAX_DRAFT_BYTES = 2 * _p.MAX_FILE_BYTES
# A sentence being trimmed may be over the preset limit for a moment (the editor flags it);
# five times the limit is kept, anything longer is not something the editor produced.
MAX_DRAFT_SENTENCE_CHARS = 5 * _p.MAX_SENTENCE_CHARS


class DraftError(ValueError):
    """A draft that cannot be restored: unreadable, foreign, or with a value out of range.
    The message names the draft file and the field."""


@dataclass(frozen=True)
class Draft:
    """A preset draft read back: the edited state, which file it edits, and when it was written."""

    file: Path  # the draft file itself
    origin: Path | None  # the preset file being edited (None for a preset never saved)
    preset: Preset  # the edited state; may be invalid as a preset; path/source_text unset
    mtime_ns: int


# --------------------------------------------------------------------------- paths


def _safe_key(key: str) -> str:
    key = re.sub(r"[^\w.-]+", "_", str(key)).strip("._")
    return key or "preset"


def draft_path(key: str) -> Path:
    return drafts_dir() / f"{_safe_key(key)}.toml"


def lecture_draft_path(key: str) -> Path:
    return drafts_dir() / "lectures" / f"{_safe_key(key)}.toml"


def _mtime_ns(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None


def _find(path: Path, newer_than: str | os.PathLike[str] | None) -> Path | None:
    mtime = _mtime_ns(path)
    if mtime is None or not path.is_file():
        return None
    if newer_than is not None:
        other = _mtime_ns(Path(newer_than))
        if other is not None and mtime < other:
            return None
    return path


def find_draft(key: str, newer_than: str | os.PathLike[str] | None = None) -> Path | None:
    """The draft file for ``key`` if there is one (and, with ``newer_than``, only if it was
    written after that file was last modified: an older draft is stale)."""
    return _find(draft_path(key), newer_than)


def find_lecture_draft(key: str, newer_than: str | os.PathLike[str] | None = None) -> Path | None:
    return _find(lecture_draft_path(key), newer_than)


def _delete(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass  # best effort: an undeletable draft is offered again, never lost


def delete_draft(key: str) -> None:
    """Remove the draft for ``key`` if there is one."""
    _delete(draft_path(key))


def delete_lecture_draft(key: str) -> None:
    _delete(lecture_draft_path(key))


def set_aside(path: str | os.PathLike[str]) -> Path | None:
    """Rename a draft that could not be restored to ``NAME.bad`` (replacing an older one),
    so it is neither offered again nor overwritten by the next autosave. Returns the new
    path, or None when it could not be moved."""
    path = Path(path)
    bad = path.with_name(path.name + ".bad")
    try:
        os.replace(path, bad)
        return bad
    except OSError:
        return None


# --------------------------------------------------------------------------- writing


def _text(s: Any) -> str:
    # A lone surrogate cannot be written as UTF-8; replace it rather than lose the draft.
    return str(s).encode("utf-8", "replace").decode("utf-8")


def _as_table(obj: Any) -> Any:
    table = tomlkit.table()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        table[f.name] = _text(value) if isinstance(value, str) else value
    return table


def _header(fmt: str, origin: str | os.PathLike[str] | None, what: str) -> Any:
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Attention Sandbox draft: unsaved edits, offered back when the {what} is opened."))
    doc.add(tomlkit.comment(f"Deleted after a save or an explicit discard. This is not a {what} file."))
    draft = tomlkit.table()
    draft["format"] = fmt
    draft["origin"] = "" if origin is None else _text(os.fspath(origin))
    doc["draft"] = draft
    return doc


def dumps_draft(preset: Preset, origin: str | os.PathLike[str] | None) -> str:
    """TOML text of an edited preset state, valid or not."""
    doc = _header(DRAFT_FORMAT, origin, "preset")
    doc["preset"] = body = tomlkit.table()
    body["name"] = _text(preset.name)
    body["description"] = _text(preset.description)
    body["model"] = _as_table(preset.model)
    body["tokenizer"] = _as_table(preset.tokenizer)
    body["training"] = _as_table(preset.training)
    if preset.data is not None:  # a corpus preset: its pairs stay in its file (issue 11)
        data = dataclasses.asdict(preset.data)
        if origin is not None:  # absolute, so the draft finds the file wherever it is read
            data["file"] = os.fspath(data_file(preset.data, origin).resolve())
        body["data"] = data
        return tomlkit.dumps(doc)
    pairs = tomlkit.aot()
    for p in preset.pairs:
        t = tomlkit.table()
        t["source"] = _text(p.source)
        t["target"] = _text(p.target)
        if p.alignment is not None:
            t["alignment"] = format_alignment(p.alignment)
        pairs.append(t)
    body["pairs"] = pairs
    return tomlkit.dumps(doc)


def write_draft(key: str, preset: Preset, origin: str | os.PathLike[str] | None) -> Path:
    """Write the draft atomically (temp file + rename); raises OSError naming the draft."""
    return atomic_write_bytes(draft_path(key), dumps_draft(preset, origin).encode("utf-8"), what="draft",
                              make_parents=True)


# --------------------------------------------------------------------------- reading


def _parse(path: Path, fmt: str) -> tuple[dict, int]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_DRAFT_BYTES + 1)
        mtime = os.stat(path).st_mtime_ns
    except OSError as e:
        raise DraftError(f"{path}: cannot read the draft ({e.strerror or e})") from None
    if len(data) > MAX_DRAFT_BYTES:
        raise DraftError(f"{path}: larger than {MAX_DRAFT_BYTES} bytes; not a draft this app wrote")
    try:
        doc = tomlkit.parse(data.decode("utf-8")).unwrap()
    except UnicodeDecodeError:
        raise DraftError(f"{path}: not UTF-8 text (truncated or overwritten?)") from None
    except Exception as e:  # noqa: BLE001 - tomlkit's parse errors
        raise DraftError(f"{path}: not valid TOML (truncated?): {' '.join(str(e).split())}") from None
    meta = doc.get("draft")
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise DraftError(f"{path}: not a draft of this version (draft.format must be {fmt!r})")
    return doc, mtime


def _check_config(c: "_p._Checker", cls: type, raw: Any, prefix: str) -> Any:
    """One settings table, every field checked as the preset validator checks it (type,
    choices, range) but each on its own: the editor may hold a combination a preset refuses."""
    raw = c.table(raw, prefix)
    defaults = cls()
    for key in raw:
        if key not in {f.name for f in dataclasses.fields(cls)}:
            raise c.error(f"{prefix}.{key}", "unknown key")
    values: dict[str, Any] = {}
    choices = {"model.kind": _p.KINDS, "model.cell": _p.CELLS, "model.attention": _p.ATTENTIONS,
               "model.encoder": _p.ENCODERS, "tokenizer.source": _p.TOKENIZERS, "tokenizer.target": _p.TOKENIZERS}
    numbers = {"model.dropout": ("must be a number from 0 up to but not including 1", lambda v: 0 <= v < 1),
               "training.lr": ("must be a number greater than 0 and at most 1", lambda v: 0 < v <= 1),
               "training.teacher_forcing": ("must be a number from 0 to 1", lambda v: 0 <= v <= 1)}
    for f in dataclasses.fields(cls):
        name = f"{prefix}.{f.name}"
        if f.name not in raw:
            values[f.name] = getattr(defaults, f.name)
        elif name in choices:
            values[f.name] = c.choice(raw[f.name], name, choices[name])
        elif name in numbers:
            allowed, ok = numbers[name]
            values[f.name] = float(c.number(raw, prefix, f.name, allowed, ok))
        else:
            values[f.name] = c.integer(raw, prefix, f.name)
    return cls(**values)


def _draft_text(c: "_p._Checker", value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise c.error(name, f"must be a string, got {_p._describe(value)}")
    if len(value) > limit:
        raise c.error(name, f"is {len(value)} characters long; at most {limit}")
    return value


def read_draft(path: str | os.PathLike[str]) -> Draft:
    """Read a preset draft back, validated (see the module docstring); any problem is a
    DraftError naming the file and the field."""
    path = Path(path)
    doc, mtime = _parse(path, DRAFT_FORMAT)
    c = _p._Checker(os.fspath(path))
    try:
        body = c.table(c.get(doc, "", "preset", "a [preset] table is required"), "preset")
        name = _draft_text(c, body.get("name", ""), "preset.name", _p.MAX_NAME_CHARS)
        description = _draft_text(c, body.get("description", ""), "preset.description", _p.MAX_DESCRIPTION_CHARS)
        model = _check_config(c, ModelConfig, body.get("model", {}), "model")
        tokenizer = _check_config(c, TokenizerConfig, body.get("tokenizer", {}), "tokenizer")
        training = _check_config(c, TrainingConfig, body.get("training", {}), "training")
        raw_pairs = body.get("pairs", [])
        if not isinstance(raw_pairs, list):
            raise c.error("pairs", "must be an array of tables")
        if len(raw_pairs) > _p.MAX_PAIRS:
            raise c.error("pairs", f"must have at most {_p.MAX_PAIRS} pairs, got {len(raw_pairs)}")
        pairs = []
        for i, raw in enumerate(raw_pairs):
            if not isinstance(raw, dict) or set(raw) - {"source", "target", "alignment"}:
                raise c.error(f"pairs[{i}]", "must be a table with keys source, target and (optional) alignment")
            source, target = (_draft_text(c, raw.get(k, ""), f"pairs[{i}].{k}", MAX_DRAFT_SENTENCE_CHARS)
                              for k in ("source", "target"))
            links = raw.get("alignment")
            try:
                links = None if links is None else parse_alignment(str(links))
            except ValueError as e:
                raise c.error(f"pairs[{i}].alignment", str(e)) from None
            pairs.append(Pair(source, target, links))
    except _p.PresetError as e:
        raise DraftError(str(e)) from None
    preset = Preset(name=name, description=description, model=model, tokenizer=tokenizer, training=training,
                    pairs=tuple(pairs))
    if "data" in body:  # a corpus preset: read the corpus again, as a preset file with this [data] would
        raw = body["data"]
        if not isinstance(raw, dict) or not isinstance(raw.get("file"), str):
            raise DraftError(f"{path}: data: must be a table naming a file")
        try:
            data = DataConfig(**{k: v for k, v in raw.items() if k in DataConfig.__dataclass_fields__})
            preset = loads_preset(dumps_preset(dataclasses.replace(preset, data=data)))
        except (_p.PresetError, TypeError) as e:
            raise DraftError(f"{path}: {e}") from None
    origin = doc["draft"].get("origin") or None
    return Draft(file=path, origin=None if origin is None else Path(str(origin)), preset=preset, mtime_ns=mtime)


# --------------------------------------------------------------------------- lecture drafts


@dataclass(frozen=True)
class LectureDraft:
    file: Path
    origin: Path | None
    lecture: Any  # sandbox.lectures.Lecture, validated
    mtime_ns: int


def write_lecture_draft(key: str, lecture: Any) -> Path:
    """Write a lecture editor's state (valid or not) atomically; raises OSError naming the draft."""
    from .lectures import _to_data

    doc = _header(LECTURE_DRAFT_FORMAT, lecture.path, "lecture")
    data = _to_data(lecture)

    def clean(v: Any) -> Any:  # TOML has no None; a lone surrogate cannot be written
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v if x is not None]
        return _text(v) if isinstance(v, str) else v

    doc["lecture"] = clean(data)
    return atomic_write_bytes(lecture_draft_path(key), tomlkit.dumps(doc).encode("utf-8"), what="draft",
                              make_parents=True)


def read_lecture_draft(path: str | os.PathLike[str]) -> LectureDraft:
    """Read a lecture draft back, validated as a lecture file is (its presets must load);
    any problem is a DraftError naming the draft file and the field."""
    from .lectures import LectureError, _build

    path = Path(path)
    doc, mtime = _parse(path, LECTURE_DRAFT_FORMAT)
    origin = doc["draft"].get("origin") or None
    origin_path = None if origin is None else Path(str(origin))
    try:
        # validated as if it were the lecture file itself, so relative preset paths resolve
        lecture = _build(doc.get("lecture"), origin_path, None)
    except LectureError as e:
        raise DraftError(f"{path}: {e}") from None
    return LectureDraft(file=path, origin=origin_path, lecture=lecture, mtime_ns=mtime)


# --------------------------------------------------------------------------- offering back


@dataclass(frozen=True)
class PendingDraft:
    """What an editor that opens a file should do about a draft left for it:
    ``draft`` to offer back (None: nothing to offer), ``problem`` to tell the user ("" when
    all is well: a broken draft was set aside, see :func:`set_aside`)."""

    draft: Draft | LectureDraft | None = None
    problem: str = ""


def pending_draft(key: str, opened: Any, *, lecture: bool = False) -> PendingDraft:
    """The draft an earlier session left for ``key`` that is worth offering back to an
    editor that has just opened ``opened`` (a Preset, or a Lecture with ``lecture``; its
    ``path`` is the file, None for one never saved).

    Nothing is offered for a draft older than the file (stale), one that edits another file
    with the same key, or one equal to ``opened`` (that one is deleted). A draft that does
    not read back (:class:`DraftError`) is set aside as ``*.bad``, never restored half-way,
    and ``problem`` says so. The editor asks the user; on "no" it deletes the draft."""
    find, read = (find_lecture_draft, read_lecture_draft) if lecture else (find_draft, read_draft)
    origin = getattr(opened, "path", None)
    path = find(key, newer_than=origin)
    if path is None:
        return PendingDraft()
    try:
        draft = read(path)
    except DraftError as e:
        kept = set_aside(path)
        return PendingDraft(problem=f"ignored the draft of unsaved edits: {e}" + (f"; kept as {kept}" if kept else ""))
    if not same_file(draft.origin, origin):
        return PendingDraft()  # a draft of another file with the same key
    if (draft.lecture if lecture else draft.preset) == opened:
        (delete_lecture_draft if lecture else delete_draft)(key)
        return PendingDraft()
    return PendingDraft(draft=draft)
