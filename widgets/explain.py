"""Explain a cell: one attention weight's arithmetic with the record's own numbers.

:func:`explain` lays out, as HTML, what :func:`sandbox.explain.compute` recomputes from
one :class:`~sandbox.attention.AttentionRecord` alone: the score of every key (the q·k
products, ``general``'s q·(Wk)_j, ``bahdanau``'s additive terms, the scale), each
exp(e_i − max), their sum and the weight — checked against the weight the model recorded.
:class:`ExplainView` shows it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PySide6.QtWidgets import QTextBrowser

from sandbox.explain import Explanation, compute  # noqa: F401 - the arithmetic lives in the core

from .numfmt import fmt

if TYPE_CHECKING:
    from sandbox.attention import AttentionRecord

FORMULAS = {
    "dot": "e<sub>j</sub> = q · k<sub>j</sub>",
    "scaled_dot": "e<sub>j</sub> = q · k<sub>j</sub> / √d",
    "general": "e<sub>j</sub> = qᵀ W k<sub>j</sub> = q · (W k<sub>j</sub>)",
    "bahdanau": "e<sub>j</sub> = vᵀ tanh(W<sub>1</sub>h<sub>j</sub> + W<sub>2</sub>s<sub>t−1</sub>)",
}
MAX_TERMS = 8


def _f(x: float, quantity: str = "energy") -> str:
    """A number as shown in a worked readout (widgets.numfmt): −∞ for a masked score,
    +∞ and NaN for an overflow (never "masked")."""
    return fmt(x, quantity, exact=True)


def _terms_line(a: np.ndarray, b: np.ndarray) -> str:
    n = a.shape[0]
    parts = [f"({_f(float(x), 'vector')})·({_f(float(y), 'vector')})" for x, y in zip(a[:MAX_TERMS], b[:MAX_TERMS])]
    more = f" + … ({n - MAX_TERMS} more terms)" if n > MAX_TERMS else ""
    return " + ".join(parts) + more


def explain(rec: "AttentionRecord", j: int, key_tokens: Sequence[str], query_label: str,
            title: str = "") -> Explanation:
    """The explanation of weight ``j`` of ``rec`` as HTML (and plain lines for copying)."""
    ex = compute(rec, j)
    T = rec.energies.shape[0]
    tok = lambda i: html.escape(key_tokens[i] if i < len(key_tokens) else str(i))  # noqa: E731
    jt = tok(j)
    h: list[str] = []
    lines: list[str] = []
    if rec.original_weights is not None:
        h.append(f"<h3 style='margin:2px 0'>α<sub>{j}</sub> is pinned to {_f(float(rec.weights[j]), 'weight')}; "
                 f"the model's own α<sub>{j}</sub> = {_f(ex.recorded_weight, 'weight')}. Why?</h3>")
    else:
        h.append(f"<h3 style='margin:2px 0'>Why is α<sub>{j}</sub> = {_f(ex.recorded_weight, 'weight')}?</h3>")
    h.append(f"<div>{html.escape(title)}query: <b>{html.escape(query_label)}</b>, key j = {j} "
             f"“<b>{jt}</b>” · score <b>{rec.score}</b>: {FORMULAS[rec.score]}</div>")
    if rec.original_weights is not None:
        used = int(np.argmax(rec.weights))
        h.append(f"<div style='color:#bc4c00'><b>What-if:</b> this step's attention is pinned to key {used} "
                 f"“{tok(used)}”: the weight used here is {_f(float(rec.weights[j]), 'weight')} (one-hot) and the "
                 f"output is v<sub>{used}</sub>. Below is the weight the model itself computed.</div>")
    # 1. the score of the clicked key, term by term
    h.append("<p style='margin:6px 0 2px 0'><b>1. Score of key j</b></p>")
    q = rec.query.astype(np.float64)
    if ex.masked[j]:
        h.append(f"<div>key {j} is masked (may not attend): e<sub>{j}</sub> = −∞ and its weight is exactly 0.</div>")
    elif rec.score in ("dot", "scaled_dot"):
        k = rec.keys[j].astype(np.float64)
        h.append(f"<div>q · k<sub>{j}</sub> = {_terms_line(q, k)} = <b>{_f(ex.products[j])}</b></div>")
        if rec.score == "scaled_dot":
            d = q.shape[0]
            h.append(f"<div>scale = 1/√d = 1/√{d} = {_f(ex.scale, 'scale')}; "
                     f"e<sub>{j}</sub> = {_f(ex.products[j])} × {_f(ex.scale, 'scale')} = <b>{_f(ex.energies[j])}</b></div>")
    elif rec.score == "general":
        wk = rec.terms["Wk"][j].astype(np.float64)
        h.append(f"<div>q · (W k<sub>{j}</sub>) = {_terms_line(q, wk)} = <b>{_f(ex.products[j])}</b></div>")
    else:  # bahdanau
        w1h = rec.terms["W1h"][j].astype(np.float64)
        w2s = rec.terms["W2s"].astype(np.float64)
        th = rec.terms["tanh"][j].astype(np.float64)
        v = rec.terms["v"].astype(np.float64)
        rows = []
        for a in range(min(MAX_TERMS, w1h.shape[0])):
            rows.append(f"<tr><td>{a}</td><td>{_f(w1h[a])}</td><td>{_f(w2s[a])}</td>"
                        f"<td>{_f(w1h[a] + w2s[a])}</td><td>{_f(th[a])}</td><td>{_f(v[a])}</td>"
                        f"<td>{_f(v[a] * th[a])}</td></tr>")
        more = (f"<tr><td colspan=7>… {w1h.shape[0] - MAX_TERMS} more components</td></tr>"
                if w1h.shape[0] > MAX_TERMS else "")
        h.append("<table border=0 cellspacing=0 cellpadding=2 style='white-space:nowrap'>"
                 "<tr><th>a</th><th>(W₁h<sub>j</sub>)<sub>a</sub></th><th>(W₂s)<sub>a</sub></th>"
                 "<th>sum</th><th>tanh</th><th>v<sub>a</sub></th><th>v<sub>a</sub>·tanh</th></tr>"
                 + "".join(rows) + more + "</table>")
        h.append(f"<div>e<sub>{j}</sub> = Σ<sub>a</sub> v<sub>a</sub>·tanh(…) = <b>{_f(ex.energies[j])}</b></div>")
    # 2. every score, its exp
    h.append("<p style='margin:6px 0 2px 0'><b>2. Softmax over all keys</b> "
             f"(subtract the largest score, max = {_f(ex.max_energy)}, so exp never overflows)</p>")
    head = "q·k<sub>i</sub>" if rec.score in ("dot", "scaled_dot") else (
        "q·(Wk)<sub>i</sub>" if rec.score == "general" else "vᵀtanh(…)")
    h.append("<table border=1 cellspacing=0 cellpadding=3 style='border-collapse:collapse; white-space:nowrap'>"
             f"<tr><th>i</th><th>token</th><th>{head}</th><th>e<sub>i</sub></th>"
             "<th>recorded e<sub>i</sub></th><th>exp(e<sub>i</sub> − max)</th></tr>")
    for i in range(T):
        style = " style='background:#fff3b0'" if i == j else ""
        prod = "—" if ex.masked[i] else _f(ex.products[i])
        h.append(f"<tr{style}><td>{i}</td><td>{tok(i)}</td><td>{prod}</td><td>{_f(ex.energies[i])}</td>"
                 f"<td>{_f(ex.recorded_energies[i])}</td><td>{_f(ex.exps[i], 'exp')}</td></tr>")
        lines.append(f"i={i} {key_tokens[i] if i < len(key_tokens) else i}: e={_f(ex.energies[i])} "
                     f"exp={_f(ex.exps[i], 'exp')}")
    h.append("</table>")
    sum_terms = " + ".join(_f(float(x), 'exp') for x in ex.exps[:12]) + (" + …" if T > 12 else "")
    h.append(f"<p style='margin:6px 0 2px 0'>Σ<sub>i</sub> exp(e<sub>i</sub> − max) = {sum_terms} "
             f"= <b>sum = {_f(ex.total, 'exp')}</b></p>")
    h.append(f"<p style='margin:2px 0'><b>3. The weight</b>: α<sub>{j}</sub> = exp(e<sub>{j}</sub> − max) / Σ = "
             f"{_f(ex.exps[j], 'exp')} / {_f(ex.total, 'exp')} = <b>weight = {_f(ex.weight, 'weight')}</b></p>")
    ok = ex.matches
    colour = "#1a7f37" if ok else "#cf222e"
    own = " (the model's own, before pinning)" if rec.original_weights is not None else ""
    h.append(f"<p style='margin:2px 0;color:{colour}'>recorded weight{own} = {_f(ex.recorded_weight, 'weight')} "
             f"{'✓ matches' if ok else '✗ does not match'}</p>")
    lines.append(f"sum = {_f(ex.total, 'exp')}")
    lines.append(f"weight = {_f(ex.weight, 'weight')}")
    lines.append(f"recorded weight = {_f(ex.recorded_weight, 'weight')}")
    ex.html = "".join(h)
    ex.lines = lines
    return ex


class ExplainView(QTextBrowser):
    """Shows the explanation of the clicked cell (or a hint to click one)."""

    HINT = ("<p style='color:#555'>Click any cell of an attention map to see how that weight "
            "was computed: the scores, the exponentials, their sum and the softmax — with "
            "the model's own numbers.</p>")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.explanation: Explanation | None = None
        self.setHtml(self.HINT)
        self.setMinimumWidth(220)

    def show_explanation(self, ex: Explanation | None, message: str | None = None) -> None:
        self.explanation = ex
        if ex is None:
            self.setHtml(f"<p style='color:#555'>{html.escape(message)}</p>" if message else self.HINT)
        else:
            self.setHtml(ex.html)
