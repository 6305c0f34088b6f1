"""The bottleneck experiment: result shape, the expected ordering, stopping, the CLI, the view.

The ordering test uses the quick settings with seed 0 (lengths 3, 6, 9; 300 steps; 100
held-out sequences per length). Measured with seeds 0–2: at length 9 ``none`` scores
0.00–0.02 exact match while ``bahdanau`` and ``dot`` score 0.86–0.94; at length 3 every
model scores ≥ 0.98. A fixed-context GRU with 32 numbers cannot carry 9 random symbols
from the first to the last encoder step in 300 steps, while attention only has to learn
to look at position t. So the asserted margin (attention ≥ none + 0.5 at the longest
length, all ≥ 0.8 at the shortest) leaves ≥ 0.3 of headroom for platform differences in
floating point.
"""

from __future__ import annotations

import argparse
import json

import pytest

from sandbox.bottleneck import QUICK, BottleneckResult, make_datasets, run_experiment

TINY = dict(lengths=(3, 4), models=("none", "dot"), steps=20)


@pytest.fixture(scope="module")
def quick_result() -> BottleneckResult:
    return run_experiment(quick=True, seed=0)


def _check_shape(d: dict, lengths: list[int], models: list[str]) -> None:
    assert list(d)[:3] == ["lengths", "models", "metric"]
    assert d["lengths"] == lengths
    assert d["metric"] == "exact_match"
    assert list(d["models"]) == models
    for key in ("models", "token_accuracy"):
        assert set(d[key]) == set(models)
        for vals in d[key].values():
            assert len(vals) == len(lengths)
            assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in vals)
    assert d["seed"] == 0
    assert isinstance(d["seconds"], float) and d["seconds"] > 0


def test_json_has_the_contract_shape(quick_result):
    d = quick_result.to_json()
    _check_shape(d, list(QUICK.lengths), ["none", "bahdanau", "dot"])
    assert d["complete"] is True
    text = json.dumps(d, allow_nan=False)  # plain JSON: no NaN, no numpy types
    back = BottleneckResult.from_json(json.loads(text))
    assert back.models == quick_result.models and back.lengths == quick_result.lengths
    assert quick_result.models["none"] == d["models"]["none"]
    # token accuracy can never be below exact match
    for m in d["models"]:
        assert all(t >= e for t, e in zip(d["token_accuracy"][m], d["models"][m]))


def test_attention_beats_the_fixed_context_at_the_longest_length(quick_result):
    r = quick_result
    none = r.models["none"]
    for name in ("bahdanau", "dot"):
        att = r.models[name]
        assert att[0] >= 0.8 and none[0] >= 0.8, (name, att, none)
        assert att[-1] >= none[-1] + 0.5, (name, att, none)
    # the fixed context gets worse as the source grows
    assert none[-1] < none[0]


def test_held_out_sequences_are_never_trained_on():
    from sandbox.bottleneck import DEFAULT

    pools, tests = make_datasets(DEFAULT, seed=0)
    assert set(tests) == set(DEFAULT.lengths)
    assert set(pools) == set(range(min(DEFAULT.lengths), max(DEFAULT.lengths) + 1))
    for L, test in tests.items():
        test_rows = {tuple(r) for r in test.src.tolist()}
        train_rows = {tuple(r) for r in pools[L].src.tolist()}
        assert len(test_rows) == test.src.shape[0]  # distinct
        assert not test_rows & train_rows
        assert test.src.shape[1] == L + 1  # symbols + <eos>
        assert (test.tgt_out == test.src).all()  # copy: the answer is the source


def test_progress_gets_partial_results_after_each_model_and_length():
    events = []
    r = run_experiment(**TINY, seed=0, progress=events.append)
    evals = [e for e in events if e["event"] == "eval"]
    assert [(e["model"], e["length"]) for e in evals] == [("none", 3), ("none", 4), ("dot", 3), ("dot", 4)]
    first = evals[0]["result"]
    assert list(first)[:3] == ["lengths", "models", "metric"]
    assert first["models"] == {"none": [pytest.approx(evals[0]["exact_match"], abs=1e-4)]}
    assert first["complete"] is False
    assert evals[-1]["result"]["models"] == r.to_json()["models"]
    fr = [e["fraction"] for e in events]
    assert fr == sorted(fr) and 0 < fr[0] and fr[-1] <= 1.0
    assert any(e["event"] == "train" for e in events)


def test_should_stop_ends_the_run_early():
    calls = {"n": 0}

    def stop_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    r = run_experiment(quick=True, seed=0, should_stop=stop_soon)
    assert r.complete is False
    assert r.models == {}
    d = r.to_json()
    assert list(d)[:3] == ["lengths", "models", "metric"] and d["complete"] is False


def test_stop_after_the_first_model_keeps_its_scores():
    seen = []

    def progress(ev):
        seen.append(ev)

    r = run_experiment(**TINY, seed=0, progress=progress,
                       should_stop=lambda: any(e["event"] == "eval" and e["length"] == 4 for e in seen))
    assert r.complete is False
    assert list(r.models) == ["none"] and len(r.models["none"]) == 2


def test_same_seed_same_result():
    a = run_experiment(**TINY, seed=3).to_json()
    b = run_experiment(**TINY, seed=3).to_json()
    assert a["models"] == b["models"] and a["token_accuracy"] == b["token_accuracy"]


@pytest.mark.parametrize("kwargs, field", [
    (dict(models=("none", "attention")), "models"),
    (dict(lengths=(6, 3)), "lengths"),
    (dict(lengths=()), "lengths"),
    (dict(lengths=(0, 3)), "lengths"),
    (dict(steps=0), "steps"),
    (dict(task="sort"), "task"),
    (dict(seed=-1), "seed"),
])
def test_bad_settings_are_refused_with_the_field_named(kwargs, field):
    kw = dict(TINY)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=field):
        run_experiment(**kw)


def test_from_json_refuses_a_wrong_shape():
    good = {"lengths": [3, 6], "models": {"none": [1.0, 0.5]}, "metric": "exact_match"}
    assert BottleneckResult.from_json(good).models == {"none": [1.0, 0.5]}
    for bad in ({"lengths": [3, 6], "models": {"none": [1.0]}, "metric": "exact_match"},
                {"lengths": [3, 6], "models": {"none": [1.0, 1.5]}, "metric": "exact_match"},
                {"lengths": "3", "models": {}, "metric": "exact_match"},
                {"lengths": [3], "models": {"none": [1.0]}, "metric": "bleu"}, []):
        with pytest.raises(ValueError):
            BottleneckResult.from_json(bad)


# --------------------------------------------------------------------------- CLI


def _fast_cli(monkeypatch):
    """The CLI with the tiny settings (the real quick run is exercised above)."""
    import sandbox.bottleneck as bn

    real = bn.run_experiment
    monkeypatch.setattr(bn, "run_experiment", lambda **kw: real(**{**kw, "quick": False, **TINY}))


def test_cli_writes_json_and_png(qapp, tmp_path, monkeypatch, capsys):
    from PySide6.QtGui import QImage

    from widgets.bottleneck_view import cli_bottleneck

    _fast_cli(monkeypatch)
    out = tmp_path / "result.json"
    rc = cli_bottleneck(argparse.Namespace(json=str(out), quick=True, seed=0))
    assert rc == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    _check_shape(d, [3, 4], ["none", "dot"])
    png = tmp_path / "result.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = QImage(str(png))
    assert not img.isNull() and img.width() >= 400 and img.height() >= 300
    err = capsys.readouterr().err
    assert "length   3" in err and "wrote" in err
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


@pytest.mark.gui
def test_cli_refuses_a_missing_folder_before_running(tmp_path):
    from widgets.bottleneck_view import cli_bottleneck

    with pytest.raises(ValueError, match="does not exist"):
        cli_bottleneck(argparse.Namespace(json=str(tmp_path / "nope" / "r.json"), quick=True, seed=0))


def test_main_bottleneck_subcommand(qapp, tmp_path, monkeypatch):
    """Through ``main.py bottleneck``: the JSON and the PNG beside it."""
    from main import main

    _fast_cli(monkeypatch)
    assert main(["bottleneck", "--json", str(tmp_path / "r.json"), "--quick"]) == 0
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"

# --------------------------------------------------------------------------- the view


def test_view_runs_draws_live_caches_and_reloads(qtbot, _user_home):
    from widgets.bottleneck_view import BottleneckView, cache_path

    v = BottleneckView()
    qtbot.addWidget(v)
    assert v.result is None
    drawn = []
    v.resultShown.connect(lambda r: drawn.append(r))
    assert v.start(quick=True, **TINY)
    assert v.is_running and not v.run_button.isEnabled()
    qtbot.waitUntil(lambda: not v.is_running, timeout=60000)
    assert v.result is not None and v.result["complete"]
    xs, ys = v.plot.data("dot")
    assert xs == [3.0, 4.0] and ys == pytest.approx(v.result["models"]["dot"])
    assert v.progress.value() == v.progress.maximum()
    assert any(not r.get("complete") for r in drawn if r)  # partial results were drawn on the way
    path = cache_path(quick=True)
    assert path.is_file() and str(_user_home) in str(path)
    v2 = BottleneckView()
    qtbot.addWidget(v2)
    assert v2.result is not None and v2.result["models"] == v.result["models"]
    assert v2.plot.data("none")[1] == pytest.approx(v.result["models"]["none"])


def test_view_stop_joins_the_thread(qtbot):
    from widgets.bottleneck_view import BottleneckView

    v = BottleneckView(load_cache=False)
    qtbot.addWidget(v)
    events = []
    v.resultShown.connect(events.append)
    assert v.start(quick=False)  # the full run: far longer than this test
    qtbot.waitUntil(lambda: v.progress.value() > 0, timeout=30000)
    assert v.stop()  # how long stopping takes: bench/bench_jobs.py
    assert not v.is_running and v.run_button.isEnabled() and not v.stop_button.isEnabled()
    assert v.progress.format() == "stopped"
    assert v.start(quick=True, **TINY) and v.stop()  # and it can start again


def test_view_ignores_a_broken_cache(qtbot, _user_home):
    from widgets.bottleneck_view import BottleneckView, cache_path

    p = cache_path(quick=False)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("{not json", encoding="utf-8")
    v = BottleneckView()
    qtbot.addWidget(v)
    assert v.result is None and "no result yet" in v.status.text()


def test_install_bottleneck_adds_the_menu_action_and_stops_on_close(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from widgets.bottleneck_view import install_bottleneck

    win = QMainWindow()
    qtbot.addWidget(win)
    win.menuBar().addMenu("&Help")
    action = install_bottleneck(win)
    menus = {a.text().replace("&", ""): a.menu() for a in win.menuBar().actions() if a.menu()}
    assert "Experiments" in menus
    assert action in menus["Experiments"].actions() and action.text() == "Bottleneck experiment…"
    assert [a.text().replace("&", "") for a in win.menuBar().actions()][-1] == "Help"
    action.trigger()
    dlg = win.bottleneck_dialog
    assert dlg.isVisible()
    dlg.view.start(quick=False)
    qtbot.waitUntil(lambda: dlg.view.progress.value() > 0, timeout=30000)
    win.close()  # the window closing stops and joins the experiment
    assert not dlg.view.is_running
