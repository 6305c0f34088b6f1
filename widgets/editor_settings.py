"""The settings half of the preset editor: name, model, tokenizers, training.

One direction at a time: :meth:`SettingsForm.show_preset` writes a preset into the widgets
with their signals blocked; a user edit emits ``edited(field, value)`` ("model.heads", 3)
and the editor turns it into an undoable change. Ranges come from the validator's own
limits, and the validator's message for an invalid combination (heads not dividing
d_model) is shown next to the field it names.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sandbox import presets as _presets
from sandbox.presets import (ATTENTIONS, CELLS, ENCODERS, KINDS, TEACHER_FORCING_HELP, TOKENIZERS, Preset,
                             PresetError)

__all__ = ["SettingsForm", "INT_RANGES", "SEQ2SEQ_FIELDS", "TRANSFORMER_FIELDS", "field_value", "with_field"]

# The validator's limits, so a spin box can never offer a value the file check refuses.
INT_RANGES: dict[str, tuple[int, int]] = dict(getattr(_presets, "INT_RANGES", None) or _presets._INT_RANGES)

SEQ2SEQ_FIELDS = ("model.cell", "model.attention", "model.encoder", "model.embed", "model.hidden")
TRANSFORMER_FIELDS = ("model.d_model", "model.heads", "model.layers", "model.d_ff", "model.dropout")

_LABELS = {
    "name": "Name",
    "description": "Description",
    "model.kind": "Model",
    "model.cell": "Cell",
    "model.attention": "Score function",
    "model.encoder": "Encoder",
    "model.embed": "Embedding size",
    "model.hidden": "Hidden size",
    "model.d_model": "d_model",
    "model.heads": "Heads",
    "model.layers": "Layers",
    "model.d_ff": "d_ff",
    "model.dropout": "Dropout",
    "tokenizer.source": "Source tokenizer",
    "tokenizer.target": "Target tokenizer",
    "tokenizer.vocab_size": "Subword vocabulary",
    "training.steps": "Steps",
    "training.batch_size": "Batch size",
    "training.lr": "Learning rate",
    "training.teacher_forcing": "Teacher forcing ratio",
    "training.seed": "Seed",
}

_HELP = {
    "model.attention": "How a decoder state scores each encoder state; 'none' is the no-attention baseline.",
    "model.encoder": "uni reads left to right; bi reads both ways and sums the two states.",
    "model.heads": "Must divide d_model: each head gets d_model / heads dimensions.",
    "model.dropout": "From 0 up to but not including 1; traces always run without dropout.",
    "training.lr": "Greater than 0 and at most 1.",
    "training.teacher_forcing": TEACHER_FORCING_HELP,
    "training.seed": "Same seed, same initial weights, same pictures.",
    "tokenizer.source": "word: split into words and punctuation; char: one token per character.",
    "tokenizer.vocab_size": "subword only: pieces per side, specials included.",
}

_ERROR_STYLE = "background-color: rgb(255, 205, 205);"


def field_value(preset: Preset, field: str):
    """``field_value(p, "model.heads")`` is ``p.model.heads``."""
    obj = preset
    for part in field.split("."):
        obj = getattr(obj, part)
    return obj


def with_field(preset: Preset, field: str, value) -> Preset:
    """A copy of ``preset`` with one field replaced (``path`` and ``source_text`` kept)."""
    from dataclasses import replace

    section, _, attr = field.partition(".")
    if not attr:
        return replace(preset, **{section: value})
    return replace(preset, **{section: replace(getattr(preset, section), **{attr: value})})


class SettingsForm(QWidget):
    """Every preset setting as a widget; emits ``edited(field, value)`` on user edits only."""

    edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("settings_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: rgb(170, 0, 0); font-weight: bold;")
        self.error_label.hide()
        outer.addWidget(self.error_label)
        form = self._form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        outer.addLayout(form)
        outer.addStretch(1)

        name = QLineEdit(self)
        name.textEdited.connect(lambda t: self.edited.emit("name", t))
        self._add("name", name)
        desc = QPlainTextEdit(self)
        desc.setFixedHeight(60)
        desc.textChanged.connect(lambda: self.edited.emit("description", desc.toPlainText()))
        self._add("description", desc)

        self._add_combo("model.kind", KINDS)
        self._add_combo("model.cell", CELLS)
        self._add_combo("model.attention", ATTENTIONS)
        self._add_combo("model.encoder", ENCODERS)
        self._add_int("model.embed")
        self._add_int("model.hidden")
        self._add_int("model.d_model")
        self._add_int("model.heads")
        self._add_int("model.layers")
        self._add_int("model.d_ff")
        self._add_float("model.dropout", 0.0, 0.999, 0.05, 3)
        self._add_combo("tokenizer.source", TOKENIZERS)
        self._add_combo("tokenizer.target", TOKENIZERS)
        self._add_int("tokenizer.vocab_size")  # every validator limit has its spin box (INT_RANGES)
        self._add_int("training.steps")
        self._add_int("training.batch_size")
        self._add_float("training.lr", 0.000001, 1.0, 0.001, 6)
        self._add_float("training.teacher_forcing", 0.0, 1.0, 0.1, 2)
        # A QSpinBox is a 32-bit signed int; seeds go up to 2**32 - 1, so use a double.
        lo, hi = INT_RANGES["training.seed"]
        self._add_float("training.seed", float(lo), float(hi), 1.0, 0, integer=True)

    # ------------------------------------------------------------------ building

    def _add(self, field: str, widget: QWidget) -> None:
        widget.setObjectName(field.replace(".", "_"))
        if field in _HELP:
            widget.setToolTip(_HELP[field])
        self.widgets[field] = widget
        self._form.addRow(_LABELS[field], widget)

    def _add_combo(self, field: str, options) -> None:
        box = QComboBox(self)
        box.addItems(list(options))
        box.currentTextChanged.connect(lambda t, f=field: self.edited.emit(f, t))
        self._add(field, box)

    def _add_int(self, field: str) -> None:
        box = QSpinBox(self)
        lo, hi = INT_RANGES[field]
        box.setRange(lo, hi)
        box.setKeyboardTracking(False)  # one change per finished number, not per digit
        box.valueChanged.connect(lambda v, f=field: self.edited.emit(f, int(v)))
        self._add(field, box)

    def _add_float(self, field: str, lo: float, hi: float, step: float, decimals: int, *, integer: bool = False) -> None:
        box = QDoubleSpinBox(self)
        box.setDecimals(decimals)
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setKeyboardTracking(False)
        conv = (lambda v: int(round(v))) if integer else float
        box.valueChanged.connect(lambda v, f=field: self.edited.emit(f, conv(v)))
        self._add(field, box)

    # ------------------------------------------------------------------ showing a preset

    def show_preset(self, preset: Preset) -> None:
        """Show ``preset`` in the widgets without emitting ``edited``."""
        for field, w in self.widgets.items():
            value = field_value(preset, field)
            w.blockSignals(True)
            try:
                if isinstance(w, QLineEdit):
                    if w.text() != value:
                        w.setText(value)
                elif isinstance(w, QPlainTextEdit):
                    if w.toPlainText() != value:
                        w.setPlainText(value)
                elif isinstance(w, QComboBox):
                    w.setCurrentText(str(value))
                elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                    w.setValue(value)
            finally:
                w.blockSignals(False)
        seq2seq = preset.model.kind == "seq2seq"
        for field in SEQ2SEQ_FIELDS:
            self._form.setRowVisible(self.widgets[field], seq2seq)
        for field in TRANSFORMER_FIELDS:
            self._form.setRowVisible(self.widgets[field], not seq2seq)
        subword = "subword" in (preset.tokenizer.source, preset.tokenizer.target)
        self._form.setRowVisible(self.widgets["tokenizer.vocab_size"], subword)

    def is_shown(self, field: str) -> bool:
        """Whether the row of ``field`` is visible (the other kind's fields are hidden)."""
        return self._form.isRowVisible(self.widgets[field])

    def show_problem(self, problem: PresetError | None) -> None:
        """Show the validator's message for a settings problem, next to its field."""
        for w in self.widgets.values():
            w.setStyleSheet("")
            w.setToolTip(_HELP.get(self._field_of(w), ""))
        if problem is None:
            self.error_label.clear()
            self.error_label.hide()
            return
        label = _LABELS.get(problem.field or "", problem.field or "preset")
        self.error_label.setText(f"{label} ({problem.field}): {problem.message}" if problem.field else problem.message)
        self.error_label.show()
        w = self.widgets.get(problem.field or "")
        if w is not None:
            w.setStyleSheet(_ERROR_STYLE)
            w.setToolTip(problem.message)

    def _field_of(self, widget: QWidget) -> str:
        for f, w in self.widgets.items():
            if w is widget:
                return f
        return ""
