"""The layering and cycle rules in pyproject.toml ([tool.importlinter]), checked with
import-linter: the core never imports Qt, pyqtgraph, shiboken6 or widgets; widgets sits above
sandbox; no two sibling modules import each other, directly or round a loop."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("importlinter")


def _lint(root: Path) -> int:
    from importlinter.cli import lint_imports

    old_cwd, old_path = os.getcwd(), list(sys.path)
    # The linter finds the packages by name: set the imported project aside so a toy tree's
    # `sandbox` and `widgets` are the ones analysed (nothing is imported while it runs).
    aside = {n: m for n, m in sys.modules.items() if n.split(".")[0] in ("sandbox", "widgets")}
    if root != ROOT:
        for n in aside:
            del sys.modules[n]
    os.chdir(root)
    sys.path.insert(0, str(root))
    try:
        return lint_imports(config_filename=str(root / "pyproject.toml"), no_cache=True, no_logo=True)
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        sys.modules.update(aside)


def test_the_project_keeps_its_import_contracts():
    assert _lint(ROOT) == 0


def _toy(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of the project's contracts over a two-package toy tree."""
    # the project's contracts, less the known cycles it lists (they do not exist here)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^ignore_imports = \[.*?^\]\n", "", text)
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    for pkg in ("sandbox", "widgets"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


# Each case breaks exactly one rule; the same check must catch it.
@pytest.mark.parametrize("files", [
    {"sandbox/core.py": "def f():\n    from PySide6 import QtCore\n"},  # a lazy Qt import in the core
    {"sandbox/core.py": "import widgets.view\n", "widgets/view.py": ""},  # the core reaching up
    {"sandbox/a.py": "from . import b\n", "sandbox/b.py": "from . import a\n"},  # a cycle
    {"widgets/a.py": "from . import b\n", "widgets/b.py": "from . import c\n",
     "widgets/c.py": "from . import a\n"},  # a longer cycle
], ids=["core-imports-qt", "core-imports-widgets", "cycle-in-sandbox", "cycle-in-widgets"])
def test_the_contracts_catch_a_broken_rule(tmp_path, files, capsys):
    assert _lint(_toy(tmp_path, {"sandbox/ok.py": "import torch\n", "widgets/ok.py": "import sandbox.ok\n",
                                 **files})) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_a_clean_toy_tree_passes(tmp_path):
    assert _lint(_toy(tmp_path, {"sandbox/ok.py": "import torch\n",
                                 "widgets/ok.py": "import PySide6\nimport sandbox.ok\n"})) == 0
