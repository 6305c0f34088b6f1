"""Legible digits and Hangul on every machine.

The application font is a *list* of families: a Latin family first, for Latin text,
digits, decimal points, minus signs and subscripts (₁ ₂), then a Hangul family that Qt
falls back to only for the characters the Latin one lacks.

- Latin: the system's own UI font when it is a real family that is not a Hangul-first
  design, else DejaVu Sans — bundled (``fonts/DejaVuSans*.ttf``, Bitstream Vera licence
  with public-domain DejaVu changes, see ``fonts/DejaVu-LICENSE.txt``) and registered only
  when the system lacks it.
- Hangul: an installed Korean family when there is one, else the bundled NanumGothic
  (SIL OFL 1.1, ``fonts/OFL.txt``).

Why the order matters: with NanumGothic first (or after an alias such as "Sans Serif",
which the font database does not know as a family, so the list skips it), *all* text is
drawn in NanumGothic, whose period sits low and reads as a comma at 12 px ("0,754").

``ATTENTION_SANDBOX_BUNDLED_FONT=1`` uses both bundled fonts whatever is installed (a
bare machine, for tests).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QFontInfo, QGuiApplication

FONT_DIR = Path(__file__).resolve().with_name("fonts")
BUNDLED_FONT = FONT_DIR / "NanumGothic.ttf"
BUNDLED_LATIN = (FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf")
LATIN_FALLBACK = "DejaVu Sans"
FORCE_ENV = "ATTENTION_SANDBOX_BUNDLED_FONT"  # "1": always use the bundled fonts (testing)

_PREFERRED = ("NanumGothic", "Nanum Gothic", "Noto Sans CJK KR", "Noto Sans KR",
              "Source Han Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", "UnDotum")
# Hangul-first designs whose period and subscripts are hard to read in small Latin text.
_NOT_FOR_DIGITS = ("NanumGothic", "Nanum Gothic", "NanumBarunGothic", "UnDotum", "UnBatang",
                   "Baekmuk Gulim", "Baekmuk Dotum")

_state: dict[str, object] = {"family": None, "bundled": False, "done": False,
                             "latin": None, "latin_bundled": False}


def _forced() -> bool:
    return os.environ.get(FORCE_ENV) == "1"


def installed_hangul_families() -> list[str]:
    """Families the font database says can write Korean (before any bundled font)."""
    return list(QFontDatabase.families(QFontDatabase.WritingSystem.Korean))


def installed_families() -> list[str]:
    return list(QFontDatabase.families())


def choose_latin_family(system_family: str, installed: list[str], forced: bool = False) -> tuple[str, bool]:
    """(family, needs the bundled file) for Latin text and digits.

    ``system_family`` is what the default UI font resolves to; it is kept when it is a real,
    installed family and not a Hangul-first design (see ``_NOT_FOR_DIGITS``)."""
    if not forced and system_family and system_family in installed and system_family not in _NOT_FOR_DIGITS:
        return system_family, False
    return LATIN_FALLBACK, forced or LATIN_FALLBACK not in installed


def _add_font(path: Path) -> list[str]:
    if not path.is_file():
        return []
    fid = QFontDatabase.addApplicationFont(str(path))
    return list(QFontDatabase.applicationFontFamilies(fid)) if fid >= 0 else []


def ensure_fonts() -> tuple[str, str | None]:
    """Set the application font to [Latin family, Hangul family]; returns both.

    Call after the QApplication exists. Idempotent; loads a bundled file only when the
    system lacks that font (or ``ATTENTION_SANDBOX_BUNDLED_FONT=1``)."""
    if _state["done"]:
        return _state["latin"], _state["family"]  # type: ignore[return-value]
    forced = _forced()
    # -- Hangul
    families = [] if forced else installed_hangul_families()
    hangul: str | None = None
    if families:
        hangul = next((f for p in _PREFERRED for f in families if f == p), families[0])
    else:
        loaded = _add_font(BUNDLED_FONT)
        if loaded:
            hangul = loaded[0]
            _state["bundled"] = True
    # -- Latin
    app_font = QGuiApplication.font()
    system = QFontInfo(QFont(app_font.family())).family()
    latin, bundle = choose_latin_family(system, installed_families(), forced)
    if bundle:
        loaded = []
        for path in BUNDLED_LATIN:
            loaded += _add_font(path)
        _state["latin_bundled"] = bool(loaded)
        if loaded:
            latin = loaded[0]
    font = QFont(app_font)
    font.setFamilies([latin] + ([hangul] if hangul and hangul != latin else []))
    QGuiApplication.setFont(font)
    _state.update(latin=latin, family=hangul, done=True)
    return latin, hangul


def ensure_korean_font() -> str | None:
    """Make Hangul (and legible digits) render; returns the Hangul family. See ensure_fonts."""
    return ensure_fonts()[1]


def using_bundled_font() -> bool:
    """Whether the bundled NanumGothic is the Hangul font."""
    return bool(_state["bundled"])


def latin_family() -> str | None:
    return _state["latin"]  # type: ignore[return-value]


def ui_font(scale: float = 1.0, base_pt: float | None = None) -> QFont:
    """The application font (Latin first, Hangul fallback), scaled for projectors."""
    font = QFont(QGuiApplication.font())
    pt = base_pt if base_pt is not None else (font.pointSizeF() if font.pointSizeF() > 0 else 9.0)
    font.setPointSizeF(max(4.0, pt * scale))
    return font


def families_drawing(text: str, font: QFont | None = None) -> set[str]:
    """The families Qt really draws ``text`` with in ``font`` (default: the application
    font), after its per-character fallback."""
    from PySide6.QtGui import QTextLayout

    layout = QTextLayout(text, QFont(font) if font is not None else QGuiApplication.font())
    layout.beginLayout()
    line = layout.createLine()
    line.setLineWidth(1e6)
    layout.endLayout()
    return {run.rawFont().familyName() for run in layout.glyphRuns()}
