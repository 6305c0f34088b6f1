"""Device choice, in one place: ``auto`` | ``cpu`` | ``cuda`` (or ``cuda:N``).

DESIGN.md "Threads and devices": ``auto`` picks CUDA when ``torch.cuda.is_available()``,
else the CPU; the user can choose; asking for a device the machine lacks is a
:class:`DeviceError` (a ``ValueError``) with a message that says what to use instead.
"""

from __future__ import annotations

import torch

__all__ = ["DEVICES", "DeviceError", "available_devices", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


class DeviceError(ValueError):
    """The requested device does not exist on this machine."""


def available_devices() -> list[str]:
    """The device choices this machine offers: auto, cpu, and cuda where it works."""
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``; ``cuda`` (or ``cuda:N``).

    Raises :class:`DeviceError` for an unknown name or a CUDA device this machine lacks."""
    if isinstance(name, torch.device):
        name = str(name)
    key = str(name).strip().lower()
    if key == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if key == "cpu":
        return torch.device("cpu")
    if key == "cuda" or key.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(
                "CUDA was requested but this machine has no usable CUDA device "
                "(torch.cuda.is_available() is False); use --device cpu or auto")
        try:
            dev = torch.device(key)
        except RuntimeError as e:
            raise DeviceError(f"unknown device {name!r}: {e}") from None
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        return dev
    raise DeviceError(f"unknown device {name!r}; allowed: {', '.join(DEVICES)}")
