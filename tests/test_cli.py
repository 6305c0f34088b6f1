"""`python main.py trace` / `presets`: outputs for every shipped preset, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli import main
from sandbox.presets import list_presets, load_preset

from helpers import run_main

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [(k, p) for k, p, user in list_presets() if not user]


@pytest.mark.parametrize("mode", ["teacher_forcing", "free_running"])
@pytest.mark.parametrize("key,path", SHIPPED, ids=[k for k, _ in SHIPPED])
def test_trace_every_shipped_preset(key, path, mode, tmp_path):
    pair = load_preset(path).pairs[0]
    out = tmp_path / "t.json"
    rc = main(["trace", "--preset", key, "--source", pair.source, "--target", pair.target,
               "--mode", mode, "--json", str(out)])
    assert rc == 0
    obj = json.loads(out.read_text(encoding="utf-8"))
    assert obj["preset"] == key and obj["mode"] == mode and obj["steps"]


def test_trace_is_reproducible_untrained(tmp_path):
    key, path = SHIPPED[0]
    pair = load_preset(path).pairs[0]
    texts = []
    for i in range(2):
        out = tmp_path / f"{i}.json"
        assert main(["trace", "--preset", key, "--source", pair.source, "--target", pair.target,
                     "--json", str(out)]) == 0
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]


def test_trace_to_stdout(capsys):
    key, path = SHIPPED[0]
    pair = load_preset(path).pairs[0]
    assert main(["trace", "--preset", key, "--source", pair.source, "--mode", "free_running",
                 "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "free_running"


def test_trace_to_stdout_is_utf8_whatever_the_locale():
    """The subprocess smoke test: a real `python main.py` under an ASCII locale."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    res = subprocess.run([sys.executable, "main.py", "trace", "--preset", "ko_en_cat", "--source",
                          "나는 고양이로소이다", "--mode", "free_running", "--json", "-"], cwd=ROOT,
                         capture_output=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr.decode("utf-8", "replace")
    assert json.loads(res.stdout.decode("utf-8"))["source_tokens"] == ["나는", "고양이로소이다", "<eos>"]


def test_presets_lists_every_shipped_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for key, _ in SHIPPED:
        assert key in out


BAD = {
    "unknown_preset": (["--preset", "no_such_preset", "--source", "x"], "no_such_preset"),
    "broken_preset": (["--preset", "{broken}", "--source", "x"], "broken.toml"),
    "empty_sentence": (["--preset", "ko_en_cat", "--source", "   "], "source"),
    "missing_checkpoint": (["--preset", "ko_en_cat", "--source", "나는", "--checkpoint", "{nope}"], "nope.safetensors"),
    "corrupt_checkpoint": (["--preset", "ko_en_cat", "--source", "나는", "--checkpoint", "{corrupt}"], "corrupt.safetensors"),
    "unwritable_output": (["--preset", "ko_en_cat", "--source", "나는", "--mode", "free_running"], "missing_dir"),
    # (a source without a target is no longer an error: issue 13 item 6, tests/test_faults.py)
    # thousands of words would write a trace of gigabytes (keys × steps); refused like a preset
    "overlong_source": (["--preset", "ko_en_cat", "--source", " ".join(["나는"] * 3000),
                         "--mode", "free_running"], "--source"),
    "overlong_target": (["--preset", "ko_en_cat", "--source", "나는", "--target", "cat " * 60], "--target"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_one_line_and_exit_2(case, tmp_path, capsys):
    args, needle = BAD[case]
    (tmp_path / "broken.toml").write_text("name = [unclosed\n", encoding="utf-8")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00garbage" * 10)
    args = [a.format(broken=tmp_path / "broken.toml", nope=tmp_path / "nope.safetensors",
                     corrupt=tmp_path / "corrupt.safetensors") for a in args]
    out = str(tmp_path / "missing_dir" / "t.json") if case == "unwritable_output" else str(tmp_path / "o.json")
    res = run_main(capsys, "trace", *args, "--json", out)
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert needle in lines[0]
    assert not (tmp_path / "o.json").exists()
