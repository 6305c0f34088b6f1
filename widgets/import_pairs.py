"""File ▸ Import pairs…: a TSV file or pasted lines become a new user preset.

The dialog previews what the chosen columns give (the first pairs, the skipped lines with
their line numbers and why) before anything is written; "Create preset" saves the lines as
``corpora/KEY.tsv`` beside a new preset in the user's folder (:func:`sandbox.corpus.import_corpus`)
and opens it. The model and training settings are the current preset's.
"""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from .hooks import window_menu

PREVIEW_LINES = 5000  # lines parsed for the preview (the whole file is read on Create)
PREVIEW_ROWS = 50  # pairs shown in the table
MAX_IMPORT_BYTES = 256 * 1024 * 1024


class ImportPairsDialog(QDialog):
    def __init__(self, base_preset, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import sentence pairs")
        self.base = base_preset
        self.created = None  # the new preset's path once created
        self.path_label = QLabel("paste tab-separated lines below, or open a file")
        self.path_label.setWordWrap(True)
        open_button = QPushButton("Open file…")
        open_button.clicked.connect(self._open)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("English<TAB>한국어<TAB>attribution   (one pair per line; Tatoeba/Anki exports work as they are)")
        self.text.textChanged.connect(self._schedule)
        self.name = QLineEdit("Imported pairs")
        self.src_col, self.tgt_col, self.align_col = QSpinBox(), QSpinBox(), QSpinBox()
        for box, lo, value in ((self.src_col, 1, 2), (self.tgt_col, 1, 1), (self.align_col, 0, 0)):
            box.setRange(lo, 99)
            box.setValue(value)
            box.valueChanged.connect(self._schedule)
        self.align_col.setSpecialValueText("none")
        self.heldout = QDoubleSpinBox()
        self.heldout.setRange(0.0, 0.9)
        self.heldout.setSingleStep(0.05)
        self.heldout.setValue(0.1)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 1000)
        self.max_tokens.setValue(30)
        self.max_tokens.valueChanged.connect(self._schedule)
        form = QFormLayout()
        form.addRow("preset name", self.name)
        form.addRow("source column", self.src_col)
        form.addRow("target column", self.tgt_col)
        form.addRow("alignment column", self.align_col)
        form.addRow("held out (fraction)", self.heldout)
        form.addRow("max tokens per side", self.max_tokens)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["source", "target", "gold links"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.skipped = QPlainTextEdit()
        self.skipped.setReadOnly(True)
        self.skipped.setMaximumHeight(90)
        self.skipped.setPlaceholderText("skipped lines appear here")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create preset", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._create)
        self.buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.path_label, 1)
        top.addWidget(open_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.text, 1)
        lay.addLayout(form)
        lay.addWidget(QLabel("<b>Preview</b>"))
        lay.addWidget(self.table, 2)
        lay.addWidget(self.summary)
        lay.addWidget(self.skipped)
        lay.addWidget(self.buttons)
        self._file_bytes: bytes | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.refresh)
        self.resize(720, 640)
        self.refresh()

    # -- input ---------------------------------------------------------------------------
    def _open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open sentence pairs", "",
                                              "Tab-separated pairs (*.tsv *.txt *.csv);;All files (*)")
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> bool:
        """Read a file for import; False (with the reason on screen) when it cannot be read."""
        try:
            if os.path.getsize(path) > MAX_IMPORT_BYTES:
                raise OSError(f"larger than {MAX_IMPORT_BYTES // 2**20} MiB")
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            self.path_label.setText(f"<span style='color:#cf222e'>cannot read {html.escape(path)}: "
                                    f"{html.escape(str(e.strerror or e))}</span>")
            return False
        self._file_bytes = raw
        self.path_label.setText(f"file: {html.escape(path)}")
        self.name.setText(os.path.splitext(os.path.basename(path))[0])
        self.text.blockSignals(True)
        self.text.setPlainText("")
        self.text.setPlaceholderText("(reading the file above; paste here instead to replace it)")
        self.text.blockSignals(False)
        self.refresh()
        return True

    def _lines(self, limit: int | None = None) -> list[str | None]:
        from sandbox.corpus import _decode_lines

        if self.text.toPlainText().strip() or self._file_bytes is None:
            data = self.text.toPlainText().encode("utf-8", "surrogatepass")
        else:
            data = self._file_bytes
        lines = _decode_lines(data)
        return lines if limit is None else lines[:limit]

    def config(self):
        from sandbox.corpus import DataConfig

        return DataConfig(file="", source_column=self.src_col.value(), target_column=self.tgt_col.value(),
                          alignment_column=self.align_col.value(), heldout=round(self.heldout.value(), 4),
                          max_tokens=self.max_tokens.value())

    def _schedule(self) -> None:
        if self.sender() is self.text and self.text.toPlainText().strip():
            self._file_bytes = None  # pasted lines replace an opened file
            self.path_label.setText("pasted lines")
        self._timer.start()

    # -- preview -------------------------------------------------------------------------
    def refresh(self) -> None:
        from sandbox.corpus import format_alignment, parse_lines

        cfg = self.config()
        problem = ""
        if cfg.source_column == cfg.target_column:
            problem = "the source and target columns must differ"
        elif cfg.alignment_column in (cfg.source_column, cfg.target_column):
            problem = "the alignment column must differ from the source and target columns"
        lines = self._lines(PREVIEW_LINES)
        corpus = None if problem else parse_lines(
            lines, cfg, (self.base.tokenizer.source, self.base.tokenizer.target))
        self.table.setRowCount(0)
        if corpus is not None:
            rows = corpus.pairs[:PREVIEW_ROWS]
            self.table.setRowCount(len(rows))
            for r, p in enumerate(rows):
                for c, text in enumerate((p.source, p.target, format_alignment(p.alignment) or "")):
                    self.table.setItem(r, c, QTableWidgetItem(text))
            self.skipped.setPlainText("\n".join(f"line {n}: {why}" for n, why in corpus.skipped[:200]))
            more = " (first {:,} lines)".format(PREVIEW_LINES) if len(lines) >= PREVIEW_LINES else ""
            self.summary.setText(
                f"{len(corpus.pairs):,} pairs{more} · {len(corpus.skipped):,} lines skipped · "
                f"{corpus.too_long:,} over {cfg.max_tokens} tokens · {corpus.duplicates:,} duplicates")
        else:
            self.skipped.setPlainText("")
            self.summary.setText(f"<span style='color:#cf222e'>{html.escape(problem)}</span>" if problem else "")
        self.create_button.setEnabled(corpus is not None and bool(corpus.pairs))

    # -- create --------------------------------------------------------------------------
    def _create(self) -> None:
        from sandbox.corpus_import import import_corpus
        from sandbox.presets import PresetError

        # a line that is not UTF-8 becomes blank, so the copy keeps the file's line numbers
        lines = ["" if ln is None else ln for ln in self._lines()]
        try:
            self.created = import_corpus("\n".join(lines), self.config(), self.name.text(), self.base)
        except PresetError as e:
            self.summary.setText(f"<span style='color:#cf222e'>{html.escape(str(e))}</span>")
            return
        self.accept()


def install_import_pairs(win) -> None:
    """File ▸ Import pairs…: the new preset opens in the window."""
    menu = window_menu(win, "&File")
    act = menu.addAction("Import pairs…")
    first = menu.actions()[0] if menu.actions() else None
    if first is not None and first is not act:
        menu.insertAction(menu.actions()[1] if len(menu.actions()) > 1 else first, act)

    def run() -> None:
        if win.bundle is None:
            return
        dlg = ImportPairsDialog(win.bundle.preset, win)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.created is not None:
            win.refresh_presets()  # the new preset is listed as yours
            win.load_preset(dlg.created)

    act.triggered.connect(run)
    win.import_pairs_action = act
