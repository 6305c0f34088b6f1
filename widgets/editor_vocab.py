"""What a trained model depends on, for the preset editor's "must be retrained": the
source and target vocabularies (as token sets) and the model settings with the seed.

Vocabularies are cached: the editor asks on every keystroke and every refresh, building
them for a 3,245-pair corpus takes ~2 s, and even hashing its pairs for a value-keyed cache
costs milliseconds, so recent answers are matched by the identity of the (frozen) tuples."""

from __future__ import annotations

from collections import deque

from sandbox.presets import Preset

from .editor_settings import SEQ2SEQ_FIELDS, TRANSFORMER_FIELDS, field_value

__all__ = ["model_key", "vocabs", "vocab_sets"]


def model_key(p: Preset) -> tuple:
    """What the model is built from: the active kind's fields and the seed."""
    m = p.model
    fields = SEQ2SEQ_FIELDS if m.kind == "seq2seq" else TRANSFORMER_FIELDS
    return (m.kind, tuple(field_value(p, f) for f in fields), p.training.seed)


_VOCAB_CACHE: dict = {}  # (tokenizer, pairs, held-out pairs) -> vocabularies; a few entries


def vocabs(p: Preset):
    """Source and target vocabularies (None when the tokenizer setting is invalid).

    Cached by what they are built from: the editor asks on every keystroke, and building
    them for a 3,245-pair corpus took ~2 s, so typing in the description of a corpus preset
    blocked the window (and its draft timer) for seconds per key."""
    from sandbox.model import build_vocabs  # torch loads with sandbox.model; keep it lazy

    held = getattr(p, "heldout_pairs", ())
    for pairs, held_pairs, tokenizer, value in _RECENT_VOCABS:
        if pairs is p.pairs and held_pairs is held and tokenizer == p.tokenizer:
            return value  # the very tuples of a recent call: no need to hash 3,000 pairs again
    value = _vocabs_by_value(p, build_vocabs)
    _RECENT_VOCABS.appendleft((p.pairs, held, p.tokenizer, value))
    return value


# (pairs, held-out pairs, tokenizer, vocabularies) of recent calls, matched by identity: the
# editor asks for the edited and the reference preset's vocabularies on every refresh, and
# hashing a corpus's 3,000 pairs for the value-keyed cache costs milliseconds each time
_RECENT_VOCABS: deque = deque(maxlen=4)


def _vocabs_by_value(p: Preset, build_vocabs):
    key = (p.tokenizer, p.pairs, getattr(p, "heldout_pairs", ()))
    try:
        if key in _VOCAB_CACHE:
            return _VOCAB_CACHE[key]
    except TypeError:  # something unhashable: no caching
        key = None
    try:
        value = build_vocabs(p)
    except ValueError:
        value = None
    if key is not None:
        if len(_VOCAB_CACHE) >= 8:
            _VOCAB_CACHE.pop(next(iter(_VOCAB_CACHE)))
        _VOCAB_CACHE[key] = value
    return value


def vocab_sets(p: Preset):
    """The source and target token sets: what a trained model depends on (the order of
    first appearance does not matter: sandbox.model.rebind permutes the rows)."""
    v = vocabs(p)
    if v is None:
        return None
    for seen, sets in _RECENT_SETS:
        if seen is v:
            return sets
    # a subword vocabulary is its SentencePiece model: any change of it changes the splits
    sets = tuple(x if x.subword is not None else frozenset(x.tokens) for x in v)
    _RECENT_SETS.appendleft((v, sets))
    return sets


_RECENT_SETS: deque = deque(maxlen=4)  # (vocabularies, their token sets), matched by identity
