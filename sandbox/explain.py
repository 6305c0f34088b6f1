"""The arithmetic of one attention weight, recomputed from its record alone (no Qt).

:func:`compute` takes one :class:`~sandbox.attention.AttentionRecord` and rebuilds every
score from the tensors the record carries — ``q·k_j`` (``dot``), ``q·k_j/√d``
(``scaled_dot``), ``q·(W k_j)`` from the recorded ``W·k`` (``general``), ``vᵀ tanh(...)``
from the recorded ``tanh`` and ``v`` (``bahdanau``) — then the softmax. It never reads a
model: an explanation of a training-history snapshot uses that snapshot's numbers only.
Formulas: the seed notes (files 001 and 003); softmax with the largest score subtracted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .attention import AttentionRecord

__all__ = ["Explanation", "compute", "recompute_energies", "recompute_weights"]


@dataclass
class Explanation:
    """The worked numbers for weight ``j`` of one record (float64)."""

    score: str
    j: int
    products: np.ndarray  # (T,) the dot products before scaling (dot/scaled/general), or vᵀtanh
    energies: np.ndarray  # (T,) recomputed scores; -inf where the record masks a key
    recorded_energies: np.ndarray
    scale: float | None
    max_energy: float
    exps: np.ndarray  # (T,) exp(e_i - max); 0 where masked
    total: float  # Σ exp(e_i - max)
    weight: float  # exps[j] / total
    recorded_weight: float
    masked: np.ndarray  # (T,) bool: the recorded energy is -inf (never NaN)
    html: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return abs(self.weight - self.recorded_weight) <= 1e-5 + 1e-4 * abs(self.recorded_weight)


def recompute_energies(rec: "AttentionRecord") -> tuple[np.ndarray, np.ndarray, float | None]:
    """(products, energies, scale) from the record's own tensors, float64, shape (T,).

    Masked keys (recorded energy −inf) get −inf. Raises ValueError for an unknown score.
    """
    q = rec.query.astype(np.float64)
    keys = rec.keys.astype(np.float64)
    scale = None
    if rec.score == "dot":
        products = keys @ q
        energies = products.copy()
    elif rec.score == "scaled_dot":
        products = keys @ q
        scale = float(rec.terms.get("scale", 1.0 / math.sqrt(q.shape[0])))
        energies = products * scale
    elif rec.score == "general":
        products = rec.terms["Wk"].astype(np.float64) @ q
        energies = products.copy()
    elif rec.score == "bahdanau":
        products = rec.terms["tanh"].astype(np.float64) @ rec.terms["v"].astype(np.float64)
        energies = products.copy()
    else:
        raise ValueError(f"unknown score {rec.score!r}")
    masked = np.isneginf(rec.energies)
    return products, np.where(masked, -np.inf, energies), scale


def recompute_weights(rec: "AttentionRecord") -> np.ndarray:
    """softmax of :func:`recompute_energies` (T,), float64; masked keys get exactly 0."""
    _p, e, _s = recompute_energies(rec)
    finite = e[~np.isneginf(e)]
    if not finite.size:
        return np.zeros_like(e)
    ex = np.where(np.isneginf(e), 0.0, np.exp(np.where(np.isneginf(e), 0.0, e - finite.max())))
    return ex / ex.sum()


def compute(rec: "AttentionRecord", j: int) -> Explanation:
    """The explanation of weight ``j`` of ``rec``, from ``rec`` only."""
    products, energies, scale = recompute_energies(rec)
    rec_e = rec.energies.astype(np.float64)
    masked = np.isneginf(rec_e)
    finite = energies[~masked]
    m = float(finite.max()) if finite.size else 0.0
    exps = np.where(masked, 0.0, np.exp(np.where(masked, 0.0, energies - m)))
    total = float(exps.sum())
    weight = float(exps[j] / total) if total > 0 else 0.0
    return Explanation(score=rec.score, j=j, products=products, energies=energies,
                       recorded_energies=rec_e, scale=scale, max_energy=m, exps=exps, total=total,
                       weight=weight, masked=masked,
                       # a pinned record (What-if) used one-hot weights; the softmax above is
                       # checked against the weight the model itself computed
                       recorded_weight=float((rec.original_weights if rec.original_weights is not None
                                              else rec.weights)[j]))
