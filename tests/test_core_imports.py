"""The core never loads Qt (napari-style boundary), checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_sandbox_loads_no_qt():
    code = (
        "import sys, importlib, pkgutil, sandbox\n"
        "for m in pkgutil.iter_modules(sandbox.__path__):\n"
        "    importlib.import_module('sandbox.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'pyqtgraph', 'widgets'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"sandbox imported Qt-side modules: {out.stdout.strip()}"


def test_cli_module_does_not_import_torch():
    """`python main.py` must be able to show a window before torch loads."""
    code = "import sys, sandbox.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_no_core_source_line_imports_the_qt_side():
    """Lazy imports count too: no `import`/`from` of PySide6, pyqtgraph or widgets in sandbox/."""
    import re

    pattern = re.compile(r"^\s*(from|import)\s+(PySide6|PyQt\d|pyqtgraph|widgets)\b")
    offenders = [f"{p.name}:{i}" for p in sorted((ROOT / "sandbox").glob("*.py"))
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.match(line)]
    assert offenders == []
