"""A preset's own example: the sentence pair its name states.

A preset is named after the sentence it teaches with, "나는 고양이로소이다 → I am a cat"
(a note in parentheses after it, "(dot attention)", is not part of the sentence). On a
corpus preset that pair is somewhere among thousands, maybe held out; the window opens
on it rather than on whatever pair happens to come first. No Qt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .text import normalize

if TYPE_CHECKING:
    from .presets import Pair, Preset

__all__ = ["Example", "find_example", "example_pair", "stated_example", "first_sentence"]

ARROW = " → "
_NOTE = re.compile(r"\s*\([^()]*\)\s*$")  # a trailing "(…)" note


@dataclass(frozen=True)
class Example:
    """``pair`` is ``preset.pairs[index]`` (``heldout`` False) or ``preset.heldout_pairs[index]``."""

    pair: "Pair"
    index: int
    heldout: bool


def stated_example(name: str) -> tuple[str, str | None] | None:
    """(source, target) as the name states them ("A → B (note)"), NFC-normalised; the target
    is None when the name states only a source ("A → "); None when the name has no arrow
    outside parentheses."""
    if ARROW not in name:
        return None
    left, right = name.split(ARROW, 1)
    if left.count("(") != left.count(")"):
        return None  # the arrow sits inside a note: "Reverse a sequence (a b c → c b a)"
    source, target = normalize(left), normalize(_NOTE.sub("", right))
    return (source, target or None) if source else None


def find_example(preset: "Preset") -> Example | None:
    """The pair the preset's name states, among its training pairs first, then the held-out
    ones: an exact source-and-target match, else the first pair with that source. None when
    the name states no pair or none matches."""
    stated = stated_example(preset.name)
    if stated is None:
        return None
    source, target = stated
    groups = ((False, preset.pairs), (True, preset.heldout_pairs))
    for want_target in (True, False):
        for heldout, pairs in groups:
            for i, p in enumerate(pairs):
                if p.source == source and (not want_target or p.target == target):
                    return Example(p, i, heldout)
    return None


def example_pair(preset: "Preset") -> "Pair | None":
    """The preset's example (:func:`find_example`), else its first pair (None: no pairs)."""
    ex = find_example(preset)
    if ex is not None:
        return ex.pair
    return preset.pairs[0] if preset.pairs else None


def first_sentence(preset, saved: dict | None = None) -> tuple[str, str | None, int]:
    """The sentence a preset opens on: ``(source, target, pair index or -1)``.

    ``saved`` (the last session's view of this preset: ``source``, ``target``, ``own``) wins
    while it still exists: a pair still among the preset's pairs (training or held out), or
    the user's own sentence. Otherwise the preset's own example (the pair its name states,
    :func:`find_example`), else its first pair. A removed pair is ignored."""
    if saved and saved.get("source"):
        src, tgt = saved["source"], saved.get("target") or None
        for i, p in enumerate(preset.pairs):
            if (p.source, p.target) == (src, tgt):
                return src, tgt, i
        if saved.get("own") or any((p.source, p.target) == (src, tgt) for p in preset.heldout_pairs):
            return src, tgt, -1
    ex = find_example(preset)
    if ex is not None:
        return ex.pair.source, ex.pair.target, -1 if ex.heldout else ex.index
    p = preset.pairs[0]
    return p.source, p.target, 0
