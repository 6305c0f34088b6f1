"""TOML files the app reads and writes (presets, lectures): reading and parsing with every
failure as one error, writing values and editing documents in place (comments kept), atomic
saves, the user's folders and finding a file by key.

Each helper takes the module's error class (a :class:`~sandbox.validation.FileError`), whose
``what`` ("preset", "lecture") words the messages. No Qt here.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Comment, Table, Whitespace

from . import userdirs
from .fileio import atomic_write_bytes
from .shipped import ShippedFileError, is_shipped, is_within, maintainer_mode  # noqa: F401 - is_within re-exported
from .validation import FileError, describe

USER_HOME_ENV = userdirs.HOME_ENV


class SavedFile:
    """Mixin for a frozen dataclass read from a file: a str ``path`` becomes a Path and the
    list field named by ``_items`` a tuple (editors build them from lists; this keeps the
    dataclass hashable and immutable)."""

    _items = ""  # "pairs"
    _title = ""  # the field an unsaved one's key is made from: "name"
    _fallback = ""  # the key when that slug is empty: "preset"

    def __post_init__(self) -> None:
        if isinstance(getattr(self, self._items), list):
            object.__setattr__(self, self._items, tuple(getattr(self, self._items)))
        if isinstance(self.path, str):
            object.__setattr__(self, "path", Path(self.path))

    @property
    def key(self) -> str:
        """File stem of ``path`` ("ko_en_cat"), or a slug of the name for an unsaved one."""
        if self.path is not None:
            return Path(self.path).stem
        slug = re.sub(r"[^\w]+", "_", str(getattr(self, self._title)).casefold()).strip("_")
        return slug or self._fallback


# --------------------------------------------------------------------------- reading


def read_file(path: Any, error: type[FileError], max_bytes: int) -> tuple[str, bytes]:
    """The path as a str and the file's bytes (at most ``max_bytes``); I/O failures included,
    every problem is an ``error``."""
    what = error.what
    try:
        label = os.fspath(path)
    except TypeError:
        raise error(None, None, f"not a file path: {describe(path)}") from None
    try:
        with open(label, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(label, None, "no such file") from None
    except IsADirectoryError:
        raise error(label, None, f"is a directory, not a {what} file") from None
    except PermissionError:
        raise error(label, None, "permission denied; cannot read this file") from None
    except (OSError, ValueError) as e:  # ValueError: e.g. an embedded NUL in the path
        raise error(label, None, f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    if len(data) > max_bytes:
        raise error(label, None, f"file is larger than {max_bytes} bytes; a {what} is far smaller")
    return label, data


def read_text(path: Any, error: type[FileError], max_bytes: int) -> tuple[str, str]:
    """The path as a str and the file's text: :func:`read_file`, then UTF-8 decoding. Bytes
    that are not UTF-8 are an ``error`` naming the byte, its line and column (1-based)."""
    label, data = read_file(path, error, max_bytes)
    try:
        return label, data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise error(label, None, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at line {line}, column {col}); "
                                 "save the file as UTF-8") from None


def parse_toml(text: Any, label: str | None, error: type[FileError], max_chars: int, needs: str,
               *, locate: bool = False) -> tuple[Any, str]:
    """(plain data, text without a byte order mark). ``needs`` completes "the file is empty;
    a preset needs ...". With ``locate``, a TOML error tomlkit gives no line for gets
    tomllib's line and column."""
    what = error.what
    if not isinstance(text, str):
        raise error(label, None, f"{what} text must be a string, got {describe(text)}")
    if text.startswith("\ufeff"):  # a byte order mark some editors add
        text = text[1:]
    if not text.strip():
        raise error(label, None, f"the file is empty; a {what} needs {needs}")
    if len(text) > max_chars:
        raise error(label, None, f"too large ({len(text)} characters); a {what} is at most {max_chars}")
    try:  # tomllib is ~7x faster than tomlkit (a 200-pair preset: 20 ms, not 140 ms); the data is
        # the same for valid TOML. tomlkit words the errors (and has the final say on a file).
        fast = tomllib.loads(text)
        if _depth(fast) <= _MAX_DEPTH:  # deeper: tomlkit's own verdict (it refuses deep nesting)
            return fast, text
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        pass
    try:
        data = tomlkit.parse(text).unwrap()
    except RecursionError:
        raise error(label, None, "not valid TOML: nested too deeply") from None
    except Exception as e:  # tomlkit raises ParseError and a few others (e.g. key conflicts)
        detail = " ".join(str(e).split()) or type(e).__name__
        if locate and " line " not in detail:  # e.g. a duplicate key in a table: ask tomllib where
            detail += _tomllib_location(text)
        raise error(label, None, f"not valid TOML: {detail}") from None
    return data, text


_MAX_DEPTH = 32  # no preset or lecture nests deeper than 4


def _depth(data: Any) -> int:
    """How deeply lists and tables nest (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if d > _MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def _tomllib_location(text: str) -> str:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+), column (\d+)", str(e))
        if m:
            return f" at line {m.group(1)} col {m.group(2)}"
    except Exception:
        pass
    return ""


# --------------------------------------------------------------------------- writing values


def toml_value(value: Any, *, multiline: bool = True) -> Any:
    """``value`` ready for a tomlkit document: a str with a newline becomes a readable
    multi-line string (when it reads back the same; else a quoted one with escapes, or
    always that without ``multiline``), a list an array, a mapping an inline table (kept on
    one line); anything else is returned as it is for tomlkit to convert."""
    if isinstance(value, str) and "\n" in value:
        if multiline:
            item = tomlkit.string(value, multiline=True)
            try:  # read back as the app reads (tomllib turns a raw "\r\n" into "\n")
                if tomllib.loads(f"x = {item.as_string()}\n")["x"] == value:
                    return item
            except Exception:  # noqa: BLE001 - not valid TOML this way: quote it instead
                pass
        return tomlkit.string(value)
    if isinstance(value, (list, tuple)):
        arr = tomlkit.array()
        arr.extend(toml_value(v, multiline=multiline) if isinstance(v, Mapping) else v for v in value)
        return arr
    if isinstance(value, Mapping):
        it = tomlkit.inline_table()
        for k, v in value.items():
            it[k] = toml_value(v, multiline=multiline)
        return it
    return value


def toml_text(value: Any, *, multiline: bool = False) -> str:
    """``value`` as TOML source text (the right side of ``key = ...``): strings quoted and
    escaped, ``"a\\nb"`` on one line unless ``multiline``."""
    return tomlkit.item(toml_value(value, multiline=multiline)).as_string()


def dumps_keeping_comments(value: Any, source: Any, in_place: Callable[[Any, str], str],
                           loads: Callable[[str, Any], Any], fresh: Callable[[Any], str]) -> str:
    """TOML text for a validated preset or lecture ``value``. With ``source`` (the text it was
    read from) a str, ``in_place(value, source)`` edits that document so comments, key order
    and value spellings survive; it is kept only when ``loads(text, value.path)`` gives
    ``value`` back. Otherwise (any failure included) ``fresh(value)`` writes a new document."""
    if isinstance(source, str):
        try:
            text = in_place(value, source)
            if loads(text, value.path) == value:
                return text
        except Exception:  # any tomlkit surprise: write a fresh document instead
            pass
    return fresh(value)


# --------------------------------------------------------------------------- editing documents


def plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def same_value(old: Any, new: Any) -> bool:
    """True when a document's value ``old`` (plain data) already means ``new``, so the
    document keeps its own spelling (``1e-3`` for 0.001, a literal string, line breaks)."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new
    if isinstance(old, list) and isinstance(new, list):
        return old == new
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return dict(old) == dict(new)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old == new
    return False


def pop_trivia(body: list) -> list[Any]:
    """Remove and return the comments/blank lines at the end of a tomlkit body list."""
    out = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Comment, Whitespace)):
        out.append(body.pop()[1])
    out.reverse()
    return out


def last_body(table: Table) -> list:
    """The body list that holds a table's trailing lines (its deepest last sub-table's)."""
    body = table.value.body
    while body and isinstance(body[-1][1], (Table, AoT)):
        last = body[-1][1]
        if isinstance(last, AoT):
            if not last.body:
                break
            last = last.body[-1]
        body = last.value.body
    return body


def pop_trailing_trivia(table: Table) -> list[Any]:
    """Remove and return the comments/blank lines at the end of a table. In tomlkit the
    comments just above a header live at the end of the table before it; they belong with
    whatever follows, so an edit moves them rather than losing them."""
    return pop_trivia(last_body(table))


def append_trivia(table: Table, items: Iterable[Any]) -> None:
    """Put comments/blank lines (from :func:`pop_trailing_trivia`) at the end of ``table``."""
    body = last_body(table)
    for item in items:
        body.append((None, item))


def table_before(doc: Any, key: str) -> Table | None:
    """The table just above the top-level ``key`` (whose end holds the lines above its
    header); None when ``key`` is missing or follows top-level keys (those lines then stay
    where they are: editing a document's own body in the middle would break its key index)."""
    body = doc.body
    for i, (k, _item) in enumerate(body):
        if k is not None and k.key == key:
            if i > 0 and isinstance(body[i - 1][1], Table):
                return body[i - 1][1]
            return None
    return None


# --------------------------------------------------------------------------- saving


def refuse_shipped(target: Path, shipped_dir: Path | None, user_dir: Callable[[], Path], error: type[FileError]) -> None:
    """Raise ``error`` for a target inside the shipped tree (:mod:`sandbox.shipped` decides;
    ``shipped_dir`` is kept for callers and no longer narrows the check: a lecture saved
    over a shipped preset is refused too)."""
    if is_shipped(target) and not maintainer_mode():
        raise error(os.fspath(target), None,
                    f"shipped {error.what}s are read-only; save a copy in {user_dir()} instead")


def atomic_write(target: Path, data: bytes, error: type[FileError], *, allow_shipped: bool = False) -> None:
    """:func:`sandbox.fileio.atomic_write_bytes`, every failure an ``error`` naming the file:
    on failure the old file is untouched and the temp file removed."""
    label = os.fspath(target)
    try:
        atomic_write_bytes(target, data, allow_shipped=allow_shipped, what=error.what, make_parents=True)
    except ShippedFileError as e:
        raise error(label, None, str(e).split(": ", 1)[-1]) from None
    except OSError as e:
        raise error(label, None, f"could not save: {e.strerror or e}") from None


# --------------------------------------------------------------------------- finding files


def user_data_dir() -> Path:
    """The user's data folder (:func:`sandbox.userdirs.data_dir`). Not created here."""
    return userdirs.data_dir()


def toml_files(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.glob("*.toml") if p.is_file()), key=lambda p: p.stem)
    except OSError:
        return []


def find_file(name_or_path: str | os.PathLike[str], listing: Callable[[], list[tuple[str, Path, bool]]],
              error: type[FileError]) -> Path:
    """An existing file, or a key from ``listing()`` (later entries, the user's, win)."""
    what = error.what
    label = os.fspath(name_or_path)
    candidate = Path(label).expanduser()
    try:
        is_file, is_dir = candidate.is_file(), candidate.is_dir()
    except (OSError, ValueError):  # e.g. a NUL byte or an over-long name
        is_file = is_dir = False
    if label and is_file:
        return candidate
    if label and is_dir:
        raise error(label, None, f"is a directory, not a {what} file")
    by_key = {key: path for key, path, _is_user in listing()}
    key = label[:-5] if label.endswith(".toml") and os.sep not in label and "/" not in label else label
    if key in by_key:
        return by_key[key]
    names = ", ".join(sorted(by_key)) or "(none found)"
    raise error(label or None, None, f"no such {what} file or {what} name; available {what}s: {names}")
