"""A preset opens on the trained model shipped for its own settings (sandbox.lecture_cache.
opening_model): the file is found by the preset's training key, its weights are the ones
loaded, an edited or damaged case falls back to seeded weights. No Qt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from sandbox import lecture_cache as L
from sandbox.checkpoint import load_checkpoint
from sandbox.model import Bundle
from sandbox.presets import find_preset, load_preset


def _equal(a: Bundle, b: Bundle) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def _copy(tmp_path: Path, name: str, text: str) -> Path:
    """A user copy of a shipped preset next to its corpora (its [data] file resolves)."""
    if not (tmp_path / "corpora").exists():
        shutil.copytree(Path(find_preset("ko_en_cat")).parent / "corpora", tmp_path / "corpora")
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_the_shipped_model_is_found_by_the_presets_own_training_settings():
    preset = load_preset(find_preset("ko_en_cat"))
    path = L.shipped_preset_checkpoint(preset)
    assert path is not None
    entry = next(e for e in L.read_manifest()["models"] if e["file"] == path.name)
    # the manifest's record of how it was trained is the preset's own
    assert (entry["preset"], entry["steps"], entry["seed"], entry["device"]) == \
        ("ko_en_cat", preset.training.steps, preset.training.seed, "cpu")
    bundle, steps = L.opening_model(preset)
    assert steps == preset.training.steps
    assert _equal(bundle, load_checkpoint(path, preset=preset))
    assert not _equal(bundle, Bundle.from_preset(preset))  # trained, not the seeded weights


@pytest.mark.parametrize("edit", [("steps = 400", "steps = 401"), ("seed = 0", "seed = 1"),
                                  ("hidden = 32", "hidden = 24")])
def test_an_edited_preset_opens_seeded(tmp_path, edit):
    src = Path(find_preset("ko_en_cat")).read_text("utf-8")
    assert edit[0] in src
    preset = load_preset(_copy(tmp_path, "mine.toml", src.replace(*edit, 1)))
    assert L.shipped_preset_checkpoint(preset) is None
    bundle, steps = L.opening_model(preset)
    assert steps == 0 and _equal(bundle, Bundle.from_preset(preset))


def test_a_comment_or_name_edit_keeps_the_shipped_model(tmp_path):
    src = Path(find_preset("ko_en_cat")).read_text("utf-8")
    text = "# my copy\n" + src.replace('name = "', 'name = "my ', 1)
    preset = load_preset(_copy(tmp_path, "mine.toml", text))
    assert L.shipped_preset_checkpoint(preset) == L.shipped_preset_checkpoint(load_preset(find_preset("ko_en_cat")))


def test_a_damaged_shipped_file_opens_seeded(tmp_path):
    preset = load_preset(find_preset("ko_en_cat"))
    copy = tmp_path / "models"
    shutil.copytree(L.SHIPPED_MODELS_DIR, copy)
    name = L.shipped_preset_checkpoint(preset).name
    data = bytearray((copy / name).read_bytes())
    data[-1] ^= 1
    (copy / name).write_bytes(bytes(data))
    assert L.shipped_preset_checkpoint(preset, folder=copy) is None  # its hash no longer matches
    bundle, steps = L.opening_model(preset, folder=copy)
    assert steps == 0 and _equal(bundle, Bundle.from_preset(preset))
    # a manifest that names a file whose bytes match but which is not a checkpoint
    (copy / name).write_bytes(b"not a checkpoint")
    manifest = json.loads((copy / L.MANIFEST_NAME).read_text("utf-8"))
    for e in manifest["models"]:
        if e["file"] == name:
            import hashlib

            e["sha256"] = hashlib.sha256(b"not a checkpoint").hexdigest()
    (copy / L.MANIFEST_NAME).write_text(json.dumps(manifest), "utf-8")
    assert L.shipped_preset_checkpoint(preset, folder=copy) is not None
    bundle, steps = L.opening_model(preset, folder=copy)
    assert steps == 0 and _equal(bundle, Bundle.from_preset(preset))


def test_the_opening_model_of_ko_en_cat_attends_to_the_right_word():
    """What a new user sees first (README): for “cat” the weight sits on 고양이로소이다."""
    from sandbox.trace import trace

    preset = load_preset(find_preset("ko_en_cat"))
    bundle, _ = L.opening_model(preset)
    tr = trace(bundle, "나는 고양이로소이다", "I am a cat", mode="teacher_forcing")
    cat = next(s for s in tr.steps if s.gold == "cat")
    w = cat.attention[0].weights
    assert tr.source_tokens[int(w.argmax())] == "고양이로소이다" and w.max() > 0.5


def test_building_ships_a_presets_own_model_and_missing_only_keeps_what_is_shipped(tmp_path):
    """sandbox.lecture_models ships one model per shipped preset trained with the preset's
    own settings; ``missing_only`` trains only what is not shipped yet."""
    from helpers import tiny_preset
    from sandbox import lecture_models as LM
    from sandbox.presets import loads_preset

    spec = {"kind": "seq2seq", "cell": "gru", "attention": "dot", "embed": 8, "hidden": 8}
    a = loads_preset(tiny_preset("a", spec, {"steps": 3, "batch_size": 2, "lr": 0.01, "teacher_forcing": 1.0, "seed": 0}))
    b = loads_preset(tiny_preset("b", spec, {"steps": 4, "batch_size": 2, "lr": 0.01, "teacher_forcing": 1.0, "seed": 1}))
    folder = tmp_path / "models"
    log: list[str] = []
    manifest = LM.build_shipped(lectures=[], presets=[a], folder=folder, log=log.append)
    [entry] = manifest["models"]
    assert (entry["steps"], entry["seed"], entry["lectures"]) == (3, 0, [])
    path = L.shipped_preset_checkpoint(a, folder)
    assert path is not None and path.name == entry["file"]
    bundle, steps = L.opening_model(a, folder)
    assert steps == 3 and _equal(bundle, load_checkpoint(path, preset=a))
    assert LM.verify_shipped(lectures=[], presets=[a, b], folder=folder) == [
        "preset b: no shipped model for its own settings (4 steps, seed 1); run `python -m sandbox.lecture_models`"]
    before = path.read_bytes()
    log.clear()
    LM.build_shipped(lectures=[], presets=[a, b], folder=folder, log=log.append, missing_only=True)
    assert len(log) == 1 and log[0].startswith("b (seed 1, 4 steps): trained")  # a was kept, not retrained
    assert path.read_bytes() == before
    assert LM.verify_shipped(lectures=[], presets=[a, b], folder=folder) == []
    # a preset no longer wanted: its file goes
    LM.build_shipped(lectures=[], presets=[b], folder=folder, log=log.append, missing_only=True)
    assert not path.exists() and L.shipped_preset_checkpoint(b, folder) is not None
