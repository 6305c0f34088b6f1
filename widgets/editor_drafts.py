"""Drafts: the editor's unsaved state, autosaved so a crash loses at most a second of work.

A draft is a small TOML file ``<home>/drafts/<key>.toml`` (home is $ATTENTION_SANDBOX_HOME,
else ~/.local/share/attention-sandbox). It is written without validating, so half-typed,
invalid states survive too; it is not a preset file (it has a ``[draft]`` table and every
model field of both kinds, so restoring gives back exactly the edited state).

No Qt here; the editor decides when to write, offer and delete drafts.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from sandbox.fileio import atomic_write_bytes
from sandbox.corpus import DataConfig, format_alignment, parse_alignment
from sandbox.presets import (ModelConfig, Pair, Preset, PresetError, TokenizerConfig, TrainingConfig, data_file,
                             dumps_preset, loads_preset, user_presets_dir)

__all__ = ["DRAFT_FORMAT", "Draft", "DraftError", "drafts_dir", "draft_path", "find_draft",
           "dumps_draft", "write_draft", "read_draft", "delete_draft"]

DRAFT_FORMAT = "attention-sandbox/draft@1"


class DraftError(ValueError):
    """A draft file that cannot be read back (corrupt, foreign, or from another version)."""


@dataclass(frozen=True)
class Draft:
    """A draft read back: the edited state, which file it edits, and when it was written."""

    file: Path  # the draft file itself
    origin: Path | None  # the preset file being edited (None for a preset never saved)
    preset: Preset  # the edited state; may be invalid; path/source_text unset
    mtime_ns: int


def drafts_dir() -> Path:
    """``<ATTENTION_SANDBOX_HOME or ~/.local/share/attention-sandbox>/drafts``."""
    return user_presets_dir().parent / "drafts"


def _safe_key(key: str) -> str:
    key = re.sub(r"[^\w.-]+", "_", str(key)).strip("._")
    return key or "preset"


def draft_path(key: str) -> Path:
    return drafts_dir() / f"{_safe_key(key)}.toml"


def _mtime_ns(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return None


def find_draft(key: str, newer_than: str | os.PathLike[str] | None = None) -> Path | None:
    """The draft file for ``key`` if there is one (and, with ``newer_than``, only if it was
    written after that file was last modified: an older draft is stale)."""
    path = draft_path(key)
    mtime = _mtime_ns(path)
    if mtime is None or not path.is_file():
        return None
    if newer_than is not None:
        other = _mtime_ns(Path(newer_than))
        if other is not None and mtime < other:
            return None
    return path


def _text(s: Any) -> str:
    # A lone surrogate cannot be written as UTF-8; replace it rather than lose the draft.
    return str(s).encode("utf-8", "replace").decode("utf-8")


def _as_table(obj: Any) -> Any:
    table = tomlkit.table()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        table[f.name] = _text(value) if isinstance(value, str) else value
    return table


def dumps_draft(preset: Preset, origin: str | os.PathLike[str] | None) -> str:
    """TOML text of an edited state, valid or not."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Attention Sandbox draft: unsaved edits, offered back when the preset is opened."))
    doc.add(tomlkit.comment("Deleted after a save or an explicit discard. This is not a preset file."))
    draft = tomlkit.table()
    draft["format"] = DRAFT_FORMAT
    draft["origin"] = "" if origin is None else _text(os.fspath(origin))
    doc["draft"] = draft
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
    """Write the draft atomically (temp file + rename); raises OSError on failure."""
    path = draft_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, dumps_draft(preset, origin).encode("utf-8"))
    return path


def _config(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise DraftError(f"{where} must be a table")
    values = {}
    for f in dataclasses.fields(cls):
        default = f.default
        value = raw.get(f.name, default)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise DraftError(f"{where}.{f.name} has the wrong type")
        values[f.name] = value
    return cls(**values)


def read_draft(path: str | os.PathLike[str]) -> Draft:
    """Read a draft back; any problem is a DraftError."""
    path = Path(path)
    try:
        data = tomlkit.parse(path.read_bytes().decode("utf-8")).unwrap()
        mtime = os.stat(path).st_mtime_ns
    except DraftError:
        raise
    except Exception as e:  # OSError, UnicodeDecodeError, tomlkit's parse errors
        raise DraftError(f"{path}: cannot read draft: {e}") from None
    try:
        meta, body = data["draft"], data["preset"]
        if meta.get("format") != DRAFT_FORMAT:
            raise DraftError(f"{path}: not a draft of this version")
        pairs_raw = body.get("pairs", [])
        if not isinstance(pairs_raw, list):
            raise DraftError(f"{path}: pairs must be an array")
        pairs = []
        for p in pairs_raw:
            if not (isinstance(p, dict) and isinstance(p.get("source"), str) and isinstance(p.get("target"), str)):
                raise DraftError(f"{path}: a pair is not two strings")
            links = p.get("alignment")
            try:
                links = None if links is None else parse_alignment(str(links))
            except ValueError:
                raise DraftError(f"{path}: a pair's alignment is broken") from None
            pairs.append(Pair(p["source"], p["target"], links))
        name, description = body.get("name"), body.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise DraftError(f"{path}: name and description must be strings")
        preset = Preset(
            name=name,
            description=description,
            model=_config(ModelConfig, body.get("model"), "model"),
            tokenizer=_config(TokenizerConfig, body.get("tokenizer"), "tokenizer"),
            training=_config(TrainingConfig, body.get("training"), "training"),
            pairs=tuple(pairs),
        )
        if "data" in body:  # read the corpus again, as a preset file with this [data] would
            raw = body["data"]
            if not isinstance(raw, dict) or not isinstance(raw.get("file"), str):
                raise DraftError(f"{path}: data must be a table naming a file")
            try:
                data = DataConfig(**{k: v for k, v in raw.items() if k in DataConfig.__dataclass_fields__})
                preset = loads_preset(dumps_preset(dataclasses.replace(preset, data=data)))
            except (PresetError, TypeError) as e:
                raise DraftError(f"{path}: {getattr(e, 'message', e)}") from None
        origin = meta.get("origin") or None
        return Draft(file=path, origin=None if origin is None else Path(str(origin)), preset=preset, mtime_ns=mtime)
    except DraftError:
        raise
    except (KeyError, TypeError, AttributeError) as e:
        raise DraftError(f"{path}: not a draft file ({e})") from None


def delete_draft(key: str) -> None:
    """Remove the draft for ``key`` if there is one."""
    try:
        draft_path(key).unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass  # best effort: an undeletable draft is offered again, never lost
