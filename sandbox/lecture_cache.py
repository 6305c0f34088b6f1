"""A lecture's trained models: the user's cache (``user_cache_dir()/lectures``), the
checkpoints shipped in ``presets/lectures/models`` (looked up by training key; the manifest is
written by :mod:`sandbox.lecture_models`), else training, seeded, and caching the result.

No torch at import time: :func:`ensure_trained_from` imports the model, trainer and
checkpoint modules when it runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import userdirs as _userdirs
from .lecture_course import load_lecture_preset
from .lecture_schema import SHIPPED_LECTURES_DIR, Lecture, LectureError, TrainingStopped
from .presets import Preset

if TYPE_CHECKING:  # pragma: no cover
    from .model import Bundle

__all__ = ["CACHE_VERSION", "SHIPPED_MODELS_DIR", "MANIFEST_NAME", "MANIFEST_FORMAT", "user_cache_dir",
           "read_manifest", "shipped_checkpoint", "shipped_preset_checkpoint", "opening_model", "SHIPPED_ORIGIN",
           "training_key", "preset_training_key", "cached_checkpoint_path",
           "checked_device", "model_source", "ensure_trained", "ensure_trained_from"]

CACHE_VERSION = 1  # bump when the meaning of a cached checkpoint changes
SHIPPED_MODELS_DIR: Path = SHIPPED_LECTURES_DIR / "models"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "attention-sandbox/lecture-models@1"

_manifest_cache: dict[tuple[str, float, int], dict[str, Any]] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The manifest as a dict (``{"models": []}`` when there is none or it is unreadable:
    a broken manifest only means lectures train their models)."""
    folder = SHIPPED_MODELS_DIR if folder is None else Path(folder)
    path = folder / MANIFEST_NAME
    try:
        st = path.stat()
    except OSError:
        return {"models": []}
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _manifest_cache:
        try:
            data = json.loads(path.read_text("utf-8"))
            if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT \
                    or not isinstance(data.get("models"), list):
                data = {"models": []}
        except (OSError, ValueError):
            data = {"models": []}
        _manifest_cache.clear()
        _manifest_cache[key] = data
    return _manifest_cache[key]


def shipped_checkpoint(lecture: Lecture, preset: "str | Preset | None" = None,
                       folder: Path | None = None) -> Path | None:
    """The shipped checkpoint trained for exactly this lecture's preset (or ``preset``) and
    train spec on the CPU, or None. The file must exist and match its recorded hash."""
    try:
        key = training_key(lecture, preset)
    except LectureError:
        return None
    return _shipped_by_key(key, folder)


def shipped_preset_checkpoint(preset: Preset, folder: Path | None = None) -> Path | None:
    """The shipped checkpoint of ``preset`` trained with its own ``[training]`` settings
    (its steps and seed) on the CPU, or None: none was shipped for them (an edited preset
    whose model, tokenizers, training settings or pairs differ has another key). The main
    window opens such a preset on this model, so the first picture is a trained one."""
    return _shipped_by_key(preset_training_key(preset), folder)


def preset_training_key(preset: Preset) -> str:
    """The training key of ``preset`` trained with its own ``[training]`` steps and seed on
    the CPU (what :func:`shipped_preset_checkpoint` looks up)."""
    return _key(preset, preset.training.steps, preset.training.seed)


SHIPPED_ORIGIN = "shipped with the app"  # the Model box's word for such a model


def opening_model(preset: Preset, folder: Path | None = None) -> tuple["Bundle", int]:
    """(bundle, steps trained) a window opens ``preset`` on: the weights of
    :func:`shipped_preset_checkpoint` with the preset's step count when one is shipped,
    else freshly seeded weights and 0. A shipped file that cannot be read gives the seeded
    model: opening a preset never fails on it. On the CPU (the shipped weights' device)."""
    from .checkpoint import load_checkpoint
    from .model import Bundle

    path = shipped_preset_checkpoint(preset, folder)
    if path is not None:
        try:
            return load_checkpoint(path, preset=preset, device="cpu"), preset.training.steps
        except Exception:  # noqa: BLE001 - a damaged shipped file: seeded weights instead
            pass
    return Bundle.from_preset(preset), 0


def _shipped_by_key(key: str, folder: Path | None) -> Path | None:
    folder = SHIPPED_MODELS_DIR if folder is None else Path(folder)
    for entry in read_manifest(folder).get("models", []):
        if not isinstance(entry, dict) or entry.get("training_key") != key:
            continue
        name = entry.get("file")
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            continue
        path = folder / name
        try:
            if path.is_file() and _sha256(path) == entry.get("sha256"):
                return path
        except OSError:
            continue
    return None


def user_cache_dir() -> Path:
    """Trained-model cache (:func:`sandbox.userdirs.cache_dir`): $ATTENTION_SANDBOX_HOME/cache,
    else the platform's user cache folder (~/.cache/attention-sandbox on Linux). Not created here."""
    return _userdirs.cache_dir()

def _effective_steps(lecture: Lecture, preset: Preset) -> int:
    return lecture.train.steps if lecture.train.steps is not None else preset.training.steps


def _device_type(device: str) -> str:
    """``cpu`` or ``cuda`` for a device name (``auto`` resolved on this machine)."""
    if device == "cpu":
        return "cpu"
    from .device import resolve_device

    return resolve_device(device).type


def _cache_key(lecture: Lecture, preset: Preset, device: str = "cpu") -> str:
    """Hash of what determines the trained weights of a lecture's model (:func:`_key`)."""
    return _key(preset, _effective_steps(lecture, preset), lecture.train.seed, device)


def _key(preset: Preset, steps: int, seed: int, device: str = "cpu") -> str:
    """Hash of what determines the trained weights: the preset's model, tokenizer, training
    settings and pairs (not its name, description or comments), the steps and seed trained
    with, and the device type when it is not the CPU (a GPU trains other numbers from the
    same seed)."""
    from .presets import _attrs, _model_dict, _tokenizer_dict, _TRAINING_KEYS

    payload: dict[str, Any] = {
        "v": CACHE_VERSION,
        "model": _model_dict(preset.model),
        "tokenizer": _tokenizer_dict(preset.tokenizer),  # vocab_size only for subword (keeps old keys)
        "training": _attrs(preset.training, _TRAINING_KEYS),
        "pairs": [[p.source, p.target] for p in preset.pairs],
        "train": {"steps": steps, "seed": seed},
    }
    kind = _device_type(device)
    if kind != "cpu":
        payload["device"] = kind
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:20]


def _as_preset(lecture: Lecture, preset: "str | Preset | None") -> Preset:
    """A Preset given as itself (already loaded: a corpus preset reads its file once), as a
    reference the lecture names, or None for the lecture's own."""
    return preset if isinstance(preset, Preset) else load_lecture_preset(lecture, preset)


def training_key(lecture: Lecture, preset: "str | Preset | None" = None, device: str = "cpu") -> str:
    """The hash that names a trained model of the lecture's preset (or ``preset``): equal
    keys, equal weights (on the same device type). Shipped checkpoints are looked up by it."""
    return _cache_key(lecture, _as_preset(lecture, preset), device)


def cached_checkpoint_path(lecture: Lecture, preset: "str | Preset | None" = None, device: str = "cpu") -> Path:
    """Where the trained model for the lecture's preset (or ``preset``, one of
    :func:`lecture_presets`) is cached: ``user_cache_dir()/lectures/KEY-HASH.ckpt``."""
    p = _as_preset(lecture, preset)
    key = re.sub(r"[^\w.-]+", "_", p.key)[:60] or "preset"
    return user_cache_dir() / "lectures" / f"{key}-{_cache_key(lecture, p, device)}.ckpt"


def checked_device(lecture: Lecture) -> str:
    """The device type a lecture's claims are checked on (``lecture --check`` runs on the
    lecture's ``[train] device``): ``cuda`` for a lecture pinned to CUDA, else ``cpu``
    (``auto`` lectures are checked, and shipped, on the CPU)."""
    return "cuda" if lecture.train.device == "cuda" else "cpu"


def model_source(lecture: Lecture, preset: "str | Preset | None" = None, device: str = "cpu") -> str:
    """Where :func:`ensure_trained` will get the model: ``"cache"`` (the user's cache),
    ``"shipped"`` (a checkpoint shipped with the app) or ``"train"``."""
    p = _as_preset(lecture, preset)
    if cached_checkpoint_path(lecture, p, device).is_file():
        return "cache"
    if _device_type(device) == "cpu":
        if shipped_checkpoint(lecture, p) is not None:
            return "shipped"
    return "train"


def ensure_trained(
    lecture: Lecture,
    progress: Callable[..., Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    preset: str | None = None,
    device: str = "cpu",
) -> "Bundle":
    """The lecture's model, trained: loaded from the user's cache, else from the checkpoints
    shipped with the app (``presets/lectures/models``, CPU-trained: used when ``device`` is
    the CPU and the preset and train spec are the ones they were trained with), else trained
    (seeded, so the same lecture always gives the same weights) and cached atomically.

    ``progress`` and ``should_stop`` go to the Trainer. Stopping raises TrainingStopped
    (nothing cached); a training failure (e.g. a non-finite loss) is a LectureError.
    A cache file that cannot be read is ignored and rebuilt. :func:`ensure_trained_from`
    also says which of these happened."""
    return ensure_trained_from(lecture, progress, should_stop, preset=preset, device=device)[0]


def ensure_trained_from(
    lecture: Lecture,
    progress: Callable[..., Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    preset: str | None = None,
    device: str = "cpu",
) -> tuple["Bundle", str]:
    """(bundle, origin) as :func:`ensure_trained`; origin says where the weights came from:
    ``"cache"``, ``"shipped"`` (presets/lectures/models), ``"trained"``, or ``"retrained: the cache entry FILE could not be read (WHY)"``
    (a truncated or stale entry; it is replaced). A cache that cannot be written is not an
    error (origin then ends with ``"; not cached: WHY"``)."""
    from .checkpoint import load_checkpoint, save_checkpoint
    from .model import Bundle
    from .train import Trainer

    p = load_lecture_preset(lecture, preset)
    path = cached_checkpoint_path(lecture, p, device)
    origin = "trained"
    if path.is_file():
        try:
            return load_checkpoint(path, preset=p, device=device), "cache"
        except Exception as e:  # noqa: BLE001 - stale or corrupt cache entry: train again
            why = " ".join(str(e).split()) or type(e).__name__
            origin = f"retrained: the cache entry {path} could not be read ({why})"
    if _device_type(device) == "cpu":
        shipped = shipped_checkpoint(lecture, p)
        if shipped is not None:
            try:
                return load_checkpoint(shipped, preset=p, device=device), "shipped"
            except Exception:  # noqa: BLE001 - a damaged shipped file: train instead
                pass
    bundle = Bundle.from_preset(p)
    trainer = Trainer(bundle, steps=_effective_steps(lecture, p), device=device, seed=lecture.train.seed)
    result = trainer.run(progress=progress, should_stop=should_stop or (lambda: False))
    bundle = trainer.bundle  # with a seed, the trainer builds its own seeded model
    if result.status == "stopped":
        raise TrainingStopped(result.message or "training stopped", bundle)
    if result.status != "done":  # "nonfinite": the lecture's train spec does not work
        raise LectureError(lecture.path, "train", f"training preset {p.key!r} failed: {result.message}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(bundle, path)  # the one atomic writer: temp file, fsync, rename
    except (OSError, ValueError) as e:  # a cache that cannot be written only costs time
        origin += f"; not cached: {e}"
    return bundle, origin
