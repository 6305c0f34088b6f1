"""TOML files the app reads and writes (presets, lectures): reading and parsing with every
failure as one error, atomic saves, the user's folders and finding a file by key.

Each helper takes the module's error class (a :class:`~sandbox.validation.FileError`), whose
``what`` ("preset", "lecture") words the messages. No Qt here.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Comment, Whitespace

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


# --------------------------------------------------------------------------- editing documents


def plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def pop_trivia(body: list) -> list[Any]:
    """Remove and return the comments/blank lines at the end of a tomlkit body list."""
    out = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Comment, Whitespace)):
        out.append(body.pop()[1])
    out.reverse()
    return out


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
