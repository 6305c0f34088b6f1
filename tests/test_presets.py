"""Presets: shipped files, the broken-file corpus, round trips, atomic saves, and fuzzing.

The rule under test: every problem with a preset is one PresetError naming the file and the
field; nothing else escapes, and saving never loses comments or the old file.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import presets as P
from sandbox.text import normalize
from sandbox.presets import (
    MAX_PAIRS,
    MAX_SENTENCE_CHARS,
    SHIPPED_DIR,
    ModelConfig,
    Pair,
    Preset,
    PresetError,
    TokenizerConfig,
    TrainingConfig,
    dumps_preset,
    find_preset,
    list_presets,
    load_preset,
    loads_preset,
    pair_problems,
    save_preset,
    user_presets_dir,
    validate_preset,
)

BROKEN_DIR = Path(__file__).resolve().parent / "broken_presets"
# Presets with inline pairs (the shipped ones before issue 12) for the format tests.
INLINE_DIR = Path(__file__).resolve().parent / "inline_presets"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SHIPPED_KEYS = {
    "ko_en_cat",
    "ko_en_cat_dot",
    "ko_en_cat_scaled_dot",
    "ko_en_cat_general",
    "ko_en_cat_none",
    "en_ko_cats",
    "en_ko_transformer",
    "en_teacher_self",
    "reverse",
}


def shipped_paths() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.toml"))


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def key_order(text: str) -> list[str]:
    """Table headers and keys in the order they appear (comments stripped first)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            out.append(line)
        elif m := re.match(r"([A-Za-z_]+)\s*=", line):
            out.append(m.group(1))
    return out


@pytest.fixture
def user_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# --------------------------------------------------------------------------- shipped presets


def test_shipped_set_is_complete():
    assert {p.stem for p in shipped_paths()} >= SHIPPED_KEYS


@pytest.mark.parametrize("path", shipped_paths(), ids=lambda p: p.stem)
def test_shipped_preset_loads(path):
    # Changed for issue 12: shipped presets train on generated corpora ([data]) with a
    # held-out tenth, so they hold thousands of pairs instead of at most MAX_PAIRS inline.
    preset = load_preset(path)
    assert preset.key == path.stem
    assert preset.path == path
    assert preset.name and preset.description
    assert preset.data is not None and preset.data.file.startswith("corpora/")
    assert len(preset.pairs) >= 2000 and not preset.skipped and not preset.too_long
    assert 0.09 <= len(preset.heldout_pairs) / len(preset.all_pairs) <= 0.11
    assert not set(preset.pairs) & set(preset.heldout_pairs)
    assert all(p.alignment for p in preset.all_pairs), "every shipped pair has gold links"
    assert preset.tokenizer == TokenizerConfig("word", "word")
    sources = [p.source for p in preset.all_pairs]
    assert len(sources) == len(set(sources)), "one source with two translations cannot be learned"
    assert comment_lines(preset.source_text), "shipped presets carry a few helpful comments"
    if preset.model.kind == "transformer":
        assert preset.model.d_model % preset.model.heads == 0


def test_shipped_contents_match_the_design():
    # Changed for issue 12: corpora, bidirectional encoders, the seed sentences inside them.
    loaded = {p.stem: load_preset(p) for p in shipped_paths()}
    cat = loaded["ko_en_cat"]
    assert Pair("나는 고양이로소이다", "I am a cat", ((0, 0), (1, 1), (1, 3))) in cat.all_pairs
    assert (cat.model.kind, cat.model.cell, cat.model.attention, cat.model.encoder) == ("seq2seq", "gru", "bahdanau", "bi")
    assert (cat.model.embed, cat.model.hidden) == (16, 32)
    for score in ("dot", "scaled_dot", "general", "none"):
        variant = loaded[f"ko_en_cat_{score}"]
        assert variant.pairs == cat.pairs and variant.heldout_pairs == cat.heldout_pairs
        assert (variant.model.cell, variant.model.attention) == ("gru", score)
        assert variant.model == dataclasses.replace(cat.model, attention=score, hidden=variant.model.hidden)
    assert loaded["ko_en_cat_none"].model == dataclasses.replace(cat.model, attention="none")
    cats = loaded["en_ko_cats"]
    assert Pair("I love cats", "나는 고양이를 좋아해", ((0, 0), (1, 2), (2, 1))) in cats.all_pairs
    assert (cats.model.cell, cats.model.encoder) == ("lstm", "bi")
    tr = loaded["en_ko_transformer"]
    assert tr.data.file == cats.data.file
    assert (tr.model.kind, tr.model.d_model, tr.model.layers, tr.model.d_ff) == ("transformer", 32, 2, 64)
    assert tr.model.dropout == 0.0
    teacher = loaded["en_teacher_self"]
    assert teacher.model.kind == "transformer" and teacher.model.heads == 4
    assert Pair("I am a teacher", "나는 선생님이다", ((0, 0), (1, 1), (3, 1))) in teacher.all_pairs
    rev = loaded["reverse"]
    for pair in rev.all_pairs:
        tokens = pair.source.split()
        assert 3 <= len(tokens) <= 7
        assert pair.target.split() == tokens[::-1]
    for preset in loaded.values():
        t = preset.training
        assert 300 <= t.steps <= 600 and t.batch_size == 64 and 0.005 <= t.lr <= 0.01
        assert t.teacher_forcing == 1.0 and t.seed == 0


@pytest.mark.parametrize("path", shipped_paths(), ids=lambda p: p.stem)
def test_shipped_round_trip(path):
    preset = load_preset(path)
    text = path.read_text(encoding="utf-8")
    assert dumps_preset(preset) == text, "an unchanged preset dumps byte for byte"
    assert loads_preset(dumps_preset(preset), path) == preset  # [data] files are relative to the preset
    fresh = dataclasses.replace(preset, source_text=None)
    assert loads_preset(dumps_preset(fresh), path) == preset


@pytest.mark.parametrize("path", sorted(INLINE_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_save_keeps_comments_and_key_order(path, tmp_path):
    # inline presets: the shipped ones take their pairs from corpora since issue 12
    preset = load_preset(path)
    original = path.read_text(encoding="utf-8")
    out = save_preset(preset, tmp_path / path.name)
    saved = out.read_text(encoding="utf-8")
    for line in comment_lines(original):
        assert line in saved
    assert key_order(saved) == key_order(original)
    assert load_preset(out) == preset

    # Change values and pairs: every comment and the key order still survive.
    pairs = list(preset.pairs)
    pairs[1] = Pair(pairs[1].source, pairs[1].target + " too")
    del pairs[2]
    pairs.insert(3, Pair("새로운 문장", "a new sentence"))
    pairs.append(Pair("마지막 문장", "the last sentence"))
    m = preset.model
    model = dataclasses.replace(m, hidden=m.hidden * 2) if m.kind == "seq2seq" else dataclasses.replace(m, d_ff=128)
    edited = dataclasses.replace(
        preset, pairs=tuple(pairs), model=model, training=dataclasses.replace(preset.training, steps=123)
    )
    saved = save_preset(edited, tmp_path / "edited.toml").read_text(encoding="utf-8")
    for line in comment_lines(original):
        assert line in saved
    before, after = key_order(original), key_order(saved)
    head = before.index("[[pairs]]")
    assert after[:head] == before[:head]
    assert after[head:] == ["[[pairs]]", "source", "target"] * len(pairs)
    assert "steps = 123" in saved
    assert loads_preset(saved) == edited


def test_switching_kind_rewrites_model_keys(tmp_path):
    preset = load_preset(INLINE_DIR / "ko_en_cat.toml")
    switched = dataclasses.replace(preset, model=ModelConfig(kind="transformer", heads=4))
    text = dumps_preset(switched)
    assert loads_preset(text) == switched
    assert "cell" not in tomlkit.parse(text)["model"]
    assert comment_lines(preset.source_text)[0] in text


def test_crlf_and_bom_are_accepted_and_kept():
    text = (INLINE_DIR / "ko_en_cat.toml").read_text(encoding="utf-8").replace("\n", "\r\n")
    preset = loads_preset("\ufeff" + text, "crlf.toml")
    assert preset == load_preset(INLINE_DIR / "ko_en_cat.toml")
    edited = dataclasses.replace(preset, pairs=preset.pairs + (Pair("새", "new"),))
    out = dumps_preset(edited)
    assert "\n" not in out.replace("\r\n", "")
    assert loads_preset(out) == edited


# --------------------------------------------------------------------------- broken corpus

# file stem -> (expected field, a fragment the message must contain)
BROKEN = {
    "bad_toml": (None, "line 9 col 8"),
    "bad_utf8": (None, "UTF-8"),
    "empty": (None, "empty"),
    "duplicate_key": (None, "line"),
    "deep_nesting": (None, "nested"),
    "only_comments": ("name", "missing"),
    "missing_name": ("name", "missing"),
    "blank_name": ("name", "empty or blank"),
    "name_not_string": ("name", "must be a string"),
    "description_not_string": ("description", "must be a string"),
    "unknown_key": ("author", "allowed keys: name, description, model, tokenizer, training, pairs"),
    "unknown_model_key": ("model.size", "allowed keys"),
    "missing_model": ("model", "[model]"),
    "model_not_table": ("model", "must be a table"),
    "missing_kind": ("model.kind", '"seq2seq", "transformer"'),
    "bad_kind": ("model.kind", '"seq2seq", "transformer"'),
    "missing_hidden": ("model.hidden", "1 to 1024"),
    "missing_d_ff": ("model.d_ff", "1 to 4096"),
    "transformer_key_in_seq2seq": ("model.heads", 'only allowed when kind = "transformer"'),
    "seq2seq_key_in_transformer": ("model.cell", 'only allowed when kind = "seq2seq"'),
    "bad_cell": ("model.cell", '"rnn", "gru", "lstm"'),
    "bad_attention": ("model.attention", '"none", "dot", "scaled_dot", "general", "bahdanau"'),
    "hidden_zero": ("model.hidden", "must be an integer from 1 to 1024, got 0"),
    "embed_too_big": ("model.embed", "1 to 512, got 513"),
    "bool_as_int": ("model.embed", "boolean"),
    "float_as_int": ("training.batch_size", "integer"),
    "string_as_int": ("training.steps", "integer"),
    "heads_not_dividing": ("model.heads", "divide d_model"),
    "layers_too_many": ("model.layers", "1 to 6"),
    "dropout_one": ("model.dropout", "not including 1"),
    "missing_training": ("training", "[training]"),
    "unknown_training_key": ("training.epochs", "steps, batch_size, lr, teacher_forcing, seed"),
    "missing_seed": ("training.seed", "missing"),
    "lr_zero": ("training.lr", "greater than 0"),
    "lr_nan": ("training.lr", "nan"),
    "lr_as_bool": ("training.lr", "boolean"),
    "teacher_forcing_above_one": ("training.teacher_forcing", "0 to 1"),
    "seed_negative": ("training.seed", "0 to 4294967295"),
    "seed_too_big": ("training.seed", "0 to 4294967295"),
    "bad_tokenizer": ("tokenizer.source", '"word", "char"'),
    "tokenizer_not_table": ("tokenizer", "must be a table"),
    "no_pairs": ("pairs", "[[pairs]]"),
    "empty_pairs": ("pairs", f"1 to {MAX_PAIRS}"),
    "pairs_as_table": ("pairs", "[[pairs]]"),
    "pair_not_table": ("pairs[0]", "source and target"),
    "missing_source": ("pairs[1].source", "missing"),
    "blank_target": ("pairs[1].target", "must not be empty or blank"),
    "target_not_string": ("pairs[0].target", "must be a string"),
    "pair_unknown_key": ("pairs[1].note", "source, target"),
    "too_long": ("pairs[0].source", f"at most {MAX_SENTENCE_CHARS} characters"),
    "control_char": ("pairs[1].target", "U+0007"),
    "tab_in_source": ("pairs[1].source", "U+0009"),
    "duplicate_pair": ("pairs[2]", "pairs[0]"),
    "too_many_pairs": ("pairs", f"got {MAX_PAIRS + 1}"),
}


def test_broken_corpus_matches_table():
    assert {p.stem for p in BROKEN_DIR.glob("*.toml")} == set(BROKEN)


@pytest.mark.parametrize("stem", sorted(BROKEN))
def test_broken_preset_raises_one_clear_error(stem):
    path = BROKEN_DIR / f"{stem}.toml"
    field, fragment = BROKEN[stem]
    with pytest.raises(PresetError) as info:
        load_preset(path)
    err = info.value
    text = str(err)
    assert err.path == str(path)
    assert err.field == field
    assert path.name in text
    assert fragment in err.message
    if field is None:
        assert text == f"{path}: {err.message}"
    else:
        assert text == f"{path}: {field}: {err.message}"


# --------------------------------------------------------------------------- errors and I/O


def test_error_format_and_pickle():
    assert str(PresetError("a.toml", "pairs[3].target", "must not be empty or blank")) == (
        "a.toml: pairs[3].target: must not be empty or blank"
    )
    assert str(PresetError(None, "name", "missing")) == "<preset>: name: missing"
    assert str(PresetError(Path("x/y.toml"), None, "no such file")) == "x/y.toml: no such file"
    err = pickle.loads(pickle.dumps(PresetError("a.toml", "name", "bad")))
    assert (err.path, err.field, err.message) == ("a.toml", "name", "bad")
    assert isinstance(err, ValueError)


def test_loads_without_path_uses_placeholder():
    with pytest.raises(PresetError, match=r"^<preset>: ") as info:
        loads_preset("name = 1")
    assert info.value.path is None


def test_load_io_failures(tmp_path):
    with pytest.raises(PresetError, match="no such file"):
        load_preset(tmp_path / "missing.toml")
    with pytest.raises(PresetError, match="directory"):
        load_preset(tmp_path)
    with pytest.raises(PresetError):
        load_preset(None)  # type: ignore[arg-type]
    with pytest.raises(PresetError):
        loads_preset(b"name = 'x'")  # type: ignore[arg-type]
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (P.MAX_FILE_BYTES + 10))
    with pytest.raises(PresetError, match="larger"):
        load_preset(big)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_load_unreadable_file(tmp_path):
    path = tmp_path / "locked.toml"
    path.write_text((INLINE_DIR / "ko_en_cat.toml").read_text(encoding="utf-8"), encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(PresetError, match="permission"):
            load_preset(path)
    finally:
        path.chmod(0o644)


def test_stored_text_is_stripped_and_floats_accept_ints():
    text = (BROKEN_DIR / "lr_zero.toml").read_text(encoding="utf-8")
    preset = loads_preset(text.replace("lr = 0", "lr = 1").replace('"나는 고양이다"', '"  나는 고양이다 "'), "x.toml")
    assert preset.pairs[0].source == "나는 고양이다"
    assert preset.training.lr == 1.0 and isinstance(preset.training.lr, float)


# --------------------------------------------------------------------------- in-memory presets


def valid_preset() -> Preset:
    return load_preset(INLINE_DIR / "ko_en_cat.toml")


def test_dataclasses_replace_and_equality():
    preset = valid_preset()
    pair = dataclasses.replace(preset.pairs[0], target="I am the cat")
    assert pair == Pair("나는 고양이로소이다", "I am the cat")
    other = dataclasses.replace(preset, pairs=(pair,) + preset.pairs[1:])
    assert other != preset and other.pairs[1:] == preset.pairs[1:]
    moved = dataclasses.replace(preset, path=Path("/elsewhere/x.toml"), source_text=None)
    assert moved == preset, "path and source_text do not take part in equality"
    assert moved.key == "x"
    assert hash(moved) == hash(preset)
    listed = dataclasses.replace(preset, pairs=list(preset.pairs))  # editors pass lists
    assert isinstance(listed.pairs, tuple) and listed == preset
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.name = "x"  # type: ignore[misc]


def test_key_slug_without_path():
    preset = dataclasses.replace(valid_preset(), path=None, name="Reverse a Sequence!")
    assert preset.key == "reverse_a_sequence"
    assert dataclasses.replace(preset, name="→").key == "preset"


def test_validate_preset():
    preset = valid_preset()
    validate_preset(preset)
    bad = dataclasses.replace(preset, pairs=preset.pairs[:3] + (Pair("문장", "   "),))
    with pytest.raises(PresetError) as info:
        validate_preset(bad)
    assert info.value.field == "pairs[3].target"
    assert info.value.path == str(preset.path)
    with pytest.raises(PresetError) as info:
        validate_preset(dataclasses.replace(preset, model=ModelConfig(kind="transformer", d_model=30, heads=4)))
    assert info.value.field == "model.heads"
    with pytest.raises(PresetError) as info:
        validate_preset(dataclasses.replace(preset, training=TrainingConfig(steps=True)))  # type: ignore[arg-type]
    assert info.value.field == "training.steps"
    with pytest.raises(PresetError) as info:
        validate_preset(dataclasses.replace(preset, model="gru"))  # type: ignore[arg-type]
    assert info.value.field == "model"
    with pytest.raises(PresetError) as info:
        dumps_preset(bad)
    assert info.value.field == "pairs[3].target"


def test_pair_problems_reports_everything_in_order():
    pairs = [
        Pair("하나", "one"),
        Pair(" ", "two"),
        Pair("셋", "x" * (MAX_SENTENCE_CHARS + 1)),
        Pair("하나 ", " one"),
        Pair("넷\x00", "four"),
        Pair("다섯", "five"),
    ]
    problems = pair_problems(pairs, "p.toml")
    assert [p.field for p in problems] == ["pairs[1].source", "pairs[2].target", "pairs[3]", "pairs[4].source"]
    assert all(isinstance(p, PresetError) and p.path == "p.toml" for p in problems)
    assert "pairs[0]" in problems[2].message
    assert pair_problems(pairs[:1]) == []
    assert [p.field for p in pair_problems([])] == ["pairs"]
    assert pair_problems([Pair(f"s{i}", "t") for i in range(MAX_PAIRS + 1)])[0].field == "pairs"


# --------------------------------------------------------------------------- saving


def test_save_is_atomic_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "mine.toml"
    before = (INLINE_DIR / "ko_en_cat.toml").read_bytes()
    target.write_bytes(before)
    preset = load_preset(target)

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(PresetError, match="could not save") as info:
        save_preset(dataclasses.replace(preset, name="changed"), target)
    assert info.value.path == str(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


def test_save_is_atomic_when_fsync_fails(tmp_path, monkeypatch):
    target = tmp_path / "mine.toml"
    before = (INLINE_DIR / "reverse.toml").read_bytes()
    target.write_bytes(before)

    def boom(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(PresetError):
        save_preset(load_preset(target), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


def test_save_invalid_preset_writes_nothing(tmp_path):
    target = tmp_path / "mine.toml"
    before = (INLINE_DIR / "ko_en_cat.toml").read_bytes()
    target.write_bytes(before)
    preset = load_preset(target)
    bad = dataclasses.replace(preset, pairs=(dataclasses.replace(preset.pairs[0], target=""),) + preset.pairs[1:])
    with pytest.raises(PresetError) as info:
        save_preset(bad, target)
    assert info.value.field == "pairs[0].target"
    assert target.read_bytes() == before
    fresh = tmp_path / "new.toml"
    with pytest.raises(PresetError):
        save_preset(bad, fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


def test_save_creates_folders_and_returns_path(tmp_path):
    target = tmp_path / "a" / "b" / "mine.toml"
    preset = valid_preset()
    assert save_preset(preset, str(target)) == target
    assert load_preset(target) == preset
    assert save_preset(preset, target) == target  # overwriting works too


def test_save_refuses_shipped_presets(tmp_path):
    target = SHIPPED_DIR / "zz_must_not_be_written.toml"
    with pytest.raises(PresetError, match="read-only"):
        save_preset(valid_preset(), target)
    assert not target.exists()
    with pytest.raises(PresetError, match="read-only"):
        save_preset(valid_preset(), SHIPPED_DIR / "ko_en_cat.toml")


def test_save_into_a_directory_fails_cleanly(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(PresetError, match="could not save"):
        save_preset(valid_preset(), tmp_path / "dir.toml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.toml"]


# --------------------------------------------------------------------------- finding presets


def test_user_presets_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path))
    assert user_presets_dir() == tmp_path / "presets"
    monkeypatch.delenv("ATTENTION_SANDBOX_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert user_presets_dir() == tmp_path / "h" / ".local" / "share" / "attention-sandbox" / "presets"


def test_list_and_find_presets(user_home):
    listed = list_presets()
    assert [k for k, _, is_user in listed] == sorted(p.stem for p in shipped_paths())
    assert not any(is_user for *_, is_user in listed)
    user_dir = user_presets_dir()
    save_preset(valid_preset(), user_dir / "zz_mine.toml")
    save_preset(valid_preset(), user_dir / "ko_en_cat.toml")
    listed = list_presets()
    assert listed[-2:] == [("ko_en_cat", user_dir / "ko_en_cat.toml", True), ("zz_mine", user_dir / "zz_mine.toml", True)]
    assert all(not is_user for *_, is_user in listed[:-2])
    assert find_preset("zz_mine") == user_dir / "zz_mine.toml"
    assert find_preset("zz_mine.toml") == user_dir / "zz_mine.toml"
    assert find_preset("ko_en_cat") == user_dir / "ko_en_cat.toml", "the user's copy shadows the shipped one"
    assert find_preset("reverse") == SHIPPED_DIR / "reverse.toml"
    assert find_preset(str(SHIPPED_DIR / "reverse.toml")) == SHIPPED_DIR / "reverse.toml"
    with pytest.raises(PresetError) as info:
        find_preset("no_such_preset")
    assert "ko_en_cat" in str(info.value) and "zz_mine" in str(info.value)
    with pytest.raises(PresetError):
        find_preset("")
    with pytest.raises(PresetError, match="directory"):
        find_preset(str(user_dir))


def test_core_does_not_import_qt():
    code = (
        "import sys, sandbox.presets; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'widgets')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


# --------------------------------------------------------------------------- property tests

WEIRD_CHARS = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(list("가나다고양이를좋아해😀👩‍🏫\u0000\u0007\t\n\r\x7f\x85\u2028\ufeff\u200d\"'\\[]=#.")),
)
WEIRD_TEXT = st.text(WEIRD_CHARS, max_size=30)
VALID_TEXT = (INLINE_DIR / "ko_en_cat.toml").read_text(encoding="utf-8")
VALID_LINES = VALID_TEXT.splitlines()


def assert_only_preset_error(call, label):
    try:
        return call()
    except PresetError as e:
        assert e.path == label
        assert str(e).startswith(f"{label}: ")
        return None


@FUZZ
@given(
    st.one_of(
        st.text(WEIRD_CHARS, max_size=300),
        st.lists(st.one_of(st.sampled_from(VALID_LINES), WEIRD_TEXT), max_size=60).map("\n".join),
    )
)
def test_fuzz_text_only_raises_preset_error(text):
    preset = assert_only_preset_error(lambda: loads_preset(text, "fuzz.toml"), "fuzz.toml")
    if preset is not None:
        assert loads_preset(dumps_preset(preset)) == preset


@st.composite
def corrupted_bytes(draw) -> bytes:
    data = bytearray(VALID_TEXT.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = draw(st.binary(min_size=1, max_size=3))
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), corrupted_bytes()))
def test_fuzz_bytes_only_raise_preset_error(fuzz_dir, data):
    path = fuzz_dir / "fuzz.toml"
    path.write_bytes(data)
    assert_only_preset_error(lambda: load_preset(path), str(path))


ANY_VALUE = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, 3, 5, 16, 32, 33, 512, 513, 1024, 1025, 4096, 100_000, 2**32 - 1, 2**32, -1]),
    st.floats(),
    st.sampled_from([0.0, 0.5, 0.999, 1.0, 1.5, -0.0, 1e-9, float("nan"), float("inf")]),
    st.booleans(),
    WEIRD_TEXT,
    st.sampled_from(P.KINDS + P.CELLS + P.ATTENTIONS + P.TOKENIZERS + ("", " ", "GRU", "나는 고양이다")),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["source", "target", "x"]), WEIRD_TEXT, max_size=3),
    st.dates(),
)
SECTIONS = {
    "model": P._SEQ2SEQ_KEYS + P._TRANSFORMER_KEYS,
    "tokenizer": P._TOKENIZER_KEYS,
    "training": P._TRAINING_KEYS,
}


@st.composite
def near_valid_documents(draw) -> dict:
    kind = draw(st.sampled_from(P.KINDS))
    doc = {
        "name": "fuzzed",
        "description": "near-valid document",
        "model": (
            {"kind": "seq2seq", "cell": "gru", "attention": "dot", "embed": 8, "hidden": 8}
            if kind == "seq2seq"
            else {"kind": "transformer", "d_model": 32, "heads": 2, "layers": 1, "d_ff": 64, "dropout": 0.0}
        ),
        "tokenizer": {"source": "word", "target": "char"},
        "training": {"steps": 10, "batch_size": 4, "lr": 0.01, "teacher_forcing": 0.5, "seed": 1},
        "pairs": [{"source": draw(WEIRD_TEXT) or "나는 고양이다", "target": "I am a cat"}, {"source": "a", "target": "b"}],
    }
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.sampled_from(["top", "model", "tokenizer", "training", "pair", "pairs"]))
        action = draw(st.sampled_from(["set", "set", "set", "delete", "unknown"]))
        if where == "pairs":
            doc["pairs"] = draw(
                st.one_of(
                    ANY_VALUE,
                    st.lists(st.fixed_dictionaries({"source": WEIRD_TEXT, "target": WEIRD_TEXT}), max_size=5),
                    st.integers(0, MAX_PAIRS + 2).map(
                        lambda n: [{"source": f"문장 {i}", "target": f"s {i}"} for i in range(n)]
                    ),
                )
            )
            continue
        if where == "top":
            table, keys = doc, list(P._TOP_KEYS)
        elif where == "pair":
            pairs = doc.get("pairs")
            if not isinstance(pairs, list) or not pairs or not isinstance(pairs[0], dict):
                continue
            table, keys = draw(st.sampled_from(doc["pairs"])), ["source", "target"]
        else:
            if not isinstance(doc.get(where), dict):
                continue
            table, keys = doc[where], list(SECTIONS[where])
        key = draw(st.sampled_from(keys))
        if action == "delete":
            table.pop(key, None)
        elif action == "unknown":
            table[draw(st.text(min_size=1, max_size=8))] = draw(ANY_VALUE)
        else:
            table[key] = draw(ANY_VALUE)
    return doc


@FUZZ
@given(near_valid_documents())
def test_fuzz_near_valid_documents(doc):
    text = tomlkit.dumps(doc)
    preset = assert_only_preset_error(lambda: loads_preset(text, "near.toml"), "near.toml")
    if preset is not None:
        assert loads_preset(dumps_preset(preset)) == preset
        assert loads_preset(dumps_preset(dataclasses.replace(preset, source_text=None))) == preset
        validate_preset(preset)


SENTENCE = st.text(
    st.one_of(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), st.sampled_from("가나다😀\"\\'")),
    min_size=1,
    max_size=40,
).filter(lambda s: normalize(s) and len(normalize(s)) <= MAX_SENTENCE_CHARS)


@settings(FUZZ, max_examples=50)  # each example parses and writes a whole shipped preset
@given(
    st.lists(st.tuples(SENTENCE, SENTENCE), min_size=1, max_size=12, unique_by=lambda p: (normalize(p[0]), normalize(p[1]))),
    st.sampled_from([p.stem for p in sorted(INLINE_DIR.glob("*.toml"))]),
)
def test_fuzz_pair_edits_keep_every_comment(new_pairs, stem):
    """Any edit of an inline preset's pairs saves losslessly and keeps every comment line.
    (The shipped presets take their pairs from corpora since issue 12; these are their
    former inline versions.)"""
    preset = load_preset(INLINE_DIR / f"{stem}.toml")
    rng_pairs = list(preset.pairs)
    # Mix kept pairs with new ones so the matcher sees inserts, deletes and replacements.
    # Sentences are stored normalised (NFC, zero-width characters removed; issue 11).
    mixed = [Pair(normalize(s), normalize(t)) for s, t in new_pairs if normalize(s) and normalize(t)]
    merged = rng_pairs[::2] + mixed + rng_pairs[1::3]
    seen, unique = set(), []
    for p in merged:
        if (p.source, p.target) not in seen:
            seen.add((p.source, p.target))
            unique.append(p)
    edited = dataclasses.replace(preset, pairs=tuple(unique[:MAX_PAIRS]))
    text = dumps_preset(edited)
    assert loads_preset(text) == edited
    for line in comment_lines(preset.source_text):
        assert line in text


@pytest.fixture(autouse=True, scope="module")
def _no_shipped_changes():
    before = {p: p.read_bytes() for p in shipped_paths()}
    yield
    after = {p: p.read_bytes() for p in shipped_paths()}
    assert after == before, "tests must never modify shipped presets"


def test_deepcopy_of_preset():
    preset = valid_preset()
    assert copy.deepcopy(preset) == preset


@st.composite
def valid_documents(draw) -> tuple[dict, Preset]:
    """A random valid document and the Preset it must load as (an oracle for acceptance)."""
    kind = draw(st.sampled_from(P.KINDS))
    if kind == "seq2seq":
        model = {
            "kind": kind,
            "cell": draw(st.sampled_from(P.CELLS)),
            "attention": draw(st.sampled_from(P.ATTENTIONS)),
            "embed": draw(st.integers(1, 512)),
            "hidden": draw(st.integers(1, 1024)),
        }
    else:
        heads = draw(st.integers(1, 16))
        model = {
            "kind": kind,
            "d_model": heads * draw(st.integers(1, 512 // heads)),
            "heads": heads,
            "layers": draw(st.integers(1, 6)),
            "d_ff": draw(st.integers(1, 4096)),
            "dropout": draw(st.one_of(st.just(0), st.floats(0, 1, exclude_max=True))),
        }
    training = {
        "steps": draw(st.integers(1, 100_000)),
        "batch_size": draw(st.integers(1, 1024)),
        "lr": draw(st.one_of(st.just(1), st.floats(0, 1, exclude_min=True))),
        "teacher_forcing": draw(st.one_of(st.sampled_from([0, 1]), st.floats(0, 1))),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    raw_pairs = draw(
        st.lists(st.tuples(SENTENCE, SENTENCE), min_size=1, max_size=5, unique_by=lambda p: (normalize(p[0]), normalize(p[1])))
    )
    name = draw(SENTENCE.filter(lambda s: len(normalize(s)) <= P.MAX_NAME_CHARS))
    doc = {"name": name, "model": model, "training": training, "pairs": [{"source": s, "target": t} for s, t in raw_pairs]}
    tokenizer = TokenizerConfig()
    if draw(st.booleans()):
        tokenizer = TokenizerConfig(draw(st.sampled_from(P.TOKENIZERS)), draw(st.sampled_from(P.TOKENIZERS)))
        doc["tokenizer"] = {"source": tokenizer.source, "target": tokenizer.target}
    expected = Preset(
        name=normalize(name),  # text is kept as sandbox.text.normalize makes it
        description="",
        model=ModelConfig(**model),
        tokenizer=tokenizer,
        training=TrainingConfig(**training),
        pairs=tuple(Pair(normalize(s), normalize(t)) for s, t in raw_pairs),  # NFC, no zero-width (issue 11)
    )
    return doc, expected


@settings(FUZZ, max_examples=100)
@given(valid_documents())
def test_fuzz_valid_documents_are_accepted(case):
    doc, expected = case
    preset = loads_preset(tomlkit.dumps(doc), "valid.toml")
    assert preset == expected
    assert loads_preset(dumps_preset(preset)) == expected
    assert loads_preset(dumps_preset(dataclasses.replace(preset, source_text=None))) == expected


def test_encoder_key_is_optional_validated_and_seq2seq_only(tmp_path):
    base = (INLINE_DIR / "ko_en_cat.toml").read_text(encoding="utf-8")
    assert load_preset(INLINE_DIR / "ko_en_cat.toml").model.encoder == "uni"
    assert not re.search(r"(?m)^encoder\s*=", dumps_preset(load_preset(INLINE_DIR / "ko_en_cat.toml")))
    bi = base.replace('hidden = 32', 'hidden = 32\nencoder = "bi"', 1)
    p = loads_preset(bi, "bi.toml")
    assert p.model.encoder == "bi"
    assert loads_preset(dumps_preset(p), "again.toml") == p
    assert loads_preset(dumps_preset(dataclasses.replace(p, source_text=None)), "fresh.toml") == p
    with pytest.raises(PresetError, match=r"bad\.toml: model\.encoder: .*uni.*bi"):
        loads_preset(base.replace('hidden = 32', 'hidden = 32\nencoder = "both"', 1), "bad.toml")
    tr = (INLINE_DIR / "en_ko_transformer.toml").read_text(encoding="utf-8")
    with pytest.raises(PresetError, match=r"model\.encoder: only allowed when kind = \"seq2seq\""):
        loads_preset(tr.replace("[model]", '[model]\nencoder = "bi"', 1), "t.toml")
