"""Text normalisation, done once before anything is counted, compared or tokenised.

Sentences reach the app from preset files, corpus files, pasted lines and the sentence box.
The same word can arrive precomposed (NFC) or decomposed (NFD: 고 typed as ᄀ + ᅩ), and with
invisible format characters (a zero-width space copied from a web page). Every length limit,
duplicate check and tokenizer works on :func:`normalize`'s result, so "90 syllables" means
90 syllables however they were typed, and no invisible character becomes a token.
"""

from __future__ import annotations

import unicodedata

# Zero-width and invisible joining/formatting characters that carry no visible text:
# ZWSP, ZWNJ, ZWJ, word joiner, BOM / zero-width no-break space, soft hyphen, and the
# invisible operators U+2061..U+2064.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u2061\u2062\u2063\u2064")
_TABLE = {ord(ch): None for ch in ZERO_WIDTH}


def normalize(text: str) -> str:
    """Return ``text`` in NFC with zero-width characters removed and outer whitespace stripped.

    Idempotent: ``normalize(normalize(s)) == normalize(s)``. Inner whitespace is kept as it is
    (tokenisers split on it).
    """
    return unicodedata.normalize("NFC", text.translate(_TABLE)).translate(_TABLE).strip()
