"""Checkpoints: safetensors only, round trip, refusing pickles, wrong presets and damage."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import pytest
import torch

from sandbox.checkpoint import (FORMAT, CheckpointError, checkpoint_metrics, load_checkpoint,
                                read_metadata, save_checkpoint)
from sandbox.model import Bundle
from sandbox.presets import loads_preset
from sandbox.trace import trace
from sandbox.train import Trainer

from helpers import run_main, tiny_preset

ROOT = Path(__file__).resolve().parent.parent

TINY = tiny_preset("tiny ckpt", dict(kind="seq2seq", cell="lstm", attention="bahdanau", embed=8, hidden=12),
                   dict(steps=30, batch_size=8, lr=0.03, teacher_forcing=1.0, seed=0), pairs=3)

TINY_TRANSFORMER = tiny_preset(
    "tiny ckpt transformer", dict(kind="transformer", d_model=16, heads=4, layers=2, d_ff=24, dropout=0.0),
    dict(steps=30, batch_size=8, lr=0.01, teacher_forcing=1.0, seed=3), pairs=2)


def trained(text: str = TINY, steps: int = 30) -> Bundle:
    tr = Trainer(Bundle.from_preset(loads_preset(text)), steps=steps, device="cpu")
    tr.run()
    return tr.bundle


def traces_json(bundle: Bundle) -> list[str]:
    return [trace(bundle, "a b c", "x y z").dumps(),
            trace(bundle, "b c a", mode="free_running").dumps(),
            trace(bundle, "c a", "z x").dumps()]


@pytest.mark.parametrize("text", [TINY, TINY_TRANSFORMER], ids=["lstm_bahdanau", "transformer"])
def test_round_trip_gives_identical_traces(tmp_path, text):
    b = trained(text)
    path = tmp_path / "m.safetensors"
    save_checkpoint(b, path)
    before = traces_json(b)
    with_preset = load_checkpoint(path, preset=b.preset)
    assert traces_json(with_preset) == before
    assert with_preset.preset is b.preset
    alone = load_checkpoint(path)  # the preset stored in the checkpoint
    assert traces_json(alone) == before
    assert alone.preset == b.preset and alone.preset.key == b.preset.key
    assert alone.src_vocab == b.src_vocab and alone.tgt_vocab == b.tgt_vocab
    for k, v in b.model.state_dict().items():
        assert torch.equal(v, alone.model.state_dict()[k])


def test_metadata_and_metrics(tmp_path):
    tr = Trainer(Bundle.from_preset(loads_preset(TINY)), steps=5, device="cpu")
    res = tr.run()
    path = tmp_path / "m.safetensors"
    save_checkpoint(tr.bundle, path, metrics=res.metrics)
    meta = read_metadata(path)
    assert meta["format"] == FORMAT
    assert loads_preset(meta["preset"]) == tr.bundle.preset
    assert json.loads(meta["tgt_vocab"]) == list(tr.bundle.tgt_vocab.tokens)
    assert checkpoint_metrics(path)["step"] == 5


def test_preset_comments_survive_in_the_checkpoint(tmp_path):
    text = "# a comment worth keeping\n" + TINY
    b = Bundle.from_preset(loads_preset(text))
    path = tmp_path / "m.safetensors"
    save_checkpoint(b, path)
    assert "# a comment worth keeping" in read_metadata(path)["preset"]


def test_write_is_atomic_and_replaces_whole_file(tmp_path):
    b = trained()
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old contents " * 100_000)
    save_checkpoint(b, path)
    assert load_checkpoint(path) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp file left
    with pytest.raises(OSError):
        save_checkpoint(b, tmp_path / "missing_dir" / "m.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


# --------------------------------------------------------------------------- refusing pickles


class _Evil:
    """Unpickling this opens (creates) the marker file: arbitrary code would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    # First prove the payload is live: unpickling it does create its marker.
    control = tmp_path / "control_marker"
    pickle.loads(pickle.dumps(_Evil(control))).close()
    assert control.exists()

    marker = tmp_path / "pwned_marker"
    for name, data in {
        "plain.safetensors": pickle.dumps(_Evil(marker)),
        "proto2.ckpt": pickle.dumps({"state": _Evil(marker)}, protocol=2),
        "proto0.ckpt": pickle.dumps(_Evil(marker), protocol=0),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as ei:
            load_checkpoint(path)
        assert str(path) in str(ei.value)
        assert not marker.exists()


def test_torch_save_file_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned_by_torch_save"
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(3), "evil": _Evil(marker)}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path)
    assert str(path) in str(ei.value) and "pickle" in str(ei.value)
    assert not marker.exists()
    # A plain state_dict saved with torch.save is refused too (only safetensors is read).
    b = trained()
    torch.save(b.model.state_dict(), path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path, preset=b.preset)


def test_header_length_that_looks_like_a_pickle_opcode_still_loads(tmp_path):
    """A safetensors file starts with its header length; one of 128 mod 256 begins with
    b"\\x80" (pickle's PROTO opcode). Such a genuine checkpoint must load, not be called a
    pickle."""
    b = trained()
    path = tmp_path / "m.safetensors"
    for extra in range(512):
        p = dataclasses.replace(b.preset, description="x" * extra)
        save_checkpoint(Bundle(p, b.src_vocab, b.tgt_vocab, b.model), path)
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("could not make a header whose length starts with 0x80")
    loaded = load_checkpoint(path)
    assert traces_json(loaded) == traces_json(b)


# --------------------------------------------------------------------------- wrong preset


OTHER = TINY.replace('name = "tiny ckpt"', 'name = "other preset"').replace('"c a"', '"c c a"').replace(
    '"z x"', '"z z x q"')


def test_checkpoint_for_another_preset_is_refused(tmp_path):
    b = trained()
    path = tmp_path / "m.safetensors"
    save_checkpoint(b, path)
    other = loads_preset(OTHER)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path, preset=other)
    msg = str(ei.value)
    assert str(path) in msg and "'tiny_ckpt'" in msg and "'other_preset'" in msg


def test_same_preset_with_other_model_settings_is_refused(tmp_path):
    b = trained()
    path = tmp_path / "m.safetensors"
    save_checkpoint(b, path)
    bigger = dataclasses.replace(b.preset, model=dataclasses.replace(b.preset.model, hidden=20))
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path, preset=bigger)
    assert "model settings" in str(ei.value)
    other_cell = dataclasses.replace(b.preset, model=dataclasses.replace(b.preset.model, cell="gru"))
    with pytest.raises(CheckpointError):
        load_checkpoint(path, preset=other_cell)


def test_training_settings_may_differ(tmp_path):
    b = trained()
    path = tmp_path / "m.safetensors"
    save_checkpoint(b, path)
    p2 = dataclasses.replace(b.preset, training=dataclasses.replace(b.preset.training, lr=0.001, steps=9))
    loaded = load_checkpoint(path, preset=p2)
    assert loaded.preset is p2
    assert traces_json(loaded) == traces_json(b)


# --------------------------------------------------------------------------- damage


def _valid_bytes(tmp_path) -> bytes:
    path = tmp_path / "good.safetensors"
    save_checkpoint(trained(), path)
    return path.read_bytes()


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(tmp_path / "nope.safetensors")
    assert "nope.safetensors" in str(ei.value)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(tmp_path)
    assert str(tmp_path) in str(ei.value)


@pytest.mark.parametrize("damage", ["empty", "random", "truncated_header", "truncated_data",
                                    "huge_header_len", "header_not_json", "no_format",
                                    "wrong_format", "flipped_shape", "nan_weight"])
def test_damaged_files_are_refused(tmp_path, damage):
    good = _valid_bytes(tmp_path)
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8:8 + n])
    body = good[8 + n:]

    def with_header(h: dict, data: bytes = body) -> bytes:
        raw = json.dumps(h).encode()
        raw += b" " * (-len(raw) % 8)
        return struct.pack("<Q", len(raw)) + raw + data

    if damage == "empty":
        data = b""
    elif damage == "random":
        data = os.urandom(4096)
    elif damage == "truncated_header":
        data = good[: 8 + n // 2]
    elif damage == "truncated_data":
        data = good[: len(good) - 100]
    elif damage == "huge_header_len":
        data = struct.pack("<Q", 2**62) + good[8:]
    elif damage == "header_not_json":
        data = struct.pack("<Q", 16) + b"{not json at all" + body
    elif damage == "no_format":
        h = dict(header)
        h["__metadata__"] = {k: v for k, v in h["__metadata__"].items() if k != "format"}
        data = with_header(h)
    elif damage == "wrong_format":
        h = dict(header)
        h["__metadata__"] = dict(h["__metadata__"], format="attention-sandbox/checkpoint@99")
        data = with_header(h)
    elif damage == "flipped_shape":
        h = dict(header)
        name = next(k for k, v in h.items() if k != "__metadata__" and len(v["shape"]) == 2)
        h[name] = dict(h[name], shape=list(reversed(h[name]["shape"])))
        data = with_header(h)
    else:  # nan_weight: a valid file whose weights are not finite
        b = trained()
        with torch.no_grad():
            next(b.model.parameters()).view(-1)[0] = float("nan")
        p = tmp_path / "nan.safetensors"
        save_checkpoint(b, p)
        data = p.read_bytes()
    path = tmp_path / f"{damage}.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path)
    assert str(path) in str(ei.value)


def test_bad_vocab_in_metadata_is_refused(tmp_path):
    good = _valid_bytes(tmp_path)
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8:8 + n])
    header["__metadata__"]["src_vocab"] = json.dumps(["<pad>", "<sos>", "<eos>", "<unk>", "zz"])
    raw = json.dumps(header).encode()
    path = tmp_path / "v.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + good[8 + n:])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_cli_trace_with_wrong_checkpoint_is_one_line_exit_2(tmp_path, capsys):
    preset = tmp_path / "tiny_ckpt.toml"
    preset.write_text(TINY, encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(OTHER, encoding="utf-8")
    ckpt = tmp_path / "m.safetensors"
    save_checkpoint(Bundle.from_preset(loads_preset(TINY, path=preset)), ckpt)
    res = run_main(capsys, "trace", "--preset", str(other), "--source", "a b",
                   "--mode", "free_running", "--checkpoint", str(ckpt), "--json", "-")
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert "tiny_ckpt" in lines[0] and "other" in lines[0]
