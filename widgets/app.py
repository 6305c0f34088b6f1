"""``python main.py``: show the window first, then load torch behind it.

Nothing heavy is imported before ``show()``: PySide6 and the window shell only. The
window opens in a "loading…" state; torch, the preset and the first trace load on a
background thread while pyqtgraph and the views are built (DESIGN.md: launch to window
visible ≤ 1 s on two cores).

``ATTENTION_SANDBOX_LAUNCH_PROBE=shown`` prints ``LAUNCH shown <unix time>`` when the
window first paints and quits; ``=ready`` waits for the first trace (bench/bench_launch.py);
``=map`` when the first attention map is painted (the cached one from the last session,
else the live one); ``=train`` starts training and closes the window mid-training (tests: exit status 0).
"""

from __future__ import annotations

import os
import sys
import time

PROBE_ENV = "ATTENTION_SANDBOX_LAUNCH_PROBE"
EDITOR_VISIBLE_KEY = "editor/visible"


def install_extras(win) -> None:
    """Add the preset editor, lectures, compare view, bottleneck experiment, what-if and beam
    search (once).

    Each part is installed on its own: one that fails (a bad draft, a broken user file, a
    bug) is reported in the window's banner and on stderr, and the others still install."""
    if win.extras_installed:
        return
    win.extras_installed = True
    failed: list[str] = []

    def part(name: str, install) -> None:
        try:
            install()
        except Exception as e:  # noqa: BLE001 - one part must not take the others down
            failed.append(f"{name}: {type(e).__name__}: {' '.join(str(e).split())}")
            print(f"warning: the {name} could not start: {type(e).__name__}: {e}", file=sys.stderr)

    def editor() -> None:
        from .editor_install import install_editor
        from .settings import read_str

        win.editor = install_editor(win)
        # The editor dock starts closed (View ▸ Preset editor, Ctrl+Shift+E): open, it takes a
        # third of the window from the map and the step anatomy. The choice is remembered.
        settings = getattr(win, "settings", None)
        shown = settings is not None and read_str(settings, EDITOR_VISIBLE_KEY, "false").lower() == "true"
        win.preset_editor_dock.setVisible(shown)

    def lectures() -> None:
        from .lecture_export import install_export
        from .presenter import install_lectures

        win.lectures = install_lectures(win)
        install_export(win.lectures)  # Lecture ▸ Export… (the export imports the presenter, not back)

    def compare() -> None:
        from .compare import install_compare

        install_compare(win)

    def bottleneck() -> None:
        from .bottleneck_view import install_bottleneck

        install_bottleneck(win)

    def whatif() -> None:
        from .whatif import install_whatif

        install_whatif(win)

    def beam() -> None:
        from .beam import install_beam

        install_beam(win)

    def import_pairs() -> None:
        from .import_pairs import install_import_pairs

        install_import_pairs(win)

    for name, install in (("preset editor", editor), ("lecture menu", lectures), ("compare view", compare),
                          ("bottleneck experiment", bottleneck), ("what-if tools", whatif),
                          ("beam search", beam), ("pair import", import_pairs)):
        part(name, install)
    if hasattr(win, "fit_menu_fonts"):
        win.fit_menu_fonts()  # the menus just added take the window's text size
    if failed and hasattr(win, "show_banner"):
        import html

        win.show_banner(html.escape("could not start " + "; ".join(failed)), "error")


def run_app(argv: list[str] | None = None) -> int:
    from PySide6.QtCore import QTimer

    from .jobs import install_gui_gc
    from .qtcompat import headless_app
    from .settings import APPLICATION, ORGANIZATION

    app = headless_app(list(argv) if argv is not None else sys.argv[:1], override=False)
    install_gui_gc()  # Python's cyclic GC runs on this thread only (widgets.jobs)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Attention Sandbox")

    from .mainwindow import MainWindow

    win = MainWindow(deferred=True)
    probe = os.environ.get(PROBE_ENV, "")
    if probe:
        reported: list[str] = []

        def report(what: str) -> None:
            if reported:
                return
            reported.append(what)
            print(f"LAUNCH {what} {time.time():.6f}", flush=True)
            win.close()

        if probe in ("type", "restore"):
            pass  # widgets.probes, wired below
        elif probe == "ready":
            win.ready.connect(lambda: report("ready"))
        elif probe == "map":  # the first attention map painted: the cached one, else the live one
            from .firstmap import CachedMap

            if isinstance(win.placeholder, CachedMap):
                win.firstShown.connect(lambda: report("map") if win.placeholder.painted else None)
            win.ready.connect(lambda: report("map"))
        elif probe == "train":  # start training, close the window mid-training (tests)
            win.ready.connect(lambda: win.start_training(steps=100000))
            win.training.snapshot.connect(lambda _s: report("training"))
        else:
            win.firstShown.connect(lambda: report("shown"))
    # Load only once the "loading…" window is on screen: torch's import on the loader
    # thread would otherwise compete with the first paint for the GIL.
    win.firstShown.connect(win.start_loading)
    # The editor, lectures, compare view and bottleneck experiment plug in through their
    # install_* hooks once the first trace is on screen (they cost ~0.2 s to build).
    win.ready.connect(lambda: install_extras(win))
    if probe:
        from .probes import install_probe

        install_probe(win, probe)  # "type" / "restore": the kill-while-typing test's hooks
    win.show()
    QTimer.singleShot(3000, win.start_loading)  # in case no paint ever arrives
    app.aboutToQuit.connect(win.shutdown)
    rc = app.exec()
    win.shutdown()
    # Tear the window down while the QApplication still exists (avoids a crash at exit).
    win.deleteLater()
    app.processEvents()
    del win
    import gc

    gc.collect()
    return int(rc)
