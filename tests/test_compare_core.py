"""sandbox.compare without Qt: preset families, default columns, and the Train-all job run
the way the job runner runs it (progress, should_stop) in this thread."""

from __future__ import annotations

import torch

from helpers import tiny_preset
from sandbox.compare import TraceRequest, TrainAllJob, default_columns, families, merge_columns
from sandbox.model import Bundle
from sandbox.presets import loads_preset
from sandbox.train import Trainer


def test_families_group_presets_that_share_pairs():
    fams = {tuple(m.key for m in members) for _pairs, members in families()}
    ko = next(f for f in fams if "ko_en_cat" in f)
    assert set(ko) == {"ko_en_cat", "ko_en_cat_dot", "ko_en_cat_general", "ko_en_cat_none",
                       "ko_en_cat_scaled_dot"}
    assert ko[0] == "ko_en_cat_none"  # the bottleneck first
    en = next(f for f in fams if "en_ko_cats" in f)
    assert "en_ko_transformer" in en
    members = next(m for _p, m in families() if m[0].key == "ko_en_cat_none")
    assert default_columns(members, "ko_en_cat") == ["ko_en_cat_none", "ko_en_cat_dot", "ko_en_cat"]


def _tiny(attention: str, steps: int = 12) -> Bundle:
    text = tiny_preset(f"tiny {attention}", {"kind": "seq2seq", "cell": "gru", "attention": attention,
                                             "embed": 8, "hidden": 16},
                       {"steps": steps, "batch_size": 4, "lr": 0.01, "teacher_forcing": 1.0, "seed": 3})
    return Bundle.from_preset(loads_preset(text))


def test_train_all_trains_each_column_as_the_trainer_does():
    """Oracle: each column ends with exactly the weights a plain Trainer.run gives the same
    preset and seed; the last report per column says done, with the trace of the request."""
    reports: dict = {}

    def progress(update: dict) -> None:
        reports.update(merge_columns(reports, update))

    job = TrainAllJob([_tiny("dot"), _tiny("bahdanau")], TraceRequest("a b c", "x y z", "teacher_forcing"),
                      device="cpu")
    out = job(progress, lambda: False)
    assert out.error is None and out.started == frozenset({0, 1})
    for col, attention in enumerate(("dot", "bahdanau")):
        ref = Trainer(_tiny(attention), device="cpu")
        ref.run()
        for (name, got), (_, want) in zip(out.bundles[col].model.state_dict().items(),
                                          ref.bundle.model.state_dict().items()):
            assert torch.equal(got, want), name
        snap = reports[col]
        assert snap.status == "done" and snap.step == 12 and snap.total == 12
        assert snap.trace is not None and list(snap.trace.source_tokens[:-1]) == ["a", "b", "c"]


def test_train_all_stops_between_steps_and_leaves_later_columns_untouched():
    calls = [0]

    def should_stop() -> bool:
        calls[0] += 1
        return calls[0] > 4  # a few steps into the first column

    second = _tiny("general")
    before = {k: v.clone() for k, v in second.model.state_dict().items()}
    reports: dict = {}
    out = TrainAllJob([_tiny("dot"), second], TraceRequest("a b", None, "free_running"), device="cpu")(
        lambda u: reports.update(u), should_stop)
    assert out.started == frozenset({0})
    assert reports[0].status == "stopped" and 0 < reports[0].step < 12
    assert all(torch.equal(before[k], v) for k, v in second.model.state_dict().items())


def test_a_new_request_retraces_every_column():
    reports: list[dict] = []
    job = TrainAllJob([_tiny("dot", steps=3), _tiny("general", steps=3)],
                      TraceRequest("a b", None, "free_running"), device="cpu")
    job.set_request(TraceRequest("c a", "z x", "teacher_forcing"))
    job(reports.append, lambda: False)
    retraced = next(r for r in reports if set(r) == {0, 1})
    assert all(list(s.trace.source_tokens[:-1]) == ["c", "a"] and s.trace.mode == "teacher_forcing"
               for s in retraced.values())
