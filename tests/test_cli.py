"""`python main.py trace` / `presets`: outputs for every shipped preset, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli import main
from sandbox.presets import list_presets, load_preset

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


def test_presets_lists_every_shipped_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for key, _ in SHIPPED:
        assert key in out


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


BAD = {
    "unknown_preset": (["--preset", "no_such_preset", "--source", "x"], "no_such_preset"),
    "broken_preset": (["--preset", "{broken}", "--source", "x"], "broken.toml"),
    "empty_sentence": (["--preset", "ko_en_cat", "--source", "   "], "source"),
    "missing_checkpoint": (["--preset", "ko_en_cat", "--source", "나는", "--checkpoint", "{nope}"], "nope.safetensors"),
    "corrupt_checkpoint": (["--preset", "ko_en_cat", "--source", "나는", "--checkpoint", "{corrupt}"], "corrupt.safetensors"),
    "unwritable_output": (["--preset", "ko_en_cat", "--source", "나는", "--mode", "free_running"], "missing_dir"),
    "tf_without_target": (["--preset", "ko_en_cat", "--source", "나는"], "target"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_one_line_and_exit_2(case, tmp_path):
    args, needle = BAD[case]
    (tmp_path / "broken.toml").write_text("name = [unclosed\n", encoding="utf-8")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00garbage" * 10)
    args = [a.format(broken=tmp_path / "broken.toml", nope=tmp_path / "nope.safetensors",
                     corrupt=tmp_path / "corrupt.safetensors") for a in args]
    out = str(tmp_path / "missing_dir" / "t.json") if case == "unwritable_output" else str(tmp_path / "o.json")
    res = run_cli("trace", *args, "--json", out)
    assert res.returncode == 2, res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert needle in lines[0]
    assert not (tmp_path / "o.json").exists()
