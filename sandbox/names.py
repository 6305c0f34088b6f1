"""The names every layer agrees on, in one home (no torch: the window imports this before
torch loads).

- ``MODES``: how a trace feeds the decoder (DESIGN.md "Trace").
- ``KINDS``, ``CELLS``, ``ATTENTIONS``: a preset's ``model.kind``, ``model.cell`` and
  ``model.attention`` (DESIGN.md "Preset file").
- ``PANELS``: the window's views, by the names lectures and ``focus_panel`` use.
"""

from __future__ import annotations

__all__ = ["MODES", "KINDS", "CELLS", "ATTENTIONS", "PANELS"]

MODES = ("teacher_forcing", "free_running")
KINDS = ("seq2seq", "transformer")
CELLS = ("rnn", "gru", "lstm")
ATTENTIONS = ("none", "dot", "scaled_dot", "general", "bahdanau")
PANELS = ("map", "anatomy", "encoder_self", "masked_self", "cross", "positions", "explain", "heads")
