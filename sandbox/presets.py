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
from .corpus import MAX_SENTENCE_CHARS, Corpus, CorpusError, DataConfig, Pair, parse_alignment, read_corpus, split_indices
from .corpus import count_tokens as _count_tokens
from .corpus import format_alignment
from .text import normalize as _normalize_text
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
    "MAX_POSITIONS",
    "TEACHER_FORCING_HELP",
    "TEACHER_FORCING_COMMENT",
    "KINDS",
    "CELLS",
    "ATTENTIONS",
    "ENCODERS",
    "TOKENIZERS",
    "PresetError",
    "Pair",
    "DataConfig",
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
    "with_seed",
    "data_file",
]

MAX_PAIRS = 200  # inline [[pairs]]; a [data] corpus file has no such cap
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_FILE_BYTES = 1_000_000  # a full preset of MAX_PAIRS long pairs is well under this
# Positions the Transformer can encode (sandbox.transformer.MAX_LEN; kept here so loading a
# preset needs no torch). A sentence's tokens plus <eos> must fit.
MAX_POSITIONS = 256

ENCODERS = ("uni", "bi")
TOKENIZERS = ("word", "char", "subword")

SHIPPED_DIR: Path = _shipped.SHIPPED_DIR  # sandbox.shipped decides what is shipped


# --------------------------------------------------------------------------- errors


class PresetError(FileError):
    """One problem with a preset: which file, which field, and what is allowed."""

    what = "preset"


# --------------------------------------------------------------------------- dataclasses


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
    """How sentences are split: into words, characters, or SentencePiece subwords trained on
    the preset's training pairs (``vocab_size`` pieces per side, specials included)."""

    source: str = "word"  # word | char | subword
    target: str = "word"  # word | char | subword
    vocab_size: int = 1000  # subword only


# What training.teacher_forcing means, said once (the editor's tooltip, a new preset's
# comment; the Trainer implements it, sandbox/train.py).
TEACHER_FORCING_HELP = (
    "For each target token, the probability of feeding the gold previous token while training "
    "(else the model's own prediction), drawn anew per token: scheduled sampling "
    "(Bengio et al. 2015). 1.0 = always gold; 0 = always its own predictions.")
TEACHER_FORCING_COMMENT = "per target token: probability of feeding the gold previous token"


@dataclass(frozen=True)
class TrainingConfig:
    """Training loop settings."""

    steps: int = 400
    batch_size: int = 16
    lr: float = 0.005
    teacher_forcing: float = 1.0  # per target token: probability of feeding the gold previous token
    seed: int = 0


@dataclass(frozen=True)
class Preset(SavedFile):
    """A whole preset. ``path`` and ``source_text`` do not take part in equality.

    ``pairs`` are the pairs the model trains on: the inline ``[[pairs]]``, or the training part
    of the ``[data]`` corpus. With ``data``, ``heldout_pairs`` is the part held out for
    evaluation (drawn with ``training.seed``; disjoint from ``pairs``), ``skipped`` lists the
    corpus lines that could not be read as ``(line number, reason)``, and ``too_long`` /
    ``duplicates`` count the pairs left out for length and for repeating an earlier pair."""

    name: str
    description: str
    model: ModelConfig
    tokenizer: TokenizerConfig
    training: TrainingConfig
    pairs: tuple[Pair, ...]
    data: DataConfig | None = None
    heldout_pairs: tuple[Pair, ...] = field(default=(), repr=False)
    skipped: tuple[tuple[int, str], ...] = field(default=(), repr=False)
    too_long: int = 0
    duplicates: int = 0
    path: Path | None = field(default=None, compare=False)
    # the original TOML text; dumps_preset edits it in place so comments survive a save
    source_text: str | None = field(default=None, compare=False, repr=False)

    _items, _title, _fallback = "pairs", "name", "preset"  # see SavedFile

    @property
    def all_pairs(self) -> tuple[Pair, ...]:
        """Training pairs followed by held-out pairs."""
        return self.pairs + self.heldout_pairs

    def file_order(self) -> tuple[Pair, ...]:
        """Every pair (training and held-out) in the order of the file: the same for every seed."""
        return tuple(_file_order(self)) if self.heldout_pairs else self.pairs

    def split(self, name: str) -> tuple[Pair, ...]:
        """``train``, ``heldout`` or ``all``. ``heldout`` of a preset that holds nothing out
        (inline pairs, or ``heldout = 0``) is the training pairs, as DESIGN.md says."""
        if name == "train":
            return self.pairs
        if name == "heldout":
            return self.heldout_pairs or self.pairs
        if name == "all":
            return self.all_pairs
        raise ValueError(f"unknown split {name!r}; allowed: train, heldout, all")


# --------------------------------------------------------------------------- schema

_TOP_KEYS = ("name", "description", "model", "tokenizer", "training", "pairs", "data")
_SEQ2SEQ_KEYS = ("kind", "cell", "attention", "embed", "hidden", "encoder")  # encoder optional
_TRANSFORMER_KEYS = ("kind", "d_model", "heads", "layers", "d_ff", "dropout")
_MODEL_KEYS = {"seq2seq": _SEQ2SEQ_KEYS, "transformer": _TRANSFORMER_KEYS}
_TOKENIZER_KEYS = ("source", "target", "vocab_size")
_TRAINING_KEYS = ("steps", "batch_size", "lr", "teacher_forcing", "seed")
_PAIR_KEYS = ("source", "target")
_PAIR_OPTIONAL = ("alignment",)
_DATA_KEYS = ("file", "source_column", "target_column", "alignment_column", "heldout", "max_tokens")

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
    "tokenizer.vocab_size": (8, 65536),
    "data.source_column": (1, 1000),
    "data.target_column": (1, 1000),
    "data.alignment_column": (0, 1000),
    "data.max_tokens": (1, 1000),
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
    source = c.choice(tok.get("source", default.source), "tokenizer.source", TOKENIZERS)
    target = c.choice(tok.get("target", default.target), "tokenizer.target", TOKENIZERS)
    vocab_size = c.integer(tok, "tokenizer", "vocab_size") if "vocab_size" in tok else default.vocab_size
    return TokenizerConfig(source=source, target=target, vocab_size=vocab_size)


def _check_data(c: _Checker, data: Mapping[str, Any]) -> DataConfig | None:
    raw = data.get("data", _MISSING)
    if raw is _MISSING:
        return None
    d = c.table(raw, "data")
    c.no_unknown(d, "data", _DATA_KEYS)
    file = c.text(c.get(d, "data", "file", "must name the corpus file (relative to the preset)"), "data.file", 4096)
    default = DataConfig(file=file)
    ints = {k: (c.integer(d, "data", k) if k in d else getattr(default, k))
            for k in ("source_column", "target_column", "alignment_column", "max_tokens")}
    heldout = (c.number(d, "data", "heldout", "must be a number from 0 up to but not including 1",
                        lambda v: 0 <= v < 1) if "heldout" in d else default.heldout)
    if ints["source_column"] == ints["target_column"]:
        raise c.error("data.target_column", f"must differ from source_column ({ints['source_column']})")
    if ints["alignment_column"] in (ints["source_column"], ints["target_column"]):
        raise c.error("data.alignment_column", "must differ from source_column and target_column (0 = none)")
    if "pairs" in data:
        raise c.error("pairs", "a preset takes its pairs from [data] or from [[pairs]], not both")
    return DataConfig(file=file, heldout=heldout, **ints)


# A small cache of parsed corpus files: validating, saving and checkpointing a preset all
# rebuild it, and re-reading 100,000 lines each time would cost a second or more.
_CORPUS_CACHE: dict[tuple, Corpus] = {}
_CORPUS_CACHE_SIZE = 4


def data_file(data: DataConfig, preset_path: str | os.PathLike[str] | None) -> Path:
    """The corpus file of a ``[data]`` section: relative to the preset file's folder (to the
    current folder for a preset that has no file), ``~`` expanded."""
    p = Path(data.file).expanduser()
    if not p.is_absolute() and preset_path is not None:
        p = Path(preset_path).parent / p
    return p


def _load_corpus(c: _Checker, data: DataConfig, tokenizer: TokenizerConfig) -> Corpus:
    path = data_file(data, c.path)
    kinds = (tokenizer.source, tokenizer.target)
    cfg = dataclasses.replace(data, heldout=0.0)  # the split is not part of reading
    try:
        st = path.stat()
        key = (os.fspath(path.resolve()), st.st_mtime_ns, st.st_size, cfg, kinds)
    except (OSError, ValueError, RuntimeError):
        key = None
    if key is not None and key in _CORPUS_CACHE:
        return _CORPUS_CACHE[key]
    try:
        corpus = read_corpus(path, cfg, kinds)
    except CorpusError as e:
        raise c.error("data.file", str(e)) from None
    if not corpus.pairs:
        why = (f"; first problem: line {corpus.skipped[0][0]}: {corpus.skipped[0][1]}" if corpus.skipped
               else f" ({corpus.too_long} too long)" if corpus.too_long else " (the file is empty)")
        raise c.error("data.file", f"{os.fspath(path)}: no usable sentence pairs{why}")
    if key is not None:
        while len(_CORPUS_CACHE) >= _CORPUS_CACHE_SIZE:
            _CORPUS_CACHE.pop(next(iter(_CORPUS_CACHE)))
        _CORPUS_CACHE[key] = corpus
    return corpus


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


def _pairs_problems(c: _Checker, raw: Any, kinds: tuple[str, str] = ("word", "word")
                    ) -> tuple[list[PresetError], list[Pair]]:
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
        bad_key = False
        for key in item:
            if key not in _PAIR_KEYS + _PAIR_OPTIONAL:
                bad_key = True
                problems.append(c.error(_join(prefix, key),
                                        f"unknown key; allowed keys: {', '.join(_PAIR_KEYS + _PAIR_OPTIONAL)}"))
        for key in _PAIR_KEYS:
            name = f"{prefix}.{key}"
            value = item.get(key, _MISSING)
            if value is _MISSING:
                problems.append(c.error(name, "missing; must be a non-empty string"))
                continue
            try:
                texts[key] = c.text(_normalize_text(value) if isinstance(value, str) else value, name,
                                    MAX_SENTENCE_CHARS)
            except PresetError as e:
                problems.append(e)
        links = None
        raw_links = item.get("alignment", _MISSING)
        if raw_links is not _MISSING:
            name = f"{prefix}.alignment"
            if not isinstance(raw_links, str):
                problems.append(c.error(name, f'must be a string of links like "0-0 2-1", got {_describe(raw_links)}'))
                bad_key = True
            elif len(texts) == 2:
                try:
                    links = parse_alignment(raw_links, _count_tokens(texts["source"], kinds[0]),
                                            _count_tokens(texts["target"], kinds[1]))
                except ValueError as e:
                    problems.append(c.error(name, str(e)))
                    bad_key = True
        if len(texts) == 2 and not bad_key:
            pair = (texts["source"], texts["target"])
            if pair in seen:
                problems.append(c.error(prefix, f"duplicate of pairs[{seen[pair]}] (same source and target)"))
            else:
                seen[pair] = i
                good.append(Pair(*pair, links))
    return problems, good


def _check_positions(c: _Checker, pairs: Sequence[Pair], tokenizer: TokenizerConfig) -> None:
    """Every sentence's tokens plus ``<eos>`` (the decoder reads ``<sos>`` + target, as
    many) must fit the Transformer's MAX_POSITIONS, counted on the normalised text."""
    from .vocab import tokenize

    for i, pair in enumerate(pairs):
        for key, kind in (("source", tokenizer.source), ("target", tokenizer.target)):
            n = len(tokenize(getattr(pair, key), kind)) + 1
            if n > MAX_POSITIONS:
                raise c.error(f"pairs[{i}].{key}", f"has {n} tokens with <eos> ({kind} tokenizer); "
                                                   f"the Transformer has {MAX_POSITIONS} positions")


def _build(data: Any, path: str | os.PathLike[str] | None, source_text: str | None = None,
           read_data: bool = True) -> Preset:
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
    data_cfg = _check_data(c, data)
    if data_cfg is not None:
        corpus = _load_corpus(c, data_cfg, tokenizer) if read_data else Corpus((), (), ())
        train, held = split_indices(len(corpus.pairs), data_cfg.heldout, training.seed)
        return Preset(
            name=name, description=description, model=model, tokenizer=tokenizer, training=training,
            pairs=tuple(corpus.pairs[i] for i in train), data=data_cfg,
            heldout_pairs=tuple(corpus.pairs[i] for i in held), skipped=corpus.skipped,
            too_long=corpus.too_long, duplicates=corpus.duplicates,
            path=None if path is None else Path(path), source_text=source_text,
        )
    problems, pairs = _pairs_problems(
        c, c.get(data, "", "pairs", f"add 1 to {MAX_PAIRS} [[pairs]] sections, or a [data] section naming a corpus file"),
        (tokenizer.source, tokenizer.target))
    if problems:
        raise problems[0]
    if model.kind == "transformer":
        _check_positions(c, pairs, tokenizer)
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


def with_seed(preset: Preset, seed: int) -> Preset:
    """The preset with ``training.seed`` replaced and, for a corpus, the held-out part drawn
    again with that seed (the split belongs to the seed, DESIGN.md "Corpora")."""
    training = dataclasses.replace(preset.training, seed=seed)
    if preset.data is None or seed == preset.training.seed:
        return dataclasses.replace(preset, training=training)
    ordered = _file_order(preset)
    train, held = split_indices(len(ordered), preset.data.heldout, seed)
    return dataclasses.replace(preset, training=training, pairs=tuple(ordered[i] for i in train),
                               heldout_pairs=tuple(ordered[i] for i in held))


def _file_order(preset: Preset) -> list[Pair]:
    """A corpus preset's pairs back in file order (the split keeps each part in file order)."""
    n = len(preset.pairs) + len(preset.heldout_pairs)
    _train, held = split_indices(n, preset.data.heldout if preset.data else 0.0, preset.training.seed)
    out: list[Pair] = [None] * n  # type: ignore[list-item]
    hs = set(held)
    it_train, it_held = iter(preset.pairs), iter(preset.heldout_pairs)
    for i in range(n):
        out[i] = next(it_held) if i in hs else next(it_train)
    return out


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


def _tokenizer_dict(t: Any) -> dict[str, Any]:
    out = _attrs(t, _TOKENIZER_KEYS)
    if "subword" not in (out.get("source"), out.get("target")) and out.get("vocab_size") == TokenizerConfig.vocab_size:
        out.pop("vocab_size", None)  # only subword uses it; files that never mention it stay as they are
    return out


def _data_dict(d: DataConfig) -> dict[str, Any]:
    return {k: getattr(d, k) for k in _DATA_KEYS}


def _pair_dict(p: Any) -> Any:
    if isinstance(p, Pair):
        out = {"source": p.source, "target": p.target}
        if p.alignment is not None:
            out["alignment"] = format_alignment(p.alignment)
        return out
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
        ("tokenizer", getattr(preset, "tokenizer", _MISSING), _tokenizer_dict),
        ("training", getattr(preset, "training", _MISSING), lambda t: _attrs(t, _TRAINING_KEYS)),
    ):
        if obj is not _MISSING:
            data[key] = conv(obj) if dataclasses.is_dataclass(obj) else obj
    data_cfg = getattr(preset, "data", None)
    if data_cfg is not None:
        data["data"] = _data_dict(data_cfg) if dataclasses.is_dataclass(data_cfg) else data_cfg
        return data
    pairs = getattr(preset, "pairs", _MISSING)
    if pairs is not _MISSING:
        data["pairs"] = [_pair_dict(p) for p in pairs] if isinstance(pairs, (list, tuple)) else pairs
    return data


def _normalize(preset: Any, path: str | os.PathLike[str] | None) -> Preset:
    """Validate an in-memory preset; return it with stripped text and canonical types."""
    if not isinstance(preset, Preset):
        raise PresetError(path, None, f"expected a Preset, got {_describe(preset)}")
    if preset.data is not None and path is not None and preset.path is not None:
        # the corpus file stays the one the preset named, wherever this copy is saved
        here, there = Path(path).parent, Path(preset.path).parent
        if here.resolve() != there.resolve() and not Path(preset.data.file).expanduser().is_absolute():
            where = data_file(preset.data, preset.path).resolve()
            preset = dataclasses.replace(preset, data=dataclasses.replace(preset.data, file=os.fspath(where)))
    return _build(_to_data(preset), path, preset.source_text)


# --------------------------------------------------------------------------- loading


def _label(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


def loads_preset(text: str, path: str | os.PathLike[str] | None = None, *, read_data: bool = True) -> Preset:
    """Parse and validate preset TOML. ``path`` labels errors, sets ``Preset.path`` and is
    where a ``[data]`` file is looked for (relative to its folder; the current folder when
    None). ``read_data=False`` leaves a corpus unread (no pairs): for reading settings only."""
    data, text = parse_toml(text, _label(path), PresetError, MAX_FILE_BYTES,
                            "name, [model], [training] and [[pairs]] or [data]", locate=True)
    return _build(data, path, text, read_data)


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


def pair_problems(pairs: Iterable[Pair | Mapping[str, Any]], path: str | os.PathLike[str] | None = None,
                  tokenizer: TokenizerConfig | None = None) -> list[PresetError]:
    """Every problem with a list of pairs (count, blanks, lengths, control chars, duplicates,
    alignments), in order, for showing inline in an editor table. Empty when the pairs are fine."""
    c = _Checker(_label(path))
    t = tokenizer or TokenizerConfig()
    try:
        raw = [_pair_dict(p) for p in pairs]
    except TypeError:
        return [c.error("pairs", f"must be a list of pairs, got {_describe(pairs)}")]
    return _pairs_problems(c, raw, (t.source, t.target))[0]


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
    ]
    if "vocab_size" in _tokenizer_dict(t):
        lines.append(_kv("vocab_size", t.vocab_size, "subword pieces per side"))
    lines += [
        "",
        "[training]",
        _kv("steps", tr.steps),
        _kv("batch_size", tr.batch_size),
        _kv("lr", tr.lr),
        _kv("teacher_forcing", tr.teacher_forcing, TEACHER_FORCING_COMMENT),
        _kv("seed", tr.seed),
    ]
    if p.data is not None:
        d = p.data
        lines += [
            "",
            "[data]",
            _kv("file", d.file, "relative to this file; tab-separated UTF-8"),
            _kv("source_column", d.source_column, "1-based"),
            _kv("target_column", d.target_column),
            _kv("alignment_column", d.alignment_column, "0 = none; Pharaoh links i-j"),
            _kv("heldout", d.heldout, "fraction held out, drawn with training.seed"),
            _kv("max_tokens", d.max_tokens, "longer pairs are left out"),
        ]
    for pair in () if p.data is not None else p.pairs:
        lines += ["", "[[pairs]]", _kv("source", pair.source), _kv("target", pair.target)]
        if pair.alignment is not None:
            lines.append(_kv("alignment", format_alignment(pair.alignment)))
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


def _pair_values(pair: tuple[str, str, str | None]) -> dict[str, str]:
    out = {"source": pair[0], "target": pair[1]}
    if pair[2] is not None:
        out["alignment"] = pair[2]
    return out


def _new_pair_table(pair: tuple[str, str, str | None]) -> Table:
    table = tomlkit.table()
    for k, v in _pair_values(pair).items():
        table[k] = v
    return table


def _old_pair(t: Any) -> tuple[str, str, str | None]:
    links = t.get("alignment")
    if isinstance(links, str):
        try:
            links = format_alignment(parse_alignment(links))
        except ValueError:
            pass
    return str(t["source"]).strip(), str(t["target"]).strip(), None if links is None else str(links)


def _sync_pairs(doc: Any, pairs: Sequence[Pair]) -> None:
    new = [(p.source, p.target, format_alignment(p.alignment)) for p in pairs]
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
    old = [_old_pair(t) for t in aot]
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
            _sync_table(aot[i1 + k], _pair_values(new[j1 + k]))


def _dumps_in_place(p: Preset, source: str) -> str:
    doc = tomlkit.parse(source)
    _sync_table(doc, {"name": p.name}, prune=False)
    if p.description or "description" in doc:
        _sync_table(doc, {"description": p.description}, prune=False)
    _sync_table(doc["model"], _model_dict(p.model))
    tok = _tokenizer_dict(p.tokenizer)
    if "tokenizer" in doc:
        _sync_table(doc["tokenizer"], tok)
    elif p.tokenizer != TokenizerConfig():
        table = tomlkit.table()
        for k, v in tok.items():
            table[k] = v
        table.value.body.append((None, tomlkit.nl()))
        doc._insert_after("model", "tokenizer", table)
    _sync_table(doc["training"], _attrs(p.training, _TRAINING_KEYS))
    if p.data is not None:
        if "data" in doc and isinstance(doc["data"], Table):
            default, old = DataConfig(file=p.data.file), doc["data"]
            _sync_table(old, {k: v for k, v in _data_dict(p.data).items()
                              if k in old or k == "file" or v != getattr(default, k)})
        else:
            table = tomlkit.table()
            for k, v in _data_dict(p.data).items():
                table[k] = v
            doc["data"] = table
        if "pairs" in doc:
            del doc["pairs"]
    else:
        if "data" in doc:
            del doc["data"]
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
            if loads_preset(text, norm.path) == norm:
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
