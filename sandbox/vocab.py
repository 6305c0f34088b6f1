"""Tokenizers and vocabularies.

Two tokenizers, both Unicode-safe (text goes through :func:`sandbox.text.normalize` first:
NFC, so a precomposed and a decomposed Hangul syllable or accented letter are the same
token, and zero-width characters removed, so none becomes an invisible ``<unk>``):

- ``word``: runs of letters/digits are words; every other non-space character (punctuation,
  emoji) is a token of its own. ``"I love cats!"`` -> ``["I", "love", "cats", "!"]``.
- ``char``: one token per character; a space becomes the visible token ``"␣"``.
- ``subword``: SentencePiece pieces (Kudo & Richardson 2018, the unigram model) trained on
  the preset's training pairs; ``"▁"`` marks a piece that starts a word. The trained model
  travels with the :class:`Vocab` (``Vocab.subword``, its serialized bytes) and inside a
  checkpoint, so the same text splits the same way on another machine. :func:`tokenize`
  alone has no model: for ``subword`` it splits on whitespace (used only for counting).

A :class:`Vocab` maps tokens to ids with four reserved entries, always in this order:
``<pad>`` 0, ``<sos>`` 1, ``<eos>`` 2, ``<unk>`` 3.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .text import normalize

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIALS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = range(4)
SPACE_TOKEN = "␣"
WORD_START = "▁"  # SentencePiece's mark of a piece that begins a word
TOKENIZERS = ("word", "char", "subword")

_WORD_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str, kind: str = "word") -> list[str]:
    """Split ``text`` into tokens with the ``word`` or ``char`` tokenizer."""
    text = normalize(text)
    if kind == "word":
        return _WORD_RE.findall(text)
    if kind == "char":
        return [SPACE_TOKEN if ch.isspace() else ch for ch in re.sub(r"\s+", " ", text)]
    if kind == "subword":
        return text.split()
    raise ValueError(f"unknown tokenizer {kind!r}; allowed: {', '.join(TOKENIZERS)}")


def detokenize(tokens: Sequence[str], kind: str = "word") -> str:
    """Inverse of :func:`tokenize` up to whitespace (specials are dropped)."""
    toks = [t for t in tokens if t not in SPECIALS]
    if kind == "subword":
        return "".join(toks).replace(WORD_START, " ").strip()
    if kind == "char":
        return "".join(" " if t == SPACE_TOKEN else t for t in toks)
    return " ".join(toks)


_SP_LOCK = threading.Lock()


def train_subword(sentences: Iterable[str], vocab_size: int) -> bytes:
    """A SentencePiece unigram model trained on ``sentences``, serialized.

    Deterministic: one thread, input in the given order, no sampling of sentences, identity
    normalisation (text is already normalised: NFC, zero-width removed). ``vocab_size`` counts pieces including SentencePiece's
    own ``<unk>``; a corpus too small for that many gets fewer (``hard_vocab_limit=False``)."""
    import sentencepiece as spm

    data = [normalize(s) for s in sentences]
    data = [s for s in data if s]
    if not data:
        raise ValueError("a subword tokenizer needs at least one sentence to train on")
    out = io.BytesIO()
    try:
        with _SP_LOCK:  # the trainer is process-global state in SentencePiece
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(data), model_writer=out, vocab_size=int(vocab_size), model_type="unigram",
                num_threads=1, character_coverage=1.0, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
                hard_vocab_limit=False, shuffle_input_sentence=False, normalization_rule_name="identity",
                input_sentence_size=0, minloglevel=2, split_digits=False)
    except Exception as e:  # noqa: BLE001 - SentencePiece raises RuntimeError with its own words
        why = (str(e).strip().splitlines() or [type(e).__name__])[-1]
        m = re.search(r"smaller than required_chars\. \d+ vs (\d+)", why)
        if m:
            why = f"the sentences use {m.group(1)} different characters, and each needs a piece"
        raise ValueError(f"tokenizer.vocab_size: SentencePiece could not train {vocab_size} pieces on these "
                         f"sentences ({why}); try a larger vocab_size") from None
    return out.getvalue()


@dataclass(frozen=True)
class Vocab:
    """An immutable token <-> id table whose first four entries are the specials.

    ``subword``: for a SentencePiece vocabulary, the serialized model that splits text into
    the pieces ``tokens`` lists (see :func:`train_subword`); None otherwise."""

    tokens: tuple[str, ...]
    subword: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if tuple(self.tokens[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})
        object.__setattr__(self, "_sp", None)

    def __getstate__(self) -> dict:
        return {"tokens": self.tokens, "subword": self.subword}

    def __setstate__(self, state: dict) -> None:
        object.__setattr__(self, "tokens", state["tokens"])
        object.__setattr__(self, "subword", state["subword"])
        self.__post_init__()

    @classmethod
    def from_subword(cls, model: bytes) -> "Vocab":
        """The vocabulary of a serialized SentencePiece model: specials, then its pieces in id
        order (SentencePiece's own ``<unk>`` is ours)."""
        import sentencepiece as spm

        try:
            sp = spm.SentencePieceProcessor(model_proto=model)
        except Exception as e:  # noqa: BLE001 - sentencepiece raises RuntimeError/OSError
            raise ValueError(f"not a SentencePiece model ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        return cls(SPECIALS + tuple(p for p in pieces if p not in SPECIALS), model)

    def split(self, text: str, kind: str) -> list[str]:
        """``text`` as this vocabulary's tokenizer splits it (its SentencePiece model for
        ``subword``; :func:`tokenize` otherwise)."""
        if kind != "subword":
            return tokenize(text, kind)
        if self.subword is None:
            raise ValueError("this vocabulary has no subword model; it was not built for a subword tokenizer")
        sp = self._sp  # type: ignore[attr-defined]
        if sp is None:
            import sentencepiece as spm

            sp = spm.SentencePieceProcessor(model_proto=self.subword)
            object.__setattr__(self, "_sp", sp)
        text = normalize(text)
        return [p for p in sp.encode(text, out_type=str) if p] if text else []

    @classmethod
    def build(cls, sentences: Iterable[str], kind: str = "word", vocab_size: int = 1000) -> "Vocab":
        """Vocabulary of every token in ``sentences``, in order of first appearance; for
        ``subword``, a SentencePiece model of ``vocab_size`` pieces trained on them."""
        if kind == "subword":
            return cls.from_subword(train_subword(sentences, vocab_size))
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
    original = tuple(vocab.split(text, kind)) + (EOS,)
    ids = tuple(vocab.id(t) for t in original)
    unknown = tuple(i for i, (t, k) in enumerate(zip(original, ids)) if k == UNK_ID and t != UNK)
    tokens = tuple(vocab.token(k) for k in ids)
    return Encoded(ids=ids, tokens=tokens, original=original, unknown=unknown)
