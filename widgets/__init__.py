"""The Qt side of Attention Sandbox (PySide6 + pyqtgraph).

Views render immutable :class:`sandbox.trace.Trace` snapshots — ``(trace, step, layer,
head)`` in, pixels out — and never touch a model that is training. Modules here import
``sandbox``; ``sandbox`` never imports them.

Only :mod:`widgets.app` and :mod:`widgets.mainwindow` are imported before the window is
shown; everything heavy (torch, pyqtgraph) loads after it.
"""
