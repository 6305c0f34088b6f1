"""Importing sentence pairs as a new user preset (File ▸ Import pairs… and its tests).

No Qt here.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from .corpus import DataConfig
from .fileio import atomic_write_text
from .presets import PresetError, load_preset, save_preset, user_presets_dir

__all__ = ["import_corpus"]


def import_corpus(text: str, cfg: DataConfig, name: str, base, folder: str | os.PathLike[str] | None = None):
    """Make a new user preset from corpus lines: the text is saved as ``corpora/KEY.tsv``
    next to a new ``KEY.toml`` in the user's preset folder (``folder`` overrides), whose
    ``[data]`` section reads it with ``cfg``'s columns. Model, tokenizer and training settings
    are ``base``'s (a Preset). Returns the new preset's path. Raises PresetError (nothing is
    left behind) when the result is not a valid preset, e.g. no line could be read."""
    root = Path(folder) if folder is not None else user_presets_dir()
    slug = re.sub(r"[^\w]+", "_", name.casefold()).strip("_")[:60] or "imported"
    key, n = slug, 1
    while (root / f"{key}.toml").exists() or (root / "corpora" / f"{key}.tsv").exists():
        n += 1
        key = f"{slug}_{n}"
    tsv = root / "corpora" / f"{key}.tsv"
    target = root / f"{key}.toml"
    try:
        tsv.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(tsv, text if text.endswith("\n") else text + "\n")
    except OSError as e:
        raise PresetError(os.fspath(tsv), None, f"could not save the corpus: {e.strerror or e}") from None
    data = dataclasses.replace(cfg, file=f"corpora/{key}.tsv")
    preset = dataclasses.replace(base, name=name.strip() or key, data=data, pairs=(), heldout_pairs=(), skipped=(),
                                 too_long=0, duplicates=0, path=None, source_text=None)
    try:
        save_preset(preset, target)
        return load_preset(target).path
    except PresetError:
        for p in (target, tsv):
            try:
                p.unlink()
            except OSError:
                pass
        raise
