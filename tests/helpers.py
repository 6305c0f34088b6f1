"""Tiny presets as TOML text, shared by the trainer and checkpoint tests."""

from __future__ import annotations

import json
from contextlib import contextmanager

PAIRS = (("a b c", "x y z"), ("b c", "y z w"), ("c a", "z x"), ("a a b", "x x"))


def _table(header: str, values: dict) -> list[str]:
    return ["", f"[{header}]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]


def tiny_preset(name: str, model: dict, training: dict, *, pairs: int = 4, description: str | None = None,
                tokenizer: dict | None = None) -> str:
    """A preset file with the first ``pairs`` of :data:`PAIRS`."""
    lines = [f"name = {json.dumps(name)}"]
    if description is not None:
        lines.append(f"description = {json.dumps(description)}")
    lines += _table("model", model)
    if tokenizer is not None:
        lines += _table("tokenizer", tokenizer)
    lines += _table("training", training)
    for source, target in PAIRS[:pairs]:
        lines += ["", "[[pairs]]", f"source = {json.dumps(source)}", f"target = {json.dumps(target)}"]
    return "\n".join(lines) + "\n"


class CliRun:
    """What a command printed and returned, like ``subprocess.CompletedProcess``."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_main(capsys, *args: str) -> CliRun:
    """``python main.py ARGS`` in this process (the command function, not a new interpreter
    that imports torch again): exit status, stdout and stderr."""
    import main as entry

    capsys.readouterr()  # drop what the test printed before
    rc = entry.main(list(args))
    out = capsys.readouterr()
    return CliRun(int(rc), out.out, out.err)


@contextmanager
def main_window(qapp, settings_file, *, persist: bool = True, preset: str | None = None,
                size: tuple[int, int] = (1400, 900), installs: tuple = ()):
    """A shown :class:`~widgets.mainwindow.MainWindow` whose settings live in the INI file
    ``settings_file``; closed, deleted and its lectures shut down on exit. ``persist=False``:
    the window never writes its settings. ``preset``: loaded before it is shown.
    ``installs``: functions called with the window after it is shown (e.g.
    ``widgets.whatif.install_whatif``).

    Use it in a fixture (Qt is imported here, not at module level, so the core's tests that
    import this file run without Qt)::

        @pytest.fixture
        def window(qapp, tmp_path):
            with main_window(qapp, tmp_path / "w.ini") as win:
                yield win
    """
    from PySide6.QtCore import QSettings

    from widgets.mainwindow import MainWindow

    kwargs = {} if persist else {"persist": False}
    win = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat), **kwargs)
    try:
        win.resize(*size)
        if preset is not None:
            win.load_preset(preset)
        win.show()
        qapp.processEvents()
        for install in installs:
            install(win)
        yield win
    finally:
        ctl = getattr(win, "lectures", None)
        if ctl is not None:
            ctl.shutdown()
        win.close()
        win.deleteLater()
        qapp.processEvents()
