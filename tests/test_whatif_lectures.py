"""A lecture slide may carry What-if edits (issue 15 item 4): parsed, validated with the
file, slide and field named, saved and read back, applied when the slide is traced and
checked by its claims."""

from __future__ import annotations

import dataclasses

import pytest

from sandbox.interventions import Interventions, Pin
from sandbox.lectures import LectureError, load_lecture, loads_lecture, save_lecture

LECTURE = '''title = "What if"
preset = "ko_en_cat"

[train]
steps = 3
seed = 0
required = false

[[slides]]
title = "Force"
source = "나는 작은 고양이다"
target = "I am a small cat"
mode = "free_running"
step = 3
whatif = {{ {whatif} }}  # the edit

[slides.narration]
ko = "만약에"
en = "What if"
'''


def _lecture(whatif: str):
    return loads_lecture(LECTURE.format(whatif=whatif))


def test_slide_whatif_parses_and_round_trips(tmp_path):
    lec = _lecture('force = ["3=cat"], pin = ["2=0", {step = 1, source = 1}], hide = [2]')
    s = lec.slides[0]
    assert s.whatif == Interventions({3: "cat"}, (Pin(2, 0), Pin(1, 1)), {2}) and s.beam is None
    path = tmp_path / "w.toml"
    saved = save_lecture(lec, path)
    text = path.read_text(encoding="utf-8")
    assert "# the edit" in text
    assert load_lecture(path).slides[0].whatif == s.whatif
    # an edit made in the app is saved and read back
    s2 = dataclasses.replace(saved.slides[0], whatif=Interventions({1: "am"}, (Pin(0, 0, 0, 0),)))
    save_lecture(dataclasses.replace(saved, slides=(s2,)), path)
    back = load_lecture(path).slides[0]
    assert back.whatif == Interventions({1: "am"}, (Pin(0, 0, 0, 0),))
    s3 = dataclasses.replace(back, whatif=None, beam=3)
    save_lecture(dataclasses.replace(saved, slides=(s3,)), path)
    assert load_lecture(path).slides[0].beam == 3 and load_lecture(path).slides[0].whatif is None


@pytest.mark.parametrize("whatif, field, words", [
    ('force = ["3=zebra"]', "whatif.force[0]", "zebra"),
    ('force = ["x=cat"]', "whatif.force[0]", "T=TOKEN"),
    ('pin = ["1=9"]', "whatif.pin[0]", "0–3"),
    ('hide = [7]', "whatif.hide[0]", "0 to 3"),
    ('hide = [0, 1, 2, 3]', "whatif", "all 4 source tokens"),
    ('beam = 0', "whatif.beam", ""),
    ('beam = 2, hide = [0]', "whatif.beam", "not both"),
    ('colour = 1', "whatif", "colour"),
])
def test_bad_slide_whatif_names_the_field(whatif, field, words):
    with pytest.raises(LectureError) as e:
        _lecture(whatif)
    msg = str(e.value)
    assert f"slides[0].{field}" in msg and words in msg


def test_slide_claims_are_checked_on_the_edited_trace():
    from sandbox.lecture_check import slide_claims
    from sandbox.model import Bundle
    from sandbox.claims import Expect
    from sandbox.trace import trace

    lec = _lecture('pin = ["3=0"]')
    s = dataclasses.replace(lec.slides[0], expect=(Expect(step=3, attends=("나는",), min_weight=1.0),))
    b = Bundle.from_preset(__import__("sandbox.presets", fromlist=["x"]).load_preset(
        __import__("sandbox.presets", fromlist=["x"]).find_preset("ko_en_cat")))
    # an untrained model never puts all its weight on one token by itself ...
    plain = trace(b, s.source, s.target, mode="free_running")
    assert plain.steps[3].records("cross")[0].weights[0] < 1.0
    # ... but the pinned slide does, and its claim is measured on the pinned trace
    assert all(r.holds for r in slide_claims(lec, s, b))


def test_presenting_a_slide_applies_its_whatif(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from sandbox.lectures import load_lecture_preset
    from sandbox.model import Bundle
    from widgets.mainwindow import MainWindow
    from widgets.presenter import apply_slide

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    lec = _lecture('force = ["1=cat"], hide = [0]')
    bundle = Bundle.from_preset(load_lecture_preset(lec))
    apply_slide(win, lec, lec.slides[0], {lec.preset: bundle})
    tr = win.trace
    assert tr.interventions == Interventions({1: "cat"}, hide={0})
    assert tr.steps[1].forced == "cat" and all(r.weights[0] == 0.0 for s in tr.steps for r in s.records("cross"))
    assert win.whatif.toolbar.isVisibleTo(win)
    beam = dataclasses.replace(lec.slides[0], whatif=None, beam=3)
    apply_slide(win, lec, beam, {lec.preset: bundle})
    assert win.interventions is None and "beam 1 of" in win.whatif.bar.text
    win.close()


def test_a_slide_from_the_current_view_keeps_its_edits():
    from sandbox.lectures import slide_from_view

    lec = _lecture('hide = [0]')
    iv = Interventions({1: "cat"}, (Pin(2, 1),))
    view = {"preset": "ko_en_cat", "source": "나는 작은 고양이다", "target": "I am a small cat",
            "mode": "free_running", "step": 2, "layer": 0, "head": 0, "panel": "map", "interventions": iv}
    assert slide_from_view(view, lec).whatif == iv
    assert slide_from_view({**view, "interventions": None}, lec).whatif is None
