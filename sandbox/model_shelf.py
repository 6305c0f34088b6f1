"""Models trained in this window, kept for the session, one per preset file.

A lecturer trains ``ko_en_cat``, looks at ``reverse`` to make a point, and comes back:
the window shows the trained model again (its weights, training history and loss curve),
not a freshly seeded one. Only the last :data:`SHELF_SIZE` presets are kept, oldest
dropped first; these models are tens of kilobytes, their history a few megabytes at most
(:meth:`ModelShelf.nbytes` says how much, the window's status bar reports it).

Nothing here touches Qt; the window decides what goes on the shelf (a model trained in
the window, not a lecture's cached one) and checks that a kept model still fits the
preset file before showing it again (:func:`sandbox.model.rebind`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.history import WeightHistory
    from sandbox.model import Bundle

__all__ = ["SHELF_SIZE", "ShelvedModel", "ModelShelf"]

SHELF_SIZE = 8  # presets whose trained model is kept at once


@dataclass(eq=False)
class ShelvedModel:
    """One trained model as the window showed it: ``bundle`` trained ``trained_steps``
    steps, its history points (``history``: widgets.training.Snapshot, ``weights``: the
    same points' weights) and every step's metrics (the loss curve)."""

    bundle: "Bundle"
    trained_steps: int
    history: list = field(default_factory=list)
    weights: "WeightHistory | None" = None
    metrics: list[Any] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Bytes of tensors held: the model's parameters and buffers plus the history's weights."""
        sd = self.bundle.model.state_dict()
        n = sum(t.numel() * t.element_size() for t in sd.values())
        return n + (self.weights.nbytes if self.weights is not None else 0)


class ModelShelf:
    """Kept models by preset file path, least recently used dropped past ``size``."""

    def __init__(self, size: int = SHELF_SIZE) -> None:
        if size < 1:
            raise ValueError(f"shelf size must be at least 1, got {size}")
        self.size = size
        self._items: OrderedDict[str, ShelvedModel] = OrderedDict()

    def put(self, key: str, item: ShelvedModel) -> list[str]:
        """Keep ``item`` under ``key`` (replacing an older one); returns the keys dropped
        to stay within ``size``."""
        self._items.pop(key, None)
        self._items[key] = item
        dropped = []
        while len(self._items) > self.size:
            dropped.append(self._items.popitem(last=False)[0])
        return dropped

    def take(self, key: str) -> ShelvedModel | None:
        """Remove and return the model kept under ``key`` (None when there is none)."""
        return self._items.pop(key, None)

    def peek(self, key: str) -> ShelvedModel | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        """Kept keys, oldest first."""
        return list(self._items)

    @property
    def nbytes(self) -> int:
        return sum(item.nbytes for item in self._items.values())
