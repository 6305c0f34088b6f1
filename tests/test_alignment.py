"""Shipped presets keep the promises their descriptions make about the attention map."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sandbox.model import Bundle
from sandbox.presets import find_preset, load_preset
from sandbox.trace import trace
from sandbox.train import Trainer


@pytest.mark.parametrize("seed", [0, 1])
def test_reverse_preset_attends_along_the_anti_diagonal(seed):
    """`reverse` says its map is an anti-diagonal: output t should look at source T-1-t.

    Counted as the argmax of each step's weights over every pair (a repeated symbol such
    as "g g" makes two columns equally right, so a few misses are expected)."""
    preset = load_preset(find_preset("reverse"))
    preset = dataclasses.replace(preset, training=dataclasses.replace(preset.training, seed=seed))
    trainer = Trainer(Bundle.from_preset(preset), device="cpu")
    assert trainer.run().status == "done"
    hits = total = 0
    for pair in preset.pairs:
        tr = trace(trainer.bundle, pair.source, pair.target)
        weights = tr.attention_matrix("cross")
        n = len(tr.source_tokens) - 1  # without <eos>
        for step in tr.steps[:-1]:  # the last step predicts <eos>
            total += 1
            hits += int(np.argmax(weights[step.t])) == n - 1 - step.t
    assert hits / total >= 0.8, f"{hits}/{total} steps on the anti-diagonal"
