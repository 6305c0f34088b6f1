"""Trace semantics: what each step is fed, and agreement with the batched training path."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from sandbox.attention import AttentionRecord
from sandbox.model import Bundle
from sandbox.presets import list_presets, load_preset
from sandbox.presets import find_preset
from sandbox.trace import TRACE_FORMAT, trace
from sandbox.train import encode_pairs
from sandbox.vocab import SOS_ID, encode_sentence

SHIPPED = [p for _, p, user in list_presets() if not user]


@pytest.fixture(params=SHIPPED, ids=lambda p: p.stem)
def bundle(request):
    return Bundle.from_preset(load_preset(request.param))


def test_teacher_forcing_feeds_gold_tokens(bundle):
    pair = bundle.preset.pairs[0]
    tr = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
    gold = ["<sos>", *tr.target_tokens]
    assert len(tr.steps) == len(tr.target_tokens)
    for s in tr.steps:
        assert s.input_token == gold[s.t]
        assert s.input_from == "gold"
        assert s.gold == tr.target_tokens[s.t]


def test_free_running_feeds_previous_prediction(bundle):
    pair = bundle.preset.pairs[0]
    tr = trace(bundle, pair.source, pair.target, mode="free_running")
    assert tr.steps[0].input_token == "<sos>"
    for prev, s in zip(tr.steps, tr.steps[1:]):
        assert s.input_token == prev.predicted
        assert s.input_from == "prediction"
        assert s.off_gold == (s.input_token != s.gold_input)
    last = tr.steps[-1]
    assert last.predicted == "<eos>" or len(tr.steps) >= 2 * len(tr.source_tokens)


def test_traces_match_the_batched_model(bundle):
    """Stepwise traces equal the training forward pass (teacher forcing) and greedy decode."""
    model = bundle.model.eval()
    pair = bundle.preset.pairs[0]
    src = torch.tensor([encode_sentence(pair.source, bundle.src_vocab).ids])
    gold = encode_sentence(pair.target, bundle.tgt_vocab).ids
    tgt_in = torch.tensor([[SOS_ID, *gold[:-1]]])
    with torch.no_grad():
        probs = torch.softmax(model(src, None, tgt_in)[0], -1).numpy()
        greedy = model.greedy(src, None, 12)[0].tolist()
    tf = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
    np.testing.assert_allclose(np.stack([s.probs for s in tf.steps]), probs, atol=1e-5)
    fr = trace(bundle, pair.source, pair.target, mode="free_running", max_len=12)
    ids = [bundle.tgt_vocab.id(t) for t in fr.predicted_tokens]
    assert ids == greedy[: len(ids)]


def test_free_running_can_leave_the_gold_path():
    """With an untrained model the free-running inputs differ from the gold ones."""
    preset = load_preset(SHIPPED[0])
    bundle = Bundle.from_preset(preset)
    pair = preset.pairs[0]
    tf = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
    fr = trace(bundle, pair.source, pair.target, mode="free_running")
    assert not any(s.off_gold for s in tf.steps)
    assert [s.input_token for s in fr.steps[:2]] == ["<sos>", tf.steps[0].predicted]
    assert any(s.off_gold for s in fr.steps)


def test_unknown_tokens_are_flagged():
    preset = load_preset(SHIPPED[0])
    bundle = Bundle.from_preset(preset)
    tr = trace(bundle, preset.pairs[0].source + " 우주선", None, mode="free_running")
    assert tr.source_tokens[-2] == "<unk>"
    assert tr.source_unknown == (len(tr.source_tokens) - 2,)
    assert tr.to_json()["unknown"]["source"] == [len(tr.source_tokens) - 2]


def test_trace_rejects_bad_requests():
    preset = load_preset(SHIPPED[0])
    bundle = Bundle.from_preset(preset)
    with pytest.raises(ValueError, match="empty"):
        trace(bundle, "   ", "I am a cat")
    with pytest.raises(ValueError, match="teacher forcing needs a target"):
        trace(bundle, preset.pairs[0].source, None, mode="teacher_forcing")
    with pytest.raises(ValueError, match="unknown mode"):
        trace(bundle, preset.pairs[0].source, None, mode="beam")


def test_json_round_trip_and_contract(bundle):
    pair = bundle.preset.pairs[0]
    tr = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
    obj = json.loads(tr.dumps())
    assert obj["format"] == TRACE_FORMAT
    assert obj["preset"] == bundle.preset.key
    assert obj["model"]["kind"] == bundle.preset.model.kind
    assert obj["source_tokens"][-1] == "<eos>" and obj["target_tokens"][-1] == "<eos>"
    fields = {"kind", "layer", "head", "position", "score", "query", "keys", "values",
              "energies", "weights", "output", "terms"}
    for step, s in zip(obj["steps"], tr.steps):
        assert {"t", "input_token", "input_from", "attention", "top_k", "predicted", "gold"} <= set(step)
        assert step["top_k"][0][0] == step["predicted"]
        assert len(step["attention"]) == len(s.attention)
        for rec_obj, rec in zip(step["attention"], s.attention):
            assert set(rec_obj) == fields
            back = AttentionRecord.from_json(rec_obj)
            for name in ("query", "keys", "values", "energies", "weights", "output"):
                np.testing.assert_array_equal(getattr(back, name), getattr(rec, name))
            # -inf energies are written as null and come back as -inf
            nulls = [e is None for e in rec_obj["energies"]]
            assert nulls == list(np.isneginf(rec.energies))
    assert len(obj["encoder"]) == len(tr.encoder)
    for rec_obj, rec in zip(obj["encoder"], tr.encoder):
        assert set(rec_obj) == fields and rec_obj["kind"] == "self"
        np.testing.assert_array_equal(AttentionRecord.from_json(rec_obj).weights, rec.weights)


SEQ2SEQ = [(cell, att, enc) for cell in ("rnn", "gru", "lstm")
           for att in ("none", "dot", "scaled_dot", "general", "bahdanau")
           for enc in ("uni", "bi")]


def seq2seq_bundle(cell: str, attention: str, encoder: str = "uni") -> Bundle:
    base = load_preset(find_preset("ko_en_cat"))
    return Bundle.from_preset(dataclasses.replace(
        base, model=dataclasses.replace(base.model, cell=cell, attention=attention,
                                        encoder=encoder)))


@pytest.mark.parametrize("cell,attention,encoder", SEQ2SEQ)
def test_seq2seq_query_keys_and_values_are_the_documented_states(cell, attention, encoder):
    """Luong: the query is s_t (this step's state); Bahdanau: s_{t-1}, the state before the
    step (the encoder's final state at t = 0). Keys = values = the encoder states."""
    bundle = seq2seq_bundle(cell, attention, encoder)
    pair = bundle.preset.pairs[0]
    for mode in ("teacher_forcing", "free_running"):
        tr = trace(bundle, pair.source, pair.target, mode=mode)
        for s in tr.steps:
            if attention == "none":
                assert s.attention == () and s.concat == ("state",)
                continue
            (r,) = s.attention
            if s.t or encoder == "uni" or attention != "bahdanau":
                # (a bidirectional encoder's final state sums both directions' last states,
                # which is no single h_j, so t = 0 of Bahdanau is only checked for "uni")
                before = tr.steps[s.t - 1].state if s.t else tr.encoder_states[-1]
                np.testing.assert_array_equal(r.query, before if attention == "bahdanau" else s.state)
            np.testing.assert_array_equal(r.keys, tr.encoder_states)
            np.testing.assert_array_equal(r.values, tr.encoder_states)
            assert s.concat == ("context", "state")
            assert s.cell_input == (("embedding", "context") if attention == "bahdanau" else ("embedding",))


def length_spread(pairs, n: int = 24) -> list:
    """``n`` pairs spread evenly over ``pairs`` sorted by (source, target) length: the shortest
    and the longest pair included, so a padded batch of them pads both sides. (The corpus
    preset has thousands of pairs; running each alone thirty times adds minutes and no case.)"""
    ranked = sorted(pairs, key=lambda p: (len(p.source.split()), len(p.target.split())))
    picks = {round(i * (len(ranked) - 1) / (n - 1)) for i in range(n)}
    return [ranked[i] for i in sorted(picks)]


def test_length_spread_keeps_the_shortest_and_longest_pairs():
    pairs = load_preset(find_preset("ko_en_cat")).pairs
    spread = length_spread(pairs)
    lengths = [len(p.source.split()) for p in pairs]
    assert len(spread) == 24
    assert {len(p.source.split()) for p in spread} >= {min(lengths), max(lengths)}


@pytest.mark.parametrize("cell,attention,encoder", SEQ2SEQ)
def test_seq2seq_padded_batch_equals_each_sentence_alone(cell, attention, encoder):
    """Packing, the padding mask and the final (h, c) state: a padded training batch gives
    each pair the logits it gets on its own, fed gold or its own predictions."""
    bundle = seq2seq_bundle(cell, attention, encoder)
    model = bundle.model.eval()
    d = encode_pairs(bundle, pairs=length_spread(bundle.preset.pairs))
    assert len(set(d.src_lens_cpu)) > 1 and len(set(d.tgt_lens_cpu)) > 1  # real padding
    with torch.no_grad():
        for feed in ("gold", "prediction"):
            batched = model(d.src, d.src_lens, d.tgt_in, feed=feed)
            for i, (s, t) in enumerate(zip(d.src_lens_cpu, d.tgt_lens_cpu)):
                alone = model(d.src[i:i + 1, :s], None, d.tgt_in[i:i + 1, :t], feed=feed)[0]
                torch.testing.assert_close(batched[i, :t], alone, atol=1e-5, rtol=0)
