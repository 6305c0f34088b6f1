"""`main.py render`: the views at one step, offscreen, to PNG / SVG."""

from __future__ import annotations

import argparse
import os
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.gui  # needs PySide6 / pyqtgraph / pytest-qt (`pytest -m "not gui"` skips it)

pytest.importorskip("pytestqt")
from PySide6.QtGui import QImage  # noqa: E402



def _args(**kw) -> argparse.Namespace:
    base = dict(preset="ko_en_cat", source=None, target=None, mode="teacher_forcing", checkpoint=None,
                step=0, layer=0, head=0, out="out.png")
    base.update(kw)
    return argparse.Namespace(**base)


def test_render_png_seq2seq(qapp, tmp_path, capsys):
    from widgets.render import RENDER_SIZE, cli_render

    out = tmp_path / "a.png"
    assert cli_render(_args(step=2, out=str(out))) == 0
    img = QImage(str(out))
    assert not img.isNull()
    assert img.width() > RENDER_SIZE[0] // 2 and img.height() > RENDER_SIZE[1] // 2
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


def test_render_svg_transformer_layer_head(qapp, tmp_path):
    from widgets.render import cli_render

    out = tmp_path / "t.svg"
    assert cli_render(_args(preset="en_ko_transformer", step=1, layer=1, head=1, out=str(out))) == 0
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")


def test_render_own_sentence_free_running(qapp, tmp_path):
    from widgets.render import cli_render

    out = tmp_path / "f.png"
    assert cli_render(_args(source="나는 학생이다", mode="free_running", step=0, out=str(out))) == 0
    assert not QImage(str(out)).isNull()


def _trace_steps(**kw) -> int:
    """How many decoder steps ``cli_render(_args(**kw))`` traces (the same bundle, sentence
    and mode as cli_render), so a step just past the end can be asked for."""
    from sandbox.cli import load_bundle, pick_target, trace_with_flags

    args = _args(**kw)
    bundle = load_bundle(args.preset, args.checkpoint)
    source = args.source if args.source is not None else bundle.preset.pairs[0].source
    target, mode, _from, _note = pick_target(bundle.preset, source, args.target, args.mode)
    return len(trace_with_flags(bundle, source, target, mode, None).steps)


PAST_END = "past the last step"  # stands for the step count of the test's own trace


@pytest.mark.parametrize("kw, words", [
    (dict(step=PAST_END), ["--step {n}", "{n} decoder steps", "0–{last}"]),
    (dict(step=-1), ["--step -1"]),
    (dict(preset="en_ko_transformer", layer=2), ["--layer 2", "2 layer"]),
    (dict(preset="en_ko_transformer", head=9), ["--head 9"]),
    (dict(out="x.bmp"), [".bmp"]),
])
def test_bad_arguments_are_value_errors(qapp, tmp_path, kw, words):
    from widgets.render import cli_render

    kw = dict(kw)
    if kw.get("step") == PAST_END:
        n = _trace_steps(**{k: v for k, v in kw.items() if k != "step"})
        assert n >= 2
        kw["step"] = n  # one past the last valid step, whatever the sentence's length
        words = [w.format(n=n, last=n - 1) for w in words]
    kw.setdefault("out", str(tmp_path / "x.png"))
    if not os.path.isabs(kw["out"]):
        kw["out"] = str(tmp_path / kw["out"])
    with pytest.raises(ValueError) as e:
        cli_render(_args(**kw))
    for w in words:
        assert w in str(e.value)
    assert not list(tmp_path.iterdir())


def test_render_cli_exit_codes(tmp_path, qapp, capsys):
    from helpers import run_main

    out = tmp_path / "r.png"
    ok = run_main(capsys, "render", "--preset", "reverse", "--step", "3", "--out", str(out))
    assert ok.returncode == 0, ok.stderr
    assert not QImage(str(out)).isNull()
    bad = run_main(capsys, "render", "--preset", "reverse", "--step", "99", "--out", str(tmp_path / "b.png"))
    assert bad.returncode == 2
    assert "--step 99 is out of range" in bad.stderr
    assert not (tmp_path / "b.png").exists()


def test_render_views_draws_a_trace_without_a_main_window(qapp, monkeypatch):
    """render.py draws the views from (trace, step, layer, head) alone: building a MainWindow
    fails here, and what the map shows is the trace's own record of that layer and head."""
    import numpy as np

    import widgets.mainwindow
    from sandbox.model import Bundle
    from sandbox.presets import find_preset, load_preset
    from sandbox.trace import trace
    from widgets.render import render_views

    def no_window(*_a, **_k):
        raise AssertionError("render built a MainWindow")

    monkeypatch.setattr(widgets.mainwindow.MainWindow, "__init__", no_window)
    bundle = Bundle.from_preset(load_preset(find_preset("en_ko_transformer")))
    pair = bundle.preset.pairs[0]
    tr = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
    views = render_views(tr, 1, layer=1, head=1, size=(900, 600))
    try:
        assert views.trace is tr and (views.step, views.layer, views.head) == (1, 1, 1)
        rec = next(r for r in tr.steps[1].attention if (r.kind, r.layer, r.head) == ("cross", 1, 1))
        np.testing.assert_allclose(views.cross_map.full[1], rec.weights, rtol=1e-6)
        assert views.explain.explanation is not None  # the strongest weight is explained
        img = views.grab().toImage()
        assert (img.width(), img.height()) == (900, 600)
    finally:
        views.close()
        views.deleteLater()
