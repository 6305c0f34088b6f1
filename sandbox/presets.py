"""Presets: a toy model, its training settings and a handful of sentence pairs, as TOML.

Loading validates everything and turns every problem into one :class:`PresetError` that
names the file, the field (``pairs[3].target``) and what is allowed; nothing else escapes.
Saving validates first, keeps the comments and key order of the file the preset was read
from (tomlkit edits the original document in place), and writes atomically.

This module reads, validates, saves and finds preset files. What a preset is (dataclasses,
limits, keys) lives in :mod:`sandbox.preset_schema`, writing TOML in
:mod:`sandbox.preset_toml`; every name they define is importable from here as before.

No Qt here: the editor in ``widgets/`` calls :func:`pair_problems` and :func:`save_preset`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import shipped as _shipped
from . import userdirs as _userdirs
from .corpus import MAX_SENTENCE_CHARS, Corpus, CorpusError, DataConfig, Pair, parse_alignment, read_corpus, split_indices
from .corpus import count_tokens as _count_tokens
from .text import normalize as _normalize_text
from .names import ATTENTIONS, CELLS, KINDS  # noqa: F401 - re-exported; defined in sandbox.names
from .preset_schema import (  # noqa: F401 - re-exported: importable from sandbox.presets as before
    _DATA_KEYS,
    _INT_RANGES,
    _MODEL_KEYS,
    _PAIR_KEYS,
    _PAIR_OPTIONAL,
    _SEQ2SEQ_KEYS,
    _TOKENIZER_KEYS,
    _TOP_KEYS,
    _TRAINING_KEYS,
    _TRANSFORMER_KEYS,
    ENCODERS,
    MAX_DESCRIPTION_CHARS,
    MAX_FILE_BYTES,
    MAX_NAME_CHARS,
    MAX_PAIRS,
    MAX_POSITIONS,
    TEACHER_FORCING_COMMENT,
    TEACHER_FORCING_HELP,
    TOKENIZERS,
    ModelConfig,
    Preset,
    PresetError,
    TokenizerConfig,
    TrainingConfig,
    _attrs,
    _data_dict,
    _file_order,
    _model_dict,
    _pair_dict,
    _to_data,
    _tokenizer_dict,
)
from .preset_toml import _dumps_fresh, _dumps_in_place
from .tomlfile import USER_HOME_ENV  # noqa: F401 - still importable from here
from .tomlfile import (atomic_write, dumps_keeping_comments, find_file, parse_toml, read_text,  # noqa: F401
                       refuse_shipped, toml_files, user_data_dir)
from .validation import MISSING as _MISSING
from .validation import Checker
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

SHIPPED_DIR: Path = _shipped.SHIPPED_DIR  # sandbox.shipped decides what is shipped


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
    tok = c.optional_table(data, "tokenizer", _TOKENIZER_KEYS)
    if tok is None:
        return TokenizerConfig()
    default = TokenizerConfig()
    source = c.choice(tok.get("source", default.source), "tokenizer.source", TOKENIZERS)
    target = c.choice(tok.get("target", default.target), "tokenizer.target", TOKENIZERS)
    vocab_size = c.integer(tok, "tokenizer", "vocab_size") if "vocab_size" in tok else default.vocab_size
    return TokenizerConfig(source=source, target=target, vocab_size=vocab_size)


def _check_data(c: _Checker, data: Mapping[str, Any]) -> DataConfig | None:
    d = c.optional_table(data, "data", _DATA_KEYS)
    if d is None:
        return None
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
    _label, text = read_text(path, PresetError, MAX_FILE_BYTES)
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



def dumps_preset(preset: Preset) -> str:
    """TOML text for a preset; raises PresetError if it is invalid.

    With ``source_text`` set, that document is edited in place (comments, key order and
    value spellings survive; pairs are matched so a kept pair keeps its table and comments).
    If that cannot reproduce the preset exactly, a fresh document is written instead."""
    norm = _normalize(preset, getattr(preset, "path", None))
    return dumps_keeping_comments(norm, preset.source_text, _dumps_in_place, loads_preset, _dumps_fresh)


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
