"""Corpus files: sentence pairs read from a tab-separated file, and the held-out split.

A preset takes its pairs either inline (``[[pairs]]``) or from a corpus file named in its
``[data]`` section (see DESIGN.md, "Corpora"). This module reads such files and draws the
held-out part; :mod:`sandbox.presets` validates the ``[data]`` table and calls it.

File format
-----------
UTF-8 text (a byte order mark and CRLF line ends are fine), one pair per line, fields
separated by tabs. The columns to use are chosen, 1-based, so a Tatoeba/Anki export
(English first, the other language second, attribution third) loads as it is. An optional
column holds Pharaoh alignment links ``"i-j i-j ..."``: source token ``i`` is aligned to target
token ``j``, both 0-based, ``<eos>`` not counted (Och & Ney 2003 use the same notation).

Every sentence passes through :func:`sandbox.text.normalize` (NFC, zero-width characters
removed, outer whitespace stripped) before anything is counted or compared.

What is left out, and how it is reported (the load never stops for one bad line):

- a line that cannot be read (not UTF-8, no tab, a missing or blank column, a control
  character, a bad alignment) is *skipped*: ``(line number, reason)`` in ``Corpus.skipped``;
- a pair with more than ``max_tokens`` tokens on either side, or a sentence over
  :data:`MAX_SENTENCE_CHARS` characters, is *too long*: counted in ``Corpus.too_long``;
- a repeat of an earlier (source, target) pair is a *duplicate*: counted in
  ``Corpus.duplicates`` (kept once, so a pair can never be both trained on and held out);
- blank lines are ignored.

Tokens are counted with the preset's tokenizer (``word`` or ``char``); for ``subword``, whose
pieces are only known after training SentencePiece, tokens are whitespace-separated words,
and alignment links also count words.

No Qt here.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import unicodedata

from .text import ZERO_WIDTH, normalize
from .vocab import _WORD_RE, tokenize

__all__ = [
    "MAX_SENTENCE_CHARS", "MAX_CORPUS_BYTES", "Pair", "DataConfig", "Corpus", "CorpusError",
    "parse_alignment", "format_alignment", "count_tokens", "parse_lines", "read_corpus",
    "split_indices",
]

MAX_SENTENCE_CHARS = 200  # per sentence, after normalising
MAX_CORPUS_BYTES = 512 * 1024 * 1024  # far above a million short pairs

# Control characters (tab and newline cannot occur inside a field anyway), lone
# surrogates, and the Unicode line/paragraph separators: never part of a sentence.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_LINK = re.compile(r"(\d+)-(\d+)")
_CONTROL_IN_BLOCK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_ZERO_WIDTH_RE = re.compile("[" + "".join(sorted(ZERO_WIDTH)) + "]")

Links = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Pair:
    """One example: a source sentence, its translation, and optionally gold alignment links
    ``((i, j), ...)`` (source token i ↔ target token j, 0-based, sorted, ``<eos>`` not counted)."""

    source: str
    target: str
    alignment: Links | None = None


@dataclass(frozen=True)
class DataConfig:
    """The ``[data]`` section of a preset (DESIGN.md, "Corpora")."""

    file: str  # relative to the preset file's folder (or absolute)
    source_column: int = 1  # 1-based
    target_column: int = 2  # 1-based
    alignment_column: int = 0  # 0 = no alignment column
    heldout: float = 0.1  # fraction held out for evaluation, 0 <= heldout < 1
    max_tokens: int = 30  # a pair with more tokens on either side is left out


@dataclass(frozen=True)
class Corpus:
    """Every usable pair of a file, in file order, and what was left out."""

    pairs: tuple[Pair, ...]
    lines: tuple[int, ...]  # the 1-based line number of each pair
    skipped: tuple[tuple[int, str], ...]  # (line number, reason), in file order
    too_long: int = 0
    duplicates: int = 0


class CorpusError(ValueError):
    """The corpus file as a whole cannot be used (missing, unreadable, far too large)."""


# --------------------------------------------------------------------------- alignments


def parse_alignment(text: str, n_source: int | None = None, n_target: int | None = None) -> Links:
    """Pharaoh links ``"0-0 2-1 1-2"`` as sorted, de-duplicated ``((i, j), ...)``.

    Raises ValueError naming the first bad link: not ``i-j`` with whole numbers, or (when the
    token counts are given) an index past the sentence's last token."""
    links: set[tuple[int, int]] = set()
    for item in text.split():
        m = _LINK.fullmatch(item)
        if m is None:
            raise ValueError(f"bad alignment link {item[:20]!r}; links are source-target token "
                             f"indices like 0-1, separated by spaces")
        i, j = int(m.group(1)), int(m.group(2))
        if n_source is not None and i >= n_source:
            raise ValueError(f"alignment link {item!r}: the source has {n_source} tokens (0 to {n_source - 1})")
        if n_target is not None and j >= n_target:
            raise ValueError(f"alignment link {item!r}: the target has {n_target} tokens (0 to {n_target - 1})")
        links.add((i, j))
    return tuple(sorted(links))


def format_alignment(links: Links | None) -> str | None:
    """``((0, 0), (2, 1))`` -> ``"0-0 2-1"``; None stays None."""
    if links is None:
        return None
    return " ".join(f"{i}-{j}" for i, j in links)


def count_tokens(text: str, kind: str) -> int:
    """Tokens of a normalised sentence as the preset counts them (``subword``: words)."""
    if kind == "subword":
        return len(text.split())
    if kind == "word":  # the word tokenizer on text that is already NFC
        return len(_WORD_RE.findall(text))
    return len(tokenize(text, kind))


def _normalize_block(text: str) -> str:
    """:func:`sandbox.text.normalize` of every line at once, without the strip (each field is
    stripped later). Same result per field: tabs and newlines are NFC starters and no
    zero-width character, so nothing composes or vanishes across them."""
    return unicodedata.normalize("NFC", _ZERO_WIDTH_RE.sub("", text))


def _count_and_check(source: str, target: str, links_text: str | None, kinds: tuple[str, str],
                     max_tokens: int) -> tuple[bool, Links | None]:
    """(too long?, links). Raises ValueError for a bad alignment.

    A sentence has at most as many tokens as characters, so a short one without links is
    not counted at all (most of a corpus: this halves the time to read it)."""
    if links_text is None and len(source) <= max_tokens and len(target) <= max_tokens:
        return False, None
    ns, nt = count_tokens(source, kinds[0]), count_tokens(target, kinds[1])
    links = None if links_text is None else parse_alignment(links_text, ns, nt)
    return (ns > max_tokens or nt > max_tokens), links


# --------------------------------------------------------------------------- reading


def _decode_lines(data: bytes) -> list[str | None]:
    """The file's lines as text; None for a line that is not valid UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        lines: list[str | None] = list(_normalize_block(data.decode("utf-8")).split("\n"))
    except UnicodeDecodeError:
        lines = []
        for raw in data.split(b"\n"):
            try:
                lines.append(_normalize_block(raw.decode("utf-8")))
            except UnicodeDecodeError:
                lines.append(None)
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return lines


def parse_lines(lines: Sequence[str | None], cfg: DataConfig, kinds: tuple[str, str] = ("word", "word"),
                *, first_line: int = 1, optional_alignment: bool = False, keep_duplicates: bool = False,
                normalized: bool = False) -> Corpus:
    """Read pairs from already-split lines (None = a line that was not valid UTF-8).

    ``kinds`` are the source and target tokenizers (for ``max_tokens`` and alignment bounds).
    ``optional_alignment``: a line without the alignment column is a pair without links
    (``evaluate --data``). ``normalized``: the lines already went through
    :func:`_normalize_block` (as :func:`split_text` and :func:`read_corpus` give them).
    Never raises for a bad line; see the module docstring."""
    sc, tc, ac0 = cfg.source_column, cfg.target_column, cfg.alignment_column
    # one search over everything instead of one per field, when nothing is there to find
    controls = any(line is not None and _CONTROL_IN_BLOCK.search(line) for line in lines)
    need0 = max(sc, tc, ac0)
    roles = {sc: "source", tc: "target"}
    if ac0:
        roles[ac0] = "alignment"
    pairs: list[Pair] = []
    numbers: list[int] = []
    skipped: list[tuple[int, str]] = []
    seen: set[tuple[str, str]] = set()
    too_long = duplicates = 0
    for number, line in enumerate(lines, first_line):
        if line is None:
            skipped.append((number, "not valid UTF-8"))
            continue
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip():
            continue
        fields = line.split("\t")
        ac, need = ac0, need0
        if optional_alignment and ac0 and len(fields) < ac0:
            ac, need = 0, max(sc, tc)
        if len(fields) == 1:
            skipped.append((number, f"no tab; expected at least {need} tab-separated columns"))
            continue
        if len(fields) < need:
            missing = min(c for c in (sc, tc, ac) if c > len(fields))
            skipped.append((number, f"column {missing} ({roles[missing]}) is missing; "
                                    f"the line has {len(fields)} columns"))
            continue
        source, target = fields[sc - 1], fields[tc - 1]
        source = source.strip() if normalized else normalize(source)
        target = target.strip() if normalized else normalize(target)
        links_text = fields[ac - 1].strip() if ac else None
        problem = None
        for col, text in ((sc, source), (tc, target)) + (((ac, links_text),) if ac else ()):
            if not text:
                problem = f"column {col} ({roles[col]}) is blank"
                break
            m = _FORBIDDEN.search(text) if controls else None
            if m is not None:
                problem = f"column {col} ({roles[col]}) contains the control character U+{ord(m.group()):04X}"
                break
        if problem is not None:
            skipped.append((number, problem))
            continue
        try:
            long, links = _count_and_check(source, target, links_text, kinds, cfg.max_tokens)
        except ValueError as e:
            skipped.append((number, f"column {ac} (alignment): {e}"))
            continue
        if long or len(source) > MAX_SENTENCE_CHARS or len(target) > MAX_SENTENCE_CHARS:
            too_long += 1
            continue
        key = (source, target)
        if key in seen and not keep_duplicates:
            duplicates += 1
            continue
        seen.add(key)
        pairs.append(Pair(source, target, links))
        numbers.append(number)
    return Corpus(tuple(pairs), tuple(numbers), tuple(skipped), too_long, duplicates)


def read_corpus(path: str | os.PathLike[str], cfg: DataConfig, kinds: tuple[str, str] = ("word", "word"),
                **options) -> Corpus:
    """Read a corpus file. Raises :class:`CorpusError` only when the file itself cannot be
    read (missing, a folder, no permission, over :data:`MAX_CORPUS_BYTES`). ``options`` go
    to :func:`parse_lines`."""
    label = os.fspath(path)
    try:
        with open(label, "rb") as f:
            data = f.read(MAX_CORPUS_BYTES + 1)
    except FileNotFoundError:
        raise CorpusError(f"{label}: no such corpus file") from None
    except IsADirectoryError:
        raise CorpusError(f"{label}: is a directory, not a corpus file") from None
    except PermissionError:
        raise CorpusError(f"{label}: permission denied; cannot read the corpus file") from None
    except (OSError, ValueError) as e:
        raise CorpusError(f"{label}: cannot read the corpus file ({getattr(e, 'strerror', None) or e})") from None
    if len(data) > MAX_CORPUS_BYTES:
        raise CorpusError(f"{label}: larger than {MAX_CORPUS_BYTES // 2**20} MiB; split the corpus")
    return parse_lines(_decode_lines(data), cfg, kinds, normalized=True, **options)


# --------------------------------------------------------------------------- the split


def heldout_count(n: int, fraction: float) -> int:
    """How many of ``n`` pairs are held out: round(fraction·n), at least 1 when
    ``fraction > 0`` and ``n >= 2``, and never all of them."""
    if fraction <= 0 or n < 2:
        return 0
    return max(1, min(n - 1, round(fraction * n)))


def split_indices(n: int, fraction: float, seed: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(training indices, held-out indices), both ascending and disjoint, covering range(n).

    The held-out indices are a uniform sample of :func:`heldout_count` pairs drawn with
    ``random.Random(seed)`` (Mersenne Twister), so the same seed and file give the same split
    on every machine and Python version."""
    k = heldout_count(n, fraction)
    held = sorted(random.Random(seed).sample(range(n), k)) if k else []
    hs = set(held)
    return tuple(i for i in range(n) if i not in hs), tuple(held)


# --------------------------------------------------------------------------- pasted text


def split_text(text: str) -> list[str | None]:
    """Pasted or decoded text as lines (a leading BOM dropped), as a file would give them."""
    return _decode_lines(text.encode("utf-8", "surrogatepass"))
