"""What-if in the window (issue 15): top-k click forces, context menus pin and hide, the
beam panel, one click back. Numbers are read back from the widgets and compared with a
trace made directly by the core with the same interventions."""

from __future__ import annotations

import html

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui
from PySide6.QtCore import QPointF, Qt  # noqa: E402

from sandbox.trace import trace  # noqa: E402
from sandbox.whatif import Interventions, Pin  # noqa: E402
from helpers import main_window  # noqa: E402


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    from widgets.beam import install_beam
    from widgets.whatif import install_whatif

    ini = tmp_path_factory.mktemp("settings") / "window.ini"
    with main_window(qapp, ini, installs=(install_whatif, install_beam)) as win:
        yield win


def _first_action(menu, starts: str):
    for a in menu.actions():
        if a.text().startswith(starts):
            return a
    raise AssertionError(f"no action starting {starts!r} in {[a.text() for a in menu.actions()]}")


def test_click_on_a_top_k_bar_forces_that_token(window, qtbot):
    window.load_preset("ko_en_cat")
    window.set_mode("free_running")
    window.set_step(1)
    an = window.views.anatomy
    base = window.trace
    token = an.topk_tokens[2]
    # the click itself: the centre of the third bar's row in the top-k plot
    vb = an.topk_plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(0.2, 2.0))
    assert an.topk_token_at(scene) == token
    got = []
    an.topkClicked.connect(lambda t, tok: got.append((t, tok)))
    view_pos = an.gw.mapFromScene(scene)
    qtbot.mouseClick(an.gw.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert got == [(1, token)]
    tr = window.trace
    want = trace(window.bundle, base.source_tokens and window.current_view()["source"],
                 window.current_view()["target"], mode="free_running",
                 interventions=Interventions(force={1: token}))
    assert tr.steps[1].forced == token and tr.output_tokens == want.output_tokens
    assert len(tr.steps) < 2 or tr.steps[2].input_from == "forced"
    ctl = window.whatif
    assert ctl.toolbar.isVisible()
    text = ctl.bar.text
    # the bar is rich text: a token such as <eos> is escaped in it
    assert f"force step 1 → {html.escape(token)}" in text
    assert "original: " + html.escape(" ".join(base.output_tokens)) in text
    window.set_step(1)
    assert "what-if" in an.header.toolTip() and "forced output" in an.header.toolTip()
    # one click back to the model's own run
    ctl.bar.reset_button.click()
    assert window.interventions is None and not ctl.toolbar.isVisible()
    assert window.trace.output_tokens == base.output_tokens
    np.testing.assert_array_equal(window.trace.steps[0].probs, base.steps[0].probs)


def test_cell_menu_pins_and_column_menu_hides(window, qtbot):
    window.load_preset("ko_en_cat")
    window.set_mode("teacher_forcing")
    ctl = window.whatif
    cv = window.current_view()
    menu = ctl.cell_menu(2, 0)
    _first_action(menu, "Pin step 2").trigger()
    assert window.interventions == Interventions(pins=(Pin(2, 0),))
    window.set_step(2)
    rec = window.views.anatomy.record
    assert rec.pinned and rec.weights[0] == 1.0
    np.testing.assert_array_equal(window.views.anatomy.c_img.image.image[0], rec.values[0])
    m = window.views.cross_map
    assert m.full[2, 0] == 1.0 and (m.full[2, 1:] == 0).all()
    assert "pinned" in window.views.anatomy.header.toolTip()
    # hide a source token from its label's menu: hatched column, weight 0 everywhere
    menu = ctl.column_menu(1)
    _first_action(menu, "Hide").trigger()
    assert window.interventions.hide == frozenset({1})
    window.set_step(len(window.trace.steps) - 1)
    assert m.masked[:, 1].all() and not m.masked[:, 0].any()
    want = trace(window.bundle, cv["source"], cv["target"], mode="teacher_forcing",
                 interventions=Interventions(pins=(Pin(2, 0),), hide={1}))
    np.testing.assert_array_equal(window.trace.attention_matrix(), want.attention_matrix())
    assert (window.trace.attention_matrix()[:, 1] == 0).all()
    _first_action(ctl.column_menu(1), "Show").trigger()
    assert window.interventions.hide == frozenset()
    _first_action(ctl.cell_menu(0, 0), "Original run").trigger()
    assert window.interventions is None


def test_transformer_cell_menu_can_pin_one_head(window, qtbot):
    window.load_preset("en_ko_transformer")
    window.set_mode("teacher_forcing")
    window.set_layer_head(1, 1)
    ctl = window.whatif
    _first_action(ctl.cell_menu(1, 0), "Pin only layer 1, head 1").trigger()
    assert window.interventions.pins == (Pin(1, 0, 1, 1),)
    step = window.trace.steps[1]
    pinned = [(r.layer, r.head) for r in step.records("cross") if r.pinned]
    assert pinned == [(1, 1)]
    ctl.reset()


def test_masks_shown_are_the_recorded_ones(window, qtbot):
    """Issue 13 item 2: the masked self-attention map hatches exactly the cells whose
    recorded energy is -inf; free running records no future keys, so nothing is hatched."""
    window.load_preset("en_ko_transformer")
    window.set_layer_head(0, 0)
    window.focus_panel("masked_self")
    for mode in ("teacher_forcing", "free_running"):
        window.set_mode(mode)
        window.set_step(len(window.trace.steps) - 1)
        m = window.views.masked_map
        want = np.zeros_like(m.masked)
        for s in window.trace.steps:
            r = s.records("masked_self", 0, 0)[0]
            want[s.t, : r.energies.shape[0]] = np.isneginf(r.energies)
        np.testing.assert_array_equal(m.masked, want)
        assert m.masked.any() == (mode == "teacher_forcing" and len(window.trace.steps) > 1)
    window.focus_panel("map")


def test_beam_panel_steps_through_a_beam(window, qtbot):
    window.load_preset("en_ko_transformer")
    window.set_mode("free_running")
    base = window.trace
    res = window.beam.search(3)
    panel = window.beam_panel
    assert panel.beams.count() == len(res.beams) and panel.tree.topLevelItemCount() > 0
    pruned = [it for it, n in zip(panel.node_items, res.nodes) if n.status == "pruned"]
    assert pruned and all(it.foreground(0).color().name() == "#a0a0a0" for it in pruned)
    panel.choose(len(res.beams) - 1)
    b = res.beams[-1]
    assert b.trace is None  # the window traces a beam only when it is chosen
    assert window.trace is window.beam.trace_of(len(res.beams) - 1)
    assert window.trace.output_tokens == list(b.tokens)
    assert window.whatif.toolbar.isVisible() and "beam" in window.whatif.bar.text
    for t in range(len(window.trace.steps)):
        window.set_step(t)
        assert window.views.anatomy.record is window.trace.steps[t].records("cross", 0, 0)[0]
    window.whatif.bar.reset_button.click()
    assert window.trace.output_tokens == base.output_tokens and not window.whatif.toolbar.isVisible()
