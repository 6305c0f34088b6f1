"""A preset's own example: the pair its name states (sandbox.example, no Qt)."""

from __future__ import annotations

import pytest

from sandbox.example import example_pair, find_example, first_sentence, stated_example
from sandbox.presets import find_preset, list_presets, load_preset


@pytest.mark.parametrize("name,expected", [
    ("나는 고양이로소이다 → I am a cat", ("나는 고양이로소이다", "I am a cat")),
    ("나는 고양이로소이다 → I am a cat (dot attention)", ("나는 고양이로소이다", "I am a cat")),
    ("I love cats → 나는 고양이를 좋아해 (Transformer)", ("I love cats", "나는 고양이를 좋아해")),
    ("  a b → c  ", ("a b", "c")),
    ("only a name", None),
    ("Reverse a sequence (a b c → c b a)", None),
])
def test_the_name_states_the_example(name, expected):
    assert stated_example(name) == expected


def test_every_shipped_preset_that_states_a_pair_has_it_and_opens_on_it():
    found = 0
    for key, path, is_user in list_presets():
        if is_user:
            continue
        preset = load_preset(path)
        ex = find_example(preset)
        stated = stated_example(preset.name)
        if ex is None:
            assert example_pair(preset) == preset.pairs[0]
            continue
        found += 1
        pool = preset.heldout_pairs if ex.heldout else preset.pairs
        assert pool[ex.index] == ex.pair and example_pair(preset) == ex.pair
        assert (ex.pair.source, ex.pair.target) == stated
    assert found >= 5  # the cat family, the love-cats pair, the teacher


def test_the_cat_preset_opens_on_its_own_sentence_not_corpus_pair_0():
    preset = load_preset(find_preset("ko_en_cat"))
    ex = find_example(preset)
    assert (ex.pair.source, ex.pair.target, ex.heldout) == ("나는 고양이로소이다", "I am a cat", False)
    assert preset.pairs[0].source != "나는 고양이로소이다"
    love = find_example(load_preset(find_preset("en_ko_cats")))
    assert love.heldout and love.pair.source == "I love cats"  # held out: never trained on


def test_first_sentence_prefers_a_saved_view_that_still_exists():
    """The last session's sentence wins while it still exists (a training pair by its index,
    a held-out pair or your own sentence as -1); a pair gone from the preset falls back to
    the example."""
    preset = load_preset(find_preset("ko_en_cat"))
    ex = find_example(preset)
    example = (ex.pair.source, ex.pair.target, -1 if ex.heldout else ex.index)
    assert first_sentence(preset) == example
    p5, held = preset.pairs[5], preset.heldout_pairs[0]
    assert first_sentence(preset, {"source": p5.source, "target": p5.target}) == (p5.source, p5.target, 5)
    assert first_sentence(preset, {"source": held.source, "target": held.target}) == (held.source, held.target, -1)
    assert first_sentence(preset, {"source": "나는 고양이다", "target": "", "own": True}) == ("나는 고양이다", None, -1)
    assert first_sentence(preset, {"source": "gone from the corpus", "target": "x"}) == example
