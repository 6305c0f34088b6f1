"""The default view's first map, shipped as ``presets/first_map.json`` (widgets.firstmap paints
it on a first launch). A maintainer's tool, apart from :mod:`widgets.firstmap` because it
builds a window (the window imports firstmap)::

    python -m widgets.firstmap_default
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .firstmap import SHIPPED_PATH, snapshot


def default_view_snapshot() -> dict[str, Any]:
    """The map the window shows on a first launch (the default preset on its shipped model,
    its example sentence, step 0, teacher forcing), drawn by a window built offscreen."""
    import tempfile

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .mainwindow import DEFAULT_PRESET, MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat), persist=False)
        try:
            win.resize(1280, 720)
            win.load_preset(DEFAULT_PRESET)
            win.set_mode("teacher_forcing")
            win.set_step(0)
            app.processEvents()
            data = snapshot(win.views.cross_map, win.state.preset_key, win.bundle.preset.name)
        finally:
            win.shutdown()
            win.close()
            win.deleteLater()
    if data is None:
        raise ValueError("the default view has no attention map to ship")
    return data


def main() -> int:
    """``python -m widgets.firstmap_default``: write presets/first_map.json (a maintainer's tool)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from sandbox.fileio import atomic_write_text

    data = default_view_snapshot()
    atomic_write_text(SHIPPED_PATH, json.dumps(data, ensure_ascii=False, indent=1) + "\n", allow_shipped=True)
    print(f"wrote {SHIPPED_PATH} ({len(data['rows'])}×{len(data['cols'])} map of {data['preset']})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
