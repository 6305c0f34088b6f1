"""The curriculum corpus: generated Korean↔English sentence pairs with gold word alignments,
and a reversal task over random sequences.

Shipped presets train on these corpora (``presets/corpora/*.tsv``) so that a model has to
translate sentences it never saw, which is what makes it attend to the word it translates.
Regenerate the shipped files with::

    python -m sandbox.curriculum --out presets/corpora/

Every pair is whole-word tokens separated by single spaces, so token i of a sentence is
``sentence.split()[i]``. The Korean↔English sentences follow these patterns (S subject,
O object, V verb, Adj adjective, Adv adverb, T time word, N noun):

=====================================  ==========================================
Korean (S O V)                         English (S V O)
=====================================  ==========================================
나는 고양이를 좋아해                   I love cats
S [T] [Adj] O [Adv] V                  S [Adv] V [Adj] O [T]
S [T] [Adj] O [Adv] V-고 S [Adj] O V   S [Adv] V [Adj] O and S [Adv] V [Adj] O [T]
S [Adj] N이다 / N다                    S am/are/is a [Adj] N     (singular S)
S [Adj] N들이다                        S are [Adj] Ns            (우리는, 그들은)
나는 [Adj] N(이)로소이다               I am a [Adj] N            (the seed's archaic copula)
=====================================  ==========================================

The two-clause sentences are there so that one fixed-length vector is not enough: without
attention a model of the shipped size fails most of them.

Gold alignments (Pharaoh ``i-j``: source token i, target token j, 0-based, ``<eos>`` not
counted) link each word to the word(s) that carry its meaning on the other side: subject,
object, verb, adjective, adverb and time word one to one; a Korean word whose ending stands
for an English word links to both: 고양이다 to "cat" and to "am/is/are" (-이다 is the
copula), 좋아하고 to "love" and to "and" (-고 joins the clauses). English "a" has no Korean
counterpart and stays unlinked; English plural and third-person -s are part of their word.
:data:`FUNCTION_WORDS` names the English words that are linked but are not content words.
The English → Korean file holds the same pairs with the sides and the links swapped, less
the archaic ones (their English already has a modern translation).

The reversal task: random sequences over ``a``-``h`` and ``1``-``4`` (3 to 7 symbols); the
target is the source read backwards, and token i of the source is linked to target token
n-1-i.

The generator is deterministic: the same ``seed`` (and sizes) gives byte-identical files.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .fileio import atomic_write_text

__all__ = [
    "AlignedPair", "FUNCTION_WORDS", "SUBJECTS", "OBJECTS", "VERBS", "ADJECTIVES", "ADVERBS", "TIMES", "NOUNS",
    "SEED_PAIRS", "korean_english", "english_korean", "reversal", "to_tsv", "corpus_files", "main",
]

DEFAULT_SEED = 0
# English words whose Korean counterpart is an ending fused into another word (the copula
# -이다 in 고양이다, the connective -고 in 좋아하고), or that Korean lacks (the article):
# they are linked where they have a counterpart, but are not content words.
FUNCTION_WORDS = frozenset({"a", "am", "is", "are", "and"})
DEFAULT_SIMPLE = 1800  # one-clause S O V sentences per Korean↔English file
DEFAULT_JOINED = 1200  # two-clause sentences per Korean↔English file (plus 245 copula ones)
DEFAULT_REVERSAL = 3000


@dataclass(frozen=True)
class AlignedPair:
    """A sentence pair and its gold links ((source index, target index), sorted)."""

    source: str
    target: str
    links: tuple[tuple[int, int], ...]

    @property
    def alignment(self) -> str:
        """The links in Pharaoh format: ``"0-0 2-1 1-2"``."""
        return " ".join(f"{i}-{j}" for i, j in self.links)

    def swapped(self) -> "AlignedPair":
        """The same pair in the other direction."""
        return AlignedPair(self.target, self.source, tuple(sorted((j, i) for i, j in self.links)))


# --------------------------------------------------------------------------- vocabulary

# (Korean with its topic particle, English, English copula, third person singular, plural)
SUBJECTS = (
    ("나는", "I", "am", False, False),
    ("너는", "you", "are", False, False),
    ("그는", "he", "is", True, False),
    ("그녀는", "she", "is", True, False),
    ("우리는", "we", "are", False, True),
    ("그들은", "they", "are", False, True),
)
# (Korean with its object particle, English plural)
OBJECTS = (
    ("고양이를", "cats"), ("개를", "dogs"), ("사과를", "apples"), ("책을", "books"),
    ("새를", "birds"), ("꽃을", "flowers"), ("공을", "balls"), ("차를", "cars"),
)
# (Korean informal present, its -고 form that joins two clauses, English base form,
# English third person singular)
VERBS = (
    ("좋아해", "좋아하고", "love", "loves"), ("싫어해", "싫어하고", "hate", "hates"),
    ("봐", "보고", "see", "sees"), ("원해", "원하고", "want", "wants"), ("사", "사고", "buy", "buys"),
)
# (Korean, English); every adjective is put before its noun on both sides
ADJECTIVES = (("작은", "small"), ("큰", "big"), ("좋은", "good"), ("예쁜", "pretty"))
# Adverbs stand just before the verb on both sides: 나는 고양이를 정말 좋아해 / I really love cats
ADVERBS = (("정말", "really"), ("항상", "always"), ("자주", "often"))
# Time words open the Korean sentence and close the English one
TIMES = (("오늘", "today"), ("지금", "now"))
# Copula nouns: (Korean noun, English singular, English plural)
NOUNS = (
    ("고양이", "cat", "cats"), ("개", "dog", "dogs"), ("학생", "student", "students"),
    ("선생님", "teacher", "teachers"), ("의사", "doctor", "doctors"), ("가수", "singer", "singers"),
    ("요리사", "cook", "cooks"),
)

# The example sentences of the seed notes, always part of the corpus (Korean, English).
SEED_PAIRS = (
    ("나는 고양이로소이다", "I am a cat"),
    ("나는 고양이를 좋아해", "I love cats"),
    ("나는 선생님이다", "I am a teacher"),
)


def _has_final_consonant(word: str) -> bool:
    """True when the last Hangul syllable has a final consonant (받침): 학생 yes, 의사 no."""
    code = ord(word[-1]) - 0xAC00
    if not 0 <= code < 11172:
        raise ValueError(f"{word!r} does not end in a Hangul syllable")
    return code % 28 != 0


def _copula(noun: str, archaic: bool = False) -> str:
    """noun + the copula: 학생이다, 의사다; archaic: 학생이로소이다, 고양이로소이다."""
    joint = "이" if _has_final_consonant(noun) else ""
    return noun + joint + ("로소이다" if archaic else "다")


# --------------------------------------------------------------------------- building pairs


def _pair(ko: Sequence[tuple[str, int | None]], en: Sequence[tuple[str, int | None]]) -> AlignedPair:
    """Build a pair from tokens tagged with a concept id; equal ids are linked, None is unlinked."""
    links = sorted((i, j) for i, (_, a) in enumerate(ko) for j, (_, b) in enumerate(en)
                   if a is not None and a == b)
    return AlignedPair(" ".join(w for w, _ in ko), " ".join(w for w, _ in en), tuple(links))


# concept ids for linking
_S, _ADJ, _O, _ADV, _V, _T, _N = range(7)


def _clause(subject, obj, verb, adjective, adverb, joined: bool, c: int):
    """Tagged Korean (S [Adj] O [Adv] V) and English (S [Adv] V [Adj] O) tokens of clause c."""
    ko_s, en_s, _cop, third, _plural = subject
    ko = [(ko_s, (c, _S))]
    en = [(en_s, (c, _S))]
    if adjective:
        ko.append((adjective[0], (c, _ADJ)))
    ko.append((obj[0], (c, _O)))
    if adverb:
        ko.append((adverb[0], (c, _ADV)))
        en.append((adverb[1], (c, _ADV)))
    ko.append((verb[1] if joined else verb[0], (c, _V)))
    en.append((verb[3] if third else verb[2], (c, _V)))
    if adjective:
        en.append((adjective[1], (c, _ADJ)))
    en.append((obj[1], (c, _O)))
    return ko, en


def transitive(subject, obj, verb, adjective=None, adverb=None, time=None) -> AlignedPair:
    """S [T] [Adj] O [Adv] V  ↔  S [Adv] V [Adj] O [T]."""
    ko, en = _clause(subject, obj, verb, adjective, adverb, False, 0)
    if time:
        ko.insert(1, (time[0], _T))
        en.append((time[1], _T))
    return _pair(ko, en)


def compound(first, second, time=None) -> AlignedPair:
    """Two clauses (subject, object, verb, adjective, adverb) joined: the first Korean verb
    takes the connective -고 (좋아하고 = "love and"), so both "love" and "and" link to it; the
    time word, if any, follows the first Korean subject and closes the English sentence."""
    ko1, en1 = _clause(*first, True, 0)
    ko2, en2 = _clause(*second, False, 1)
    ko, en = ko1 + ko2, en1 + [("and", (0, _V))] + en2
    if time:
        ko.insert(1, (time[0], _T))
        en.append((time[1], _T))
    return _pair(ko, en)


def copula(subject, noun, adjective=None, archaic: bool = False) -> AlignedPair:
    """S [Adj] N(이)다 ↔ S am/are/is a [Adj] N; plural subjects: S [Adj] N들이다 ↔ S are [Adj] Ns."""
    ko_s, en_s, cop, _third, plural = subject
    ko: list[tuple[str, int | None]] = [(ko_s, _S)]
    en: list[tuple[str, int | None]] = [(en_s, _S), (cop, _N)]
    if not plural:
        en.append(("a", None))
    if adjective:
        ko.append((adjective[0], _ADJ))
        en.append((adjective[1], _ADJ))
    word = _copula(noun[0] + "들" if plural else noun[0], archaic)
    ko.append((word, _N))
    en.append((noun[2] if plural else noun[1], _N))
    return _pair(ko, en)


def _all_copula() -> list[AlignedPair]:
    out = []
    for s in SUBJECTS:
        for n in NOUNS:
            for a in (None, *ADJECTIVES):
                out.append(copula(s, n, a))
                if s[0] == "나는":  # 나는 고양이로소이다 and its siblings
                    out.append(copula(s, n, a, archaic=True))
    return out


def _all_transitive() -> list[AlignedPair]:
    return [transitive(s, o, v, a, d, t)
            for s in SUBJECTS for o in OBJECTS for v in VERBS
            for a in (None, *ADJECTIVES) for d in (None, *ADVERBS) for t in (None, *TIMES)]


def _random_clause(rng: random.Random):
    return (rng.choice(SUBJECTS), rng.choice(OBJECTS), rng.choice(VERBS),
            rng.choice((None, *ADJECTIVES)), rng.choice((None, None, *ADVERBS)))


def korean_english(simple: int = DEFAULT_SIMPLE, joined: int = DEFAULT_JOINED,
                   seed: int = DEFAULT_SEED) -> list[AlignedPair]:
    """Korean → English pairs, shuffled: every copula sentence (245), ``simple`` S O V
    sentences sampled from the 14,400 possible (the seed sentences always among them) and
    ``joined`` distinct two-clause sentences drawn at random.

    Raises ValueError when ``simple`` or ``joined`` is negative or more than can be made."""
    cop, trans = _all_copula(), _all_transitive()
    seeds = {ko for ko, _ in SEED_PAIRS}
    forced = [p for p in trans if p.source in seeds]
    rest = [p for p in trans if p.source not in seeds]
    if not len(forced) <= simple <= len(trans):
        raise ValueError(f"simple must be from {len(forced)} to {len(trans)}, got {simple}")
    if not 0 <= joined <= 100_000:
        raise ValueError(f"joined must be from 0 to 100000, got {joined}")
    rng = random.Random(seed)
    chosen = cop + forced + rng.sample(rest, simple - len(forced))
    two: dict[str, AlignedPair] = {}
    while len(two) < joined:
        time = rng.choice((None, None, *TIMES))
        pair = compound(_random_clause(rng), _random_clause(rng), time)
        two.setdefault(pair.source, pair)
    chosen += list(two.values())
    rng.shuffle(chosen)
    by_source = {p.source: p for p in chosen}
    for ko, en in SEED_PAIRS:  # a guard: the generator must produce the seed notes' sentences
        if ko not in by_source or by_source[ko].target != en:
            raise AssertionError(f"seed sentence {ko!r} → {en!r} is missing from the corpus")
    return chosen


def english_korean(simple: int = DEFAULT_SIMPLE, joined: int = DEFAULT_JOINED,
                   seed: int = DEFAULT_SEED) -> list[AlignedPair]:
    """The pairs of :func:`korean_english`, English → Korean (links swapped), without the
    archaic 로소이다 sentences: their English (I am a cat) already has a modern translation
    (나는 고양이다), and one source needs one right answer."""
    return [p.swapped() for p in korean_english(simple, joined, seed) if "로소이다" not in p.source]


REVERSAL_SYMBOLS = tuple("abcdefgh") + tuple("1234")


def reversal(n: int = DEFAULT_REVERSAL, seed: int = DEFAULT_SEED, min_len: int = 3,
             max_len: int = 7) -> list[AlignedPair]:
    """``n`` distinct random sequences of ``min_len``..``max_len`` symbols and their reversals;
    source token i is linked to target token len-1-i."""
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got {min_len} and {max_len}")
    possible = sum(len(REVERSAL_SYMBOLS) ** k for k in range(min_len, max_len + 1))
    if not 1 <= n <= possible // 2:
        raise ValueError(f"n must be from 1 to {possible // 2}, got {n}")
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    out = []
    while len(out) < n:
        seq = tuple(rng.choice(REVERSAL_SYMBOLS) for _ in range(rng.randint(min_len, max_len)))
        if seq in seen:
            continue
        seen.add(seq)
        k = len(seq)
        out.append(AlignedPair(" ".join(seq), " ".join(reversed(seq)),
                               tuple((i, k - 1 - i) for i in range(k))))
    return out


# --------------------------------------------------------------------------- files


def to_tsv(pairs: Iterable[AlignedPair]) -> str:
    """``source<TAB>target<TAB>alignment`` lines, UTF-8 text, ``\\n`` line ends."""
    return "".join(f"{p.source}\t{p.target}\t{p.alignment}\n" for p in pairs)


def corpus_files(seed: int = DEFAULT_SEED) -> dict[str, str]:
    """File name -> contents of every shipped corpus."""
    return {
        "ko_en.tsv": to_tsv(korean_english(seed=seed)),
        "en_ko.tsv": to_tsv(english_korean(seed=seed)),
        "reverse.tsv": to_tsv(reversal(seed=seed)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.curriculum",
        description="Write the generated curriculum corpora (ko_en.tsv, en_ko.tsv, reverse.tsv).")
    parser.add_argument("--out", required=True, help="folder to write the TSV files into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sampling seed (default 0)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not out.is_dir():
        print(f"error: --out {args.out}: no such folder", file=sys.stderr)
        return 2
    try:
        for name, text in corpus_files(args.seed).items():
            atomic_write_text(out / name, text)
            print(f"wrote {out / name} ({text.count(chr(10))} pairs)")
    except OSError as e:
        print(f"error: cannot write into {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
