"""What a preset is: its dataclasses, limits, allowed values and TOML keys, and the plain
tables (dicts) a preset becomes when it is validated or written.

:mod:`sandbox.presets` reads, validates, saves and finds preset files with these;
:mod:`sandbox.preset_toml` writes them as TOML. No Qt, no torch here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .corpus import DataConfig, Pair, format_alignment, split_indices
from .tomlfile import SavedFile
from .validation import MISSING as _MISSING
from .validation import FileError

MAX_PAIRS = 200  # inline [[pairs]]; a [data] corpus file has no such cap
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_FILE_BYTES = 1_000_000  # a full preset of MAX_PAIRS long pairs is well under this
# Positions the Transformer can encode (sandbox.transformer.MAX_LEN; kept here so loading a
# preset needs no torch). A sentence's tokens plus <eos> must fit.
MAX_POSITIONS = 256

ENCODERS = ("uni", "bi")
TOKENIZERS = ("word", "char", "subword")

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

