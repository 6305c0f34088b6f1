"""Issue 13, fault kinds (core side, no Qt): one test per kind.

Each test was run against the code before its fix and failed there.
"""

from __future__ import annotations

import ast
import json
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import run_main, tiny_preset
from sandbox.model import Bundle
from sandbox.presets import PresetError, find_preset, load_preset, loads_preset
from sandbox.trace import trace

ROOT = Path(__file__).resolve().parent.parent


def _bundle(model: dict, training: dict | None = None, **kw) -> Bundle:
    train = {"steps": 5, "batch_size": 4, "lr": 0.01, "teacher_forcing": 1.0, "seed": 0}
    train.update(training or {})
    return Bundle.from_preset(loads_preset(tiny_preset("t", model, train, **kw)))


S2S = {"kind": "seq2seq", "cell": "gru", "attention": "bahdanau", "embed": 8, "hidden": 8}
TRF = {"kind": "transformer", "d_model": 8, "heads": 2, "layers": 1, "d_ff": 16, "dropout": 0.0}


# ----------------------------------------------------------------------------- item 8


def test_claimed_python_version_is_the_one_the_code_needs():
    """pyproject and README claim one minimum version, and no source file needs a newer one
    (a module added later, or newer syntax)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    m = re.fullmatch(r">=\s*3\.(\d+)", meta["project"]["requires-python"])
    assert m, meta["project"]["requires-python"]
    minor = int(m.group(1))
    readme = (ROOT / "README.md").read_text("utf-8")
    claims = re.findall(r"Python\s*(?:≥|>=)\s*3\.(\d+)", readme)
    assert claims and {int(c) for c in claims} == {minor}
    added = {"tomllib": 11, "wsgiref.types": 11}  # standard modules and the 3.x that added them
    for path in [ROOT / "main.py", *sorted((ROOT / "sandbox").glob("*.py")),
                 *sorted((ROOT / "widgets").glob("*.py"))]:
        tree = ast.parse(path.read_text("utf-8"), feature_version=(3, minor))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                need = added.get(name)
                assert need is None or need <= minor, f"{path.name} imports {name} (3.{need}+)"


# ----------------------------------------------------------------------------- item 1


def _train(bundle: Bundle, steps: int) -> None:
    from sandbox.train import Trainer

    t = Trainer(bundle, steps=steps, device="cpu")
    t.run()


@pytest.mark.parametrize("attention", ["bahdanau", "general", "dot"])
def test_a_record_keeps_its_numbers_after_the_model_trains_on(attention):
    """A record is a snapshot: training the model afterwards changes none of its arrays,
    so explaining it later recomputes exactly the recorded weights."""
    b = _bundle(dict(S2S, attention=attention))
    tr = trace(b, "a b c", "x y z")
    before = [{k: np.array(v, copy=True) for k, v in r.terms.items()} | {"q": r.query.copy(),
              "k": r.keys.copy(), "w": r.weights.copy()} for s in tr.steps for r in s.attention]
    _train(b, 20)
    after = [{k: v for k, v in r.terms.items()} | {"q": r.query, "k": r.keys, "w": r.weights}
             for s in tr.steps for r in s.attention]
    for old, new in zip(before, after):
        for k in old:
            np.testing.assert_array_equal(old[k], new[k], err_msg=k)
    from sandbox.explain import recompute_weights

    for s in tr.steps:
        for r in s.attention:
            np.testing.assert_allclose(recompute_weights(r), r.weights, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- item 3


def _overflowing_checkpoint(path: Path) -> Path:
    """A checkpoint with huge but finite weights (its energies overflow to +inf / NaN)."""
    from sandbox.checkpoint import save_checkpoint

    preset_file = path / "huge.toml"
    preset_file.write_text(tiny_preset("huge", S2S, {"steps": 5, "batch_size": 4, "lr": 0.01,
                                                     "teacher_forcing": 1.0, "seed": 0}), "utf-8")
    b = Bundle.from_preset(load_preset(preset_file))
    with torch.no_grad():
        w = b.model.scorer.v.weight
        w.copy_(torch.where(w >= 0, 3e38, -3e38))
        b.model.scorer.W1.weight.mul_(100)
    return save_checkpoint(b, path / "huge.safetensors")


def test_trace_of_an_overflowing_model_names_the_step_and_values(tmp_path, capsys):
    ck = _overflowing_checkpoint(tmp_path)
    out = tmp_path / "t.json"
    r = run_main(capsys, "trace", "--preset", str(tmp_path / "huge.toml"),
                 "--checkpoint", str(ck), "--source", "a b c", "--target", "x y z", "--json", str(out))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    msg = lines[0]
    assert "JSON" not in msg and "Traceback" not in msg
    assert "step 0" in msg and "energies +inf" in msg and "weights NaN" in msg
    assert "not masked" in msg
    assert not out.exists()
    # the Trace itself is fine to build (render draws it); only the JSON refuses it
    from sandbox.checkpoint import load_checkpoint
    from sandbox.nonfinite import NonFiniteTraceError

    b = load_checkpoint(ck)
    tr = trace(b, "a b c", "x y z")
    with pytest.raises(NonFiniteTraceError) as e:
        tr.dumps()
    assert e.value.places[0].startswith("step 0: cross attention: energies +inf at 0, 1, 2, 3")


# ----------------------------------------------------------------------------- item 6


def _cli_trace(tmp_path, capsys, *args: str) -> tuple[int, dict | None, str]:
    from sandbox.cli import main

    out = tmp_path / "t.json"
    if out.exists():
        out.unlink()
    rc = main(["trace", *args, "--json", str(out)])
    err = capsys.readouterr().err
    return rc, (json.loads(out.read_text("utf-8")) if out.exists() else None), err


def test_trace_with_a_source_only_uses_the_gold_target_or_runs_free(tmp_path, capsys):
    import unicodedata

    from sandbox.vocab import tokenize

    p = load_preset(find_preset("ko_en_cat"))
    pairs = list(getattr(p, "all_pairs", p.pairs))
    held = list(getattr(p, "heldout_pairs", ())) or pairs
    sources = {tuple(tokenize(x.source)) for x in pairs}
    for pair in (pairs[3], held[-1]):  # a training pair and (for a corpus) a held-out one
        # typed decomposed (NFD): still the same sentence, so its gold target is used
        rc, obj, err = _cli_trace(tmp_path, capsys, "--preset", "ko_en_cat", "--source",
                                  unicodedata.normalize("NFD", pair.source))
        assert rc == 0, err
        first = next(x for x in pairs if tuple(tokenize(x.source)) == tuple(tokenize(pair.source)))
        assert obj["mode"] == "teacher_forcing" and obj["target_from"] == "preset"
        assert obj["target_tokens"] == tokenize(first.target) + ["<eos>"]
        assert [s["input_from"] for s in obj["steps"]] == ["gold"] * len(obj["steps"])
        assert repr(first.target) in err and "gold target" in err
    # a source that is not one of the pairs (known words, another order): free running
    words = pairs[3].source.split()
    other = " ".join(reversed(words))
    assert tuple(tokenize(other)) not in sources
    rc, obj, err = _cli_trace(tmp_path, capsys, "--preset", "ko_en_cat", "--source", other)
    assert rc == 0, err
    assert obj["mode"] == "free_running" and obj["target_from"] is None and obj["target_tokens"] is None
    assert "free running" in err and err.count("\n") == 1
    # a given target stays what it is
    rc, obj, err = _cli_trace(tmp_path, capsys, "--preset", "ko_en_cat", "--source", pairs[3].source,
                              "--target", pairs[3].target)
    assert rc == 0 and obj["target_from"] == "given" and err == ""


def test_render_with_a_source_only(qapp, tmp_path, capsys):
    import argparse

    from widgets.render import cli_render

    p = load_preset(find_preset("ko_en_cat"))
    args = argparse.Namespace(preset="ko_en_cat", source=p.pairs[2].source, target=None,
                              mode="teacher_forcing", checkpoint=None, step=1, layer=0, head=0,
                              out=str(tmp_path / "r.png"))
    assert cli_render(args) == 0
    assert "gold target" in capsys.readouterr().err
    args.source, args.out = " ".join(reversed(p.pairs[3].source.split())), str(tmp_path / "f.png")
    assert cli_render(args) == 0
    assert "free running" in capsys.readouterr().err


# ----------------------------------------------------------------------------- item 7

HANGUL_90 = "".join(chr(0xAC00 + 37 * i) for i in range(90))  # 90 precomposed syllables


def _one_pair(source: str, target: str = "x", model: dict | None = None, tokenizer: str = "word") -> str:
    m = model or S2S
    lines = ['name = "u"', "", "[model]", *(f"{k} = {json.dumps(v)}" for k, v in m.items()),
             "", "[tokenizer]", f'source = "{tokenizer}"', f'target = "{tokenizer}"',
             "", "[training]", "steps = 1", "batch_size = 1", "lr = 0.01", "teacher_forcing = 1.0",
             "seed = 0", "", "[[pairs]]", f"source = {json.dumps(source)}", f"target = {json.dumps(target)}"]
    return "\n".join(lines) + "\n"


def test_limits_count_normalised_code_points(tmp_path, capsys):
    import unicodedata

    nfd = unicodedata.normalize("NFD", HANGUL_90 * 2)  # 180 syllables, 2 or 3 jamo each
    assert len(nfd) > 200 >= 180
    p = loads_preset(_one_pair(nfd))
    assert p.pairs[0].source == HANGUL_90 * 2  # stored, compared and tokenised as NFC
    # a composition exclusion grows under NFC: 150 typed, 300 after: refused, and said so
    grows = "\u0958" * 150
    with pytest.raises(PresetError) as e:
        loads_preset(_one_pair(grows))
    assert e.value.field == "pairs[0].source" and "got 300" in str(e.value)
    from sandbox.cli import main

    out = tmp_path / "n.json"
    assert main(["trace", "--preset", "ko_en_cat", "--source", nfd, "--mode", "free_running",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text("utf-8"))["source_tokens"] == ["<unk>", "<eos>"]  # one word
    assert main(["trace", "--preset", "ko_en_cat", "--source", grows, "--mode", "free_running",
                 "--json", str(tmp_path / "g.json")]) == 2
    assert "300 characters" in capsys.readouterr().err and not (tmp_path / "g.json").exists()


def test_nfc_nfd_duplicates_are_duplicates():
    import unicodedata

    text = ('name = "d"\n[model]\n' + "\n".join(f"{k} = {json.dumps(v)}" for k, v in S2S.items())
            + '\n[training]\nsteps = 1\nbatch_size = 1\nlr = 0.01\nteacher_forcing = 1.0\nseed = 0\n')
    for src in ("나는 학생이다", unicodedata.normalize("NFD", "나는 학생이다"), "나는\u200b 학생이다"):
        text += f'\n[[pairs]]\nsource = {json.dumps(src)}\ntarget = "I am a student"\n'
    with pytest.raises(PresetError) as e:
        loads_preset(text)
    assert e.value.field == "pairs[1]" and "duplicate of pairs[0]" in str(e.value)


@pytest.mark.parametrize("invisible", ["\u2060", "\u200b", "\u200b \ufeff\u200d"])
def test_an_invisible_only_sentence_is_empty(invisible, tmp_path):
    with pytest.raises(PresetError) as e:
        loads_preset(_one_pair("a", invisible))
    assert e.value.field == "pairs[0].target" and "empty" in str(e.value)
    from sandbox.cli import main

    assert main(["trace", "--preset", "ko_en_cat", "--source", invisible, "--json",
                 str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()


def test_a_zero_width_space_never_becomes_a_token():
    b = _bundle(S2S)
    tr = trace(b, "a\u200b b \u200bc\u200b", "x y z", mode="teacher_forcing")
    assert tr.source_tokens == ("a", "b", "c", "<eos>") and not tr.has_unknown
    from sandbox.vocab import tokenize

    assert tokenize("고\u200b양이", "char") == ["고", "양", "이"]


def test_token_counts_are_checked_against_the_positions(monkeypatch):
    import sandbox.presets as presets
    from sandbox.transformer import MAX_LEN

    assert presets.MAX_POSITIONS == MAX_LEN
    monkeypatch.setattr(presets, "MAX_SENTENCE_CHARS", 1000)
    ok = "a" * (MAX_LEN - 1)  # MAX_LEN tokens with <eos>
    loads_preset(_one_pair(ok, "x", TRF, tokenizer="char"))
    with pytest.raises(PresetError) as e:
        loads_preset(_one_pair("x", ok + "a", TRF, tokenizer="char"))
    assert e.value.field == "pairs[0].target" and f"{MAX_LEN + 1} tokens with <eos>" in str(e.value)
    loads_preset(_one_pair("x", ok + "a", S2S, tokenizer="char"))  # an RNN has no position limit


# ----------------------------------------------------------------------------- item 5


@pytest.mark.parametrize("model", [S2S, dict(S2S, attention="dot"), TRF], ids=["bahdanau", "dot", "transformer"])
def test_teacher_forcing_is_drawn_per_token(model):
    """With ratio 0.5 the inputs of one sentence mix gold and predicted tokens; over many
    draws the gold share is near 0.5; Metrics.fed_gold reports this step's share."""
    from sandbox.train import Trainer

    b = _bundle(model, {"teacher_forcing": 0.5, "batch_size": 4})
    t = Trainer(b, steps=40, device="cpu")
    feeds = []
    real_forward = t.model.forward

    def spy(src, lens, tgt_in, feed="gold"):
        if t.model.training:  # a training step, not an evaluation
            feeds.append((feed, tgt_in.clone()))
        return real_forward(src, lens, tgt_in, feed=feed)

    t.model.forward = spy
    shares = []
    for _ in range(40):
        m = t.step()
        feed, tgt_in = feeds[-1]
        assert isinstance(feed, torch.Tensor) and feed.dtype == torch.bool and feed.shape == tgt_in.shape
        real = tgt_in != 0
        real[:, 0] = False
        assert m.fed_gold == pytest.approx(float((feed & real).sum()) / int(real.sum()))
        shares.append(m.fed_gold)
    masks = [f[r] for f, x in feeds if isinstance(f, torch.Tensor)
             for r in [(x != 0) & (torch.arange(x.shape[1]) > 0)]]
    draws = torch.cat(masks)
    n = draws.numel()
    assert abs(float(draws.float().mean()) - 0.5) < 4 * (0.25 / n) ** 0.5  # 4 sigma
    mixed_rows = sum(1 for f, x in feeds for r in range(x.shape[0])
                     if 0 < int(f[r, 1:][x[r, 1:] != 0].sum()) < int((x[r, 1:] != 0).sum()))
    assert mixed_rows > 0  # a single sentence is fed both gold and its own predictions


@pytest.mark.parametrize("model", [S2S, dict(S2S, attention="dot"), TRF], ids=["bahdanau", "dot", "transformer"])
def test_a_per_token_mask_means_what_it_says(model):
    """All-True is teacher forcing, all-False is free running, and a mixed mask equals a
    step-by-step oracle that feeds gold where the mask says so and the argmax elsewhere."""
    from sandbox.train import encode_pairs

    b = _bundle(model)
    m = b.model.eval()
    d = encode_pairs(b)
    with torch.no_grad():
        ones = torch.ones_like(d.tgt_in, dtype=torch.bool)
        torch.testing.assert_close(m(d.src, d.src_lens, d.tgt_in, feed=ones),
                                   m(d.src, d.src_lens, d.tgt_in, feed="gold"))
        zeros = ones.clone()
        zeros[:, 1:] = False
        torch.testing.assert_close(m(d.src, d.src_lens, d.tgt_in, feed=zeros),
                                   m(d.src, d.src_lens, d.tgt_in, feed="prediction"))
        mix = ones.clone()
        mix[:, 2::2] = False
        got = m(d.src, d.src_lens, d.tgt_in, feed=mix)
        for i in range(d.tgt_in.shape[0]):  # oracle: one sentence at a time, fed by hand
            L = d.tgt_lens_cpu[i]
            src = d.src[i: i + 1, : d.src_lens_cpu[i]]
            ys = [int(d.tgt_in[i, 0])]
            for t in range(1, L):
                logits = m(src, None, torch.tensor([ys]), feed="gold")[0, -1]
                ys.append(int(d.tgt_in[i, t]) if mix[i, t] else int(logits.argmax()))
            want = m(src, None, torch.tensor([ys]), feed="gold")[0]
            torch.testing.assert_close(got[i, :L], want, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- item 1 (history)


def test_weight_history_retraces_any_sentence_and_mode_at_any_point():
    from sandbox.history import WeightHistory, WeightSnapshot, snapshot_weights
    from sandbox.train import Trainer

    b = _bundle(S2S, {"batch_size": 2})
    t = Trainer(b, steps=30, device="cpu")
    hist = WeightHistory()
    for _ in range(3):
        for _ in range(10):
            t.step()
        hist.add(WeightSnapshot(t.step_count, 30, snapshot_weights(b.model)))
    assert [h.step for h in hist] == [10, 20, 30]
    assert hist.nbytes == sum(p.numel() * 4 for p in b.model.state_dict().values()) * 3
    first = {k: v.clone() for k, v in hist[0].weights.items()}
    for _ in range(5):  # training on never touches a snapshot
        t.model.train()
        t.total_steps += 1
        t.step()
    for k, v in hist[0].weights.items():
        torch.testing.assert_close(v, first[k], rtol=0, atol=0)
    # oracle: a fresh model of the preset loaded with point 0's weights
    oracle = Bundle.from_preset(b.preset)
    oracle.model.load_state_dict(first)
    for mode, target in (("teacher_forcing", "x y z"), ("free_running", None), ("teacher_forcing", "y z w")):
        src = "a b c" if target != "y z w" else "b c"
        got = hist.trace_at(0, b, src, target, mode)
        want = trace(oracle, src, target, mode=mode)
        assert got.mode == mode and got.predicted_tokens == want.predicted_tokens
        for gs, ws in zip(got.steps, want.steps):
            np.testing.assert_array_equal(gs.attention[0].weights, ws.attention[0].weights)
            np.testing.assert_array_equal(gs.probs, ws.probs)
        assert hist.trace_at(0, b, src, target, mode) is got  # cached
    live = trace(b, "a b c", "x y z")
    assert not np.array_equal(live.steps[0].probs, hist.trace_at(0, b, "a b c", "x y z", "teacher_forcing").steps[0].probs)
