"""Tiny presets as TOML text, shared by the trainer and checkpoint tests."""

from __future__ import annotations

import json

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
