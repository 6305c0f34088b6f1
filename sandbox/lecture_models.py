"""The trained models shipped with the app, so a lecture opens without training and the
main window opens a shipped preset on a trained model.

``presets/lectures/models/`` holds one safetensors checkpoint per model the shipped lectures
use, and one per shipped preset trained with its own ``[training]`` steps and seed (models
that share a training key share a file; a preset's own model has ``"lectures": []`` when no
lecture uses it), and ``manifest.json``:

```json
{"format": "attention-sandbox/lecture-models@1",
 "regenerate": "python -m sandbox.lecture_models",
 "models": [{"file": "ko_en_cat-<key>.safetensors", "preset": "ko_en_cat",
             "preset_sha256": "...", "training_key": "<key>", "steps": 400, "seed": 0,
             "device": "cpu", "torch": "2.13.0", "sha256": "...", "lectures": ["bahdanau"],
             "metrics": {...}}]}
```

A checkpoint is used only when its ``training_key`` (:func:`sandbox.lectures.training_key`:
the preset's model, tokenizer, training settings and pairs, and the lecture's train spec)
equals the key of the lecture being opened and its bytes still hash to ``sha256``; change
the preset's sentences or settings and the lecture trains (and caches) a new model instead.
Comments, the preset's name and description do not take part (``preset_sha256``, the hash
of the preset file's bytes, is recorded for people, not for the lookup).

Regenerate after changing a shipped preset or lecture (CPU, the lectures' own seeds)::

    python -m sandbox.lecture_models            # rebuild every shipped lecture's and preset's models
    python -m sandbox.lecture_models --missing-only  # train only what is not shipped yet
    python -m sandbox.lecture_models --verify   # exit 1 if any is missing or stale
    python -m sandbox.lecture_models --reuse-cache  # take seed-0 models `--check` already trained

This is a maintainer's tool: the app itself never writes under ``presets/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .lecture_cache import (MANIFEST_FORMAT, MANIFEST_NAME, SHIPPED_MODELS_DIR, _effective_steps, _sha256,
                            _shipped_by_key, cached_checkpoint_path, preset_training_key, read_manifest,
                            shipped_checkpoint, shipped_preset_checkpoint, training_key)
from .lecture_course import lecture_presets, list_lectures, load_lecture_preset
from .lecture_schema import Lecture, LectureError, load_lecture
from .presets import Preset, list_presets, load_preset

__all__ = ["SHIPPED_MODELS_DIR", "MANIFEST_NAME", "MANIFEST_FORMAT", "REGENERATE", "read_manifest",
           "shipped_checkpoint", "shipped_lectures", "shipped_presets", "build_shipped", "verify_shipped"]

REGENERATE = "python -m sandbox.lecture_models"


def shipped_lectures() -> list[Lecture]:
    """Every shipped lecture (a broken one raises its LectureError)."""
    return [load_lecture(path) for _key, path, is_user in list_lectures() if not is_user]


def _metrics_dict(m: Any) -> dict[str, Any] | None:
    if m is None:
        return None
    d = asdict(m) if is_dataclass(m) else dict(m)
    return {k: v for k, v in d.items() if isinstance(v, (int, float, str)) or v is None}


def shipped_presets() -> list[Preset]:
    """Every shipped preset (the main window opens each on its shipped model)."""
    return [load_preset(path) for _key, path, is_user in list_presets() if not is_user]


def _wanted(lectures: Sequence[Lecture], presets: Sequence[Preset]) -> dict[str, dict[str, Any]]:
    """training key -> what to train for it: (preset, steps, seed, lectures using it), for
    every model the lectures use and every preset's own settings (shared keys merge)."""
    wanted: dict[str, dict[str, Any]] = {}
    for lec in lectures:
        for ref in lecture_presets(lec):
            p = load_lecture_preset(lec, ref)  # once: the key is made from the loaded preset
            want = wanted.setdefault(training_key(lec, p), {"preset": p, "steps": _effective_steps(lec, p),
                                                            "seed": lec.train.seed, "lectures": []})
            if lec.key not in want["lectures"]:
                want["lectures"].append(lec.key)
    for p in presets:
        wanted.setdefault(preset_training_key(p),
                          {"preset": p, "steps": p.training.steps, "seed": p.training.seed, "lectures": []})
    return wanted


def build_shipped(lectures: Sequence[Lecture] | None = None, folder: Path | None = None,
                  log: Callable[[str], None] | None = None, reuse_cache: bool = False,
                  presets: Sequence[Preset] | None = None, missing_only: bool = False) -> dict[str, Any]:
    """Train every model the lectures use (their own seeds and steps) and every shipped
    preset's own model (its ``[training]`` steps and seed) on the CPU, write the checkpoints
    and the manifest into ``folder`` atomically, and delete checkpoints nothing uses any
    more. Returns the manifest. ``reuse_cache``: take a model the user's lecture cache
    already holds for the same training key (CPU-trained, e.g. by ``lecture NAME --check``)
    instead of training it again. ``missing_only``: keep every checkpoint already shipped
    for a wanted key (its file matching its recorded hash) and train only the others."""
    import torch

    from .checkpoint import load_checkpoint, save_checkpoint
    from .fileio import atomic_write_bytes, atomic_write_text
    from .model import Bundle
    from .train import Trainer

    folder = SHIPPED_MODELS_DIR if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lectures = shipped_lectures() if lectures is None else list(lectures)
    presets = shipped_presets() if presets is None else list(presets)
    old = {e.get("training_key"): e for e in read_manifest(folder).get("models", []) if isinstance(e, dict)}
    entries: dict[str, dict[str, Any]] = {}
    for key, want in _wanted(lectures, presets).items():
        p, steps, seed = want["preset"], want["steps"], want["seed"]
        if missing_only and key in old and _shipped_by_key(key, folder) is not None:
            entries[key] = dict(old[key], lectures=want["lectures"])
            continue
        t0 = time.perf_counter()
        name = f"{p.key}-{key}.safetensors"
        lec = next((x for x in lectures if x.key in want["lectures"]), None)
        cached = cached_checkpoint_path(lec, p) if (reuse_cache and lec is not None) else None
        bundle = metrics = None
        if cached is not None and cached.is_file():
            try:  # CPU training is deterministic: the user's cache holds the same weights
                bundle = load_checkpoint(cached, preset=p)
            except Exception:  # noqa: BLE001 - train instead
                bundle = None
        if bundle is None:
            trainer = Trainer(Bundle.from_preset(p), steps=steps, device="cpu", seed=seed)
            result = trainer.run(should_stop=lambda: False)
            if result.status != "done":
                where = lec.path if lec is not None else p.path
                raise LectureError(where, "train", f"training preset {p.key!r} failed: {result.message}")
            bundle, metrics = trainer.bundle, trainer.last_metrics
        with tempfile.TemporaryDirectory() as tmp:  # the maintainer's tool may write shipped files
            save_checkpoint(bundle, Path(tmp) / name, metrics=metrics)
            atomic_write_bytes(folder / name, (Path(tmp) / name).read_bytes(), allow_shipped=True,
                               what="checkpoint")
        raw = Path(p.path).read_bytes() if p.path is not None else b""
        entries[key] = {
            "file": name, "preset": p.key, "preset_sha256": hashlib.sha256(raw).hexdigest(),
            "training_key": key, "steps": steps, "seed": seed, "device": "cpu",
            "torch": torch.__version__.split("+")[0], "sha256": _sha256(folder / name),
            "bytes": (folder / name).stat().st_size, "lectures": want["lectures"],
            "metrics": _metrics_dict(metrics),
        }
        if log is not None:
            how = "trained in" if metrics is not None else "taken from the cache in"
            log(f"{p.key} (seed {seed}, {steps} steps): {how} {time.perf_counter() - t0:.1f} s -> {name}")
    manifest = {"format": MANIFEST_FORMAT, "regenerate": REGENERATE,
                "models": sorted(entries.values(), key=lambda e: e["file"])}
    atomic_write_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                      allow_shipped=True)
    keep = {e["file"] for e in entries.values()}
    for stale in folder.glob("*.safetensors"):
        if stale.name not in keep:
            stale.unlink()
            if log is not None:
                log(f"removed stale {stale.name}")
    return manifest


def verify_shipped(lectures: Sequence[Lecture] | None = None, folder: Path | None = None,
                   presets: Sequence[Preset] | None = None) -> list[str]:
    """What is missing: one line per (lecture, preset) and per shipped preset without a
    usable shipped checkpoint."""
    lectures = shipped_lectures() if lectures is None else list(lectures)
    presets = shipped_presets() if presets is None else list(presets)
    missing = []
    for lec in lectures:
        for ref in lecture_presets(lec):
            if shipped_checkpoint(lec, ref, folder) is None:
                missing.append(f"{lec.key}: no shipped model for preset {ref!r} "
                               f"(training key {training_key(lec, ref)}); run `{REGENERATE}`")
    for p in presets:
        if shipped_preset_checkpoint(p, folder) is None:
            missing.append(f"preset {p.key}: no shipped model for its own settings "
                           f"({p.training.steps} steps, seed {p.training.seed}); run `{REGENERATE}`")
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=REGENERATE, description="Rebuild (or verify) the checkpoints "
                                 "shipped for the lectures in presets/lectures/models.")
    ap.add_argument("--verify", action="store_true", help="only check; exit 1 if one is missing or stale")
    ap.add_argument("--out", help="write into this folder instead of presets/lectures/models")
    ap.add_argument("--missing-only", action="store_true",
                    help="keep the checkpoints already shipped for what is wanted; train only the others")
    ap.add_argument("--reuse-cache", action="store_true",
                    help="take models the user's lecture cache holds for the same training key "
                         "(e.g. after `lecture NAME --check`) instead of training them again")
    args = ap.parse_args(argv)
    folder = Path(args.out) if args.out else None
    try:
        if args.verify:
            missing = verify_shipped(folder=folder)
            for line in missing:
                print(line)
            print("all shipped lecture models are up to date" if not missing else f"{len(missing)} missing")
            return 1 if missing else 0
        manifest = build_shipped(folder=folder, log=lambda s: print(s, flush=True),
                                 reuse_cache=args.reuse_cache, missing_only=args.missing_only)
        print(f"wrote {len(manifest['models'])} checkpoints and {MANIFEST_NAME} to "
              f"{folder or SHIPPED_MODELS_DIR}")
        return 0
    except (LectureError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
