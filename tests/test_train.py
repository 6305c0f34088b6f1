"""Trainer: learning, reproducibility, stop, non-finite guard, devices and the train CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from sandbox.model import Bundle
from sandbox.presets import loads_preset
from sandbox.trace import exact_match, trace
from sandbox.train import (DeviceError, Metrics, NonFiniteError, Trainer, TrainResult,
                           available_devices, encode_pairs, resolve_device)
from sandbox.vocab import EOS_ID, PAD_ID, SOS_ID

from helpers import run_main, tiny_preset

ROOT = Path(__file__).resolve().parent.parent

TINY = tiny_preset("tiny test", dict(kind="seq2seq", cell="gru", attention="dot", embed=8, hidden=16),
                   dict(steps=150, batch_size=8, lr=0.03, teacher_forcing=1.0, seed=0),
                   description="four pairs, a small GRU with dot attention",
                   tokenizer=dict(source="word", target="word"))

TINY_TRANSFORMER = tiny_preset("tiny transformer", dict(kind="transformer", d_model=16, heads=2, layers=1, d_ff=32,
                                                        dropout=0.1),
                               dict(steps=150, batch_size=3, lr=0.01, teacher_forcing=0.5, seed=0))


def tiny(text: str = TINY, **training) -> Bundle:
    preset = loads_preset(text)
    if training:
        preset = dataclasses.replace(preset, training=dataclasses.replace(preset.training, **training))
    return Bundle.from_preset(preset)


def pairs_of(bundle: Bundle) -> list[tuple[str, str]]:
    return [(p.source, p.target) for p in bundle.preset.pairs]


def params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------- batching


def test_pairs_are_encoded_once_with_sos_eos_and_padding():
    b = tiny()
    d = encode_pairs(b)
    assert d.src.shape[0] == d.tgt_in.shape[0] == d.tgt_out.shape[0] == 4
    assert d.src_lens.tolist() == [4, 3, 3, 4]  # words + <eos>
    for row_in, row_out, n in zip(d.tgt_in.tolist(), d.tgt_out.tolist(), d.tgt_lens_cpu):
        assert row_in[0] == SOS_ID
        assert row_out[n - 1] == EOS_ID
        assert row_in[1:n] == row_out[: n - 1]  # decoder input is the output shifted right
        assert all(t == PAD_ID for t in row_out[n:]) and all(t == PAD_ID for t in row_in[n:])


# --------------------------------------------------------------------------- learning


def test_tiny_seq2seq_learns_every_pair_exactly():
    b = tiny()
    tr = Trainer(b, device="cpu")
    res = tr.run()
    assert res.status == "done", res.message
    assert res.metrics is not None and res.metrics.step == 150
    assert res.metrics.exact_match == 1.0
    assert res.metrics.token_accuracy == 1.0
    # an independent check: the per-sentence tracer decodes every target exactly
    assert exact_match(tr.bundle, pairs_of(tr.bundle)) == 1.0


def test_tiny_transformer_with_sampling_dropout_and_mixed_feeding_learns():
    b = tiny(TINY_TRANSFORMER, steps=300)
    tr = Trainer(b, device="cpu", eval_every=10)
    res = tr.run(until_exact=True)
    assert res.status == "done"
    assert res.metrics.exact_match == 1.0
    assert res.metrics.step < 300  # stopped early because every pair was exact
    assert exact_match(tr.bundle, pairs_of(tr.bundle)) == 1.0


def _shipped():
    from sandbox.presets import list_presets

    return [(key, path) for key, path, is_user in list_presets() if not is_user]


@pytest.mark.parametrize("key,path", _shipped(), ids=[k for k, _ in _shipped()])
def test_shipped_preset_generalises_to_its_held_out_pairs(key, path):
    """Every shipped preset is trained on a corpus with a held-out tenth (issue 12). With its own
    step budget at its own seed, a model with attention translates >= 0.9 of sentences it never
    saw exactly (the issue's target, not a value tuned to the code); the no-attention baseline
    stays the bottleneck it is there to show."""
    from sandbox.presets import load_preset

    preset = load_preset(path)
    assert preset.heldout_pairs, f"{key}: no held-out pairs"
    tr = Trainer(Bundle.from_preset(preset), device="cpu", eval_every=10**9)
    res = tr.run()
    held = res.metrics.heldout_exact
    assert held is not None
    if preset.model.kind == "seq2seq" and preset.model.attention == "none":
        assert held < 0.5, f"{key}: the fixed-context baseline generalised ({held:.3f})"
    else:
        assert held >= 0.9, f"{key}: held-out exact match {held:.3f} after {tr.step_count} steps"


def test_evaluate_matches_the_tracer_while_learning():
    b = tiny()
    tr = Trainer(b, device="cpu")
    for _ in range(4):
        for _ in range(10):
            tr.step()
        _, em = tr.evaluate()
        assert em == pytest.approx(exact_match(tr.bundle, pairs_of(tr.bundle)))


def _greedy_exact_rows(model, data) -> list[bool]:
    """The oracle: decode greedily step by step and compare with the target (<eos> included)."""
    model.eval()
    with torch.no_grad():
        pred = model.greedy(data.src, data.src_lens, data.tgt_out.shape[1])
    mask = data.tgt_out != PAD_ID
    return ((pred == data.tgt_out) | ~mask).all(dim=1).tolist()


@pytest.mark.parametrize("text", [TINY, TINY_TRANSFORMER,
                                  TINY.replace('attention = "dot"', 'attention = "bahdanau"')],
                         ids=["gru_dot", "transformer", "gru_bahdanau"])
def test_exact_match_from_one_teacher_forced_pass_equals_greedy_decoding(text):
    """Trainer scores exact match without decoding (greedy reproduces a target iff the
    teacher-forced argmax is gold everywhere); a real greedy decode must agree row by row,
    also part-way through training when some pairs are right and others wrong."""
    from sandbox.train import _scores

    tr = Trainer(tiny(text), device="cpu", eval_every=10**9)
    data = tr.data
    fractions = []
    for _ in range(30):
        for _ in range(3):
            tr.step()
        tr.model.eval()
        with torch.no_grad():
            logits = tr.model(data.src, data.src_lens, data.tgt_in, feed="gold")
        mask = data.tgt_out != PAD_ID
        rows = ((logits.argmax(-1) == data.tgt_out) | ~mask).all(dim=1).tolist()
        assert rows == _greedy_exact_rows(tr.model, data)
        with torch.no_grad():
            _, em = _scores(tr.model, data.src, data.src_lens, data.tgt_in, data.tgt_out)
        assert em == pytest.approx(sum(rows) / len(rows))
        fractions.append(em)
        tr.model.train()
    assert any(0 < f < 1 for f in fractions), fractions  # the rows were not all alike


def test_metrics_fields_and_eval_schedule():
    b = tiny(steps=12)
    tr = Trainer(b, device="cpu", eval_every=5)
    seen: list[Metrics] = []
    res = tr.run(progress=seen.append)
    assert [m.step for m in seen] == list(range(1, 13))
    assert all(m.steps == 12 and m.lr == 0.03 for m in seen)
    assert seen[0].exact_match is None  # no evaluation yet
    assert seen[4].exact_match is not None  # step 5
    assert seen[5].exact_match == seen[4].exact_match  # carried forward
    assert all(math.isfinite(m.loss) and 0 <= m.token_accuracy <= 1 for m in seen)
    assert all(m.steps_per_sec > 0 and m.elapsed > 0 for m in seen)
    assert seen[-1].elapsed >= seen[0].elapsed
    assert res.metrics.step == 12 and tr.done
    assert isinstance(res, TrainResult)


def test_bad_trainer_arguments_are_value_errors():
    b = tiny()
    for kwargs in ({"steps": 0}, {"eval_every": 0}, {"seed": -1}, {"device": "tpu"}):
        with pytest.raises(ValueError):
            Trainer(b, **kwargs)


# --------------------------------------------------------------------------- reproducibility


def losses(bundle: Bundle, n: int = 25, **kw) -> list[float]:
    tr = Trainer(bundle, device="cpu", **kw)
    return [tr.step().loss for _ in range(n)]


def test_same_seed_gives_identical_losses():
    assert losses(tiny()) == losses(tiny())


def test_same_seed_identical_with_sampling_dropout_and_teacher_forcing_draws():
    a = losses(tiny(TINY_TRANSFORMER))
    torch.manual_seed(12345)  # the global random state must not matter
    torch.rand(7)
    b = losses(tiny(TINY_TRANSFORMER))
    assert a == b


def test_seed_override_rebuilds_the_model_and_changes_the_run():
    original = tiny()
    before = params(original.model)
    tr = Trainer(original, device="cpu", seed=7)
    assert tr.bundle.preset.training.seed == 7
    assert original.preset.training.seed == 0
    assert any(not torch.equal(before[k], v) for k, v in params(tr.bundle.model).items())
    assert losses(tiny(), seed=7) == losses(tiny(), seed=7)
    assert losses(tiny(), seed=7) != losses(tiny(), seed=8)
    # the seed override builds the same model as a preset with that seed
    assert losses(tiny(seed=7)) == losses(tiny(), seed=7)


def test_building_a_model_while_a_dropout_trainer_runs_stays_reproducible():
    """The window builds presets while a worker trains; both use torch's global random
    state (seeded init; the trainer's private dropout stream), so they must not interleave."""
    solo = losses(tiny(TINY_TRANSFORMER), n=40)
    expected = {k: v.clone() for k, v in tiny(TINY_TRANSFORMER).model.state_dict().items()}
    tr = Trainer(tiny(TINY_TRANSFORMER), device="cpu")
    got: list[float] = []
    th = threading.Thread(target=lambda: got.extend(tr.step().loss for _ in range(40)))
    th.start()
    differing = 0
    while th.is_alive():
        built = tiny(TINY_TRANSFORMER).model.state_dict()
        differing += any(not torch.equal(expected[k], v) for k, v in built.items())
    th.join()
    assert differing == 0, f"{differing} model builds drew from the trainer's dropout stream"
    assert got == solo, "the trainer's dropout stream was disturbed by model building"


# --------------------------------------------------------------------------- stop


def test_should_stop_is_checked_between_steps():
    tr = Trainer(tiny(steps=1000), device="cpu")
    calls = []

    def should_stop():
        calls.append(tr.step_count)
        return len(calls) >= 4

    res = tr.run(should_stop=should_stop)
    assert res.status == "stopped"
    assert tr.step_count == 3  # checked before each step; the 4th check stopped it
    assert calls == [0, 1, 2, 3]
    assert res.metrics.step == 3 and res.metrics.exact_match is not None
    # a stopped trainer can carry on where it left off
    res2 = tr.run(should_stop=lambda: tr.step_count >= 5)
    assert res2.status == "stopped" and tr.step_count == 5


def test_stop_from_another_thread_takes_effect_within_a_step():
    tr = Trainer(tiny(steps=100_000), device="cpu")
    stop = threading.Event()
    step_at_stop: list[int] = []
    result: list[TrainResult] = []

    def progress(m: Metrics) -> None:
        if m.step == 20:
            step_at_stop.append(m.step)
            stop.set()

    th = threading.Thread(target=lambda: result.append(tr.run(progress, stop.is_set)))
    th.start()
    th.join(timeout=60)
    assert not th.is_alive()
    assert result[0].status == "stopped"
    assert tr.step_count == step_at_stop[0]  # not one step more


@pytest.mark.parametrize("final", [True, False])
def test_stopping_evaluates_on_every_pair_only_when_asked(final, monkeypatch):
    """The command line measures the stopped model on every pair; the window (final=False)
    stops at once and keeps the figures of the last evaluation step."""
    tr = Trainer(tiny(steps=100_000), device="cpu", eval_every=25)
    calls = []
    real = Trainer.evaluate
    monkeypatch.setattr(Trainer, "evaluate", lambda self: calls.append(self.step_count) or real(self))
    res = tr.run(should_stop=lambda: tr.step_count >= 30, final_evaluation=final)
    assert res.status == "stopped" and tr.step_count == 30
    assert calls == ([25, 30] if final else [25])
    assert (res.metrics.exact_match is not None) and (res.metrics.step == 30)


# --------------------------------------------------------------------------- non-finite guard


def _all_finite(model) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.state_dict().values())


def _run_recording(tr: Trainer) -> tuple[TrainResult, list[dict[str, torch.Tensor]]]:
    snaps = [params(tr.model)]
    res = tr.run(progress=lambda m: snaps.append(params(tr.model)))
    return res, snaps


def test_absurd_lr_stops_with_nonfinite_and_keeps_last_finite_weights():
    lr = 1e6  # the Transformer's loss turns nan within a few steps
    tr = Trainer(tiny(TINY_TRANSFORMER, lr=lr), device="cpu")
    res, snaps = _run_recording(tr)
    assert res.status == "nonfinite"
    n = tr.step_count + 1  # the failing step
    assert f"step {n}" in res.message and str(lr) in res.message
    assert "Lower the learning rate" in res.message
    assert _all_finite(tr.model)
    last = snaps[-1]  # the weights after the last step that finished
    assert all(torch.equal(last[k], v) for k, v in params(tr.model).items())
    with pytest.raises(NonFiniteError) as ei:  # step() itself raises, and still keeps them
        tr.step()
    assert ei.value.lr == lr and ei.value.step == tr.step_count + 1
    assert all(torch.equal(last[k], v) for k, v in params(tr.model).items())


def test_nonfinite_loss_on_seq2seq():
    lr = 1e37  # a saturating GRU survives lr 1e30; this overflows the logits
    tr = Trainer(tiny(lr=lr), device="cpu")
    res, snaps = _run_recording(tr)
    assert res.status == "nonfinite"
    assert "the loss became" in res.message and "1e+37" in res.message
    assert _all_finite(tr.model)
    assert all(torch.equal(snaps[-1][k], v) for k, v in params(tr.model).items())


def test_overflowing_update_is_refused_and_nothing_changes():
    tr = Trainer(tiny(lr=1e38), device="cpu")
    before = params(tr.model)
    res = tr.run()
    assert res.status == "nonfinite" and res.metrics is None
    assert "step 1" in res.message and "initial weights" in res.message
    assert all(torch.equal(before[k], v) for k, v in params(tr.model).items())
    assert not tr.optimizer.state  # Adam's state is as before the first step: empty


def test_weights_made_nonfinite_by_the_step_are_rolled_back_with_adam_state():
    # With a sane lr one Adam step provably cannot overflow a weight, so the copy-and-check
    # only runs when max|w| + ~40·lr nears float32's range; lr 1e30 is in that regime.
    tr = Trainer(tiny(lr=1e30), device="cpu")
    for _ in range(5):
        tr.step()
    before = params(tr.model)
    adam_before = {id(p): {k: v.clone() for k, v in st.items()} for p, st in tr.optimizer.state.items()}
    real_step = tr.optimizer.step

    def poisoned_step(*a, **kw):  # an update that writes inf into one weight
        out = real_step(*a, **kw)
        with torch.no_grad():
            next(tr.model.parameters()).view(-1)[0] = math.inf
        return out

    tr.optimizer.step = poisoned_step
    with pytest.raises(NonFiniteError) as ei:
        tr.step()
    assert ei.value.step == 6 and "step 6" in str(ei.value) and "weights from step 5" in str(ei.value)
    assert tr.step_count == 5
    assert all(torch.equal(before[k], v) for k, v in params(tr.model).items())
    for p, st in tr.optimizer.state.items():
        for k, v in st.items():
            assert torch.equal(adam_before[id(p)][k], v), k
    tr.optimizer.step = real_step  # training carries on from the kept weights
    assert math.isfinite(tr.step().loss) and tr.step_count == 6


def test_nonpositive_lr_is_refused():
    with pytest.raises(ValueError):
        Trainer(tiny(lr=0.0), device="cpu")
    with pytest.raises(ValueError):
        Trainer(tiny(lr=math.nan), device="cpu")


# --------------------------------------------------------------------------- devices


def test_available_devices():
    devs = available_devices()
    assert devs[:2] == ["auto", "cpu"]
    assert ("cuda" in devs) == torch.cuda.is_available()
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceError):
        resolve_device("quantum")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA; the error is for machines without")
def test_cuda_requested_without_cuda_is_a_clear_error():
    with pytest.raises(DeviceError) as ei:
        resolve_device("cuda")
    assert isinstance(ei.value, ValueError)
    assert "CUDA was requested" in str(ei.value) and "--device cpu" in str(ei.value)
    with pytest.raises(DeviceError):
        Trainer(tiny(), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)")
def test_training_on_cuda_learns_and_traces_come_back_as_cpu_numpy():
    tr = Trainer(tiny(), device="cuda")
    assert tr.device.type == "cuda" and tr.bundle.device.type == "cuda"
    res = tr.run()
    assert res.status == "done" and res.metrics.exact_match == 1.0
    t = trace(tr.bundle, "a b c", "x y z")
    assert t.predicted_tokens == ["x", "y", "z", "<eos>"]
    arrays = [t.encoder_states] + [a for s in t.steps for a in (s.probs, s.output, s.state)]
    arrays += [getattr(r, f) for s in t.steps for r in s.attention
               for f in ("query", "keys", "values", "energies", "weights", "output")]
    assert all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in arrays)


def test_trace_works_on_the_trained_bundle():
    tr = Trainer(tiny(), device="cpu")
    tr.run()
    t = trace(tr.bundle, "a b c", mode="free_running")
    assert t.predicted_tokens == ["x", "y", "z", "<eos>"]


# --------------------------------------------------------------------------- CLI


def test_cli_train_then_trace_with_checkpoint(tmp_path, capsys):
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY, encoding="utf-8")
    ckpt = tmp_path / "tiny.safetensors"
    res = run_main(capsys, "train", "--preset", str(preset), "--device", "cpu", "--out", str(ckpt))
    assert res.returncode == 0, res.stderr
    out = [l for l in res.stdout.splitlines() if l.strip()]
    assert len(out) == 1 and out[0].startswith("trained tiny:"), res.stdout
    assert "150 steps" in out[0] and "exact match 100.0% (4/4)" in out[0] and str(ckpt) in out[0]
    assert "150/150" in res.stderr  # the progress bar (one line per ~10% when not a TTY)
    assert ckpt.is_file()
    js = tmp_path / "t.json"
    res = run_main(capsys, "trace", "--preset", str(preset), "--source", "c a", "--mode", "free_running",
                  "--checkpoint", str(ckpt), "--json", str(js))
    assert res.returncode == 0, res.stderr
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [s["predicted"] for s in data["steps"]] == ["z", "x", "<eos>"]


@pytest.mark.parametrize("case", ["unknown_preset", "zero_steps", "missing_out_dir", "cuda", "bad_seed"])
def test_cli_train_bad_input_is_one_line_exit_2(case, tmp_path, capsys):
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY, encoding="utf-8")
    out = tmp_path / "c.safetensors"
    args = {
        "unknown_preset": ["--preset", "no_such_preset_xyz", "--out", str(out)],
        "zero_steps": ["--preset", str(preset), "--steps", "0", "--out", str(out)],
        "missing_out_dir": ["--preset", str(preset), "--out", str(tmp_path / "nope" / "c.safetensors")],
        "cuda": ["--preset", str(preset), "--device", "cuda", "--out", str(out)],
        "bad_seed": ["--preset", str(preset), "--seed", "-3", "--out", str(out)],
    }[case]
    if case == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    res = run_main(capsys, "train", *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()
    needle = {"unknown_preset": "no_such_preset_xyz", "zero_steps": "steps", "missing_out_dir": "nope",
              "cuda": "CUDA", "bad_seed": "seed"}[case]
    assert needle in lines[0]
