"""Corpus files ([data]): columns, BOM, CRLF, NFC, zero-width, skipped lines, the split."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from sandbox import cli
from sandbox.corpus import DataConfig, Pair, format_alignment, parse_alignment, read_corpus, split_indices
from sandbox.model import build_vocabs
from sandbox.presets import PresetError, load_preset, loads_preset, save_preset, with_seed

MODEL = '''
[model]
kind = "seq2seq"
cell = "gru"
attention = "dot"
embed = 8
hidden = 8

[training]
steps = 3
batch_size = 4
lr = 0.01
teacher_forcing = 1.0
seed = {seed}
'''


def write_preset(folder: Path, data: str, *, seed: int = 0, name: str = "p.toml", tokenizer: str = "") -> Path:
    path = folder / name
    path.write_text(f'name = "corpus test"\n{MODEL.format(seed=seed)}\n{tokenizer}\n[data]\n{data}\n', encoding="utf-8")
    return path


def write_lines(path: Path, lines: list[str], *, bom: bool = False, eol: str = "\n") -> Path:
    data = eol.join(lines) + eol
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def test_tatoeba_export_loads_as_it_is_with_bom_and_crlf(tmp_path):
    # Tatoeba/Anki layout: English first, the other language second, attribution last.
    lines = [
        "I am a cat.\t나는 고양이로소이다.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 & #2",
        "I love cats.\t나는 고양이를 좋아해.\tCC-BY 2.0 (France) Attribution: tatoeba.org #3 & #4",
        "I am a teacher.\t나는 선생님이다.\tCC-BY 2.0 (France) Attribution: tatoeba.org #5 & #6",
    ]
    write_lines(tmp_path / "kor.txt", lines, bom=True, eol="\r\n")
    p = load_preset(write_preset(tmp_path, 'file = "kor.txt"\nsource_column = 2\ntarget_column = 1\nheldout = 0'))
    assert p.pairs == (
        Pair("나는 고양이로소이다.", "I am a cat."),
        Pair("나는 고양이를 좋아해.", "I love cats."),
        Pair("나는 선생님이다.", "I am a teacher."),
    )
    assert p.heldout_pairs == () and p.skipped == () and p.too_long == 0
    assert not any("\r" in x.source + x.target or "\ufeff" in x.source + x.target for x in p.pairs)


def test_sentences_are_nfc_and_free_of_zero_width_characters(tmp_path):
    nfd = unicodedata.normalize("NFD", "고양이")
    assert nfd != "고양이"
    lines = [f"{nfd}\tcat", "개\u200b를\tdog\u200d", f"고양이\tcat"]  # the third repeats the first once normalised
    write_lines(tmp_path / "c.tsv", lines)
    p = load_preset(write_preset(tmp_path, 'file = "c.tsv"\nheldout = 0'))
    assert p.pairs == (Pair("고양이", "cat"), Pair("개를", "dog"))
    assert p.duplicates == 1


def test_bad_lines_are_skipped_and_reported_by_line_number(tmp_path):
    raw = b"\n".join([
        "나는 고양이\tI cat\t0-0 1-1".encode(),       # 1 good
        "no tab at all".encode(),                     # 2
        "하나\tone".encode(),                          # 3 no alignment column
        "\t".join(["둘", "", "0-0"]).encode(),         # 4 blank target
        "셋\tthree\t0-x".encode(),                     # 5 bad link
        "넷\tfour\t1-0".encode(),                      # 6 source index past the end
        b"\xff\xfe bad bytes\tx\t0-0",                # 7 not UTF-8
        "".encode(),                                   # 8 blank line: ignored
        "다섯\tfi\x07ve\t0-0".encode(),                # 9 control character
        "여섯 일곱\tsix seven\t1-1 0-0".encode(),       # 10 good
    ]) + b"\r\n"
    (tmp_path / "c.tsv").write_bytes(raw)
    p = load_preset(write_preset(tmp_path, 'file = "c.tsv"\nalignment_column = 3\nheldout = 0'))
    assert [x.source for x in p.pairs] == ["나는 고양이", "여섯 일곱"]
    assert p.pairs[1].alignment == ((0, 0), (1, 1))
    lines = [n for n, _ in p.skipped]
    assert lines == [2, 3, 4, 5, 6, 7, 9]
    reasons = dict(p.skipped)
    assert "tab" in reasons[2]
    assert "column 3" in reasons[3] and "missing" in reasons[3]
    assert "column 2" in reasons[4] and "blank" in reasons[4]
    assert "0-x" in reasons[5]
    assert "1-0" in reasons[6] and "1 tokens" in reasons[6]
    assert "UTF-8" in reasons[7]
    assert "U+0007" in reasons[9]


def test_pairs_over_max_tokens_are_left_out_and_counted(tmp_path):
    write_lines(tmp_path / "c.tsv", ["a b c\tx y", "a b c d\tx", "a\tw x y z", "a\tb"])
    p = load_preset(write_preset(tmp_path, 'file = "c.tsv"\nmax_tokens = 3\nheldout = 0'))
    assert [(x.source, x.target) for x in p.pairs] == [("a b c", "x y"), ("a", "b")]
    assert p.too_long == 2 and p.skipped == ()


def test_heldout_split_is_seeded_disjoint_and_complete(tmp_path):
    n = 200
    write_lines(tmp_path / "c.tsv", [f"s{i}\tt{i}" for i in range(n)])
    path = write_preset(tmp_path, 'file = "c.tsv"\nheldout = 0.1', seed=7)
    a, b = load_preset(path), load_preset(path)
    assert a.pairs == b.pairs and a.heldout_pairs == b.heldout_pairs  # same seed, same split
    assert len(a.heldout_pairs) == 20 and len(a.pairs) == 180
    assert not set(a.pairs) & set(a.heldout_pairs)
    assert sorted(x.source for x in a.all_pairs) == sorted(f"s{i}" for i in range(n))
    other = load_preset(write_preset(tmp_path, 'file = "c.tsv"\nheldout = 0.1', seed=8, name="q.toml"))
    assert set(other.heldout_pairs) != set(a.heldout_pairs)  # 20 of 200: equal by chance ~1e-29
    # with_seed draws the split the file would give with that seed
    moved = with_seed(a, 8)
    assert moved.heldout_pairs == other.heldout_pairs and moved.pairs == other.pairs
    assert with_seed(moved, 7).heldout_pairs == a.heldout_pairs
    # the vocabulary does not depend on the split, so a --seed checkpoint fits its preset
    assert build_vocabs(moved) == build_vocabs(a)
    assert moved.file_order() == a.file_order() == tuple(Pair(f"s{i}", f"t{i}") for i in range(n))


def test_split_indices_properties():
    for n, frac in ((1, 0.5), (2, 0.1), (10, 0.0), (10, 0.99), (1000, 0.25)):
        train, held = split_indices(n, frac, seed=3)
        assert sorted(train + held) == list(range(n))
        assert not set(train) & set(held)
        if frac > 0 and n >= 2:
            assert 1 <= len(held) <= n - 1
        else:
            assert held == ()


def test_alignment_round_trip_and_errors():
    links = parse_alignment("2-1 0-0  1-2 0-0", 3, 3)
    assert links == ((0, 0), (1, 2), (2, 1))
    assert parse_alignment(format_alignment(links)) == links
    for bad in ("0:1", "a-b", "-1-0", "0-"):
        with pytest.raises(ValueError, match="link"):
            parse_alignment(bad)
    with pytest.raises(ValueError, match="target has 2 tokens"):
        parse_alignment("0-2", 3, 2)


def test_inline_pairs_carry_alignment(tmp_path):
    text = f'name = "x"\n{MODEL.format(seed=0)}\n[[pairs]]\nsource = "나는 작은 고양이를 좋아해"\ntarget = "I love small cats"\nalignment = "0-0 3-1 1-2 2-3"\n'
    p = loads_preset(text)
    assert p.pairs[0].alignment == ((0, 0), (1, 2), (2, 3), (3, 1))
    bad = text.replace("2-3", "2-9")
    with pytest.raises(PresetError) as e:
        loads_preset(bad, "bad.toml")
    assert e.value.field == "pairs[0].alignment" and "2-9" in str(e.value)
    # a saved preset keeps the links
    out = save_preset(p, tmp_path / "x.toml")
    assert load_preset(out).pairs[0].alignment == p.pairs[0].alignment


def test_problems_with_the_data_section_are_preset_errors(tmp_path):
    write_lines(tmp_path / "c.tsv", ["a\tb"])
    cases = {
        'file = "missing.tsv"': ("data.file", "no such corpus file"),
        'file = "c.tsv"\nsource_column = 0': ("data.source_column", "from 1"),
        'file = "c.tsv"\ntarget_column = 1': ("data.target_column", "differ"),
        'file = "c.tsv"\nheldout = 1.0': ("data.heldout", "not including 1"),
        'file = "c.tsv"\ncolumns = 2': ("data.columns", "unknown key"),
    }
    for data, (field, words) in cases.items():
        with pytest.raises(PresetError) as e:
            load_preset(write_preset(tmp_path, data))
        assert e.value.field == field and words in str(e.value), data
    path = tmp_path / "both.toml"
    path.write_text(write_preset(tmp_path, 'file = "c.tsv"').read_text() + '\n[[pairs]]\nsource = "a"\ntarget = "b"\n')
    with pytest.raises(PresetError, match="not both"):
        load_preset(path)
    write_lines(tmp_path / "bad.tsv", ["no tab", "still none"])
    with pytest.raises(PresetError, match="line 1: no tab"):
        load_preset(write_preset(tmp_path, 'file = "bad.tsv"'))


def test_saving_a_copy_elsewhere_keeps_the_corpus(tmp_path):
    (tmp_path / "a").mkdir()
    write_lines(tmp_path / "a" / "c.tsv", [f"s{i}\tt{i}" for i in range(30)])
    p = load_preset(write_preset(tmp_path / "a", 'file = "c.tsv"\nheldout = 0.2'))
    (tmp_path / "b").mkdir()
    out = save_preset(p, tmp_path / "b" / "copy.toml")
    again = load_preset(out)
    assert again.pairs == p.pairs and again.heldout_pairs == p.heldout_pairs
    assert Path(again.data.file).is_absolute()


def test_a_hundred_thousand_pairs_load(tmp_path):
    n = 100_000
    write_lines(tmp_path / "big.tsv", [f"word{i} 고양이{i % 97}\tsay{i} cat{i % 89}" for i in range(n)])
    p = load_preset(write_preset(tmp_path, 'file = "big.tsv"\nheldout = 0.05'))
    assert len(p.pairs) + len(p.heldout_pairs) == n
    assert len(p.heldout_pairs) == 5000


def test_pairs_command_round_trip(tmp_path, capsys):
    lines = [f"소스{i} 단어\ttarget{i} word\t0-0 1-1" for i in range(12)] + ["broken line"]
    write_lines(tmp_path / "c.tsv", lines)
    path = write_preset(tmp_path, 'file = "c.tsv"\nalignment_column = 3\nheldout = 0.25', seed=2)
    preset = load_preset(path)
    for split, want in (("train", preset.pairs), ("heldout", preset.heldout_pairs), ("all", preset.all_pairs)):
        out = tmp_path / f"{split}.json"
        assert cli.main(["pairs", "--preset", str(path), "--split", split, "--json", str(out)]) == 0
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["format"] == "attention-sandbox/pairs@1" and doc["split"] == split
        assert doc["preset"] == "p"
        got = tuple(Pair(x["source"], x["target"], parse_alignment(x["alignment"])) for x in doc["pairs"])
        assert got == want
        assert doc["skipped"] == [{"line": 13, "reason": preset.skipped[0][1]}]
    assert len(preset.heldout_pairs) == 3
    assert cli.main(["pairs", "--preset", str(tmp_path / "nope.toml"), "--json", "-"]) == 2


def test_reading_without_a_preset(tmp_path):
    write_lines(tmp_path / "c.tsv", ["x\ty\t0-0", "x\ty\t0-0"])
    c = read_corpus(tmp_path / "c.tsv", DataConfig("c.tsv", alignment_column=3), keep_duplicates=True)
    assert c.pairs == (Pair("x", "y", ((0, 0),)),) * 2 and c.lines == (1, 2)


def test_heldout_zero_holds_nothing_out(tmp_path):
    write_lines(tmp_path / "c.tsv", [f"s{i}\tt{i}" for i in range(10)])
    path = write_preset(tmp_path, 'file = "c.tsv"\nheldout = 0')
    p = load_preset(path)
    assert len(p.pairs) == 10 and p.heldout_pairs == ()
    assert p.split("heldout") == p.pairs  # evaluation scores the training pairs (DESIGN: 0 = those)
    out = tmp_path / "h.json"
    assert cli.main(["pairs", "--preset", str(path), "--split", "heldout", "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["pairs"] == []
