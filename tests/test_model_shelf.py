"""The session's shelf of trained models (sandbox/model_shelf.py): no Qt needed."""

from __future__ import annotations

from sandbox.model import Bundle
from sandbox.model_shelf import ModelShelf, ShelvedModel
from sandbox.presets import find_preset, load_preset


def test_the_shelf_keeps_the_last_presets_and_counts_their_bytes():
    bundle = Bundle.from_preset(load_preset(find_preset("reverse")))
    shelf = ModelShelf(size=3)
    for i in range(5):
        shelf.put(f"p{i}", ShelvedModel(bundle, 10 + i))
    assert shelf.keys() == ["p2", "p3", "p4"]
    shelf.put("p2", ShelvedModel(bundle, 99))  # used again: now the newest
    assert shelf.put("p5", ShelvedModel(bundle, 1)) == ["p3"]
    assert shelf.take("p2").trained_steps == 99 and shelf.take("p2") is None
    per_model = sum(t.numel() * t.element_size() for t in bundle.model.state_dict().values())
    assert shelf.nbytes == len(shelf) * per_model


def test_a_shelf_of_no_models_is_refused():
    import pytest

    with pytest.raises(ValueError, match="at least 1"):
        ModelShelf(size=0)
