"""Plain-text formulas as rich text: ``s_{t-1}`` → s<sub>t−1</sub>, ``h_j`` → h<sub>j</sub>,
``õ_t`` → õ<sub>t</sub>, ``d_model`` → d<sub>model</sub>, ``W1`` → W<sub>1</sub>,
``x^{2}`` / ``x^2`` / ``10000^(2i/d)`` → x<sup>2</sup>, 10000<sup>2i/d</sup>.

Lecture narration is written in plain text (TOML strings) with TeX-like sub- and
superscripts; the presenter, the slide PNGs and the handout show them typeset. The input
is HTML-escaped first, so narration can never inject markup.
"""

from __future__ import annotations

import html
import re

# What a script may follow: a Latin letter (accented ones too: õ in õ_t), a Greek one, a
# digit or a closing bracket.
_BASE = r"A-Za-z\u00C0-\u024Fα-ωΑ-Ω"
_BRACED_SUB = re.compile(rf"(?<=[{_BASE}0-9)\]])_\{{([^{{}}]{{1,24}})\}}")
_BRACED_SUP = re.compile(rf"(?<=[{_BASE}0-9)\]])\^\{{([^{{}}]{{1,24}})\}}")
# ``10000^(2i/d)``: a parenthesised exponent is raised without its parentheses.
_PAREN_SUP = re.compile(rf"(?<=[{_BASE}0-9)\]])\^\(([^()]{{1,24}})\)")
# A script ends where Latin letters and digits end: Korean particles follow formulas
# directly ("W_V가", "W1을"), and Hangul counts as a word character for \b. The base is a
# one-letter word (h_j, d_model); a longer word keeps its underscore (teacher_forcing).
_END = r"(?![A-Za-z0-9_])"
_SIMPLE_SUB = re.compile(rf"(?<=\b[{_BASE}])_([A-Za-z0-9]{{1,5}})" + _END)
_SIMPLE_SUP = re.compile(rf"(?<=\b[{_BASE}])\^([A-Za-z0-9]{{1,3}})" + _END)
_MATRIX_INDEX = re.compile(r"(?<![A-Za-z0-9_])(W|U|V)([0-9])" + _END)  # W1 h_j, W2 s: the weight matrices' numbers


def _script(tag: str):
    return lambda m: f"<{tag}>{m.group(1).replace('-', '−')}</{tag}>"


def formula_html(text: str) -> str:
    """``text`` HTML-escaped, with its sub- and superscripts typeset."""
    s = html.escape(text, quote=False)
    s = _BRACED_SUB.sub(_script("sub"), s)
    s = _BRACED_SUP.sub(_script("sup"), s)
    s = _PAREN_SUP.sub(_script("sup"), s)
    s = _SIMPLE_SUB.sub(_script("sub"), s)
    s = _SIMPLE_SUP.sub(_script("sup"), s)
    s = _MATRIX_INDEX.sub(lambda m: f"{m.group(1)}<sub>{m.group(2)}</sub>", s)
    return s


def paragraphs_html(text: str) -> str:
    """Blank lines make paragraphs, single newlines line breaks; formulas typeset."""
    paras = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{formula_html(p).replace(chr(10), '<br>')}</p>" for p in paras)
