"""Tokenizers and vocabularies.

Two tokenizers, both Unicode-safe (text goes through :func:`sandbox.text.normalize` first:
NFC, so a precomposed and a decomposed Hangul syllable or accented letter are the same
token, and zero-width characters removed, so none becomes an invisible ``<unk>``):

- ``word``: runs of letters/digits are words; every other non-space character (punctuation,
  emoji) is a token of its own. ``"I love cats!"`` -> ``["I", "love", "cats", "!"]``.
- ``char``: one token per character; a space becomes the visible token ``"␣"``.

A :class:`Vocab` maps tokens to ids with four reserved entries, always in this order:
``<pad>`` 0, ``<sos>`` 1, ``<eos>`` 2, ``<unk>`` 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from .text import normalize

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIALS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = range(4)
SPACE_TOKEN = "␣"
TOKENIZERS = ("word", "char")

_WORD_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str, kind: str = "word") -> list[str]:
    """Split ``text`` into tokens with the ``word`` or ``char`` tokenizer."""
    text = normalize(text)
    if kind == "word":
        return _WORD_RE.findall(text)
    if kind == "char":
        return [SPACE_TOKEN if ch.isspace() else ch for ch in re.sub(r"\s+", " ", text)]
    raise ValueError(f"unknown tokenizer {kind!r}; allowed: {', '.join(TOKENIZERS)}")


def detokenize(tokens: Sequence[str], kind: str = "word") -> str:
    """Inverse of :func:`tokenize` up to whitespace (specials are dropped)."""
    toks = [t for t in tokens if t not in SPECIALS]
    if kind == "char":
        return "".join(" " if t == SPACE_TOKEN else t for t in toks)
    return " ".join(toks)


@dataclass(frozen=True)
class Vocab:
    """An immutable token <-> id table whose first four entries are the specials."""

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if tuple(self.tokens[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, sentences: Iterable[str], kind: str = "word") -> "Vocab":
        """Vocabulary of every token in ``sentences``, in order of first appearance."""
        seen: dict[str, None] = {}
        for s in sentences:
            for tok in tokenize(s, kind):
                if tok not in SPECIALS:
                    seen.setdefault(tok, None)
        return cls(SPECIALS + tuple(seen))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index  # type: ignore[attr-defined]

    def id(self, token: str) -> int:
        return self._index.get(token, UNK_ID)  # type: ignore[attr-defined]

    def token(self, index: int) -> str:
        return self.tokens[index]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.id(t) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]


@dataclass(frozen=True)
class Encoded:
    """One sentence as the model sees it: ids plus the tokens actually used.

    ``tokens`` already has ``<unk>`` in place of out-of-vocabulary words and ends with
    ``<eos>``; ``original`` keeps what was typed, and ``unknown`` the positions replaced.
    """

    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    original: tuple[str, ...]
    unknown: tuple[int, ...]


def encode_sentence(text: str, vocab: Vocab, kind: str = "word") -> Encoded:
    """Tokenize ``text``, map unknown tokens to ``<unk>`` and append ``<eos>``."""
    original = tuple(tokenize(text, kind)) + (EOS,)
    ids = tuple(vocab.id(t) for t in original)
    unknown = tuple(i for i, (t, k) in enumerate(zip(original, ids)) if k == UNK_ID and t != UNK)
    tokens = tuple(vocab.token(k) for k in ids)
    return Encoded(ids=ids, tokens=tokens, original=original, unknown=unknown)
