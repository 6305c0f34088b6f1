"""Attention Sandbox: ``python main.py`` opens the window; ``python main.py --help`` lists
the subcommands (trace, beam, train, render, lecture, presets, bottleneck).

This file only wires the two halves together: the command line lives in ``sandbox.cli``
(the Qt-free core) and the commands that draw live in ``widgets/``.
"""

import sys

from sandbox import cli

# The commands that need Qt, as "module:function"; None is the window itself.
QT_COMMANDS = {
    None: "widgets.app:run_app",
    "render": "widgets.render:cli_render",
    "lecture": "widgets.lecture_export:cli_lecture",
    "bottleneck": "widgets.bottleneck_view:cli_bottleneck",
}


def main(argv=None) -> int:
    return cli.main(argv, QT_COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
