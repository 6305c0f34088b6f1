"""sandbox.drafts.pending_draft: the one rule both editors (preset and lecture) follow when a
file is opened and an earlier session left a draft of unsaved edits for it. Headless."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from sandbox.drafts import (PendingDraft, draft_path, lecture_draft_path, pending_draft, read_draft, read_lecture_draft,
                            write_draft, write_lecture_draft)
from sandbox.lectures import find_lecture, load_lecture
from sandbox.presets import load_preset, save_preset

ROOT = Path(__file__).resolve().parent.parent
INLINE = ROOT / "tests" / "inline_presets" / "ko_en_cat.toml"


@pytest.fixture
def preset(tmp_path):
    """A user copy of an inline preset (the draft rules look at its file's time)."""
    return load_preset(save_preset(load_preset(INLINE), tmp_path / "mine.toml"))


@pytest.fixture
def lecture():
    return load_lecture(find_lecture("dot_product"))


def _write(kind, key, value, edited):
    if kind == "preset":
        return write_draft(key, edited, value.path)
    return write_lecture_draft(key, edited)


def _edited(kind, value):
    return dataclasses.replace(value, name="edited") if kind == "preset" else dataclasses.replace(value, title="edited")


@pytest.mark.parametrize("kind", ["preset", "lecture"])
def test_an_edited_draft_of_the_same_file_is_offered(kind, preset, lecture):
    value = preset if kind == "preset" else lecture
    path = _write(kind, value.key, value, _edited(kind, value))
    got = pending_draft(value.key, value, lecture=kind == "lecture")
    assert got.problem == ""
    assert got.draft is not None and got.draft.file == path
    read = read_draft if kind == "preset" else read_lecture_draft
    assert got.draft == read(path)  # the draft as it reads back, unchanged


@pytest.mark.parametrize("kind", ["preset", "lecture"])
def test_a_draft_equal_to_the_file_is_deleted_and_not_offered(kind, preset, lecture):
    value = preset if kind == "preset" else lecture
    path = _write(kind, value.key, value, value)
    got = pending_draft(value.key, value, lecture=kind == "lecture")
    assert got.draft is None and got.problem == ""
    assert not path.exists()


@pytest.mark.parametrize("kind", ["preset", "lecture"])
def test_a_draft_of_another_file_with_the_same_key_is_left_alone(kind, preset, lecture, tmp_path):
    value = preset if kind == "preset" else lecture
    other = dataclasses.replace(value, path=tmp_path / "elsewhere" / f"{value.key}.toml")
    path = _write(kind, value.key, other, _edited(kind, other))
    got = pending_draft(value.key, value, lecture=kind == "lecture")
    assert got.draft is None and got.problem == ""
    assert path.exists()  # it belongs to the other file's editor


def test_a_draft_older_than_the_file_is_stale(preset):
    path = write_draft(preset.key, _edited("preset", preset), preset.path)
    old = os.stat(preset.path).st_mtime_ns - 10**9
    os.utime(path, ns=(old, old))
    assert pending_draft(preset.key, preset) == PendingDraft()
    assert path.exists()


@pytest.mark.parametrize("kind", ["preset", "lecture"])
def test_a_draft_that_does_not_read_back_is_set_aside_and_said(kind, preset, lecture):
    value = preset if kind == "preset" else lecture
    path = _write(kind, value.key, value, _edited(kind, value))
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")  # cut short by a crash
    got = pending_draft(value.key, value, lecture=kind == "lecture")
    assert got.draft is None
    bad = path.with_name(path.name + ".bad")
    assert got.problem.startswith("ignored the draft of unsaved edits: ") and got.problem.endswith(f"; kept as {bad}")
    assert not path.exists() and bad.read_text(encoding="utf-8") == text[: len(text) // 2]
    assert (draft_path if kind == "preset" else lecture_draft_path)(value.key) == path
