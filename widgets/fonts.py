"""Hangul on every machine.

Korean presets need a font with Hangul glyphs. When the system has one (fontconfig finds
it and Qt falls back to it by itself) nothing is loaded; only on a machine with no CJK
font is the bundled NanumGothic (SIL OFL 1.1, see ``fonts/OFL.txt``) registered as an
application font and put on the application font's family list, so widgets and pyqtgraph
tick labels both fall back to it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication

FONT_DIR = Path(__file__).resolve().with_name("fonts")
BUNDLED_FONT = FONT_DIR / "NanumGothic.ttf"
FORCE_ENV = "ATTENTION_SANDBOX_BUNDLED_FONT"  # "1": always use the bundled font (testing)

_PREFERRED = ("NanumGothic", "Nanum Gothic", "Noto Sans CJK KR", "Noto Sans KR",
              "Source Han Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", "UnDotum")

_state: dict[str, object] = {"family": None, "bundled": False, "done": False}


def installed_hangul_families() -> list[str]:
    """Families the font database says can write Korean (before any bundled font)."""
    return list(QFontDatabase.families(QFontDatabase.WritingSystem.Korean))


def ensure_korean_font() -> str | None:
    """Make Hangul render; returns the family used for it. Call after QApplication exists.

    Idempotent. Loads the bundled font only when no installed family covers Korean.
    """
    if _state["done"]:
        return _state["family"]  # type: ignore[return-value]
    forced = os.environ.get(FORCE_ENV) == "1"
    families = [] if forced else installed_hangul_families()
    family: str | None = None
    if families:
        family = next((f for p in _PREFERRED for f in families if f == p), families[0])
    elif BUNDLED_FONT.is_file():
        fid = QFontDatabase.addApplicationFont(str(BUNDLED_FONT))
        loaded = QFontDatabase.applicationFontFamilies(fid) if fid >= 0 else []
        if loaded:
            family = loaded[0]
            _state["bundled"] = True
            font = QGuiApplication.font()
            fams = [f for f in font.families() if f != family] or [font.family()]
            font.setFamilies(fams + [family])
            QGuiApplication.setFont(font)
    _state["family"], _state["done"] = family, True
    return family


def using_bundled_font() -> bool:
    return bool(_state["bundled"])


def ui_font(scale: float = 1.0, base_pt: float | None = None) -> QFont:
    """The application font (with the Hangul fallback), scaled for projectors."""
    font = QFont(QGuiApplication.font())
    pt = base_pt if base_pt is not None else (font.pointSizeF() if font.pointSizeF() > 0 else 9.0)
    font.setPointSizeF(max(4.0, pt * scale))
    return font
