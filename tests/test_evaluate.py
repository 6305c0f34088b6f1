"""evaluate: metrics against hand-computed values, per-head alignment against traces, the
CLI, and a small corpus preset that generalises to pairs it never trained on."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import torch
from torch import nn

from sandbox import cli
from sandbox.attention import attend
from sandbox.evaluate import evaluate
from sandbox.model import Bundle, build_vocabs
from sandbox.presets import load_preset, loads_preset, with_seed
from sandbox.trace import trace
from sandbox.train import Trainer
from sandbox.vocab import EOS_ID, PAD_ID

# --------------------------------------------------------------------------- hand-computed

TINY = '''
name = "tiny"
[model]
kind = "seq2seq"
cell = "gru"
attention = "dot"
embed = 4
hidden = 4
[training]
steps = 1
batch_size = 2
lr = 0.01
teacher_forcing = 1.0
seed = 0
[[pairs]]
source = "a b"
target = "x y"
alignment = "0-0 1-1"
[[pairs]]
source = "a c"
target = "y x"
alignment = "0-1"
'''


class ScriptedModel(nn.Module):
    """Outputs and cross attention fixed per source sentence, so every metric is known.

    ``script[source ids]`` = (teacher-forced argmax ids per step, argmax source index of the
    cross attention per step, free-running ids). Attention goes through attend() like a real
    model's: dot scores of a one-hot query against keys 10·e_j."""

    def __init__(self, script, vocab_size):
        super().__init__()
        self.script, self.V = script, vocab_size
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, src, lens, tgt_in, feed="gold"):
        B, T = tgt_in.shape
        S = src.shape[1]
        logits = torch.zeros(B, T, self.V)
        query = torch.zeros(B, 1, T, S)
        keys = (10 * torch.eye(S)).expand(B, 1, S, S)
        for b in range(B):
            tf, att, _free = self.script[tuple(src[b, : lens[b]].tolist())]
            for t, tok in enumerate(tf):
                logits[b, t, tok] = 10.0
            for t, j in enumerate(att):
                query[b, 0, t, j] = 1.0
        attend(query, keys, keys, score="dot", kind="cross")
        return logits

    def greedy(self, src, lens, max_len):
        out = torch.full((src.shape[0], max_len), PAD_ID)
        for b in range(src.shape[0]):
            free = self.script[tuple(src[b, : lens[b]].tolist())][2]
            out[b, : len(free)] = torch.tensor(free)
        return out


def test_metrics_match_hand_computed_values():
    preset = loads_preset(TINY)
    sv, tv = build_vocabs(preset)
    a, b, c = sv.id("a"), sv.id("b"), sv.id("c")
    x, y = tv.id("x"), tv.id("y")
    script = {
        (a, b, EOS_ID): ([x, y, EOS_ID], [0, 0, 2], [x, y, EOS_ID]),  # exact; y attends to a (gold b)
        (a, c, EOS_ID): ([y, y, EOS_ID], [2, 0, 0], [y, y, EOS_ID]),  # "y y": wrong; y attends to <eos>
    }
    bundle = Bundle(preset, sv, tv, ScriptedModel(script, len(tv)))
    r = evaluate(bundle, preset.pairs)
    assert r["format"] == "attention-sandbox/eval@1" and r["pairs"] == 2
    assert r["exact_match"] == 0.5
    assert r["token_accuracy"] == pytest.approx(5 / 6)  # one wrong token (x predicted as y) of six
    assert r["chrf"] == pytest.approx(sacrebleu.corpus_chrf(["x y", "y y"], [["x y", "y x"]]).score)
    assert r["bleu"] == pytest.approx(sacrebleu.corpus_bleu(["x y", "y y"], [["x y", "y x"]]).score)
    assert [s["predicted"] for s in r["sentences"]] == ["x y", "y y"]
    assert [s["exact"] for s in r["sentences"]] == [True, False]
    al = r["alignment"]
    # Gold-linked target tokens: pair 1 x (gold a: hit), y (gold b: miss); pair 2 x (gold a: hit).
    assert al["links"] == 3 and al["accuracy"] == pytest.approx(2 / 3)
    # A = {(0,0), (0,1)} ∪ {(0,1)} (pair 2's first argmax is <eos>: no link), |A| = 3, |A∩G| = 2.
    assert al["aer"] == pytest.approx(1 - (2 + 2) / (3 + 3))
    assert al["per_head"] == [{"layer": 0, "head": 0, "accuracy": al["accuracy"], "aer": al["aer"]}]


def test_no_gold_links_means_no_alignment_score():
    preset = loads_preset(TINY.replace('alignment = "0-0 1-1"\n', "").replace('alignment = "0-1"\n', ""))
    r = evaluate(Bundle.from_preset(preset), preset.pairs)
    assert r["alignment"] is None


# --------------------------------------------------------------------------- per head, against traces

TRANSFORMER = '''
name = "tr"
[model]
kind = "transformer"
d_model = 8
heads = 2
layers = 2
d_ff = 16
dropout = 0.0
[training]
steps = 1
batch_size = 4
lr = 0.01
teacher_forcing = 1.0
seed = 5
'''
PAIRS = [("나는 고양이를 좋아해", "I love cats", "0-0 2-1 1-2"), ("그는 큰 개를 봐", "he sees big dogs", "0-0 3-1 1-2 2-3"),
         ("너는 책을 원해", "you want books", "0-0 2-1 1-2"), ("우리는 사과를", "we apples", "0-0 1-1")]


def test_per_head_alignment_and_predictions_agree_with_traces():
    text = TRANSFORMER + "".join(f'\n[[pairs]]\nsource = "{s}"\ntarget = "{t}"\nalignment = "{a}"\n' for s, t, a in PAIRS)
    preset = loads_preset(text)
    bundle = Bundle.from_preset(preset)
    r = evaluate(bundle, preset.pairs, batch_size=3)  # two batches of different padding
    hits = {(layer, head): 0 for layer in range(2) for head in range(2)}
    headline = tokens = 0
    for pair, sent in zip(preset.pairs, r["sentences"]):
        free = trace(bundle, pair.source, pair.target, mode="free_running")
        assert sent["predicted"] == " ".join(t for t in free.predicted_tokens if t != "<eos>")
        tf = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
        gold: dict[int, set[int]] = {}
        for i, j in pair.alignment:
            gold.setdefault(j, set()).add(i)
        for j, sources in gold.items():
            tokens += 1
            step = tf.steps[j]
            for (layer, head) in hits:
                (rec,) = step.records("cross", layer, head)
                hits[layer, head] += int(np.argmax(rec.weights)) in sources
            mean = np.mean([rec.weights for rec in step.records("cross", 1)], axis=0)
            headline += int(np.argmax(mean)) in sources
    got = {(h["layer"], h["head"]): h["accuracy"] for h in r["alignment"]["per_head"]}
    assert got == pytest.approx({k: v / tokens for k, v in hits.items()})
    assert r["alignment"]["accuracy"] == pytest.approx(headline / tokens)


# --------------------------------------------------------------------------- a corpus that generalises

SUBJECTS = [("나는", "I"), ("너는", "you"), ("그는", "he"), ("그녀는", "she"), ("우리는", "we"), ("그들은", "they")]
OBJECTS = [("고양이를", "cats"), ("개를", "dogs"), ("사과를", "apples"), ("책을", "books")]
VERBS = [("좋아해", "love"), ("싫어해", "hate"), ("봐", "see"), ("원해", "want")]
ADJECTIVES = [("작은", "small"), ("큰", "big"), ("좋은", "good")]


def write_sov_corpus(path: Path) -> int:
    """S O V -> S V O and S Adj O V -> S V Adj O with gold links: 384 pairs."""
    lines = []
    for (ks, es), (ko, eo), (kv, ev) in itertools.product(SUBJECTS, OBJECTS, VERBS):
        v = ev + "s" if es in ("he", "she") else ev
        lines.append(f"{ks} {ko} {kv}\t{es} {v} {eo}\t0-0 2-1 1-2")
        for ka, ea in ADJECTIVES:
            lines.append(f"{ks} {ka} {ko} {kv}\t{es} {v} {ea} {eo}\t0-0 3-1 1-2 2-3")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


SOV_PRESET = '''name = "SOV to SVO"
[model]
kind = "seq2seq"
cell = "gru"
attention = "bahdanau"
encoder = "bi"
embed = 16
hidden = 32
[training]
steps = 100
batch_size = 32
lr = 0.01
teacher_forcing = 1.0
seed = 0
[data]
file = "sov.tsv"
alignment_column = 3
heldout = 0.2
'''
# Measured with this preset (100 steps, ~5 s) for seeds 0-5: held-out exact match 1.000 for
# every seed (already 1.000 at step 50; 0.16-0.38 at step 25), alignment accuracy on held-out
# pairs 0.990-1.000 (AER 0.000-0.010). The bar leaves a margin of 0.1 below the lowest.
GENERALISES = 0.9


@pytest.fixture(scope="module")
def sov_preset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sov")
    write_sov_corpus(folder / "sov.tsv")
    (folder / "sov.toml").write_text(SOV_PRESET, encoding="utf-8")
    return folder / "sov.toml"


def test_a_small_corpus_generalises_to_held_out_pairs(sov_preset):
    preset = load_preset(sov_preset)
    assert len(preset.heldout_pairs) == 77
    trainer = Trainer(Bundle.from_preset(preset), device="cpu")
    # it never sees a held-out pair
    assert trainer.pairs_count == len(preset.pairs)
    result = trainer.run()
    assert result.metrics.heldout_exact >= GENERALISES
    r = evaluate(trainer.bundle, preset.heldout_pairs)
    assert r["exact_match"] >= GENERALISES
    assert r["exact_match"] == pytest.approx(result.metrics.heldout_exact)
    assert r["alignment"]["accuracy"] >= GENERALISES


def test_evaluate_command(sov_preset, tmp_path, capsys):
    ck = tmp_path / "m.safetensors"
    assert cli.main(["train", "--preset", str(sov_preset), "--steps", "2", "--seed", "3", "--device", "cpu",
                     "--out", str(ck)]) == 0
    seeded = with_seed(load_preset(sov_preset), 3)
    out = tmp_path / "e.json"
    assert cli.main(["evaluate", "--preset", str(sov_preset), "--checkpoint", str(ck), "--json", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    # the held-out split of the seed the checkpoint was trained with
    assert [s["source"] for s in doc["sentences"]] == [p.source for p in seeded.heldout_pairs]
    for key in ("pairs", "exact_match", "token_accuracy", "chrf", "bleu", "alignment", "sentences"):
        assert key in doc
    assert doc["alignment"]["links"] == sum(len(p.alignment) for p in seeded.heldout_pairs)

    data = tmp_path / "mine.tsv"
    data.write_text("나는 개를 봐\tI see dogs\t0-0 2-1 1-2\n그는 책을 원해\the wants books\nno tab\n", encoding="utf-8")
    assert cli.main(["evaluate", "--preset", str(sov_preset), "--checkpoint", str(ck), "--data", str(data),
                     "--json", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["pairs"] == 2 and doc["alignment"]["pairs"] == 1 and doc["alignment"]["links"] == 3
    assert doc["skipped"][0]["line"] == 3
    capsys.readouterr()
    assert cli.main(["evaluate", "--preset", str(sov_preset), "--checkpoint", str(ck), "--data",
                     str(tmp_path / "none.tsv"), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --data:") and "no such corpus file" in err and "\n" not in err


# --------------------------------------------------------------------------- subword tokens

SUBWORD = TINY.replace("[training]", '[tokenizer]\nsource = "subword"\ntarget = "subword"\nvocab_size = 40\n\n[training]')


def subword_preset_text() -> str:
    pairs = "".join(f'\n[[pairs]]\nsource = "{s}"\ntarget = "{t}"\n' for s, t, _a in PAIRS)
    return SUBWORD.split("[[pairs]]")[0] + pairs


def test_subword_checkpoint_traces_identically_after_a_round_trip(tmp_path, monkeypatch):
    from sandbox import vocab as vocab_module
    from sandbox.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "sub.toml"
    path.write_text(subword_preset_text(), encoding="utf-8")
    preset = load_preset(path)
    bundle = Bundle.from_preset(preset)
    assert bundle.src_vocab.subword is not None and bundle.tgt_vocab.subword is not None
    # pieces, not words: some token is a part of a word
    pieces = bundle.src_vocab.split("그는 큰 개를 봐", "subword")
    assert "".join(pieces).replace("▁", " ").strip() == "그는 큰 개를 봐" and len(pieces) > 4
    trainer = Trainer(bundle, steps=3, device="cpu")
    trainer.run()
    ck = save_checkpoint(trainer.bundle, tmp_path / "sub.safetensors")
    before = [trace(trainer.bundle, s, t, mode=m).dumps() for s, t, _a in PAIRS for m in ("teacher_forcing", "free_running")]

    # Loading must not train SentencePiece again: the model travels inside the checkpoint.
    def no_training(*_a, **_k):
        raise AssertionError("SentencePiece was trained again while loading a checkpoint")

    monkeypatch.setattr(vocab_module, "train_subword", no_training)
    for loaded in (load_checkpoint(ck), load_checkpoint(ck, preset=preset)):
        assert loaded.src_vocab == trainer.bundle.src_vocab and loaded.tgt_vocab == trainer.bundle.tgt_vocab
        after = [trace(loaded, s, t, mode=m).dumps() for s, t, _a in PAIRS for m in ("teacher_forcing", "free_running")]
        assert after == before
    # the same training pairs give the same pieces in another run (deterministic training)
    monkeypatch.undo()
    assert build_vocabs(preset) == (bundle.src_vocab, bundle.tgt_vocab)
