"""evaluate(decode=False) (the window's Model box, opened with every lecture) scores exact
match from the teacher-forced pass instead of decoding: it must give the numbers the
free-running decode gives, on trained and untrained models of both kinds."""

from __future__ import annotations

import pytest

from sandbox.evaluate import evaluate
from sandbox.lectures import ensure_trained, find_lecture, load_lecture
from sandbox.model import Bundle


# ko_en_cat_none (no attention) matches 26% of these pairs exactly: the case where a wrong
# shortcut would show; the trained Transformer 100%, ko_en_cat 99.7%, untrained models 0%.
@pytest.mark.parametrize("lecture,ref", [("transformer", "en_ko_transformer"), ("bahdanau", "ko_en_cat"),
                                         ("why_attention", "ko_en_cat_none")])
@pytest.mark.parametrize("trained", [True, False])
def test_without_decoding_the_scores_equal_the_decoded_ones(tmp_path, monkeypatch, lecture, ref, trained):
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path))  # shipped checkpoints, no user cache
    lec = load_lecture(find_lecture(lecture))
    bundle = ensure_trained(lec, preset=ref)
    if not trained:
        bundle = Bundle.from_preset(bundle.preset)
    p = bundle.preset
    pairs = (list(p.heldout_pairs) + list(p.pairs))[:300]
    full = evaluate(bundle, pairs)
    fast = evaluate(bundle, pairs, decode=False)
    assert fast["exact_match"] == full["exact_match"]
    assert fast["token_accuracy"] == full["token_accuracy"]
    assert fast["alignment"] == full["alignment"]
    assert fast["chrf"] is None and fast["bleu"] is None and fast["sentences"] == []
    assert sum(s["exact"] for s in full["sentences"]) == round(fast["exact_match"] * len(pairs))
