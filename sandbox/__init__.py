"""Attention Sandbox core: presets, tokenizers, models, attention records and traces.

Torch and numpy only. Nothing here imports Qt, pyqtgraph or ``widgets``; views read the
immutable :class:`~sandbox.trace.Trace` objects this package produces.
"""
