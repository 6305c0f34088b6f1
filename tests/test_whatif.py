"""What-if (issue 15): forcing a token, pinning and hiding attention, beam search.

Oracles: the unedited trace of the same model (what must not change), the record's own
tensors (a pinned output is values[J]; hidden weights are the softmax of the other
energies, recomputed in numpy), and the greedy decode (beam width 1).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sandbox.model import Bundle
from sandbox.presets import find_preset, list_presets, load_preset
from sandbox.trace import MODES, trace
from sandbox.whatif import Interventions, Pin, WhatIfError, beam_search

SHIPPED = [p for _, p, user in list_presets() if not user]
ATTENDING = [p for p in SHIPPED if load_preset(p).model.kind == "transformer"
             or load_preset(p).model.attention != "none"]


def _bundle(path) -> Bundle:
    return Bundle.from_preset(load_preset(path))


@pytest.fixture(params=ATTENDING, ids=lambda p: p.stem)
def bundle(request):
    return _bundle(request.param)


@pytest.fixture(scope="module")
def transformer():
    return _bundle(find_preset("en_ko_transformer"))


def _same_step(a, b) -> None:
    """Two steps computed the same numbers from the same input."""
    assert (a.input_token, a.input_from, a.predicted) == (b.input_token, b.input_from, b.predicted)
    np.testing.assert_array_equal(a.probs, b.probs)
    assert len(a.attention) == len(b.attention)
    for ra, rb in zip(a.attention, b.attention):
        # A teacher-forced Transformer records every target position's key; the ones after
        # step t are masked (weight 0), so an edit later in the sentence may change them.
        k = a.t + 1 if ra.kind == "masked_self" else None
        for f in ("query", "keys", "values", "energies", "weights", "output"):
            np.testing.assert_array_equal(getattr(ra, f)[:k] if f not in ("query", "output") else getattr(ra, f),
                                          getattr(rb, f)[:k] if f not in ("query", "output") else getattr(rb, f),
                                          err_msg=f)
        if k is not None:
            assert np.isneginf(ra.energies[k:]).all() and (ra.weights[k:] == 0).all()


def _pair(bundle):
    p = bundle.preset.pairs[0]
    return p.source, p.target


# ------------------------------------------------------------------------------ force
@pytest.mark.parametrize("mode", MODES)
def test_forcing_the_token_that_would_be_fed_changes_nothing(bundle, mode):
    """Free running: force the model's own choice. Teacher forcing: force the gold token
    (the one step T+1 reads anyway). Every number stays the same; only the labels say so."""
    source, target = _pair(bundle)
    base = trace(bundle, source, target, mode=mode)
    T = min(1, len(base.steps) - 1)
    same = base.steps[T].predicted if mode == "free_running" else base.steps[T].gold
    tr = trace(bundle, source, target, mode=mode, interventions=Interventions(force={T: same}))
    assert len(tr.steps) == len(base.steps)
    assert tr.steps[T].forced == same and tr.steps[T].predicted == base.steps[T].predicted
    for a, b in zip(tr.steps, base.steps):
        if a.t == T + 1:
            assert (a.input_from, a.input_token) == ("forced", same)
            a = _with_input_from(a, b.input_from)
        _same_step(a, b)


def _with_input_from(step, value):
    import dataclasses

    return dataclasses.replace(step, input_from=value)


@pytest.mark.parametrize("mode", MODES)
def test_forcing_another_token_changes_only_later_steps(bundle, mode):
    source, target = _pair(bundle)
    base = trace(bundle, source, target, mode=mode, max_len=8)
    T = min(1, len(base.steps) - 1)
    other = next(tok for tok, _ in base.steps[T].top_k if tok != base.steps[T].predicted
                 and tok not in ("<pad>", "<sos>", "<eos>"))
    tr = trace(bundle, source, target, mode=mode, max_len=8,
               interventions=Interventions(force={T: other}))
    for t in range(T + 1):
        _same_step(tr.steps[t], base.steps[t])
    assert tr.steps[T].forced == other
    assert tr.steps[T].predicted == base.steps[T].predicted  # the model's own choice is kept
    if T + 1 < len(tr.steps):
        nxt = tr.steps[T + 1]
        assert (nxt.input_token, nxt.input_from) == (other, "forced")
        if T + 1 < len(base.steps):
            assert not np.array_equal(nxt.probs, base.steps[T + 1].probs)
    if mode == "free_running" and base.steps[T].predicted == "<eos>":
        assert len(tr.steps) > T + 1  # the model stopped here; forcing a word decodes on
    if mode == "teacher_forcing":  # gold again after the forced step
        gold = ["<sos>", *tr.target_tokens]
        assert all(s.input_token == gold[s.t] and s.input_from == "gold" for s in tr.steps[T + 2:])
    else:
        assert all(s.input_token == prev.predicted and s.input_from == "prediction"
                   for prev, s in zip(tr.steps[T + 1:], tr.steps[T + 2:]))


def test_forced_step_in_json(transformer):
    source, target = _pair(transformer)
    tr = trace(transformer, source, target, interventions=Interventions(force={0: "<eos>"}))
    d = json.loads(tr.dumps())
    assert d["steps"][0]["forced"] == "<eos>" and d["steps"][0]["predicted"] == tr.steps[0].predicted
    assert d["steps"][1]["input_from"] == "forced" and "forced" not in d["steps"][1]
    assert d["interventions"] == {"force": [{"step": 0, "token": "<eos>"}], "pin": [], "hide": []}
    assert "interventions" not in json.loads(trace(transformer, source, target).dumps())


def test_free_running_forced_eos_stops(bundle):
    source, _ = _pair(bundle)
    tr = trace(bundle, source, mode="free_running", interventions=Interventions(force={0: "<eos>"}))
    assert len(tr.steps) == 1 and tr.output_tokens == ["<eos>"]


# ------------------------------------------------------------------------------ pin
@pytest.mark.parametrize("mode", MODES)
def test_pinning_makes_the_context_the_pinned_value(bundle, mode):
    source, target = _pair(bundle)
    base = trace(bundle, source, target, mode=mode, max_len=6)
    T = min(2, len(base.steps) - 1)
    J = len(base.source_tokens) - 2
    tr = trace(bundle, source, target, mode=mode, max_len=6, interventions=Interventions(pins=(Pin(T, J),)))
    for t in range(T):
        _same_step(tr.steps[t], base.steps[t])
    cross = tr.steps[T].records("cross")
    assert cross, "every cross attention at step T is pinned"
    base_cross = base.steps[T].records("cross")
    for r in cross:
        want = np.zeros_like(r.weights)
        want[J] = 1.0
        np.testing.assert_array_equal(r.weights, want)
        np.testing.assert_array_equal(r.output, r.values[J])
        assert r.pinned
        # the model's own weights: softmax of the recorded energies, in numpy
        e = r.energies.astype(np.float64)
        own = np.exp(e - e.max())
        np.testing.assert_allclose(r.original_weights, own / own.sum(), atol=1e-6)
    # seq2seq (and a Transformer's first layer) saw the same query as the unedited run
    np.testing.assert_array_equal(cross[0].original_weights, base_cross[0].weights)
    assert not any(r.pinned for s in tr.steps if s.t != T for r in s.attention)


def test_pinned_record_round_trips_through_json(bundle):
    source, target = _pair(bundle)
    tr = trace(bundle, source, target, interventions=Interventions(pins=(Pin(0, 0),)))
    d = json.loads(tr.dumps())
    rec = next(r for r in d["steps"][0]["attention"] if r["kind"] == "cross")
    assert rec["weights"][0] == 1.0 and sum(rec["weights"]) == 1.0
    assert "original_weights" in rec
    assert "original_weights" not in next(r for r in d["steps"][1]["attention"] if r["kind"] == "cross")
    from sandbox.attention import AttentionRecord

    back = AttentionRecord.from_json(rec)
    r0 = tr.steps[0].records("cross")[0]
    np.testing.assert_array_equal(back.original_weights, r0.original_weights)


def test_pinning_one_head_leaves_the_other_heads_untouched(transformer):
    source, target = _pair(transformer)
    m = transformer.preset.model
    assert m.heads >= 2 and m.layers >= 2
    T, J, L, H = 1, 0, m.layers - 1, 1
    base = trace(transformer, source, target)
    tr = trace(transformer, source, target, interventions=Interventions(pins=(Pin(T, J, L, H),)))
    for t in range(T):
        _same_step(tr.steps[t], base.steps[t])
    for a, b in zip(tr.steps[T].attention, base.steps[T].attention):
        if (a.kind, a.layer, a.head) == ("cross", L, H):
            assert a.pinned and a.weights[J] == 1.0 and a.weights.sum() == 1.0
            np.testing.assert_array_equal(a.output, a.values[J])
            np.testing.assert_array_equal(a.original_weights, b.weights)
        else:  # every other head of every layer up to and including L
            assert not a.pinned
            if a.layer <= L:
                np.testing.assert_array_equal(a.weights, b.weights)
                np.testing.assert_array_equal(a.output, b.output)
    assert not np.array_equal(tr.steps[T].probs, base.steps[T].probs)


def test_transformer_pin_without_layer_pins_every_layer_and_head(transformer):
    source, target = _pair(transformer)
    tr = trace(transformer, source, target, interventions=Interventions(pins=(Pin(1, 2),)))
    m = transformer.preset.model
    cross = tr.steps[1].records("cross")
    assert len(cross) == m.layers * m.heads and all(r.pinned and r.weights[2] == 1.0 for r in cross)


# ------------------------------------------------------------------------------ hide
@pytest.mark.parametrize("mode", MODES)
def test_hiding_a_source_token_gives_it_weight_exactly_zero(bundle, mode):
    source, target = _pair(bundle)
    J = 0
    tr = trace(bundle, source, target, mode=mode, max_len=6, interventions=Interventions(hide={J}))
    base = trace(bundle, source, target, mode=mode, max_len=6)
    recs = [r for s in tr.steps for r in s.records("cross")]
    assert recs
    for r in recs:
        assert r.weights[J] == 0.0 and np.isneginf(r.energies[J])
        assert math.isclose(float(r.weights.sum()), 1.0, abs_tol=1e-6)
        e = r.energies[np.arange(len(r.energies)) != J].astype(np.float64)
        own = np.exp(e - e.max())
        np.testing.assert_allclose(np.delete(r.weights, J), own / own.sum(), atol=1e-6)
    assert not np.array_equal(tr.steps[0].records("cross")[0].weights, base.steps[0].records("cross")[0].weights)
    assert json.loads(tr.dumps())["steps"][0]["attention"][-1]["energies"][J] is None


def test_no_attention_model_refuses_pins_and_hides():
    b = _bundle(find_preset("ko_en_cat_none"))
    source, target = _pair(b)
    for iv in (Interventions(hide={0}), Interventions(pins=(Pin(0, 0),))):
        with pytest.raises(WhatIfError, match="no attention"):
            trace(b, source, target, interventions=iv)


@pytest.mark.parametrize("iv, msg", [
    (Interventions(force={99: "<eos>"}), "no step 99"),
    (Interventions(force={0: "not-a-token"}), "not in the model's target vocabulary"),
    (Interventions(pins=(Pin(0, 99),)), "source has tokens"),
    (Interventions(pins=(Pin(99, 0),)), "no step 99"),
    (Interventions(pins=(Pin(0, 0, 7, 0),)), "layers"),
    (Interventions(hide={99}), "source has tokens"),
    (Interventions(hide={0}, pins=(Pin(0, 0),)), "hidden"),
])
@pytest.mark.parametrize("mode", MODES)
def test_bad_interventions_name_the_edit(transformer, iv, msg, mode):
    source, target = _pair(transformer)
    with pytest.raises(WhatIfError, match=msg):
        trace(transformer, source, target, mode=mode, max_len=5, interventions=iv)


def test_interventions_json_round_trip():
    iv = Interventions(force={3: "small", 1: "I"}, pins=(Pin(2, 1, 0, 1), Pin(0, 0)), hide={2, 0})
    assert Interventions.from_json(json.loads(json.dumps(iv.to_json()))) == iv
    assert list(iv.force) == [1, 3]
    with pytest.raises(WhatIfError):
        Interventions.from_json({"force": [{"step": "x", "token": "a"}]})
    with pytest.raises(WhatIfError):
        Interventions(force={-1: "a"})


# ------------------------------------------------------------------------------ beams
def _greedy_log_prob(tr) -> float:
    vocab = {tok: i for i, tok in enumerate(tr.target_vocab)}
    return float(sum(np.log(s.probs.astype(np.float64)[vocab[s.predicted]]) for s in tr.steps))


def test_beam_width_one_is_greedy(bundle):
    source, _ = _pair(bundle)
    res = beam_search(bundle, source, 1)
    greedy = trace(bundle, source, mode="free_running")
    assert len(res.beams) == 1 and res.greedy_kept
    b = res.beams[0]
    assert list(b.tokens) == greedy.predicted_tokens
    assert b.finished == (greedy.predicted_tokens[-1] == "<eos>")
    assert math.isclose(b.log_prob, _greedy_log_prob(greedy), rel_tol=1e-4, abs_tol=1e-4)
    assert b.trace.predicted_tokens == greedy.predicted_tokens


@pytest.mark.parametrize("width", [2, 4])
def test_wider_beams_are_sorted_and_never_below_greedy(bundle, width):
    source, _ = _pair(bundle)
    greedy = beam_search(bundle, source, 1, traces=False).beams[0]
    res = beam_search(bundle, source, width)
    lps = [b.log_prob for b in res.beams]
    assert lps == sorted(lps, reverse=True)
    assert 1 <= len(res.beams) <= width
    # (the search scores hypotheses in a batch, greedy one at a time: float32 rounding apart)
    assert lps[0] >= greedy.log_prob - 1e-6
    for b in res.beams:
        assert b.trace.output_tokens == list(b.tokens)
        assert b.finished == (b.tokens[-1] == "<eos>")
        # log_prob is the sum of the chosen tokens' log-probabilities along the beam's own trace
        vocab = {tok: i for i, tok in enumerate(b.trace.target_vocab)}
        lp = sum(np.log(s.probs.astype(np.float64)[vocab[s.output_token]]) for s in b.trace.steps)
        assert math.isclose(b.log_prob, lp, rel_tol=1e-4, abs_tol=1e-3)
    kept = [n for n in res.nodes if n.status != "pruned"]
    assert all(n.parent < i for i, n in enumerate(res.nodes))
    assert len({b.tokens for b in res.beams}) == len(res.beams)
    assert kept


@pytest.fixture(scope="module")
def trained():
    """The shipped, trained ko_en_cat (the lecture models' checkpoint): no training here."""
    from pathlib import Path

    from sandbox.checkpoint import load_checkpoint

    models = Path(__file__).resolve().parent.parent / "presets" / "lectures" / "models"
    (path,) = models.glob("ko_en_cat-*.safetensors")
    return load_checkpoint(path, load_preset(find_preset("ko_en_cat")))


def test_beams_on_a_trained_model(trained):
    for pair in trained.preset.pairs[:4]:
        greedy = trace(trained, pair.source, mode="free_running")
        one = beam_search(trained, pair.source, 1, traces=False).beams[0]
        assert list(one.tokens) == greedy.predicted_tokens
        assert math.isclose(one.log_prob, _greedy_log_prob(greedy), rel_tol=1e-4, abs_tol=1e-4)
        res = beam_search(trained, pair.source, 5, traces=False)
        lps = [b.log_prob for b in res.beams]
        assert lps == sorted(lps, reverse=True) and lps[0] >= one.log_prob - 1e-6
        assert len(res.beams) == 5


def test_beam_rejects_bad_width(transformer):
    for w in (0, -1, 65, True, 2.5):
        with pytest.raises(WhatIfError, match="width"):
            beam_search(transformer, "I love cats", w)


# ------------------------------------------------------------------------------ issue 13.2
def test_teacher_forced_transformer_records_the_causal_mask(transformer):
    source, target = _pair(transformer)
    tf = trace(transformer, source, target, mode="teacher_forcing")
    n = len(tf.steps)
    for s in tf.steps:
        for r in s.records("masked_self"):
            assert r.energies.shape == (n,) and r.weights.shape == (n,) and r.keys.shape[0] == n
            assert np.isneginf(r.energies[s.t + 1:]).all() and np.isfinite(r.energies[: s.t + 1]).all()
            assert (r.weights[s.t + 1:] == 0.0).all()
    d = json.loads(tf.dumps())
    e = next(r for r in d["steps"][0]["attention"] if r["kind"] == "masked_self")["energies"]
    assert e[0] is not None and all(v is None for v in e[1:])


def test_parallel_teacher_forcing_matches_incremental_decoding(transformer):
    """The all-at-once trace equals stepping the decoder one position at a time along the
    gold inputs, on every unmasked entry."""
    source, target = _pair(transformer)
    tf = trace(transformer, source, target, mode="teacher_forcing")
    gold_ids = [transformer.tgt_vocab.id(t) for t in tf.target_tokens]
    inc = trace(transformer, source, mode="free_running", follow=gold_ids)
    assert [s.input_token for s in inc.steps] == [s.input_token for s in tf.steps]
    for a, b in zip(tf.steps, inc.steps):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
        assert [(r.kind, r.layer, r.head) for r in a.attention] == [(r.kind, r.layer, r.head) for r in b.attention]
        for ra, rb in zip(a.attention, b.attention):
            k = rb.weights.shape[0]  # the incremental record has only the keys so far
            np.testing.assert_allclose(ra.energies[:k], rb.energies, atol=1e-4)
            np.testing.assert_allclose(ra.weights[:k], rb.weights, atol=1e-5)
            np.testing.assert_allclose(ra.output, rb.output, atol=1e-5)
            np.testing.assert_allclose(ra.keys[:k], rb.keys, atol=1e-5)
        assert all(rb.weights.shape[0] == b.t + 1 for rb in b.records("masked_self"))


# ------------------------------------------------------------------------------ CLI
def _cli(args, tmp_path, capsys):
    from sandbox.cli import main

    out = tmp_path / "out.json"
    rc = main([*args, "--json", str(out)])
    err = capsys.readouterr().err
    return rc, (json.loads(out.read_text(encoding="utf-8")) if rc == 0 else None), err


def test_cli_trace_force_pin_hide(tmp_path, capsys):
    b = _bundle(find_preset("ko_en_cat"))
    source, target = _pair(b)
    rc, d, err = _cli(["trace", "--preset", "ko_en_cat", "--source", source, "--target", target,
                       "--force", "1=cat", "--force", "3=<eos>", "--pin", "2=0", "--hide-source", "1"],
                      tmp_path, capsys)
    assert rc == 0, err
    want = trace(b, source, target, interventions=Interventions(
        force={1: "cat", 3: "<eos>"}, pins=(Pin(2, 0),), hide={1}))
    assert d == json.loads(want.dumps())
    assert d["steps"][1]["forced"] == "cat" and d["steps"][2]["input_from"] == "forced"
    pinned = d["steps"][2]["attention"][0]
    assert pinned["weights"][0] == 1.0 and pinned["output"] == pinned["values"][0]
    assert "original_weights" in pinned
    assert all(s["attention"][0]["weights"][1] == 0.0 and s["attention"][0]["energies"][1] is None
               for s in d["steps"])


@pytest.mark.parametrize("flags, words", [
    (["--force", "9=cat"], "--force 9=cat"),
    (["--force", "1=zebra"], "zebra"),
    (["--force", "one=cat"], "--force"),
    (["--force", "1="], "--force"),
    (["--pin", "1=7"], "--pin 1=7"),
    (["--pin", "1=x"], "--pin"),
    (["--pin", "12=0"], "--pin 12=0"),
    (["--hide-source", "5"], "--hide-source 5"),
    (["--hide-source", "a"], "--hide-source"),
    (["--hide-source", "0", "--hide-source", "1", "--hide-source", "2"], "all 3 source tokens"),
])
def test_cli_bad_what_if_values_are_one_line_exit_2(tmp_path, capsys, flags, words):
    rc, _, err = _cli(["trace", "--preset", "ko_en_cat", "--source", "나는 고양이로소이다",
                       "--target", "I am a cat", *flags], tmp_path, capsys)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err
    assert "Traceback" not in err


def test_cli_beam(tmp_path, capsys):
    b = _bundle(find_preset("en_ko_transformer"))
    source = b.preset.pairs[0].source
    rc, d, err = _cli(["beam", "--preset", "en_ko_transformer", "--source", source, "--width", "3"],
                      tmp_path, capsys)
    assert rc == 0, err
    assert d["format"] == "attention-sandbox/beam@1" and d["width"] == 3
    assert "length_penalty" not in d
    res = beam_search(b, source, 3)
    assert [x["tokens"] for x in d["beams"]] == [list(x.tokens) for x in res.beams]
    lps = [x["log_prob"] for x in d["beams"]]
    assert lps == sorted(lps, reverse=True)
    for x in d["beams"]:
        assert x["trace"]["format"] == "attention-sandbox/trace@1"
        assert [s.get("forced") or s.get("chosen") or s["predicted"] for s in x["trace"]["steps"]] == x["tokens"]
        assert x["finished"] == (x["tokens"][-1] == "<eos>")


@pytest.mark.parametrize("flags", [["--width", "0"], ["--width", "65"], ["--width", "2", "--length-penalty", "-1"],
                                   ["--width", "2", "--max-len", "0"]])
def test_cli_beam_bad_values(tmp_path, capsys, flags):
    rc, _, err = _cli(["beam", "--preset", "ko_en_cat", "--source", "나는", *flags], tmp_path, capsys)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: ")


def test_explaining_a_pinned_weight_checks_the_models_own_weight(bundle):
    from sandbox.explain import compute

    source, target = _pair(bundle)
    tr = trace(bundle, source, target, interventions=Interventions(pins=(Pin(0, 0),)))
    rec = tr.steps[0].records("cross")[0]
    for j in range(rec.weights.shape[0]):
        ex = compute(rec, j)
        assert ex.recorded_weight == float(rec.original_weights[j]) and ex.matches
