"""Finding the numbers in a trace that are not finite, and saying where they are.

A model with huge but finite weights can overflow float32 while it runs: a score becomes
+inf, a softmax of two +inf scores becomes NaN. Those are not "masked" (a mask is an energy
of exactly −inf with a weight of exactly 0, put there on purpose), and the trace JSON cannot
hold them (JSON has no NaN; −inf is written as null and means masked). :func:`problems`
lists every such place; :func:`check_trace` raises one :class:`NonFiniteTraceError` whose
one-line message names the first steps and values that went wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:
    from .attention import AttentionRecord
    from .trace import Trace

__all__ = ["NonFiniteTraceError", "problems", "check_trace", "describe_values"]

MAX_LISTED = 3  # problems named in the one-line message


class NonFiniteTraceError(ValueError):
    """A trace holds NaN or ±inf where a finite number belongs (an overflow)."""

    def __init__(self, message: str, places: list[str]) -> None:
        super().__init__(message)
        self.places = places


def describe_values(name: str, a: np.ndarray, *, neginf_ok: bool = False) -> str | None:
    """``"energies NaN at 0, 1; +inf at 3"`` for the non-finite entries of ``a`` (None if
    there are none). ``neginf_ok``: −inf is a mask here (energies), not a problem."""
    a = np.asarray(a)
    if a.size == 0 or not np.issubdtype(a.dtype, np.floating):
        return None
    bad = ~np.isfinite(a)
    if neginf_ok:
        bad &= ~np.isneginf(a)
    if not bad.any():
        return None
    parts = []
    for label, sel in (("NaN", np.isnan(a)), ("+inf", np.isposinf(a)), ("−inf", np.isneginf(a))):
        sel = sel & bad
        if sel.any():
            idx = [",".join(map(str, i)) if len(i) > 1 else str(i[0]) for i in np.argwhere(sel)]
            more = f" and {len(idx) - 6} more" if len(idx) > 6 else ""
            parts.append(f"{label} at {', '.join(idx[:6])}{more}")
    return f"{name} " + "; ".join(parts)


def _record_problems(rec: "AttentionRecord") -> list[str]:
    out = []
    for name in ("query", "keys", "values", "energies", "weights", "output"):
        d = describe_values(name, getattr(rec, name), neginf_ok=name == "energies")
        if d:
            out.append(d)
    for name, arr in rec.terms.items():
        d = describe_values(name, arr)
        if d:
            out.append(d)
    return out


def _where(rec: "AttentionRecord", transformer: bool) -> str:
    kind = {"cross": "cross attention", "self": "encoder self-attention",
            "masked_self": "masked self-attention"}.get(rec.kind, rec.kind)
    return f"{kind} layer {rec.layer} head {rec.head}" if transformer else kind


def problems(tr: "Trace") -> Iterator[str]:
    """Every place in ``tr`` with a non-finite value, in order, e.g.
    ``"step 0: cross attention: energies NaN at 0, 1, 2"``."""
    transformer = tr.model.get("kind") == "transformer"
    for rec in tr.encoder:
        found = _record_problems(rec)
        if found:
            yield f"encoder position {rec.position}: {_where(rec, transformer)}: {'; '.join(found)}"
    d = describe_values("encoder states", tr.encoder_states)
    if d:
        yield f"encoder: {d}"
    for s in tr.steps:
        for rec in s.attention:
            found = _record_problems(rec)
            if found:
                yield f"step {s.t}: {_where(rec, transformer)}: {'; '.join(found)}"
        for name in ("state", "output", "probs"):
            arr = getattr(s, name, None)
            if arr is not None:
                d = describe_values({"probs": "output probabilities"}.get(name, name), arr)
                if d:
                    yield f"step {s.t}: {d}"


def check_trace(tr: "Trace") -> None:
    """Raise :class:`NonFiniteTraceError` if any number in ``tr`` is NaN or ±inf (−inf
    energies are masks and fine). The message is one line."""
    places = list(problems(tr))
    if not places:
        return
    shown = " | ".join(places[:MAX_LISTED])
    more = f" | … {len(places) - MAX_LISTED} more" if len(places) > MAX_LISTED else ""
    raise NonFiniteTraceError(
        f"the model's numbers overflowed float32 (its weights are too large; these are not "
        f"masked values): {shown}{more}", places)
