"""What-if edits of one trace: force a token, pin or hide attention (no Qt; torch only
when :meth:`Interventions.cross_edit` builds what a trace applies).

:class:`Interventions` is what :func:`sandbox.trace.trace` takes; see :mod:`sandbox.whatif`
for what each edit means and for beam search. This module only describes and checks edits,
so the trace can use it without importing the beam search that traces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from .attention import CrossEdit
    from .model import Bundle


class WhatIfError(ValueError):
    """A What-if edit that cannot apply to this sentence or model; the message names it."""


@dataclass(frozen=True)
class Pin:
    """Step ``step``'s cross attention put wholly on source token ``source``.

    ``layer`` / ``head``: only that Transformer layer / head (None = all of them).
    """

    step: int
    source: int
    layer: int | None = None
    head: int | None = None

    def label(self) -> str:
        where = ""
        if self.layer is not None or self.head is not None:
            where = (f" (layer {'all' if self.layer is None else self.layer}, "
                     f"head {'all' if self.head is None else self.head})")
        return f"pin {self.step}={self.source}{where}"


@dataclass(frozen=True)
class Interventions:
    """The What-if edits of one trace. Immutable; the ``with_*`` methods return new values.

    ``force``: {decoder step: output token}; ``pins``: :class:`Pin` values (at most one per
    step, layer and head); ``hide``: source token indices (0-based, ``<eos>`` included).
    """

    force: Mapping[int, str] = field(default_factory=dict)
    pins: tuple[Pin, ...] = ()
    hide: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        force = {}
        for t, tok in dict(self.force).items():
            if isinstance(t, bool) or not isinstance(t, int) or t < 0:
                raise WhatIfError(f"force {t}={tok}: the step must be a whole number ≥ 0")
            if not isinstance(tok, str) or not tok:
                raise WhatIfError(f"force {t}: the token must be a non-empty string")
            force[t] = tok
        pins = tuple(sorted(self.pins, key=lambda p: (p.step, p.layer or -1, p.head or -1)))
        seen = set()
        for p in pins:
            for name, v in (("step", p.step), ("source", p.source), ("layer", p.layer), ("head", p.head)):
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    raise WhatIfError(f"{p.label()}: the {name} must be a whole number ≥ 0")
            key = (p.step, p.layer, p.head)
            if key in seen:
                raise WhatIfError(f"{p.label()}: step {p.step} is pinned twice")
            seen.add(key)
        hide = frozenset(self.hide)
        for j in hide:
            if isinstance(j, bool) or not isinstance(j, int) or j < 0:
                raise WhatIfError(f"hide-source {j}: the source index must be a whole number ≥ 0")
        object.__setattr__(self, "force", dict(sorted(force.items())))
        object.__setattr__(self, "pins", pins)
        object.__setattr__(self, "hide", hide)

    @property
    def empty(self) -> bool:
        return not (self.force or self.pins or self.hide)

    def cross_edit(self) -> CrossEdit | None:
        """What :func:`~sandbox.attention.attend` applies (None when nothing is pinned or hidden)."""
        if not (self.pins or self.hide):
            return None
        from .attention import CrossEdit  # torch: only when a trace runs

        return CrossEdit(hide=self.hide,
                         pins=tuple((p.step, p.source, p.layer, p.head) for p in self.pins))

    # -- editing ------------------------------------------------------------------------
    def with_force(self, step: int, token: str | None) -> "Interventions":
        """Force ``token`` at ``step`` (None removes the force there)."""
        force = dict(self.force)
        force.pop(step, None)
        if token is not None:
            force[step] = token
        return Interventions(force, self.pins, self.hide)

    def with_pin(self, pin: Pin | None, step: int | None = None) -> "Interventions":
        """Add ``pin`` (replacing pins at its step); ``pin=None`` removes every pin at ``step``."""
        at = pin.step if pin is not None else step
        pins = tuple(p for p in self.pins if p.step != at)
        return Interventions(self.force, pins + ((pin,) if pin is not None else ()), self.hide)

    def with_hidden(self, source: int, hidden: bool = True) -> "Interventions":
        hide = set(self.hide)
        (hide.add if hidden else hide.discard)(source)
        return Interventions(self.force, self.pins, frozenset(hide))

    # -- text ---------------------------------------------------------------------------
    def describe(self, source_tokens: Iterable[str] | None = None) -> list[str]:
        """One short line per edit, e.g. ``force step 2 → small``, ``hide 나는 (0)``."""
        toks = list(source_tokens) if source_tokens is not None else None

        def src(j: int) -> str:
            return f"{toks[j]} ({j})" if toks is not None and 0 <= j < len(toks) else f"source {j}"

        out = [f"force step {t} → {tok}" for t, tok in self.force.items()]
        for p in self.pins:
            where = ""
            if p.layer is not None or p.head is not None:
                where = (f" in layer {'*' if p.layer is None else p.layer}, "
                         f"head {'*' if p.head is None else p.head}")
            out.append(f"pin step {p.step} → {src(p.source)}{where}")
        out += [f"hide {src(j)}" for j in sorted(self.hide)]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "force": [{"step": t, "token": tok} for t, tok in self.force.items()],
            "pin": [{"step": p.step, "source": p.source, "layer": p.layer, "head": p.head}
                    for p in self.pins],
            "hide": sorted(self.hide),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "Interventions":
        """Inverse of :meth:`to_json`; a malformed value raises :class:`WhatIfError`."""
        try:
            force = {int(f["step"]): str(f["token"]) for f in obj.get("force", ())}
            pins = tuple(Pin(int(p["step"]), int(p["source"]),
                             None if p.get("layer") is None else int(p["layer"]),
                             None if p.get("head") is None else int(p["head"]))
                         for p in obj.get("pin", ()))
            hide = frozenset(int(j) for j in obj.get("hide", ()))
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            raise WhatIfError(f"interventions: cannot read {json.dumps(obj, ensure_ascii=False)[:80]} ({e})") from None
        return cls(force, pins, hide)


def check_interventions(iv: Interventions, bundle: "Bundle", n_source: int,
                        n_steps: int | None) -> dict[int, int]:
    """Check ``iv`` against the model and the sentence; returns the forced token ids by step.

    ``n_steps`` is the number of decoder steps (None: not known yet, free running before
    it ran). Raises :class:`WhatIfError` naming the first edit that cannot apply.
    """
    vocab = bundle.tgt_vocab
    model = bundle.preset.model
    forced: dict[int, int] = {}
    last = None if n_steps is None else n_steps - 1
    for t, tok in iv.force.items():
        if last is not None and t > last:
            raise WhatIfError(f"force {t}={tok}: there is no step {t}; this decode has steps 0–{last}")
        if tok not in vocab:
            raise WhatIfError(f"force {t}={tok}: “{tok}” is not in the model's target vocabulary "
                              f"({len(vocab)} tokens)")
        forced[t] = vocab.id(tok)
    if iv.pins or iv.hide:
        if model.kind == "seq2seq" and model.attention == "none":
            raise WhatIfError("this model has no attention to pin or hide (attention = \"none\")")
    layers = model.layers if model.kind == "transformer" else 1
    heads = model.heads if model.kind == "transformer" else 1
    for j in sorted(iv.hide):
        if j >= n_source:
            raise WhatIfError(f"hide-source {j}: the source has tokens 0–{n_source - 1}")
    if len(iv.hide) >= n_source:
        raise WhatIfError(f"hide-source: all {n_source} source tokens hidden; attention needs one to look at")
    for p in iv.pins:
        if last is not None and p.step > last:
            raise WhatIfError(f"{p.label()}: there is no step {p.step}; this decode has steps 0–{last}")
        if p.source >= n_source:
            raise WhatIfError(f"{p.label()}: the source has tokens 0–{n_source - 1}")
        if p.source in iv.hide:
            raise WhatIfError(f"{p.label()}: source token {p.source} is hidden")
        if p.layer is not None and p.layer >= layers:
            raise WhatIfError(f"{p.label()}: the model has layers 0–{layers - 1}")
        if p.head is not None and p.head >= heads:
            raise WhatIfError(f"{p.label()}: the model has heads 0–{heads - 1}")
    return forced


def parse_step_value(text: str, flag: str, what: str) -> tuple[int, str]:
    """``"T=VALUE"`` -> (T, VALUE) for the command line; a bad one raises WhatIfError."""
    step, sep, value = text.partition("=")
    step = step.strip()
    if not sep or not step.isdigit() or not value.strip():
        raise WhatIfError(f"{flag} {text!r}: expected T={what} with T a decoder step (0, 1, ...)")
    return int(step), value.strip()
