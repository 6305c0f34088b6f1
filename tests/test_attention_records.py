"""Every record's numbers, recomputed in numpy from the record's own tensors.

For every shipped preset, in both modes, each AttentionRecord's energies, softmax weights and
output are recomputed in float64 numpy from its query, keys, values and terms, and must agree
with what the model recorded within 1e-5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sandbox.attention import AttentionRecord
from sandbox.model import Bundle
from sandbox.presets import list_presets, load_preset
from sandbox.trace import trace

TOL = 1e-5
SHIPPED = [(key, path) for key, path, is_user in list_presets() if not is_user]


def numpy_energies(r: AttentionRecord) -> np.ndarray:
    q = r.query.astype(np.float64)
    k = r.keys.astype(np.float64)
    if r.score == "dot":
        return k @ q
    if r.score == "scaled_dot":
        return (k @ q) / math.sqrt(q.shape[0])
    if r.score == "general":
        return r.terms["Wk"].astype(np.float64) @ q
    if r.score == "bahdanau":
        hidden = np.tanh(r.terms["W1h"].astype(np.float64) + r.terms["W2s"].astype(np.float64))
        np.testing.assert_allclose(hidden, r.terms["tanh"], atol=TOL)
        return hidden @ r.terms["v"].astype(np.float64)
    raise AssertionError(f"unknown score {r.score}")


def check_record(r: AttentionRecord) -> None:
    masked = np.isneginf(r.energies)
    e = numpy_energies(r)
    np.testing.assert_allclose(r.energies[~masked], e[~masked], atol=TOL, rtol=TOL)
    shifted = np.where(masked, -np.inf, e) - e[~masked].max()
    w = np.exp(shifted)
    w /= w.sum()
    np.testing.assert_allclose(r.weights, w, atol=TOL)
    assert np.all(r.weights[masked] == 0.0), "masked positions must have weight exactly 0"
    assert abs(float(r.weights.sum()) - 1.0) < TOL
    out = w @ r.values.astype(np.float64)
    np.testing.assert_allclose(r.output, out, atol=TOL)


@pytest.mark.parametrize("mode", ["teacher_forcing", "free_running"])
@pytest.mark.parametrize("key,path", SHIPPED, ids=[k for k, _ in SHIPPED])
def test_every_record_recomputes_in_numpy(key, path, mode):
    preset = load_preset(path)
    bundle = Bundle.from_preset(preset)
    n_records = 0
    for pair in preset.pairs[:3]:
        tr = trace(bundle, pair.source, pair.target, mode=mode)
        for r in tr.encoder:
            check_record(r)
            n_records += 1
        for step in tr.steps:
            for r in step.attention:
                check_record(r)
                n_records += 1
            if preset.model.kind == "seq2seq" and preset.model.attention != "none":
                assert [r.kind for r in step.attention] == ["cross"]
                assert step.attention[0].position == step.t
    if preset.model.kind == "seq2seq" and preset.model.attention == "none":
        assert n_records == 0, "the no-attention baseline must not emit records"
    else:
        assert n_records > 0


def test_recompute_catches_a_tampered_record():
    """The oracle can fail: nudging one weight is detected."""
    preset = load_preset(SHIPPED[0][1])
    bundle = Bundle.from_preset(preset)
    pair = preset.pairs[0]
    r = next(rec for s in trace(bundle, pair.source, pair.target).steps for rec in s.attention)
    check_record(r)
    bad = r.weights.copy()
    bad[0] += 1e-3
    tampered = AttentionRecord(**{**r.__dict__, "weights": bad})
    with pytest.raises(AssertionError):
        check_record(tampered)
