"""Lecture claims: ``[[slides.expect]]`` parsing and errors, save round trip, the check
against a Trace (oracle: the weights recomputed from the trace's own records and its
attention matrices), ``lecture NAME --check`` exit codes, shipped checkpoints (a fresh user
folder exports without training) and the lecture's pinned device.

Models are untrained (seeded) or trained for a few steps, so the file stays quick."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sandbox import lectures as L
from sandbox.claims import Expect, check_claim, claim_from_view, describe_expect
from sandbox.lectures import (LectureError, TrainSpec, find_lecture, load_lecture, loads_lecture, save_lecture,
                              user_lectures_dir)
from sandbox.model import Bundle
from sandbox.presets import find_preset, load_preset
from sandbox.trace import trace

ROOT = Path(__file__).resolve().parent.parent


def _bundle(key: str) -> Bundle:
    return Bundle.from_preset(load_preset(find_preset(key)))


def _oracle_cross(tr, t, layer=None, head=None):
    """Cross weights at step t from the trace's attention matrices (mean over heads)."""
    m = tr.model
    if m["kind"] == "seq2seq":
        return tr.attention_matrix("cross", 0, 0)[t].astype(np.float64)
    layer = m["layers"] - 1 if layer is None else layer
    heads = range(m["heads"]) if head is None else [head]
    return np.mean([tr.attention_matrix("cross", layer, h)[t] for h in heads], axis=0)


# --------------------------------------------------------------------------- the check itself


@pytest.mark.parametrize("key", ["ko_en_cat_dot", "ko_en_cat", "en_ko_transformer"])
def test_claim_on_the_argmax_holds_and_on_the_argmin_fails(key):
    b = _bundle(key)
    p = b.preset.pairs[0]
    tr = trace(b, p.source, p.target)
    for t in range(len(tr.steps)):
        w = _oracle_cross(tr, t)
        keys = tr.source_tokens
        best, worst = keys[int(np.argmax(w))], keys[int(np.argmin(w))]
        ok = check_claim(tr, Expect(step=t, attends=(best,), token=tr.steps[t].gold))
        assert ok.holds, ok.summary()
        np.testing.assert_allclose(ok.weights, w, atol=1e-6)
        assert ok.keys == keys
        if w.max() - w.min() > 1e-6 and worst != best:
            bad = check_claim(tr, Expect(step=t, attends=(worst,)))
            assert not bad.holds and f"largest weight is on {best}" in bad.reason
        # min_weight: the listed tokens' share, just above and just below what was measured
        share = float(w[[k == best for k in keys]].sum())
        assert check_claim(tr, Expect(step=t, attends=(best,), min_weight=max(share - 1e-3, 1e-6))).holds
        if share + 1e-3 <= 1:
            assert not check_claim(tr, Expect(step=t, attends=(best,), min_weight=share + 1e-3)).holds


def test_transformer_head_and_layer_choice_matches_the_matrices():
    b = _bundle("en_ko_transformer")
    p = b.preset.pairs[0]
    tr = trace(b, p.source, p.target)
    m = b.preset.model
    for layer in range(m.layers):
        for head in range(m.heads):
            w = _oracle_cross(tr, 1, layer, head)
            e = claim_from_view(tr, 1, "cross", layer, head)
            assert e.attends == (tr.source_tokens[int(np.argmax(w))],)
            r = check_claim(tr, e)
            assert r.holds
            np.testing.assert_allclose(r.weights, w, atol=1e-6)
    # default: last layer, heads averaged; the mean of softmaxes still sums to 1
    r = check_claim(tr, Expect(step=1, attends=tr.source_tokens))
    np.testing.assert_allclose(r.weights, _oracle_cross(tr, 1), atol=1e-6)
    assert r.holds and abs(r.share - 1.0) < 1e-5


def test_masked_self_keys_are_the_decoder_inputs():
    b = _bundle("en_ko_transformer")
    p = b.preset.pairs[0]
    tr = trace(b, p.source, p.target)
    t = 2
    layer = b.preset.model.layers - 1
    w = np.mean([tr.attention_matrix("masked_self", layer, h)[t] for h in range(b.preset.model.heads)], axis=0)
    e = claim_from_view(tr, t, "masked_self")
    r = check_claim(tr, e)
    assert r.holds
    assert r.keys[: t + 1] == tuple(s.input_token for s in tr.steps[: t + 1])
    n = len(r.weights)
    assert n >= t + 1 and all(x == 0 for x in r.weights[t + 1:])  # the future is masked (or absent)
    np.testing.assert_allclose(r.weights, w[:n], atol=1e-6)
    assert np.all(np.isnan(w[n:]) | (w[n:] == 0))


def test_encoder_self_claim_reads_the_query_position():
    b = _bundle("en_teacher_self")
    p = b.preset.pairs[0]
    tr = trace(b, p.source, p.target)
    m = b.preset.model
    pos = 1
    w = np.mean([tr.attention_matrix("self", m.layers - 1, h)[pos] for h in range(m.heads)], axis=0)
    best = tr.source_tokens[int(np.argmax(w))]
    r = check_claim(tr, Expect(step=pos, attends=(best,), kind="self", token=tr.source_tokens[pos]))
    assert r.holds, r.summary()
    np.testing.assert_allclose(r.weights, w, atol=1e-6)


CAT = ("나는 고양이로소이다", "I am a cat")


def test_failures_say_why():
    b = _bundle("ko_en_cat_dot")
    tr = trace(b, *CAT)
    n = len(tr.steps)
    r = check_claim(tr, Expect(step=n, attends=("나는",)))
    assert not r.holds and f"{n} decoder step(s)" in r.reason
    r = check_claim(tr, Expect(step=0, attends=("나는",), token="cat"))
    assert not r.holds and "'I', not 'cat'" in r.reason
    r = check_claim(tr, Expect(step=0, attends=("없는말",)))
    assert not r.holds and "not among the keys" in r.reason
    r = check_claim(tr, Expect(step=0, attends=("나는",), kind="masked_self"))
    assert not r.holds and "no masked self attention" in r.reason
    none = _bundle("ko_en_cat_none")
    tr2 = trace(none, *CAT)
    r = check_claim(tr2, Expect(step=0, attends=("나는",)))
    assert not r.holds and "no cross attention" in r.reason
    # free running: the token is the model's own prediction
    fr = trace(b, CAT[0], mode="free_running")
    e = claim_from_view(fr, 0)
    assert e.token == fr.steps[0].predicted and check_claim(fr, e).holds
    assert "step 0" in describe_expect(e)


# --------------------------------------------------------------------------- parsing and saving

LECTURE = '''# top comment
title = "Claims"
preset = "ko_en_cat_dot"

[train]
steps = 3
seed = 0

[[slides]]
title = "cat"
source = "나는 고양이로소이다"
target = "I am a cat"
mode = "teacher_forcing"
step = 3
panel = "map"

[slides.narration]
ko = "고양이"
en = "cat"

# the claim
[[slides.expect]]
step = 3
token = "cat"
attends = ["고양이로소이다"]
min_weight = 0.5
kind = "cross"
'''


def test_expect_loads():
    lec = loads_lecture(LECTURE)
    assert lec.slides[0].expect == (Expect(step=3, token="cat", attends=("고양이로소이다",), min_weight=0.5),)
    assert lec.train.device == "cpu"


@pytest.mark.parametrize("change,field,words", [
    ('attends = ["고양이로소이다"]', "slides[0].expect[0].attends[0]", "not one of the keys"),
    ('token = "cat"', "slides[0].expect[0].token", "not 'dog'"),
    ('step = 3\ntoken', "slides[0].expect[0].step", "a step from 0 to 4"),
    ("min_weight = 0.5", "slides[0].expect[0].min_weight", "above 0 and at most 1"),
    ('kind = "cross"', "slides[0].expect[0].kind", "needs a Transformer"),
    ('kind = "cross"', "slides[0].expect[0].colour", "unknown"),
    ('kind = "cross"', "slides[0].expect[0].layer", "must be 0 or left out"),
    ('attends = ["고양이로소이다"]', "slides[0].expect[0].attends", "non-empty array"),
    ('attends = ["고양이로소이다"]', "slides[0].expect[0].attends[1]", "listed twice"),
])
def test_bad_expect_names_file_slide_and_field(tmp_path, change, field, words):
    bad = {
        "not one of the keys": 'attends = ["개"]',
        "not 'dog'": 'token = "dog"',
        "a step from 0 to 4": "step = 7\ntoken",
        "above 0 and at most 1": "min_weight = 1.5",
        "needs a Transformer": 'kind = "masked_self"',
        "unknown": 'kind = "cross"\ncolour = "red"',
        "must be 0 or left out": 'kind = "cross"\nlayer = 1',
        "non-empty array": "attends = []",
        "listed twice": 'attends = ["나는", "나는"]',
    }[words]
    text = LECTURE.replace(change, bad, 1) if change != 'step = 3\ntoken' else \
        LECTURE.replace("step = 3\ntoken", bad, 1)
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LectureError) as info:
        load_lecture(path)
    msg = str(info.value)
    assert str(path) in msg and field in msg and words in msg, msg
    assert info.value.slide == 0


def test_no_attention_preset_cannot_make_claims():
    with pytest.raises(LectureError, match="has no attention"):
        loads_lecture(LECTURE.replace('preset = "ko_en_cat_dot"', 'preset = "ko_en_cat_none"'))


def test_save_round_trip_keeps_claims_and_comments(tmp_path):
    lec = loads_lecture(LECTURE, tmp_path / "src.toml")
    path = user_lectures_dir() / "claims.toml"
    saved = save_lecture(lec, path)
    assert load_lecture(path) == lec
    assert "# the claim" in path.read_text("utf-8") and "[[slides.expect]]" in path.read_text("utf-8")
    # add a second claim, drop min_weight from the first: both survive a save and a reload
    s = saved.slides[0]
    two = (dataclasses.replace(s.expect[0], min_weight=None), Expect(step=0, attends=("나는",), token="I"))
    edited = dataclasses.replace(saved, slides=(dataclasses.replace(s, expect=two),))
    save_lecture(edited, path)
    back = load_lecture(path)
    assert back.slides[0].expect == two
    assert "# top comment" in path.read_text("utf-8")
    # a fresh document (no source text) round-trips too
    fresh = dataclasses.replace(edited, source_text=None)
    save_lecture(fresh, tmp_path / "fresh.toml")
    assert load_lecture(tmp_path / "fresh.toml").slides[0].expect == two


def test_train_device_is_validated():
    lec = loads_lecture(LECTURE.replace("seed = 0", 'seed = 0\ndevice = "auto"'))
    assert lec.train.device == "auto" and L.checked_device(lec) == "cpu"
    with pytest.raises(LectureError, match="train.device"):
        loads_lecture(LECTURE.replace("seed = 0", 'seed = 0\ndevice = "tpu"'))


# --------------------------------------------------------------------------- lecture --check


def _write(tmp_path, claim: str, steps: int = 3) -> Path:
    text = LECTURE.replace("steps = 3", f"steps = {steps}")
    text = text[: text.index("# the claim")] + claim
    path = tmp_path / "check.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _weights_for_seed(path: Path, seed: int, t: int = 3) -> tuple[tuple[str, ...], np.ndarray]:
    lec = load_lecture(path)
    lec = dataclasses.replace(lec, train=dataclasses.replace(lec.train, seed=seed))
    b = L.ensure_trained(lec)
    tr = trace(b, "나는 고양이로소이다", "I am a cat")
    return tr.source_tokens, tr.attention_matrix("cross")[t]


def test_cli_check_exit_codes(tmp_path, capsys):
    from main import main

    path = _write(tmp_path, '[[slides.expect]]\nstep = 3\nattends = ["나는"]\n')
    keys, w = _weights_for_seed(path, 0)
    best, worst = keys[int(np.argmax(w))], keys[int(np.argmin(w))]
    _write(tmp_path, f'[[slides.expect]]\nstep = 3\ntoken = "cat"\nattends = ["{best}"]\n')
    assert main(["lecture", str(path), "--check", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert "1 hold, 0 fail" in out
    _write(tmp_path, f'[[slides.expect]]\nstep = 3\nattends = ["{worst}"]\n')
    assert main(["lecture", str(path), "--check", "--seeds", "0"]) == 1
    out = capsys.readouterr().out
    assert "seed 0 · slide 1 'cat' · expect[0]" in out and f"largest weight is on {best}" in out
    assert f"{best} {w.max():.2f}" in out  # the measured weights are printed
    # bad input: exit 2 with one line
    assert main(["lecture", str(path), "--check", "--seeds", "0,x"]) == 2
    err = capsys.readouterr().err
    assert "--seeds" in err and len(err.strip().splitlines()) == 1
    assert main(["lecture", "no_such_lecture", "--check"]) == 2
    with pytest.raises(SystemExit) as info:  # neither --export nor --check: argparse's usage error
        main(["lecture", str(path)])
    assert info.value.code == 2
    capsys.readouterr()


def test_check_trains_each_seed(tmp_path):
    from sandbox.lecture_check import check_lecture, parse_seeds

    assert parse_seeds("0-2,5") == [0, 1, 2, 5]
    with pytest.raises(ValueError, match="listed twice"):
        parse_seeds("1,1")
    path = _write(tmp_path, '[[slides.expect]]\nstep = 3\nattends = ["나는"]\n', steps=2)
    lec = load_lecture(path)
    checks = check_lecture(lec, [0, 1])
    assert [c.seed for c in checks] == [0, 1]
    for c in checks:
        keys, w = _weights_for_seed(path, c.seed)
        np.testing.assert_allclose(c.result.weights, w, atol=1e-6)
        assert c.holds == (keys[int(np.argmax(w))] == "나는")


# --------------------------------------------------------------------------- shipped models


def test_every_shipped_lecture_has_its_shipped_models():
    """Changing a shipped preset or lecture without `python -m sandbox.lecture_models`
    fails here (the lecture would train on a fresh machine)."""
    from sandbox.lecture_models import verify_shipped

    assert verify_shipped() == []


@pytest.mark.gui  # train_bundles lives on the Qt side (widgets.lecture_export)
def test_fresh_user_folder_opens_every_shipped_lecture_without_training(monkeypatch):
    import torch

    import sandbox.train as T
    from sandbox.lecture_models import shipped_checkpoint
    from widgets.lecture_export import train_bundles

    def no_training(*a, **k):
        raise AssertionError("a shipped lecture trained on a fresh machine")

    monkeypatch.setattr(T, "Trainer", no_training)
    for key in ("why_attention", "dot_product", "bahdanau", "teacher_forcing", "transformer"):
        lec = load_lecture(find_lecture(key))
        bundles = train_bundles(lec)
        assert set(bundles) == set(L.lecture_presets(lec))
        for ref, b in bundles.items():
            from safetensors.torch import load_file

            saved = load_file(str(shipped_checkpoint(lec, ref)))
            for k, v in b.model.state_dict().items():
                assert torch.equal(v.cpu(), saved[k]), (key, ref, k)
    assert not (L.user_cache_dir() / "lectures").exists() or not any((L.user_cache_dir() / "lectures").iterdir())


def test_cli_export_on_a_fresh_folder_does_no_training(monkeypatch, tmp_path, qapp):
    import sandbox.train as T
    from main import main

    def no_training(*a, **k):
        raise AssertionError("trained")

    monkeypatch.setattr(T, "Trainer", no_training)
    assert main(["lecture", "why_attention", "--export", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "handout.pdf").is_file()


def test_shipped_model_is_not_used_for_a_changed_preset_or_a_damaged_file(tmp_path, monkeypatch):
    from sandbox import lecture_models as LM

    lec = load_lecture(find_lecture("bahdanau"))
    assert LM.shipped_checkpoint(lec) is not None
    assert L.model_source(lec) == "shipped"
    # the same lecture with its preset's training changed: a different training key
    src = Path(find_preset("ko_en_cat")).read_text("utf-8")
    shutil.copytree(Path(find_preset("ko_en_cat")).parent / "corpora", tmp_path / "corpora")  # [data] file
    (tmp_path / "ko_en_cat.toml").write_text(src.replace("steps = 400", "steps = 401"), "utf-8")
    changed = dataclasses.replace(lec, preset="ko_en_cat.toml", path=tmp_path / "lec.toml")
    assert LM.shipped_checkpoint(changed) is None and L.model_source(changed) == "train"
    # another seed is not shipped
    assert LM.shipped_checkpoint(dataclasses.replace(lec, train=TrainSpec(seed=1))) is None
    # a copy of the shipped folder with one file's bytes changed is refused
    copy = tmp_path / "models"
    shutil.copytree(LM.SHIPPED_MODELS_DIR, copy)
    entry = next(e for e in json.loads((copy / LM.MANIFEST_NAME).read_text("utf-8"))["models"]
                 if e["training_key"] == L.training_key(lec))
    data = bytearray((copy / entry["file"]).read_bytes())
    data[-1] ^= 1
    (copy / entry["file"]).write_bytes(bytes(data))
    assert LM.shipped_checkpoint(lec, folder=copy) is None
    # comments do not change the key: shipped models survive a comment edit
    (tmp_path / "ko_en_cat.toml").write_text("# another comment\n" + src, "utf-8")
    assert L.training_key(changed) == L.training_key(lec)


# --------------------------------------------------------------------------- the shipped lectures


@pytest.mark.parametrize("key", ["why_attention", "dot_product", "bahdanau", "teacher_forcing", "transformer"])
def test_shipped_lecture_claims_hold_for_the_shipped_model(key, monkeypatch):
    """Every shipped lecture makes at least 3 claims, and they hold for the model a fresh
    machine opens (the shipped seed-0 checkpoints, no training). Seeds 1-4:
    ``python main.py lecture NAME --check --seeds 0-4`` (minutes of training each)."""
    import sandbox.train as T
    from sandbox.lecture_check import check_lecture

    monkeypatch.setattr(T, "Trainer", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    lec = load_lecture(find_lecture(key))
    assert sum(len(s.expect) for s in lec.slides) >= 3
    checks = check_lecture(lec, [lec.train.seed])
    assert checks and all(c.holds for c in checks), "\n".join(c.line() for c in checks if not c.holds)
