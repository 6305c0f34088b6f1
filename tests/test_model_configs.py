"""Typed model configs beside their models, and the decoder protocol both models keep."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sandbox.model import Bundle, Decoder
from sandbox.presets import find_preset, load_preset
from sandbox.seq2seq import Seq2Seq, Seq2SeqConfig
from sandbox.transformer import Transformer, TransformerConfig


@pytest.mark.parametrize("key,cls,config", [("ko_en_cat", Seq2Seq, Seq2SeqConfig),
                                            ("en_ko_transformer", Transformer, TransformerConfig)])
def test_a_typed_config_builds_the_same_model_as_the_preset(key, cls, config):
    preset = load_preset(find_preset(key))
    bundle = Bundle.from_preset(preset)
    model = bundle.model
    assert isinstance(model, cls) and isinstance(model, Decoder)
    typed = config.of(preset.model)
    assert type(model.config) is config and model.config == typed
    assert set(f.name for f in dataclasses.fields(config)) <= set(f.name for f in dataclasses.fields(preset.model))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(preset.training.seed)
        again = cls(typed, len(bundle.src_vocab), len(bundle.tgt_vocab))
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name


def test_configs_are_frozen_and_checked_by_their_models():
    cfg = Seq2SeqConfig(cell="lstm", attention="general", embed=4, hidden=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.hidden = 8  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown cell 'cnn'"):
        Seq2Seq(dataclasses.replace(cfg, cell="cnn"), 10, 10)
    with pytest.raises(ValueError, match=r"heads \(3\) must divide d_model \(32\)"):
        Transformer(TransformerConfig(heads=3), 10, 10)


def test_a_free_running_transformer_step_records_only_its_own_position():
    """Step t re-runs the decoder on the whole prefix; ``record_from=t`` (passed explicitly,
    no recorder side channel) keeps exactly one record per layer, head and kind, at t."""
    from sandbox.trace import trace

    preset = load_preset(find_preset("en_ko_transformer"))
    bundle = Bundle.from_preset(preset)
    tr = trace(bundle, preset.pairs[0].source, None, mode="free_running")
    per_kind = preset.model.layers * preset.model.heads
    assert len(tr.steps) >= 2
    for s in tr.steps:
        kinds = [r.kind for r in s.attention]
        assert kinds.count("masked_self") == per_kind and kinds.count("cross") == per_kind
        assert {r.position for r in s.attention} == {s.t}
