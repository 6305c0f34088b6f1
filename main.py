"""Attention Sandbox: ``python main.py`` opens the window; ``python main.py --help`` lists
the subcommands (trace, train, render, lecture, presets, bottleneck).

This file only wires things together; the logic lives in ``sandbox/`` (core, no Qt) and
``widgets/`` (the window).
"""

import sys

from sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
