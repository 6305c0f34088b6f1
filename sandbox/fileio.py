"""The one atomic writer: a temporary file in the same folder, fsync, then rename.

A crash or a full disk mid-write leaves the old file intact and no half-written file. Every
file the app writes goes through :func:`atomic_write_bytes` (TOML saves, drafts,
checkpoints, the lecture cache, experiment results, CLI outputs), so every write also:

- refuses the shipped tree (:func:`sandbox.shipped.refuse_shipped`);
- raises an ``OSError`` whose ``filename`` is the file asked for, never the temporary file
  ("results.json: No space left on device");
- removes temporary files a kill between write and rename left beside the target
  (older than :data:`STALE_TEMP_S`; a younger one may belong to a writer still running).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from .shipped import refuse_shipped

__all__ = ["atomic_write_bytes", "atomic_write_text", "clean_stale_temp_files", "sweep_stale_temp_files", "temp_prefix", "STALE_TEMP_S"]

STALE_TEMP_S = 60.0  # a temp file this old was left by a writer that died
_TEMP_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # what mkstemp(prefix=".NAME.", suffix=".tmp") makes


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _read_umask() -> int:
    current = os.umask(0)  # the only way to read it; done once, at import
    os.umask(current)
    return current


_UMASK = _read_umask()


def _named(e: OSError, path: Path) -> OSError:
    """The same error, naming ``path`` (the file the user asked for)."""
    if e.errno is None:
        return OSError(f"{path}: {e}")
    out = type(e)(e.errno, e.strerror or os.strerror(e.errno), os.fspath(path))
    return out


def clean_stale_temp_files(folder: str | os.PathLike[str], *, older_than: float = STALE_TEMP_S,
                           name: str | None = None) -> list[Path]:
    """Delete this module's temporary files in ``folder`` (only those of target ``name``
    when given) last modified more than ``older_than`` seconds ago. Returns what was removed;
    never raises."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    prefix = f".{name}." if name is not None else "."
    for entry in entries:
        n = entry.name
        if not (n.startswith(prefix) and _TEMP_RE.match(n)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or now - entry.stat().st_mtime < older_than:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def sweep_stale_temp_files() -> int:
    """Remove temporary files a killed writer left in the user's folders
    (:func:`sandbox.userdirs.written_folders`); returns how many. Never raises. A user folder
    pointed into the shipped tree is skipped: the app writes, and removes, nothing there."""
    from .shipped import is_shipped
    from .userdirs import written_folders

    return sum(len(clean_stale_temp_files(f)) for f in written_folders() if not is_shipped(f))


def same_file(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    """True when ``a`` and ``b`` name the same file (resolved: symlinks, ``..``), or are both
    None (an editor's never-saved state); compares the spellings when resolving fails."""
    if a is None or b is None:
        return a is None and b is None
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError, ValueError):
        return os.fspath(a) == os.fspath(b)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, allow_shipped: bool = False,
                       make_parents: bool = False, what: str = "file") -> Path:
    """Write ``data`` to ``path`` atomically and durably; return the path.

    Raises :class:`~sandbox.shipped.ShippedFileError` (a ValueError) for a path in the
    shipped tree, and ``OSError`` naming ``path`` when the folder is missing (or, with
    ``make_parents``, cannot be created) or the disk is full or read-only. An existing file
    keeps its permissions."""
    path = Path(path)
    refuse_shipped(path, what, allow_shipped=allow_shipped)
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = path.stat().st_mode & 0o777  # keep an existing file's permissions
        except OSError:
            mode = 0o666 & ~_UMASK
        clean_stale_temp_files(path.parent, name=path.name)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _named(e, path) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _named(e, path) from None
        raise
    try:  # make the rename itself durable; best effort (not every platform allows it)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def atomic_write_text(path: str | os.PathLike, text: str, **kw) -> Path:
    """:func:`atomic_write_bytes` of ``text`` as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"), **kw)
