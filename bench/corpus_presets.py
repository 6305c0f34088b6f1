"""A stand-in for the ``[data]`` loader until it lands: a preset's training pairs, held-out
pairs and their gold links, with the held-out tenth drawn by the seed."""

from __future__ import annotations

import dataclasses
import random
import tomllib
from pathlib import Path

from sandbox.presets import (ModelConfig, Pair, Preset, TokenizerConfig, TrainingConfig,
                             find_preset)


def _read_tsv(path: Path, src_col: int, tgt_col: int, al_col: int):
    rows = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        cols = line.split("\t")
        links = []
        if al_col:
            links = [tuple(map(int, x.split("-"))) for x in cols[al_col - 1].split()]
        rows.append((cols[src_col - 1], cols[tgt_col - 1], links))
    return rows


def load_split(key: str | dict, seed: int):
    """(training preset, held-out pairs, held-out gold links) for a preset key or a dict."""
    if isinstance(key, dict):
        data, base = key, Path(find_preset("ko_en_cat")).parent
    else:
        path = Path(find_preset(key))
        data, base = tomllib.loads(path.read_text(encoding="utf-8")), path.parent
    model = ModelConfig(**data["model"])
    tok = TokenizerConfig(**data.get("tokenizer", {}))
    training = TrainingConfig(**{**data["training"], "seed": seed})
    d = data["data"]
    rows = _read_tsv(base / d["file"], d.get("source_column", 1), d.get("target_column", 2),
                     d.get("alignment_column", 0))
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_held = round(d.get("heldout", 0.1) * len(rows))
    held, train = order[:n_held], order[n_held:]
    preset = Preset(name=data.get("name", "x"), description="", model=model, tokenizer=tok,
                    training=training, pairs=tuple(Pair(rows[i][0], rows[i][1]) for i in train))
    heldout = [Pair(rows[i][0], rows[i][1]) for i in held]
    links = [rows[i][2] for i in held]
    return dataclasses.replace(preset), heldout, links
