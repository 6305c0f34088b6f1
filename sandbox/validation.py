"""Validation shared by presets and lectures: one error type naming file + field, the
wording of "got ..." in messages, and a checker whose every check raises one such error.

No Qt here.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from .text import normalize

# Categories never allowed inside a sentence or a name: controls (tab, newline, NUL, DEL,
# C1), lone surrogates, and the Unicode line/paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

MISSING = object()


class FileError(ValueError):
    """One problem with a file: which file, which field, and what is allowed.
    Subclasses set ``what`` ("preset"), shown when there is no path."""

    what = "file"

    def __init__(self, path: str | os.PathLike[str] | None, field: str | None, message: str):
        self.path: str | None = None if path is None else os.fspath(path)
        self.field: str | None = field
        self.message: str = message
        super().__init__(self.path, field, message)  # keeps the error picklable

    def __str__(self) -> str:
        parts = [self.path if self.path is not None else f"<{self.what}>"]
        if self.field is not None:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


# --------------------------------------------------------------------------- describing values


def safe_text(s: str, limit: int = 40) -> str:
    """A short, printable, quoted rendering of a user string for an error message."""
    short = s[:limit]
    out = json.dumps(short, ensure_ascii=False)
    # json leaves lone surrogates as they are; they cannot be printed or encoded.
    out = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in out)
    if len(s) > limit:
        out = out[:-1] + '…"'
    return out


def describe(value: Any) -> str:
    """What a value is, for "got ..." in a message. Never recurses into containers."""
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int):
        return str(value) if -(10**30) < value < 10**30 else f"an integer with {len(str(abs(value)))} digits"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return f"{safe_text(value)} (a string)"
    if isinstance(value, (datetime, date, time)):
        return f"{value.isoformat()} (a date/time)"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    return f"a {type(value).__name__}"


def _key_label(key: Any) -> str:
    key = str(key)
    if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key):
        return key
    return json.dumps(key[:40])  # ASCII-escaped, quoted like a TOML key


def join(prefix: str, key: Any) -> str:
    return f"{prefix}.{_key_label(key)}" if prefix else _key_label(key)


def choices(options: Iterable[str]) -> str:
    return ", ".join(f'"{o}"' for o in options)


# --------------------------------------------------------------------------- checking


class Checker:
    """Validation helpers bound to one file label. Each check raises one ``Error``."""

    Error: type[FileError] = FileError

    def __init__(self, path: str | None):
        self.path = path

    def error(self, field_name: str | None, message: str) -> FileError:
        return self.Error(self.path, field_name, message)

    def table(self, value: Any, name: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(name, f"must be a table ([{name}] section), got {describe(value)}")
        return value

    def optional_table(self, data: Mapping[str, Any], name: str, allowed: Sequence[str]) -> Mapping[str, Any] | None:
        """The top-level table ``[name]`` of ``data`` checked to be a table with only
        ``allowed`` keys; None when the file has none."""
        raw = data.get(name, MISSING)
        if raw is MISSING:
            return None
        table = self.table(raw, name)
        self.no_unknown(table, name, allowed)
        return table

    def no_unknown(self, table: Mapping[str, Any], prefix: str, allowed: Sequence[str], what: str = "") -> None:
        for key in table:
            if key not in allowed:
                where = f" {what}" if what else ""
                raise self.error(join(prefix, key), f"unknown key; allowed keys{where}: {', '.join(allowed)}")

    def get(self, table: Mapping[str, Any], prefix: str, key: str, allowed: str) -> Any:
        value = table.get(key, MISSING)
        if value is MISSING:
            raise self.error(join(prefix, key), f"missing; {allowed}")
        return value

    def number(self, table: Mapping[str, Any], prefix: str, key: str, allowed: str, ok) -> float:
        value = self.get(table, prefix, key, allowed)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not ok(value)
        ):
            raise self.error(f"{prefix}.{key}", f"{allowed}, got {describe(value)}")
        return float(value)

    def choice(self, value: Any, name: str, options: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in options:
            raise self.error(name, f"must be one of {choices(options)}, got {describe(value)}")
        return value

    def text(self, value: Any, name: str, limit: int, *, multiline: bool = False, raw: bool = False) -> str:
        """A string that is non-blank, short enough and free of control chars, returned as
        :func:`sandbox.text.normalize` makes it (NFC, zero-width characters removed,
        stripped): emptiness and the limit count that form's code points, so a sentence
        typed decomposed (NFD) or holding only a word joiner is judged by what it shows.
        ``raw``: only strip (file names and other references are kept as written)."""
        if not isinstance(value, str):
            raise self.error(name, f"must be a string, got {describe(value)}")
        if multiline:
            value = value.replace("\r\n", "\n")
        text = value.strip() if raw else normalize(value)
        if not text:
            extra = "" if raw or not value.strip() else " (it holds only invisible zero-width characters)"
            raise self.error(name, f"must not be empty or blank{extra}")
        if len(text) > limit:
            how = "" if raw or text == value.strip() else " after Unicode normalisation (NFC)"
            raise self.error(name, f"must be at most {limit} characters, got {len(text)}{how}")
        for i, ch in enumerate(text):
            if multiline and ch in "\n\t":
                continue
            if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
                extra = " other than newline and tab" if multiline else ""
                raise self.error(
                    name, f"must not contain control characters{extra}; found U+{ord(ch):04X} at position {i}"
                )
        return text

    def description(self, data: Mapping[str, Any], limit: int) -> str:
        """The optional top-level ``description``: "" when absent or blank."""
        description = data.get("description", "")
        if not isinstance(description, str):
            raise self.error("description", f"must be a string, got {describe(description)}")
        return self.text(description, "description", limit, multiline=True) if description.strip() else ""
