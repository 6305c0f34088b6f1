"""The generated curriculum corpora: shipped files, gold alignments, determinism, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import curriculum as cur
from sandbox.presets import SHIPPED_DIR

ROOT = Path(__file__).resolve().parent.parent
CORPORA = SHIPPED_DIR / "corpora"

# A bilingual lexicon written here, independently of the generator's tables: every gold link
# must join a Korean word to one of the English words listed for it.
LEXICON = {
    "나는": {"I"}, "너는": {"you"}, "그는": {"he"}, "그녀는": {"she"}, "우리는": {"we"}, "그들은": {"they"},
    "고양이를": {"cats"}, "개를": {"dogs"}, "사과를": {"apples"}, "책을": {"books"}, "새를": {"birds"},
    "꽃을": {"flowers"}, "공을": {"balls"}, "차를": {"cars"},
    "좋아해": {"love", "loves"}, "싫어해": {"hate", "hates"}, "봐": {"see", "sees"}, "원해": {"want", "wants"},
    "사": {"buy", "buys"},
    "작은": {"small"}, "큰": {"big"}, "좋은": {"good"}, "예쁜": {"pretty"},
    "정말": {"really"}, "항상": {"always"}, "자주": {"often"}, "오늘": {"today"}, "지금": {"now"},
}
# joined-clause verbs: the ending -고 means "and"
for ko, en in (("좋아하고", "love"), ("싫어하고", "hate"), ("보고", "see"), ("원하고", "want"), ("사고", "buy")):
    LEXICON[ko] = {en, en + "s", "and"}
NOUNS = {"고양이": "cat", "개": "dog", "학생": "student", "선생님": "teacher", "의사": "doctor",
         "가수": "singer", "요리사": "cook"}
COPULA = {"am", "is", "are"}


def read(name: str) -> list[tuple[str, str, list[tuple[int, int]]]]:
    rows = []
    for line in (CORPORA / name).read_text(encoding="utf-8").splitlines():
        src, tgt, al = line.split("\t")
        rows.append((src, tgt, [tuple(map(int, x.split("-"))) for x in al.split()]))
    return rows


def counterpart(ko: str) -> set[str]:
    """English words a Korean word may link to (copula words: the noun and am/is/are)."""
    if ko in LEXICON:
        return LEXICON[ko]
    for suffix in ("이로소이다", "로소이다", "이다", "다"):
        if ko.endswith(suffix):
            stem = ko[: -len(suffix)]
            if stem.endswith("들") and stem[:-1] in NOUNS:
                return {NOUNS[stem[:-1]] + "s"} | COPULA
            if stem in NOUNS:
                return {NOUNS[stem]} | COPULA
    raise AssertionError(f"{ko!r} is not a word of the curriculum")


def test_shipped_files_are_the_generator_output():
    for name, text in cur.corpus_files().items():
        assert (CORPORA / name).read_text(encoding="utf-8") == text, f"{name}: regenerate with python -m sandbox.curriculum --out presets/corpora/"


def test_generator_is_deterministic_and_seeded():
    assert cur.korean_english(seed=3) == cur.korean_english(seed=3)
    assert cur.korean_english(seed=3) != cur.korean_english(seed=4)
    assert cur.reversal(seed=3) == cur.reversal(seed=3)


@pytest.mark.parametrize("name", ["ko_en.tsv", "en_ko.tsv"])
def test_korean_english_alignments_join_translations(name):
    rows = read(name)
    assert len({src for src, _, _ in rows}) == len(rows), "a source sentence repeats"
    ko_first = name == "ko_en.tsv"
    for src, tgt, links in rows:
        ko, en = (src, tgt) if ko_first else (tgt, src)
        ko_w, en_w = ko.split(), en.split()
        assert " ".join(ko_w) == ko and " ".join(en_w) == en  # single spaces: token i is split()[i]
        pairs = {(i, j) if ko_first else (j, i) for i, j in links}  # (korean index, english index)
        assert len(pairs) == len(links)
        for k, e in pairs:
            assert 0 <= k < len(ko_w) and 0 <= e < len(en_w), (src, tgt, links)
            assert en_w[e] in counterpart(ko_w[k]), f"{ko_w[k]} - {en_w[e]} in {ko} / {en}"
        # every Korean word and every English word but the article has a link
        assert {k for k, _ in pairs} == set(range(len(ko_w))), (ko, en, links)
        assert {e for _, e in pairs} == {e for e, w in enumerate(en_w) if w != "a"}, (ko, en, links)


def test_the_two_directions_hold_the_same_pairs():
    """...less the archaic 로소이다 ones, whose English has a modern translation too."""
    ko_en = {(s, t, tuple(sorted(al))) for s, t, al in read("ko_en.tsv")}
    en_ko = {(t, s, tuple(sorted((j, i) for i, j in al))) for s, t, al in read("en_ko.tsv")}
    archaic = {x for x in ko_en if "로소이다" in x[0]}
    assert archaic and en_ko == ko_en - archaic
    assert len({s for s, _, _ in read("en_ko.tsv")}) == len(en_ko)  # one Korean answer per English sentence


def test_english_grammar():
    """Third person singular subjects take verbs with -s, others do not; singular copula
    sentences have "a", plural ones a plural noun; Korean picks 이다 after a final consonant."""
    third = {"he", "she"}
    verbs = {"love", "hate", "see", "want", "buy"}
    for src, tgt, links in read("ko_en.tsv"):
        en = tgt.split()
        for i, w in enumerate(en):
            subject = next((en[k] for k in range(i, -1, -1) if en[k] in {"I", "you", "he", "she", "we", "they"}), None)
            if w in verbs or (w.endswith("s") and w[:-1] in verbs):
                assert (w[:-1] in verbs) == (subject in third), tgt
            if w in COPULA:
                want = {"I": "am", "he": "is", "she": "is"}.get(subject, "are")
                assert w == want, tgt
    assert ("나는 학생이다", "I am a student") in {(s, t) for s, t, _ in read("ko_en.tsv")}
    assert ("그녀는 가수다", "she is a singer") in {(s, t) for s, t, _ in read("ko_en.tsv")}
    assert ("우리는 학생들이다", "we are students") in {(s, t) for s, t, _ in read("ko_en.tsv")}


def test_seed_sentences_and_vocabulary_are_covered():
    rows = read("ko_en.tsv")
    pairs = {(s, t) for s, t, _ in rows}
    for ko, en in (("나는 고양이로소이다", "I am a cat"), ("나는 고양이를 좋아해", "I love cats"),
                   ("나는 선생님이다", "I am a teacher")):
        assert (ko, en) in pairs
    words = {w for s, _, _ in rows for w in s.split()}
    assert set(LEXICON) <= words
    en_words = {w for _, t, _ in rows for w in t.split()}
    assert {"loves", "hates", "sees", "wants"} <= en_words
    # adjectives stand before the object on both sides: S Adj O V <-> S V Adj O
    adjectives = {"작은", "큰", "좋은", "예쁜"}
    s_adj_o_v = [(s, t, al) for s, t, al in rows if len(s.split()) == 4 and s.split()[1] in adjectives
                 and s.split()[2].endswith(("을", "를"))]
    assert len(s_adj_o_v) > 50
    for s, t, al in s_adj_o_v:
        assert sorted(al) == [(0, 0), (1, 2), (2, 3), (3, 1)], (s, t, al)


def test_reversal_corpus():
    rows = read("reverse.tsv")
    assert len({s for s, _, _ in rows}) == len(rows)
    lengths = set()
    for src, tgt, links in rows:
        s = src.split()
        lengths.add(len(s))
        assert tgt.split() == s[::-1]
        assert sorted(links) == [(i, len(s) - 1 - i) for i in range(len(s))]
    assert lengths == set(range(3, 8))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="simple"):
        cur.korean_english(simple=10**6)
    with pytest.raises(ValueError, match="n must be"):
        cur.reversal(n=0)


def test_command_writes_the_shipped_files(tmp_path):
    res = subprocess.run([sys.executable, "-m", "sandbox.curriculum", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for name in cur.corpus_files():
        assert (tmp_path / name).read_bytes() == (CORPORA / name).read_bytes()
    bad = subprocess.run([sys.executable, "-m", "sandbox.curriculum", "--out", str(tmp_path / "nope")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "nope" in bad.stderr and "Traceback" not in bad.stderr
