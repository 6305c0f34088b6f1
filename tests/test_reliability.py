"""No edit lost, no shipped file touched (issue 16), in the core: the shipped-tree rule, the
one atomic writer, drafts validated on restore, a broken user preset shadowing a shipped one,
the lecture cache's honest log. No Qt here."""

from __future__ import annotations

import dataclasses
import errno
import os
import time
from pathlib import Path

import pytest

from sandbox import fileio
from sandbox.lectures import LectureError, find_lecture, load_lecture, save_lecture
from sandbox.presets import (MAX_PAIRS, SHIPPED_DIR, Pair, PresetError, find_preset, load_preset, save_preset,
                             user_presets_dir)
from sandbox.drafts import draft_path, dumps_draft, read_draft, write_draft

# Names new with issue 16 are imported inside the tests that use them. (Each test was run
# against the code before issue 16, with its draft helpers imported from widgets.editor_drafts,
# and failed there on its own assertion, except the one that checks what must stay allowed.)

ROOT = Path(__file__).resolve().parent.parent
INLINE_DIR = ROOT / "tests" / "inline_presets"  # presets with [[pairs]] (shipped ones read corpora)


@pytest.fixture(autouse=True)
def shipped_tree_keeps_its_bytes():
    """Nothing in presets/ changes and nothing is added there by a test. (Run against code
    without the shipped-tree rule, what a test wrote there is put back before the next one.)"""
    def snapshot():
        return {p: p.read_bytes() for p in sorted(SHIPPED_DIR.rglob("*")) if p.is_file()}

    before = snapshot()
    yield
    after = snapshot()
    for p in set(after) - set(before):
        p.unlink()
    for p, data in before.items():
        if after.get(p) != data:
            p.write_bytes(data)
    assert after == before, "the shipped tree was modified"


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------- the shipped tree


def test_a_lecture_cannot_be_saved_over_or_beside_a_shipped_preset():
    lec = load_lecture(find_lecture("dot_product"))
    for target in (SHIPPED_DIR / "ko_en_cat.toml", SHIPPED_DIR / "zz_reliab_lecture.toml",
                   SHIPPED_DIR / "lectures" / ".." / "zz_reliab_lecture2.toml"):
        try:
            with pytest.raises(LectureError, match="read-only"):
                save_lecture(lec, target)
        finally:
            if target.name.startswith("zz_"):
                _remove(target)
    assert load_preset(SHIPPED_DIR / "ko_en_cat.toml").name  # still a preset


def test_every_kind_of_file_is_refused_in_the_shipped_tree(tmp_path):
    from sandbox.shipped import ShippedFileError, is_shipped

    preset = load_preset(find_preset("reverse"))
    # a symlink from the user's folder into the shipped tree is seen through
    link = tmp_path / "sneaky"
    link.symlink_to(SHIPPED_DIR, target_is_directory=True)
    cases = [
        lambda: save_preset(preset, SHIPPED_DIR / "lectures" / "zz_reliab_preset.toml"),
        lambda: save_preset(preset, link / "zz_reliab_preset2.toml"),
        lambda: fileio.atomic_write_text(SHIPPED_DIR / "corpora" / "zz_reliab.tsv", "a\tb\n"),
        lambda: fileio.atomic_write_bytes(SHIPPED_DIR / "zz_reliab.ckpt", b"weights"),
        lambda: fileio.atomic_write_text(ROOT / "sandbox" / "zz_reliab.py", "x = 1\n"),
    ]
    for i, write in enumerate(cases):
        with pytest.raises((PresetError, ShippedFileError), match="read-only"):
            write()
    assert is_shipped(link / "ko_en_cat.toml") and not is_shipped(tmp_path / "mine.toml")
    for leftover in list(SHIPPED_DIR.rglob("zz_reliab*")) + list((ROOT / "sandbox").glob("zz_reliab*")):
        leftover.unlink()


def test_a_checkpoint_is_refused_in_the_shipped_tree_before_training(capsys):
    from sandbox import cli

    target = SHIPPED_DIR / "zz_reliab_model.ckpt"
    try:
        rc = cli.main(["train", "--preset", "reverse", "--steps", "1", "--out", str(target)])
        err = capsys.readouterr().err
        assert rc == cli.EXIT_BAD_INPUT
        assert str(target) in err and "read-only" in err and "step" not in err.split("read-only")[0]
        assert not target.exists()
    finally:
        _remove(target)


# --------------------------------------------------------------------------- the atomic writer


def _full_disk(monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "fsync", no_space)


def test_a_full_disk_names_the_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old\n")
    _full_disk(monkeypatch)
    with pytest.raises(OSError) as info:
        fileio.atomic_write_text(target, "new\n")
    assert info.value.filename == str(target) and info.value.errno == errno.ENOSPC
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_read_only_folder_names_the_file_not_its_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "bottleneck.json"

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".bottleneck.json.abcd1234.tmp"))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refused)
    with pytest.raises(OSError) as info:
        fileio.atomic_write_text(target, "{}\n")
    assert info.value.filename == str(target)


def test_train_on_a_full_disk_names_the_checkpoint(tmp_path, monkeypatch, capsys):
    from sandbox import cli

    out = tmp_path / "model.ckpt"
    _full_disk(monkeypatch)
    rc = cli.main(["train", "--preset", "reverse", "--steps", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc != 0
    assert err == f"error: {out}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_temp_files_left_by_a_kill_are_cleaned_up(tmp_path):
    target = tmp_path / "ko_en_cat.toml"
    stale = tmp_path / ".ko_en_cat.toml.k1ll3d0x.tmp"  # what a kill between write and rename leaves
    young = tmp_path / ".ko_en_cat.toml.wr1t1ng0.tmp"  # a writer still running
    other = tmp_path / ".other.toml.0ld0ld0l.tmp"
    mine = tmp_path / ".my_notes.tmp"  # not ours: never touched
    for p in (stale, young, other, mine):
        p.write_bytes(b"half a file")
    old = time.time() - 3600
    for p in (stale, other, mine):
        os.utime(p, (old, old))
    fileio.atomic_write_text(target, "x = 1\n")
    assert not stale.exists() and young.exists() and other.exists() and mine.exists()
    # the start-up sweep of a whole folder removes the other target's leftover too
    assert fileio.clean_stale_temp_files(tmp_path) == [other]
    assert young.exists() and mine.exists()


# --------------------------------------------------------------------------- user folders


@pytest.mark.gui  # also checks the window's settings file and the bottleneck view's cache
def test_user_folders_come_from_one_module(monkeypatch, tmp_path):
    from sandbox import userdirs
    from sandbox.lectures import user_cache_dir, user_lectures_dir
    from widgets.bottleneck_view import cache_dir as bottleneck_cache
    from widgets.settings import settings_path

    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path / "h"))
    assert (user_presets_dir(), user_lectures_dir(), user_cache_dir(), bottleneck_cache(), draft_path("k").parent,
            settings_path().parent) == tuple(tmp_path / "h" / n for n in
                                             ("presets", "lectures", "cache", "cache", "drafts", "settings"))
    monkeypatch.delenv("ATTENTION_SANDBOX_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    import platformdirs

    assert userdirs.data_dir() == Path(platformdirs.user_data_dir("attention-sandbox", appauthor=False))
    assert user_presets_dir() == tmp_path / "data" / "attention-sandbox" / "presets"
    assert user_cache_dir() == bottleneck_cache() == tmp_path / "cache" / "attention-sandbox"
    assert settings_path() is None  # the platform's own settings store


def test_no_module_outside_userdirs_spells_out_a_user_folder():
    offenders = []
    for folder in ("sandbox", "widgets"):
        for path in (ROOT / folder).glob("*.py"):
            if path.name == "userdirs.py":
                continue
            text = path.read_text(encoding="utf-8")
            for needle in ('".local"', '".cache"', "XDG_"):
                if needle in text:
                    offenders.append(f"{path.name}: {needle}")
    assert offenders == []


# --------------------------------------------------------------------------- drafts


def _edited(**model) -> object:
    p = load_preset(INLINE_DIR / "ko_en_cat.toml")
    return dataclasses.replace(p, model=dataclasses.replace(p.model, **model)) if model else p


def test_a_draft_with_an_out_of_range_number_is_refused_naming_the_field():
    from sandbox.drafts import DraftError

    path = write_draft("ko_en_cat", _edited(), INLINE_DIR / "ko_en_cat.toml")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("embed = 16", "embed = 99999999999999"), encoding="utf-8")
    with pytest.raises(DraftError, match=r"model\.embed.*1 to 512"):
        read_draft(path)
    for bad, field in (("lr = 0.005", "lr = -1.0"), ("cell = \"gru\"", "cell = \"transformer\""),
                       ("seed = 0", "seed = true")):
        path.write_text(text.replace(*(bad, field)), encoding="utf-8")
        with pytest.raises(DraftError, match=str(path)):
            read_draft(path)


def test_a_draft_keeps_what_an_editor_may_hold_mid_edit():
    base = _edited(d_model=32, heads=3)  # heads not dividing d_model: shown as a problem, still drafted
    edited = dataclasses.replace(base, name="", pairs=base.pairs + (Pair("", ""), base.pairs[0]))
    path = write_draft("half_typed", edited, None)
    assert read_draft(path).preset == edited


def test_a_draft_with_too_many_pairs_or_a_truncated_draft_is_refused():
    from sandbox.drafts import DraftError

    base = _edited()
    many = dataclasses.replace(base, pairs=tuple(Pair(f"s{i}", f"t{i}") for i in range(MAX_PAIRS + 1)))
    path = draft_path("many")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_draft(many, None), encoding="utf-8")
    with pytest.raises(DraftError, match=f"at most {MAX_PAIRS} pairs"):
        read_draft(path)
    text = dumps_draft(base, None)
    path.write_text(text[: len(text) // 2], encoding="utf-8")  # a draft cut short
    with pytest.raises(DraftError):
        read_draft(path)


def test_lecture_draft_round_trip_and_validation():
    from sandbox.drafts import DraftError, lecture_draft_path, read_lecture_draft, write_lecture_draft

    lec = load_lecture(find_lecture("dot_product"))
    slides = list(lec.slides)
    slides[0] = dataclasses.replace(slides[0], narration={"ko": "한국어 설명", "en": "typed so far"})
    edited = dataclasses.replace(lec, title="My dot product", slides=tuple(slides))
    path = write_lecture_draft(lec.key, edited)
    assert path == lecture_draft_path(lec.key)
    back = read_lecture_draft(path)
    assert back.lecture == edited and back.origin == lec.path
    path.write_text(path.read_text(encoding="utf-8").replace('panel = "map"', 'panel = "nowhere"', 1), encoding="utf-8")
    with pytest.raises(DraftError, match=str(path)):
        read_lecture_draft(path)


# --------------------------------------------------------------------------- shadowing presets


def test_a_broken_user_preset_with_a_shipped_name_falls_back_to_the_shipped_file():
    user = user_presets_dir() / "ko_en_cat.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("name = 'broken\n", encoding="utf-8")
    assert find_preset("ko_en_cat") == SHIPPED_DIR / "ko_en_cat.toml"
    from sandbox.presets import ignored_user_presets

    messages = ignored_user_presets()
    assert len(messages) == 1 and str(user) in messages[0] and "not valid TOML" in messages[0]
    for key in ("bahdanau", "teacher_forcing"):  # the lectures built on it still load
        assert load_lecture(find_lecture(key)).preset == "ko_en_cat"
    # a working user copy still wins
    user.write_text((INLINE_DIR / "ko_en_cat.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert find_preset("ko_en_cat") == user and ignored_user_presets() == []


# --------------------------------------------------------------------------- the lecture cache


@pytest.mark.gui  # the log is the lecture exporter's (widgets.lecture_export)
def test_a_truncated_cache_entry_is_retrained_and_says_so():
    from sandbox.lectures import TrainSpec, cached_checkpoint_path
    from widgets.lecture_export import train_bundles

    lec = dataclasses.replace(load_lecture(find_lecture("teacher_forcing")), train=TrainSpec(steps=2, seed=0))
    first: list[str] = []
    train_bundles(lec, log=first.append)
    assert first and first[0].startswith("ko_en_cat: trained in ")
    path = cached_checkpoint_path(lec)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # a cache entry cut short
    log: list[str] = []
    train_bundles(lec, log=log.append)
    assert len(log) == 1 and "loaded from the cache" not in log[0]
    assert "retrained" in log[0] and str(path) in log[0]
    log.clear()
    train_bundles(lec, log=log.append)  # rewritten whole: now it does come from the cache
    assert log == ["ko_en_cat: loaded from the cache"]


def test_start_up_sweeps_every_user_folder(tmp_path):
    from sandbox import userdirs

    old = time.time() - 3600
    leftovers = []
    for folder in (userdirs.presets_dir(), userdirs.lectures_dir(), userdirs.drafts_dir(), userdirs.cache_dir()):
        folder.mkdir(parents=True, exist_ok=True)
        p = folder / ".x.toml.abcdefgh.tmp"
        p.write_bytes(b"")
        os.utime(p, (old, old))
        leftovers.append(p)
    assert fileio.sweep_stale_temp_files() == len(leftovers)
    assert not any(p.exists() for p in leftovers)


def test_no_stale_temp_file_is_swept_from_the_shipped_tree(monkeypatch):
    """With the user folder pointed into presets/, the start-up sweep of temporary files
    deletes nothing there: the app writes (and removes) nothing in the shipped tree."""
    import shutil
    import uuid

    from sandbox.fileio import sweep_stale_temp_files
    from sandbox.shipped import SHIPPED_DIR

    home = SHIPPED_DIR / f"_test_home_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(home))
    try:
        folder = home / "presets"
        folder.mkdir(parents=True)
        stale = folder / ".ko_en_cat.toml.abcdefgh.tmp"
        stale.write_text("x")
        os.utime(stale, (0, 0))
        assert sweep_stale_temp_files() == 0 and stale.exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)
