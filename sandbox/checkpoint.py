"""Checkpoints: one safetensors file holding the weights and the preset they were trained for.

Layout (format ``attention-sandbox/checkpoint@1``):

- tensors: the model's ``state_dict`` (float32, CPU);
- metadata (str -> str): ``format``; ``preset`` (the preset as TOML text, comments kept);
  ``preset_key``; ``src_vocab`` and ``tgt_vocab`` (JSON lists of tokens); optionally
  ``metrics`` (JSON of the final :class:`~sandbox.train.Metrics`).

Loading never unpickles anything: the file is parsed as safetensors only (a JSON header and
raw tensor bytes). Pickles and ``torch.save`` files, random bytes, truncated files and files
whose weights do not fit the model are refused with a :class:`CheckpointError` naming the
file. Writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
import struct
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch

from .fileio import atomic_write_bytes
from .model import Bundle, build_model, build_vocabs
from .vocab import Vocab

FORMAT = "attention-sandbox/checkpoint@1"
MAX_BYTES = 256 * 1024 * 1024  # toy models are a few hundred KiB
MAX_HEADER = 16 * 1024 * 1024

__all__ = ["CheckpointError", "FORMAT", "save_checkpoint", "load_checkpoint", "read_metadata",
           "checkpoint_metrics"]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used, and why (the message names the file)."""


def save_checkpoint(bundle: Bundle, path: str | os.PathLike, metrics: Any = None) -> Path:
    """Write ``bundle``'s weights, preset and vocabularies to ``path`` atomically."""
    from safetensors.torch import save

    from .presets import dumps_preset

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in bundle.model.state_dict().items()}
    meta = {
        "format": FORMAT,
        "preset": dumps_preset(bundle.preset),
        "preset_key": bundle.preset.key,
        # where a [data] corpus file is found: relative to this preset file
        "preset_path": "" if bundle.preset.path is None else os.fspath(Path(bundle.preset.path).resolve()),
        "src_vocab": json.dumps(list(bundle.src_vocab.tokens), ensure_ascii=False),
        "tgt_vocab": json.dumps(list(bundle.tgt_vocab.tokens), ensure_ascii=False),
    }
    for side, vocab in (("src", bundle.src_vocab), ("tgt", bundle.tgt_vocab)):
        if vocab.subword is not None:  # the SentencePiece model, so a trace reproduces anywhere
            meta[f"{side}_subword"] = base64.b64encode(vocab.subword).decode("ascii")
    if metrics is not None:
        m = asdict(metrics) if is_dataclass(metrics) else dict(metrics)
        meta["metrics"] = json.dumps(m, allow_nan=True)
    return atomic_write_bytes(path, save(tensors, metadata=meta), what="checkpoint")


def _read(label: str) -> bytes:
    try:
        st = os.stat(label)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block, /dev/zero never ends
            raise CheckpointError(f"{label}: is not a regular file")
        size = st.st_size
        if size > MAX_BYTES:
            raise CheckpointError(f"{label}: too large for a checkpoint ({size} bytes)")
        with open(label, "rb") as f:
            return f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise CheckpointError(f"{label}: no such checkpoint file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{label}: is a directory, not a checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"{label}: cannot read the checkpoint ({e.strerror or e})") from None


def _header(data: bytes, label: str) -> dict[str, Any]:
    """Parse the safetensors header without trusting it; name pickles and zips as such.

    The structure is checked first: a real header's 8-byte length can itself start with a
    pickle opcode (any length = 128 mod 256 begins with ``\\x80``), so the magic bytes are
    only consulted to explain why a file that is *not* safetensors was refused.
    """
    n = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else None
    header: Any = None
    if n is not None and n <= MAX_HEADER and 8 + n <= len(data):
        try:
            header = json.loads(data[8:8 + n].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            header = None
    if isinstance(header, dict):
        return header
    if data[:1] == b"\x80" or data[:2] in (b"(d", b"}q", b"(l"):
        raise CheckpointError(f"{label}: is a Python pickle, not a safetensors checkpoint; "
                              "pickled files are refused because loading them can run code")
    if data[:4] == b"PK\x03\x04":
        raise CheckpointError(f"{label}: is a zip/torch.save file, not a safetensors checkpoint; "
                              "pickled files are refused because loading them can run code")
    bad = f"{label}: not an attention-sandbox checkpoint (not a valid safetensors file"
    if n is None:
        raise CheckpointError(f"{bad}: only {len(data)} bytes)")
    if n > MAX_HEADER or 8 + n > len(data):
        raise CheckpointError(f"{bad}: bad header length; truncated or corrupt)")
    raise CheckpointError(f"{bad}: unreadable header)")


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The checkpoint's metadata strings (format, preset TOML, vocabularies, metrics)."""
    label = os.fspath(path)
    meta = _header(_read(label), label).get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{label}: not an attention-sandbox checkpoint "
                              f"(no {FORMAT!r} format tag)")
    return {str(k): str(v) for k, v in meta.items()}


def _vocab(meta: dict, key: str, label: str) -> Vocab:
    try:
        tokens = json.loads(meta[key])
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError
    except (KeyError, ValueError, TypeError):
        raise CheckpointError(f"{label}: the checkpoint's {key} is missing or broken") from None
    sub_key = key.replace("_vocab", "_subword")
    if sub_key not in meta:
        try:
            return Vocab(tuple(tokens))
        except ValueError:
            raise CheckpointError(f"{label}: the checkpoint's {key} is missing or broken") from None
    try:
        vocab = Vocab.from_subword(base64.b64decode(meta[sub_key], validate=True))
    except (ValueError, binascii.Error):
        raise CheckpointError(f"{label}: the checkpoint's {sub_key} (its SentencePiece model) is broken") from None
    if list(vocab.tokens) != tokens:
        raise CheckpointError(f"{label}: corrupt checkpoint (its {sub_key} does not match its {key})")
    return vocab


def _standalone_preset(ck_preset, key: str):
    """The embedded preset; the preset file of the same key when it is the same preset
    (so it keeps its key, path and comments)."""
    from .presets import PresetError, find_preset, load_preset

    if re.fullmatch(r"[\w-]{1,100}", key or ""):
        try:
            found = load_preset(find_preset(key))
            if found == ck_preset:
                return found
        except (PresetError, OSError, ValueError):
            pass
    return ck_preset


def _difference(a, b, va: tuple[Vocab, Vocab], vb: tuple[Vocab, Vocab]) -> str | None:
    if a.model != b.model:
        return "different model settings"
    if a.tokenizer != b.tokenizer:
        return "a different tokenizer"
    if va[0] != vb[0]:
        return "a different source vocabulary"
    if va[1] != vb[1]:
        return "a different target vocabulary"
    return None


def load_checkpoint(path: str | os.PathLike, preset=None, device: str = "cpu") -> Bundle:
    """A Bundle with the checkpoint's weights on ``device``.

    With ``preset``, the checkpoint must have been trained for a model of the same settings
    and vocabularies (the returned Bundle then carries ``preset``); otherwise the preset
    stored in the checkpoint is used.
    """
    from safetensors.torch import load

    from .presets import PresetError, loads_preset
    from .device import resolve_device

    label = os.fspath(path)
    dev = resolve_device(device)
    data = _read(label)
    header = _header(data, label)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        extra = f" (format {found!r})" if isinstance(found, str) else ""
        raise CheckpointError(f"{label}: not an attention-sandbox checkpoint{extra}; "
                              f"expected format {FORMAT!r}")
    try:
        tensors = load(data)
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(f"{label}: corrupt checkpoint ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    ck_text, ck_path = str(meta.get("preset", "")), str(meta.get("preset_path", "")) or None
    try:
        ck_preset = loads_preset(ck_text, ck_path, read_data=False)
    except PresetError as e:
        raise CheckpointError(f"{label}: the preset stored in the checkpoint is broken ({e.message})") from None
    ck_key = str(meta.get("preset_key", "")) or ck_preset.key
    src, tgt = _vocab(meta, "src_vocab", label), _vocab(meta, "tgt_vocab", label)
    if preset is None and ck_preset.data is not None:
        try:  # the corpus the model was trained on, split with the model's seed
            ck_preset = loads_preset(ck_text, ck_path)
        except PresetError as e:
            raise CheckpointError(f"{label}: the corpus of the checkpoint's preset cannot be read ({e}); "
                                  f"give the preset too") from None
    if (preset is None or ck_preset.data is None) and build_vocabs(ck_preset, (src, tgt)) != (src, tgt):
        raise CheckpointError(f"{label}: corrupt checkpoint (its vocabularies do not match its preset)")

    if preset is not None and preset.data is not None and preset.training.seed != ck_preset.training.seed:
        # A corpus's held-out part is drawn with the seed: use the split the model was trained on.
        from .presets import with_seed

        preset = with_seed(preset, ck_preset.training.seed)
    if preset is not None:
        why = _difference(ck_preset, preset, (src, tgt), build_vocabs(preset, (src, tgt)))
        if why is not None:
            if ck_key != preset.key:
                raise CheckpointError(f"checkpoint {label} was trained for preset {ck_key!r}, "
                                      f"not {preset.key!r} ({why})")
            raise CheckpointError(f"checkpoint {label} was trained for preset {ck_key!r} with {why} "
                                  f"than the preset now has; retrain it")
        use = preset
    else:
        use = _standalone_preset(ck_preset, ck_key)

    model = build_model(use, src, tgt)
    want = model.state_dict()
    missing = sorted(set(want) - set(tensors))
    extra = sorted(set(tensors) - set(want))
    if missing or extra:
        what = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise CheckpointError(f"{label}: the weights do not fit the model ({what})")
    for k, t in tensors.items():
        if t.shape != want[k].shape or t.dtype != want[k].dtype:
            raise CheckpointError(f"{label}: the weights do not fit the model ({k}: "
                                  f"{tuple(t.shape)} {t.dtype}, expected {tuple(want[k].shape)} {want[k].dtype})")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{label}: the weights contain inf or nan ({k})")
    model.load_state_dict(tensors, strict=True)
    model.to(dev)
    return Bundle(use, src, tgt, model)


def checkpoint_metrics(path: str | os.PathLike) -> dict[str, Any] | None:
    """The final metrics saved with the checkpoint, if any."""
    meta = read_metadata(path)
    try:
        m = json.loads(meta["metrics"])
    except (KeyError, ValueError):
        return None
    return m if isinstance(m, dict) else None
