"""Shared test setup: Qt runs offscreen; user files go to a temporary home; no test may
leave a QThread running."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


GUI_FIXTURES = {"qtbot", "qapp"}


def pytest_collection_modifyitems(config, items):
    """A test that uses pytest-qt's fixtures is a Qt test: mark it ``gui`` (modules and tests
    that reach Qt otherwise carry the mark themselves)."""
    for item in items:
        if GUI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _user_home(tmp_path_factory, monkeypatch):
    """Point the user's preset/cache/settings folders at a fresh temporary directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(home))
    yield home


@pytest.fixture(autouse=True)
def _no_thread_left_running(request):
    """Fail a Qt test (one using ``qtbot``) that leaves a job or a QThread running, or that
    switches Python's garbage collector off without the app's GUI-thread collector."""
    yield
    jobs = sys.modules.get("widgets.jobs")
    collector = jobs.gui_gc() if jobs is not None else None
    if collector is not None:
        collector.check()  # what its GUI-thread timer would have collected by now
    if "PySide6.QtCore" not in sys.modules or "qtbot" not in request.fixturenames:
        return
    import gc

    left = jobs.running_runners() if jobs is not None else []
    for r in left:
        r.shutdown(2000)
    # Every QThread the app starts is a runner's (test_jobs checks the source); scanning all
    # of gc.get_objects() instead cost ~80 ms a Qt test, a minute of the suite.
    running = jobs.running_threads() if jobs is not None else []
    if running:
        for t in running:
            t.quit()
            t.wait(2000)
    if left or running:
        pytest.fail(f"{request.node.nodeid} left {len(left)} job(s) and {len(running)} QThread(s) running")
    if not gc.isenabled() and (collector is None or not collector.timer.isActive()):
        # Off is allowed only while the app-wide collector (widgets.jobs.install_gui_gc)
        # collects on this, the GUI thread.
        gc.enable()
        pytest.fail(f"{request.node.nodeid} left Python's garbage collector switched off "
                    "with no GUI-thread collector running")
