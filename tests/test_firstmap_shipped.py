"""The first launch paints the default view's map at once (presets/first_map.json), and that
file is exactly what the live views show for the default preset's shipped model."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui

from PySide6.QtCore import QSettings  # noqa: E402


def test_the_shipped_first_map_is_the_live_default_view(qapp):
    from widgets import firstmap
    from widgets.firstmap_default import default_view_snapshot

    shipped = json.loads(firstmap.SHIPPED_PATH.read_text(encoding="utf-8"))
    assert firstmap.load(firstmap.SHIPPED_PATH) == shipped  # a valid cached map
    live = default_view_snapshot()
    assert live == shipped, "presets/first_map.json is stale: run `python -m widgets.firstmap_default`"
    # and it is a trained model's picture: step 0 ("I") looks at 나는
    row = shipped["values"][0]
    assert shipped["cols"][row.index(max(row))] == "나는"


def test_a_first_launch_paints_the_shipped_map_a_later_one_its_own(qtbot, tmp_path):
    from widgets import firstmap
    from widgets.mainwindow import MainWindow

    def placeholder(ini):
        w = MainWindow(deferred=True, settings=QSettings(str(ini), QSettings.Format.IniFormat), persist=False)
        qtbot.addWidget(w)
        return w.placeholder

    first = placeholder(tmp_path / "new.ini")  # nothing saved yet, no cached map
    assert isinstance(first, firstmap.CachedMap)
    assert first.data == firstmap.load(firstmap.SHIPPED_PATH) and first.note == firstmap.SHIPPED_NOTE
    # a user who has opened another preset before, with no cached map: no default picture
    ini = tmp_path / "used.ini"
    s = QSettings(str(ini), QSettings.Format.IniFormat)
    s.setValue("last_preset", "reverse")
    s.sync()
    assert not isinstance(placeholder(ini), firstmap.CachedMap)
