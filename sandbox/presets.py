"""Presets: a toy model, its training settings and a handful of sentence pairs, as TOML.

Loading validates everything and turns every problem into one :class:`PresetError` that
names the file, the field (``pairs[3].target``) and what is allowed; nothing else escapes.
Saving validates first, keeps the comments and key order of the file the preset was read
from (tomlkit edits the original document in place), and writes atomically.

No Qt here: the editor in ``widgets/`` calls :func:`pair_problems` and :func:`save_preset`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from . import shipped as _shipped
from . import userdirs as _userdirs
from .names import ATTENTIONS, CELLS, KINDS  # noqa: F401 - re-exported; defined in sandbox.names
from .tomlfile import USER_HOME_ENV  # noqa: F401 - still importable from here
from .tomlfile import (SavedFile, atomic_write, find_file, parse_toml, pop_trivia, read_file, refuse_shipped,
                       toml_files, user_data_dir)
from .tomlfile import plain as _plain
from .validation import MISSING as _MISSING
from .validation import Checker, FileError
from .validation import choices as _choices
from .validation import describe as _describe
from .validation import join as _join

__all__ = [
    "MAX_SENTENCE_CHARS",
    "MAX_PAIRS",
    "MAX_NAME_CHARS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_FILE_BYTES",
    "KINDS",
    "CELLS",
    "ATTENTIONS",
    "ENCODERS",
    "TOKENIZERS",
    "PresetError",
    "Pair",
    "ModelConfig",
    "TokenizerConfig",
    "TrainingConfig",
    "Preset",
    "loads_preset",
    "load_preset",
    "validate_preset",
    "pair_problems",
    "dumps_preset",
    "save_preset",
    "SHIPPED_DIR",
    "user_presets_dir",
    "list_presets",
    "find_preset",
    "ignored_user_presets",
]

MAX_SENTENCE_CHARS = 200  # per sentence, after strip
MAX_PAIRS = 200
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_FILE_BYTES = 1_000_000  # a full preset of MAX_PAIRS long pairs is well under this

ENCODERS = ("uni", "bi")
TOKENIZERS = ("word", "char")

SHIPPED_DIR: Path = _shipped.SHIPPED_DIR  # sandbox.shipped decides what is shipped


# --------------------------------------------------------------------------- errors


class PresetError(FileError):
    """One problem with a preset: which file, which field, and what is allowed."""

    what = "preset"


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Pair:
    """One training example: a source sentence and its translation."""

    source: str
    target: str


@dataclass(frozen=True)
class ModelConfig:
    """The toy model. Seq2seq uses cell/attention/embed/hidden; the Transformer the rest."""

    kind: str = "seq2seq"  # seq2seq | transformer
    cell: str = "gru"  # seq2seq: rnn | gru | lstm
    attention: str = "bahdanau"  # seq2seq: none | dot | scaled_dot | general | bahdanau
    embed: int = 16  # seq2seq embedding size
    hidden: int = 32  # seq2seq hidden size
    encoder: str = "uni"  # seq2seq: uni | bi (bidirectional: h_j = forward_j + backward_j)
    d_model: int = 32  # transformer width
    heads: int = 2  # transformer heads; must divide d_model
    layers: int = 1  # transformer layers (encoder and decoder each)
    d_ff: int = 64  # transformer feed-forward width
    dropout: float = 0.0  # transformer dropout, in [0, 1)


@dataclass(frozen=True)
class TokenizerConfig:
    """How sentences are split: into words (on whitespace) or characters."""

    source: str = "word"  # word | char
    target: str = "word"  # word | char


@dataclass(frozen=True)
class TrainingConfig:
    """Training loop settings."""

    steps: int = 400
    batch_size: int = 16
    lr: float = 0.005
    teacher_forcing: float = 1.0  # probability of feeding the gold token while training
    seed: int = 0


@dataclass(frozen=True)
class Preset(SavedFile):
    """A whole preset. ``path`` and ``source_text`` do not take part in equality."""

    name: str
    description: str
    model: ModelConfig
    tokenizer: TokenizerConfig
    training: TrainingConfig
    pairs: tuple[Pair, ...]
    path: Path | None = field(default=None, compare=False)
    # the original TOML text; dumps_preset edits it in place so comments survive a save
    source_text: str | None = field(default=None, compare=False, repr=False)

    _items, _title, _fallback = "pairs", "name", "preset"  # see SavedFile


# --------------------------------------------------------------------------- schema

_TOP_KEYS = ("name", "description", "model", "tokenizer", "training", "pairs")
_SEQ2SEQ_KEYS = ("kind", "cell", "attention", "embed", "hidden", "encoder")  # encoder optional
_TRANSFORMER_KEYS = ("kind", "d_model", "heads", "layers", "d_ff", "dropout")
_MODEL_KEYS = {"seq2seq": _SEQ2SEQ_KEYS, "transformer": _TRANSFORMER_KEYS}
_TOKENIZER_KEYS = ("source", "target")
_TRAINING_KEYS = ("steps", "batch_size", "lr", "teacher_forcing", "seed")
_PAIR_KEYS = ("source", "target")

_INT_RANGES = {
    "model.embed": (1, 512),
    "model.hidden": (1, 1024),
    "model.d_model": (1, 512),
    "model.heads": (1, 16),
    "model.layers": (1, 6),
    "model.d_ff": (1, 4096),
    "training.steps": (1, 100_000),
    "training.batch_size": (1, 1024),
    "training.seed": (0, 2**32 - 1),
}


# --------------------------------------------------------------------------- validation


class _Checker(Checker):
    """The shared checks raising PresetError, plus integers checked against _INT_RANGES."""

    Error = PresetError

    def integer(self, table: Mapping[str, Any], prefix: str, key: str) -> int:
        lo, hi = _INT_RANGES[f"{prefix}.{key}"]
        allowed = f"must be an integer from {lo} to {hi}"
        value = self.get(table, prefix, key, allowed)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            got = _describe(value)
            if isinstance(value, float) and value.is_integer():
                got += f" (a float; write {int(value)})"
            raise self.error(f"{prefix}.{key}", f"{allowed}, got {got}")
        return int(value)


def _check_model(c: _Checker, data: Mapping[str, Any]) -> ModelConfig:
    model = c.table(c.get(data, "", "model", "a [model] table is required"), "model")
    kind = c.choice(c.get(model, "model", "kind", f"must be one of {_choices(KINDS)}"), "model.kind", KINDS)
    allowed = _MODEL_KEYS[kind]
    other = "transformer" if kind == "seq2seq" else "seq2seq"
    for key in model:
        if key in allowed:
            continue
        if key in _MODEL_KEYS[other]:
            raise c.error(_join("model", key), f'only allowed when kind = "{other}"; allowed keys: {", ".join(allowed)}')
        raise c.error(_join("model", key), f'unknown key; allowed keys for kind = "{kind}": {", ".join(allowed)}')
    if kind == "seq2seq":
        cell = c.choice(c.get(model, "model", "cell", f"must be one of {_choices(CELLS)}"), "model.cell", CELLS)
        attention = c.choice(
            c.get(model, "model", "attention", f"must be one of {_choices(ATTENTIONS)}"), "model.attention", ATTENTIONS
        )
        encoder = c.choice(model.get("encoder", "uni"), "model.encoder", ENCODERS)
        return ModelConfig(
            kind=kind,
            cell=cell,
            attention=attention,
            embed=c.integer(model, "model", "embed"),
            hidden=c.integer(model, "model", "hidden"),
            encoder=encoder,
        )
    d_model = c.integer(model, "model", "d_model")
    heads = c.integer(model, "model", "heads")
    if d_model % heads:
        raise c.error("model.heads", f"must divide d_model ({d_model}) evenly, got {heads}")
    return ModelConfig(
        kind=kind,
        d_model=d_model,
        heads=heads,
        layers=c.integer(model, "model", "layers"),
        d_ff=c.integer(model, "model", "d_ff"),
        dropout=c.number(model, "model", "dropout", "must be a number from 0 up to but not including 1", lambda v: 0 <= v < 1),
    )


def _check_tokenizer(c: _Checker, data: Mapping[str, Any]) -> TokenizerConfig:
    raw = data.get("tokenizer", _MISSING)
    if raw is _MISSING:
        return TokenizerConfig()
    tok = c.table(raw, "tokenizer")
    c.no_unknown(tok, "tokenizer", _TOKENIZER_KEYS)
    default = TokenizerConfig()
    return TokenizerConfig(
        source=c.choice(tok.get("source", default.source), "tokenizer.source", TOKENIZERS),
        target=c.choice(tok.get("target", default.target), "tokenizer.target", TOKENIZERS),
    )


def _check_training(c: _Checker, data: Mapping[str, Any]) -> TrainingConfig:
    tr = c.table(c.get(data, "", "training", "a [training] table is required"), "training")
    c.no_unknown(tr, "training", _TRAINING_KEYS)
    return TrainingConfig(
        steps=c.integer(tr, "training", "steps"),
        batch_size=c.integer(tr, "training", "batch_size"),
        lr=c.number(tr, "training", "lr", "must be a number greater than 0 and at most 1", lambda v: 0 < v <= 1),
        teacher_forcing=c.number(tr, "training", "teacher_forcing", "must be a number from 0 to 1", lambda v: 0 <= v <= 1),
        seed=c.integer(tr, "training", "seed"),
    )


def _pairs_problems(c: _Checker, raw: Any) -> tuple[list[PresetError], list[Pair]]:
    """Every problem with the pairs (in order), and the pairs that passed."""
    if not isinstance(raw, (list, tuple)):
        return [c.error("pairs", f"must be an array of tables ([[pairs]] sections), got {_describe(raw)}")], []
    problems: list[PresetError] = []
    good: list[Pair] = []
    if not 1 <= len(raw) <= MAX_PAIRS:
        problems.append(c.error("pairs", f"must have 1 to {MAX_PAIRS} pairs, got {len(raw)}"))
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(raw):
        prefix = f"pairs[{i}]"
        if not isinstance(item, Mapping):
            problems.append(c.error(prefix, f"must be a table with keys source and target ([[pairs]] section), got {_describe(item)}"))
            continue
        texts: dict[str, str] = {}
        for key in item:
            if key not in _PAIR_KEYS:
                problems.append(c.error(_join(prefix, key), f"unknown key; allowed keys: {', '.join(_PAIR_KEYS)}"))
        for key in _PAIR_KEYS:
            name = f"{prefix}.{key}"
            value = item.get(key, _MISSING)
            if value is _MISSING:
                problems.append(c.error(name, "missing; must be a non-empty string"))
                continue
            try:
                texts[key] = c.text(value, name, MAX_SENTENCE_CHARS)
            except PresetError as e:
                problems.append(e)
        if len(texts) == 2 and len(item) == 2:
            pair = (texts["source"], texts["target"])
            if pair in seen:
                problems.append(c.error(prefix, f"duplicate of pairs[{seen[pair]}] (same source and target)"))
            else:
                seen[pair] = i
                good.append(Pair(*pair))
    return problems, good


def _build(data: Any, path: str | os.PathLike[str] | None, source_text: str | None = None) -> Preset:
    """Validate a plain dict (from TOML or from an in-memory preset) into a Preset."""
    c = _Checker(None if path is None else os.fspath(path))
    if not isinstance(data, Mapping):
        raise c.error(None, "the top level must be a table")
    c.no_unknown(data, "", _TOP_KEYS)
    name = c.text(c.get(data, "", "name", "must be a non-empty string"), "name", MAX_NAME_CHARS)
    description = c.description(data, MAX_DESCRIPTION_CHARS)
    model = _check_model(c, data)
    tokenizer = _check_tokenizer(c, data)
    training = _check_training(c, data)
    problems, pairs = _pairs_problems(c, c.get(data, "", "pairs", f"add 1 to {MAX_PAIRS} [[pairs]] sections"))
    if problems:
        raise problems[0]
    return Preset(
        name=name,
        description=description,
        model=model,
        tokenizer=tokenizer,
        training=training,
        pairs=tuple(pairs),
        path=None if path is None else Path(path),
        source_text=source_text,
    )


def _model_dict(m: Any) -> dict[str, Any]:
    kind = getattr(m, "kind", _MISSING)
    out: dict[str, Any] = {}
    keys = _MODEL_KEYS.get(kind, ("kind",)) if isinstance(kind, str) else ("kind",)
    for key in keys:
        value = getattr(m, key, _MISSING)
        if key == "encoder" and value == "uni":
            continue  # the default; files that never mention it stay as they are
        if value is not _MISSING:
            out[key] = value
    return out


def _attrs(obj: Any, keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k in keys if (v := getattr(obj, k, _MISSING)) is not _MISSING}


def _pair_dict(p: Any) -> Any:
    if isinstance(p, Pair):
        return {"source": p.source, "target": p.target}
    if isinstance(p, Mapping):
        return dict(p)
    return p


def _to_data(preset: Any) -> dict[str, Any]:
    """The dict a TOML file for this in-memory preset would hold (only the relevant keys)."""
    data: dict[str, Any] = {}
    for key in ("name", "description"):
        value = getattr(preset, key, _MISSING)
        if value is not _MISSING:
            data[key] = value
    for key, obj, conv in (
        ("model", getattr(preset, "model", _MISSING), _model_dict),
        ("tokenizer", getattr(preset, "tokenizer", _MISSING), lambda t: _attrs(t, _TOKENIZER_KEYS)),
        ("training", getattr(preset, "training", _MISSING), lambda t: _attrs(t, _TRAINING_KEYS)),
    ):
        if obj is not _MISSING:
            data[key] = conv(obj) if dataclasses.is_dataclass(obj) else obj
    pairs = getattr(preset, "pairs", _MISSING)
    if pairs is not _MISSING:
        data["pairs"] = [_pair_dict(p) for p in pairs] if isinstance(pairs, (list, tuple)) else pairs
    return data


def _normalize(preset: Any, path: str | os.PathLike[str] | None) -> Preset:
    """Validate an in-memory preset; return it with stripped text and canonical types."""
    if not isinstance(preset, Preset):
        raise PresetError(path, None, f"expected a Preset, got {_describe(preset)}")
    return _build(_to_data(preset), path, preset.source_text)


# --------------------------------------------------------------------------- loading


def _label(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


def loads_preset(text: str, path: str | os.PathLike[str] | None = None) -> Preset:
    """Parse and validate preset TOML. ``path`` only labels errors and sets ``Preset.path``."""
    data, text = parse_toml(text, _label(path), PresetError, MAX_FILE_BYTES,
                            "name, [model], [training] and [[pairs]]", locate=True)
    return _build(data, path, text)


def load_preset(path: str | os.PathLike[str]) -> Preset:
    """Read and validate a preset file. Every failure, I/O included, is a PresetError."""
    label, data = read_file(path, PresetError, MAX_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise PresetError(
            label, None, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at line {line}, column {col}); save the file as UTF-8"
        ) from None
    return loads_preset(text, path)


def validate_preset(preset: Preset) -> None:
    """Apply the file checks to an in-memory preset; raise the first problem (path=preset.path)."""
    _normalize(preset, getattr(preset, "path", None))


def pair_problems(pairs: Iterable[Pair | Mapping[str, Any]], path: str | os.PathLike[str] | None = None) -> list[PresetError]:
    """Every problem with a list of pairs (count, blanks, lengths, control chars, duplicates),
    in order, for showing inline in an editor table. Empty when the pairs are fine."""
    c = _Checker(_label(path))
    try:
        raw = [_pair_dict(p) for p in pairs]
    except TypeError:
        return [c.error("pairs", f"must be a list of pairs, got {_describe(pairs)}")]
    return _pairs_problems(c, raw)[0]


# --------------------------------------------------------------------------- dumping


def _toml(value: Any) -> str:
    return tomlkit.item(value).as_string()


def _kv(key: str, value: Any, comment: str = "") -> str:
    line = f"{key} = {_toml(value)}"
    return f"{line:<25} # {comment}" if comment else line


def _dumps_fresh(p: Preset) -> str:
    m, t, tr = p.model, p.tokenizer, p.training
    lines = [
        "# Attention Sandbox preset. Comments are kept when the app saves this file.",
        _kv("name", p.name),
        _kv("description", p.description),
        "",
        "[model]",
        _kv("kind", m.kind, " | ".join(KINDS)),
    ]
    if m.kind == "seq2seq":
        lines += [
            _kv("cell", m.cell, " | ".join(CELLS)),
            _kv("attention", m.attention, " | ".join(ATTENTIONS)),
            _kv("embed", m.embed),
            _kv("hidden", m.hidden),
        ]
        if m.encoder != "uni":
            lines.append(_kv("encoder", m.encoder, "uni | bi"))
    else:
        lines += [
            _kv("d_model", m.d_model),
            _kv("heads", m.heads, "must divide d_model"),
            _kv("layers", m.layers),
            _kv("d_ff", m.d_ff),
            _kv("dropout", m.dropout),
        ]
    lines += [
        "",
        "[tokenizer]",
        _kv("source", t.source, " | ".join(TOKENIZERS)),
        _kv("target", t.target),
        "",
        "[training]",
        _kv("steps", tr.steps),
        _kv("batch_size", tr.batch_size),
        _kv("lr", tr.lr),
        _kv("teacher_forcing", tr.teacher_forcing, "probability of feeding the gold token"),
        _kv("seed", tr.seed),
    ]
    for pair in p.pairs:
        lines += ["", "[[pairs]]", _kv("source", pair.source), _kv("target", pair.target)]
    return "\n".join(lines) + "\n"


def _same(old: Any, new: Any) -> bool:
    """True when the document's value already means ``new`` (so its spelling is kept)."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old == new
    return False


def _sync_table(table: Any, values: Mapping[str, Any], *, prune: bool = True) -> None:
    """Set each value whose meaning changed; with ``prune``, drop keys not in ``values``."""
    if prune:
        for key in [k for k in table if k not in values]:
            del table[key]
    for key, value in values.items():
        if key not in table or not _same(_plain(table[key]), value):
            table[key] = value


def _pop_trailing_trivia(table: Table) -> list[Any]:
    """Remove and return the comments/blank lines at the end of a table's body.

    In tomlkit, the comments just above a ``[[pairs]]`` header live at the end of the
    previous table; they belong with whatever follows, so they move rather than vanish."""
    return pop_trivia(table.value.body)


def _append_trivia(table: Table, items: Iterable[Any]) -> None:
    for item in items:
        table.value.body.append((None, item))


def _table_before(doc: Any, key: str) -> Table | None:
    body = doc.body
    for i, (k, _item) in enumerate(body):
        if k is not None and k.key == key:
            if i > 0 and isinstance(body[i - 1][1], Table):
                return body[i - 1][1]
            return None
    return None


def _new_pair_table(pair: tuple[str, str]) -> Table:
    table = tomlkit.table()
    table["source"] = pair[0]
    table["target"] = pair[1]
    return table


def _sync_pairs(doc: Any, pairs: Sequence[Pair]) -> None:
    new = [(p.source, p.target) for p in pairs]
    item = doc.item("pairs") if "pairs" in doc else None
    if not isinstance(item, AoT):
        if "pairs" in doc:
            del doc["pairs"]
        aot = tomlkit.aot()
        for pair in new:
            aot.append(_new_pair_table(pair))
        doc["pairs"] = aot
        return
    aot = item
    old = [(str(t["source"]).strip(), str(t["target"]).strip()) for t in aot]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    # Work from the end so indices of earlier tables stay valid.
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        common = min(i2 - i1, j2 - j1)
        for offset, pair in enumerate(new[j1 + common : j2]):  # more new pairs than old
            pos = i1 + common + offset
            table = _new_pair_table(pair)
            if pos > 0:  # take over the gap (comments, blank line) after the previous table
                prev = aot[pos - 1]
                _append_trivia(table, _pop_trailing_trivia(prev))
                prev.value.body.append((None, tomlkit.nl()))
            elif len(aot):
                table.value.body.append((None, tomlkit.nl()))
            aot.insert(pos, table)
        for idx in range(i2 - 1, i1 + common - 1, -1):  # more old pairs than new
            trailing = _pop_trailing_trivia(aot[idx])
            keeper = aot[idx - 1] if idx > 0 else _table_before(doc, "pairs")
            del aot[idx]
            if keeper is not None:
                _append_trivia(keeper, trailing)
        for k in range(common):  # changed pairs: edit values in place
            _sync_table(aot[i1 + k], {"source": new[j1 + k][0], "target": new[j1 + k][1]})


def _dumps_in_place(p: Preset, source: str) -> str:
    doc = tomlkit.parse(source)
    _sync_table(doc, {"name": p.name}, prune=False)
    if p.description or "description" in doc:
        _sync_table(doc, {"description": p.description}, prune=False)
    _sync_table(doc["model"], _model_dict(p.model))
    tok = _attrs(p.tokenizer, _TOKENIZER_KEYS)
    if "tokenizer" in doc:
        _sync_table(doc["tokenizer"], tok)
    elif p.tokenizer != TokenizerConfig():
        table = tomlkit.table()
        for k, v in tok.items():
            table[k] = v
        table.value.body.append((None, tomlkit.nl()))
        doc._insert_after("model", "tokenizer", table)
    _sync_table(doc["training"], _attrs(p.training, _TRAINING_KEYS))
    _sync_pairs(doc, p.pairs)
    text = tomlkit.dumps(doc)
    if text.endswith("\n\n") and not source.endswith("\n\n"):
        text = text.rstrip("\n") + "\n"
    if "\r\n" in source and "\n" not in source.replace("\r\n", ""):
        # a Windows file stays a Windows file (tomlkit writes new lines with plain \n)
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text


def dumps_preset(preset: Preset) -> str:
    """TOML text for a preset; raises PresetError if it is invalid.

    With ``source_text`` set, that document is edited in place (comments, key order and
    value spellings survive; pairs are matched so a kept pair keeps its table and comments).
    If that cannot reproduce the preset exactly, a fresh document is written instead."""
    norm = _normalize(preset, getattr(preset, "path", None))
    if isinstance(preset.source_text, str):
        try:
            text = _dumps_in_place(norm, preset.source_text)
            if loads_preset(text) == norm:
                return text
        except Exception:  # any tomlkit surprise: fall back to a fresh document
            pass
    return _dumps_fresh(norm)


# --------------------------------------------------------------------------- saving


def save_preset(preset: Preset, path: str | os.PathLike[str], *, allow_shipped: bool = False) -> Path:
    """Validate, then write atomically (temp file in the same folder, fsync, os.replace).

    On any failure the old file is untouched, the temp file is removed and a PresetError
    says why. Shipped presets are read-only unless ``allow_shipped`` (for maintainers)."""
    target = Path(path)
    if not allow_shipped:
        refuse_shipped(target, SHIPPED_DIR, user_presets_dir, PresetError)
    # Validation errors name the file being written; norm keeps preset.source_text.
    text = dumps_preset(_normalize(preset, target))
    atomic_write(target, text.encode("utf-8"), PresetError, allow_shipped=allow_shipped)
    return target


# --------------------------------------------------------------------------- finding presets


def user_presets_dir() -> Path:
    """Where edited presets are saved (:func:`sandbox.userdirs.presets_dir`): $ATTENTION_SANDBOX_HOME/presets,
    else the platform's user data folder (~/.local/share/attention-sandbox/presets on Linux). Not created here."""
    return _userdirs.presets_dir()


def list_presets() -> list[tuple[str, Path, bool]]:
    """(key, path, is_user): shipped presets first, then the user's, each sorted by key."""
    return [(p.stem, p, False) for p in toml_files(SHIPPED_DIR)] + [
        (p.stem, p, True) for p in toml_files(user_presets_dir())
    ]


def _shadowing_problems() -> dict[str, tuple[Path, PresetError]]:
    """User presets named like a shipped one that do not load: key → (user file, error)."""
    entries = list_presets()
    shipped = {key for key, _path, is_user in entries if not is_user}
    out: dict[str, tuple[Path, PresetError]] = {}
    for key, path, is_user in entries:
        if is_user and key in shipped:
            try:
                load_preset(path)
            except PresetError as e:
                out[key] = (path, e)
    return out


def ignored_user_presets() -> list[str]:
    """One message per broken user preset that has a shipped preset's name: the shipped
    file is used in its place (by key, in lectures, at start-up) and this says which user
    file was ignored and why."""
    return [f"ignored your preset {path} ({e}); using the shipped {key!r} instead"
            for key, (path, e) in sorted(_shadowing_problems().items())]


def _findable_presets() -> list[tuple[str, Path, bool]]:
    broken = _shadowing_problems()
    return [(key, path, is_user) for key, path, is_user in list_presets()
            if not (is_user and key in broken)]


def find_preset(name_or_path: str | os.PathLike[str]) -> Path:
    """An existing preset file, or a shipped/user key ("ko_en_cat"). A user preset with
    the same key as a shipped one wins (edits of shipped presets are saved there), unless
    it does not load: then the shipped file is found (:func:`ignored_user_presets` says so)."""
    return find_file(name_or_path, _findable_presets, PresetError)
