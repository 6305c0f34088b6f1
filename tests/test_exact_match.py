"""The one teacher-forced exact-match rule (sandbox.evaluate.teacher_forced_match), used by the
trainer's running evaluation and by ``evaluate(decode=False)``: checked against the free-running
greedy decode as the oracle, on pairs the model has and has not seen, including target words
outside its vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sandbox.corpus import Pair
from sandbox.evaluate import teacher_forced_match
from sandbox.model import Bundle, build_model, build_vocabs
from sandbox.presets import load_preset, loads_preset
from sandbox.trace import default_max_len
from sandbox.train import Trainer
from sandbox.vocab import EOS_ID, PAD_ID, SOS_ID, UNK_ID, Vocab, encode_sentence

from helpers import tiny_preset

GRU = tiny_preset("tiny", dict(kind="seq2seq", cell="gru", attention="dot", embed=8, hidden=16),
                  dict(steps=150, batch_size=8, lr=0.03, teacher_forcing=1.0, seed=0),
                  tokenizer=dict(source="word", target="word"))
TRANSFORMER = tiny_preset("tiny transformer", dict(kind="transformer", d_model=16, heads=2, layers=1, d_ff=32,
                                                   dropout=0.1),
                          dict(steps=150, batch_size=3, lr=0.01, teacher_forcing=0.5, seed=0))
# Pairs the model never trains on: known words in new orders, and target words it has no id for.
UNSEEN = [Pair("a b", "x y"), Pair("c b", "z y w"), Pair("b a", "y q"), Pair("a c", "x z r s"),
          Pair("c c", "z")]


def _encode(bundle: Bundle, pairs):
    p = bundle.preset
    src = [list(encode_sentence(x.source, bundle.src_vocab, p.tokenizer.source).ids) for x in pairs]
    tgt = [encode_sentence(x.target, bundle.tgt_vocab, p.tokenizer.target) for x in pairs]
    S, T = max(map(len, src)), max(len(t.ids) for t in tgt)
    src_t = torch.tensor([s + [PAD_ID] * (S - len(s)) for s in src])
    lens = torch.tensor([len(s) for s in src])
    out = torch.tensor([list(t.ids) + [PAD_ID] * (T - len(t.ids)) for t in tgt])
    tgt_in = torch.tensor([[SOS_ID] + list(t.ids[:-1]) + [PAD_ID] * (T - len(t.ids)) for t in tgt])
    return src_t, lens, tgt_in, out, tgt, [len(s) for s in src]


def _greedy_exact(model, bundle, src, lens, tgt, n_src) -> list[bool]:
    """The oracle: decode greedily, as long as a free-running trace would, and compare the
    tokens up to and including ``<eos>`` with the target as written."""
    limits = [default_max_len(n, len(t.ids)) for n, t in zip(n_src, tgt)]
    pred = model.greedy(src, lens, max(limits)).tolist()
    rows = []
    for ids, limit, t in zip(pred, limits, tgt):
        ids = ids[:limit]
        ids = ids[: ids.index(EOS_ID) + 1] if EOS_ID in ids else ids
        rows.append([bundle.tgt_vocab.token(i) for i in ids] == list(t.original))
    return rows


@pytest.mark.parametrize("text", [GRU, TRANSFORMER, GRU.replace('attention = "dot"', 'attention = "bahdanau"')],
                         ids=["gru_dot", "transformer", "gru_bahdanau"])
def test_teacher_forced_exact_match_agrees_with_greedy_decoding(text):
    """Part-way through training (some pairs right, some wrong), on the training pairs and on
    unseen ones with unknown target words: a row is exact by the rule iff greedy decoding
    reproduces the target as written; where it is, the teacher-forced argmax is the greedy
    decode token for token; the token hits are the numpy recount of the argmax."""
    bundle = Bundle.from_preset(loads_preset(text))
    tr = Trainer(bundle, device="cpu", eval_every=10**9)
    pairs = list(bundle.preset.pairs) + UNSEEN
    src, lens, tgt_in, tgt_out, tgt, n_src = _encode(bundle, pairs)
    assert (tgt_out == UNK_ID).any()  # the unseen targets hold words outside the vocabulary
    seen_rows: set[tuple[bool, ...]] = set()
    for _ in range(25):
        for _ in range(4):
            tr.step()
        model = tr.model.eval()
        with torch.no_grad():
            logits = model(src, lens, tgt_in, feed="gold")
            hits, exact = teacher_forced_match(logits, tgt_out)
            oracle = _greedy_exact(model, bundle, src, lens, tgt, n_src)
            greedy = model.greedy(src, lens, tgt_out.shape[1])
        assert exact.tolist() == oracle
        argmax = logits.argmax(-1)
        for b in np.flatnonzero(exact.numpy()):
            n = len(tgt[b].ids)
            assert argmax[b, :n].tolist() == greedy[b, :n].tolist() == tgt_out[b, :n].tolist()
        gold, am = tgt_out.numpy(), argmax.numpy()
        assert hits.numpy().tolist() == ((am == gold) & (gold != PAD_ID) & (gold != UNK_ID)).tolist()
        seen_rows.add(tuple(oracle))
        model.train()
    assert any(0 < sum(r) < len(r) for r in seen_rows), seen_rows  # some right, some wrong at once


def _parrot_logits(tgt_out: torch.Tensor, vocab: int) -> torch.Tensor:
    """Logits whose argmax is the encoded gold id everywhere, ``<unk>`` included."""
    return torch.nn.functional.one_hot(tgt_out, vocab).float() * 10


def test_the_two_options_unknown_targets_and_the_decode_limit():
    """A model that says ``<unk>`` where the gold id is ``<unk>`` has not reproduced the target as
    written (``unknown_is_miss``, the default); a target longer than the decoder may run
    (``max_len``) cannot be reproduced. Turned off, both rows count as matches."""
    tgt_out = torch.tensor([[5, 6, EOS_ID, PAD_ID], [5, UNK_ID, EOS_ID, PAD_ID], [5, 6, 7, EOS_ID]])
    logits = _parrot_logits(tgt_out, 8)
    hits, exact = teacher_forced_match(logits, tgt_out, max_len=3)
    assert exact.tolist() == [True, False, False]
    assert hits.sum(1).tolist() == [3, 2, 4]
    hits, exact = teacher_forced_match(logits, tgt_out, unknown_is_miss=False, max_len=None)
    assert exact.tolist() == [True, True, True]
    assert hits.sum(1).tolist() == [3, 3, 4]
    wrong = logits.clone()
    wrong[0, 2] = _parrot_logits(torch.tensor([6]), 8)[0]  # says y where <eos> was due
    assert teacher_forced_match(wrong, tgt_out)[1].tolist() == [False, False, True]  # default limit: 200


def test_the_trainer_counts_an_unknown_held_out_word_as_a_miss(tmp_path):
    """Bug fixed on purpose: the trainer's held-out exact match counted a gold ``<unk>`` that the
    model also said ``<unk>`` for as a match, where ``python main.py evaluate`` (and a greedy
    decode, which can never print the word) does not. A target vocabulary of the training
    pairs only (as a subword model's is) leaves held-out words unknown; a parrot model that
    outputs every encoded gold id then scores the share of held-out targets without an
    unknown word (it scored 1.0)."""
    lines = [f"s{i} k\ty z\n" for i in range(12)] + [f"u{i} k\tw{i} y\n" for i in range(12)]
    (tmp_path / "c.tsv").write_text("".join(lines), encoding="utf-8")
    text = GRU.split("\n[[pairs]]")[0] + '\n[data]\nfile = "c.tsv"\nsource_column = 1\ntarget_column = 2\nheldout = 0.5\n'
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    preset = load_preset(tmp_path / "p.toml")
    sv = build_vocabs(preset)[0]
    tv = Vocab.build((x.target for x in preset.pairs), "word")
    bundle = Bundle(preset, sv, tv, build_model(preset, sv, tv))
    tr = Trainer(bundle, device="cpu", eval_every=10**9)
    known = [all(w in tv for w in x.target.split()) for x in preset.heldout_pairs]
    assert 0 < sum(known) < len(known)  # the split holds both kinds

    def parrot(src, lens, tgt_in, feed="gold"):
        # output t is input t+1 (the gold token), <eos> after the last one
        nxt = torch.cat([tgt_in[:, 1:], torch.full_like(tgt_in[:, :1], PAD_ID)], dim=1)
        out = torch.where(nxt == PAD_ID, torch.full_like(nxt, EOS_ID), nxt)
        return _parrot_logits(out, len(bundle.tgt_vocab))

    tr.model.forward = parrot
    train_acc, train_exact = tr.evaluate()
    assert (train_acc, train_exact) == (1.0, 1.0)
    assert tr.heldout_exact == pytest.approx(sum(known) / len(known))
