"""One number format for the whole window.

Every number the views draw goes through :func:`fmt` so the same quantity always shows
the same decimals, with a real minus sign (U+2212, as wide as a digit and never mistaken
for a hyphen) and "−∞" for a masked score:

- on a figure (bar ends, map cells): 3 decimals for every quantity — weights,
  probabilities, energies, vector entries, losses;
- in a worked readout (hover text, explain-a-cell): :data:`EXACT` decimals, enough to check
  the arithmetic by hand — 6 for weights, probabilities and exponentials, 4 for scores
  and vector terms.
"""

from __future__ import annotations

import math

MINUS = "\u2212"
FIGURE = 3
EXACT = {"weight": 6, "probability": 6, "exp": 6, "energy": 4, "vector": 4, "scale": 6, "loss": 4}
QUANTITIES = tuple(EXACT)


def fmt(x: float, quantity: str = "weight", *, exact: bool = False) -> str:
    """``x`` as text: :data:`FIGURE` decimals, or the worked readout's for ``quantity``.

    Raises ValueError for an unknown quantity (a typo must not silently change decimals)."""
    if quantity not in EXACT:
        raise ValueError(f"unknown quantity {quantity!r}; allowed: {', '.join(QUANTITIES)}")
    x = float(x)
    if math.isnan(x):
        return "NaN"  # an overflow, not a masked cell
    if math.isinf(x):
        return ("+" if x > 0 else MINUS) + "∞"
    nd = EXACT[quantity] if exact else FIGURE
    s = f"{x:.{nd}f}"
    if s.startswith("-"):
        s = MINUS + s[1:] if s.strip("-0.") else s[1:]  # "−0.000" reads as "0.000"
    return s


def percent(x: float) -> str:
    """A share in 0..1 as a whole percentage ("87%")."""
    return "—" if x is None or x != x else f"{float(x):.0%}"


def count(n: int) -> str:
    """A whole number with thin-space thousands groups ("18 214"): no comma or period that
    could read as a decimal point in either language."""
    return f"{int(n):,}".replace(",", "\u2009")
