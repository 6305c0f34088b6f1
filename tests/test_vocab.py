from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, strategies as st

from sandbox.text import normalize
from sandbox.vocab import EOS, SPECIALS, UNK, Vocab, detokenize, encode_sentence, tokenize


def test_word_tokenizer_splits_punctuation_and_keeps_hangul():
    assert tokenize("I love cats!") == ["I", "love", "cats", "!"]
    assert tokenize("나는 고양이로소이다.") == ["나는", "고양이로소이다", "."]
    assert tokenize("  café, naïve ") == ["café", ",", "naïve"]
    assert tokenize("I love 🐱") == ["I", "love", "🐱"]


def test_char_tokenizer_marks_spaces():
    assert tokenize("나는 개", "char") == ["나", "는", "␣", "개"]


def test_nfc_normalisation_makes_decomposed_hangul_equal():
    decomposed = unicodedata.normalize("NFD", "고양이")
    assert decomposed != "고양이"
    assert tokenize(decomposed) == ["고양이"]


def test_unknown_tokenizer_is_refused():
    with pytest.raises(ValueError, match="unknown tokenizer"):
        tokenize("x", "bpe")


def test_vocab_specials_and_unknowns():
    v = Vocab.build(["I am a cat", "I am a dog"])
    assert v.tokens[:4] == SPECIALS
    assert v.decode(v.encode(["I", "cat"])) == ["I", "cat"]
    enc = encode_sentence("I am a tiger", v)
    assert enc.tokens == ("I", "am", "a", UNK, EOS)
    assert enc.original[3] == "tiger" and enc.unknown == (3,)


@given(st.text(max_size=60))
def test_tokenize_never_loses_non_space_characters(text):
    for kind in ("word", "char"):
        toks = tokenize(text, kind)
        joined = "".join(t for t in toks if t != "␣")
        expected = "".join(normalize(text).split())  # NFC, zero-width characters removed (issue 13)
        assert joined == expected
        assert all(t.strip() for t in toks)


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=8))
def test_every_training_token_is_known(sentences):
    v = Vocab.build(sentences)
    for s in sentences:
        assert encode_sentence(s, v).unknown == ()


def test_detokenize_round_trip_char():
    assert detokenize(tokenize("나는 고양이", "char"), "char") == "나는 고양이"
