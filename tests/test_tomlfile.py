"""sandbox.tomlfile: the helpers presets and lectures share for reading and writing TOML.
Oracles: tomllib reads back what the writers quote; both file kinds word a bad byte alike."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sandbox.lecture_schema import LectureError, load_lecture
from sandbox.presets import PresetError, load_preset
from sandbox.tomlfile import same_value, toml_text

# Any text a preset or lecture may hold, and then some: quotes, backslashes, line breaks,
# control characters, Hangul, astral-plane characters (no lone surrogates: not UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(TEXT, st.booleans())
@example("\r\n", True)  # a raw CRLF in a multi-line string reads back as "\n" (tomllib)
@example("a\r\nb", True)
def test_quoted_strings_read_back_the_same(value, multiline):
    text = toml_text(value, multiline=multiline)
    assert tomllib.loads(f"x = {text}\n")["x"] == value
    if not multiline:
        assert "\n" not in text  # one line, whatever the value holds


def test_a_value_with_line_breaks_is_written_readably_when_asked():
    text = toml_text("first line\nsecond line", multiline=True)
    assert text.count("\n") >= 1 and "\\n" not in text
    assert toml_text("first line\nsecond line") == '"first line\\nsecond line"'


@pytest.mark.parametrize("load,error,name", [(load_preset, PresetError, "p.toml"),
                                             (load_lecture, LectureError, "l.toml")])
def test_a_byte_that_is_not_utf8_is_named_with_its_line_and_column(tmp_path, load, error, name):
    path = tmp_path / name
    path.write_bytes(b'name = "x"\n# ok\nab = "\xff"\n')
    with pytest.raises(error) as e:
        load(path)
    assert str(e.value) == (f"{path}: not valid UTF-8 (byte 0xff at line 3, column 7); "
                            "save the file as UTF-8")


@pytest.mark.parametrize("old,new,same", [
    (True, True, True), (1, True, False), (True, 1, False), (0.001, 0.001, True), (1, 1.0, True),
    ("  a\r\nb ", "a\nb", True), ("a", "b", False), ([1, 2], [1, 2], True), ({"a": 1}, {"a": 1}, True),
    ("1", 1, False),
])
def test_same_value_keeps_a_spelling_only_when_the_meaning_is_equal(old, new, same):
    assert same_value(old, new) is same
