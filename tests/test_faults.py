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
from sandbox.presets import PresetError, load_preset, loads_preset
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
