"""The window's corpus pieces: the pair list (100,000 pairs, filter, held-out apart), gold
links on the map, held-out exact match on the loss plot, alignment in the model box, and
File ▸ Import pairs… (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings  # noqa: E402

from sandbox.corpus import Pair  # noqa: E402
from sandbox.presets import load_preset  # noqa: E402
from sandbox.train import Metrics  # noqa: E402
from test_evaluate import SOV_PRESET, write_sov_corpus  # noqa: E402


def test_pair_list_with_a_hundred_thousand_pairs(qtbot):
    from widgets.pairlist import PairList

    w = PairList()
    qtbot.addWidget(w)
    train = [Pair(f"source {i}", f"target {i}") for i in range(95_000)]
    held = [Pair(f"held {i}", f"out {i}", ((0, 0),)) for i in range(5_000)]
    w.set_pairs(train, held)
    assert w.count() == 100_000 and w.view.model().rowCount() == 100_000
    assert w.row_of("held 7", "out 7") == 95_007 and w.is_heldout(95_007) and not w.is_heldout(94_999)
    w.filter_edit.setText("source 4242")
    w._apply_filter()
    shown = [w.proxy.index(r, 0).data() for r in range(w.proxy.rowCount())]
    assert shown and all("source 4242" in s for s in shown)
    assert len(shown) == 1 + 10  # 4242 and 42420..42429
    w.filter_edit.clear()
    w._apply_filter()
    w.split_combo.setCurrentIndex(2)  # held out
    assert w.proxy.rowCount() == 5_000
    assert w.proxy.index(0, 0).data().startswith("◇ held 0")
    w.split_combo.setCurrentIndex(1)  # training
    assert w.proxy.rowCount() == 95_000
    rows = []
    w.currentRowChanged.connect(rows.append)
    w.setCurrentRow(95_010)  # hidden by the split choice: the list shows everything again
    assert w.split_combo.currentIndex() == 0 and w.currentRow() == 95_010 and rows == [95_010]
    assert "95,000 training · 5,000 held out" in w.count_label.text()


@pytest.fixture()
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path / "home"))
    from widgets.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.load_preset("ko_en_cat")
    yield win
    win.shutdown()


def test_window_shows_held_out_pairs_apart_and_gold_links(window, tmp_path, qapp):
    write_sov_corpus(tmp_path / "sov.tsv")
    (tmp_path / "sov.toml").write_text(SOV_PRESET, encoding="utf-8")
    preset = load_preset(tmp_path / "sov.toml")
    window.load_preset(tmp_path / "sov.toml")
    qapp.processEvents()
    pl = window.pair_list
    assert pl.count() == len(preset.pairs) + len(preset.heldout_pairs)
    row = len(preset.pairs) + 3
    held = preset.heldout_pairs[3]
    pl.setCurrentRow(row)
    qapp.processEvents()
    assert (window.state.source, window.state.target) == (held.source, held.target)
    assert window.trace.source_tokens[:-1] == tuple(held.source.split())
    window.set_mode("teacher_forcing")
    qapp.processEvents()
    want = tuple(sorted((j, i) for i, j in held.alignment))
    assert window.views.cross_map.gold_cells == want
    xs, ys = window.views.cross_map.gold.getData()
    # each dot lies inside its cell (cells are centred on integer coordinates)
    assert sorted(zip((round(y) for y in ys), (round(x) for x in xs))) == list(want)
    window.set_mode("free_running")
    qapp.processEvents()
    assert window.views.cross_map.gold_cells == ()  # rows are the model's own tokens then


def test_loss_plot_draws_held_out_exact_match(qtbot):
    from widgets.lossplot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    ms = [Metrics(step=s, steps=50, loss=1.0 / s, token_accuracy=0.5, exact_match=s / 50, steps_per_sec=1.0,
                  elapsed=1.0, lr=0.01, heldout_exact=s / 100) for s in (25, 50)]
    plot.add(ms)
    x, y = plot.heldout_curve.getData()
    assert list(x) == [25, 50] and list(y) == [0.25, 0.5]
    x2, y2 = plot.exact_curve.getData()
    assert list(y2) == [0.5, 1.0]
    plain = LossPlot()  # inline presets hold nothing out: no held-out curve
    qtbot.addWidget(plain)
    plain.add([Metrics(step=25, steps=25, loss=1.0, token_accuracy=0.5, exact_match=0.5, steps_per_sec=1.0,
                       elapsed=1.0, lr=0.01)])
    assert len(plain.heldout_curve.getData()[0] or []) == 0


def test_model_box_alignment_matches_evaluate(tmp_path):
    from sandbox.evaluate import evaluate
    from sandbox.model import Bundle
    from widgets.corpus_view import alignment_html, alignment_summary

    write_sov_corpus(tmp_path / "sov.tsv")
    (tmp_path / "sov.toml").write_text(SOV_PRESET, encoding="utf-8")
    bundle = Bundle.from_preset(load_preset(tmp_path / "sov.toml"))
    s = alignment_summary(bundle)
    r = evaluate(bundle, bundle.preset.heldout_pairs)
    assert s["split"] == "held-out" and s["accuracy"] == r["alignment"]["accuracy"]
    assert f"{s['accuracy']:.0%}" in alignment_html(s, transformer=False)


def test_import_pairs_previews_and_creates_a_user_preset(window, qapp, tmp_path):
    from widgets.import_pairs import ImportPairsDialog

    text = ("I am a cat\t나는 고양이\tCC-BY #1\n"
            "broken line without tabs\n"
            "I love cats\t나는 고양이를 좋아해\tCC-BY #2\n"
            "\t빈\tCC-BY #3\n")
    dlg = ImportPairsDialog(window.bundle.preset, window)
    dlg.text.setPlainText(text)
    dlg.refresh()
    assert dlg.table.rowCount() == 2
    assert dlg.table.item(0, 0).text() == "나는 고양이" and dlg.table.item(0, 1).text() == "I am a cat"
    skipped = dlg.skipped.toPlainText().splitlines()
    assert skipped[0].startswith("line 2: no tab") and skipped[1].startswith("line 4: column 1 (target) is blank")
    dlg.tgt_col.setValue(2)  # same as the source column: nothing can be created
    dlg.refresh()
    assert not dlg.create_button.isEnabled()
    dlg.tgt_col.setValue(1)
    dlg.heldout.setValue(0.0)
    dlg.name.setText("My cats")
    dlg.refresh()
    dlg._create()
    assert dlg.created is not None and dlg.created.parent == tmp_path / "home" / "presets"
    made = load_preset(dlg.created)
    assert made.pairs == (Pair("나는 고양이", "I am a cat"), Pair("나는 고양이를 좋아해", "I love cats"))
    assert [n for n, _ in made.skipped] == [2, 4]
    assert made.model == window.bundle.preset.model


def test_editor_shows_a_corpus_preset_without_editing_its_pairs(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path / "home"))
    from test_editor import FakeDialogs
    from widgets.editor import PresetEditor

    lines = [f"소스{i}\ttarget{i}" for i in range(300)]  # more than the 200 inline pairs allowed
    (tmp_path / "c.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text(SOV_PRESET.replace('file = "sov.tsv"\nalignment_column = 3', 'file = "c.tsv"'),
                                     encoding="utf-8")
    editor = PresetEditor(dialogs=FakeDialogs(), autosave_ms=30)
    qtbot.addWidget(editor)
    assert editor.load_file(tmp_path / "c.toml")
    assert editor.problems() == []  # the corpus is not held to the inline-pairs limits
    assert not editor.add_button.isEnabled() and not editor.delete_button.isEnabled()
    assert editor.pairs_model.rowCount() == 200


def test_editor_drafts_keep_corpus_and_alignment(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_SANDBOX_HOME", str(tmp_path / "home"))
    from widgets.editor_drafts import read_draft, write_draft

    write_sov_corpus(tmp_path / "sov.tsv")
    (tmp_path / "sov.toml").write_text(SOV_PRESET, encoding="utf-8")
    preset = load_preset(tmp_path / "sov.toml")
    draft = read_draft(write_draft("sov", preset, tmp_path / "sov.toml"))
    assert draft.preset.pairs == preset.pairs and draft.preset.heldout_pairs == preset.heldout_pairs
    inline = preset.__class__(name="x", description="", model=preset.model, tokenizer=preset.tokenizer,
                              training=preset.training, pairs=(Pair("a b", "x y", ((0, 1), (1, 0))),))
    assert read_draft(write_draft("x", inline, None)).preset.pairs == inline.pairs
