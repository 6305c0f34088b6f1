"""The sentence-pairs table of the preset editor: a read-through model over a tuple of Pairs.

The model never changes its own data: an edit in a cell is turned into ``edit_requested``
and the editor applies it through its undo stack, then hands the new pairs back with
:meth:`PairsTableModel.set_pairs`. Problems from ``pair_problems`` colour the cells they
name and become their tooltips.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from sandbox.presets import Pair, PresetError

__all__ = ["PairsTableModel", "COLUMNS", "problem_cells"]

COLUMNS = ("source", "target")
_HEADERS = ("Source", "Target")
PROBLEM_BRUSH = QBrush(QColor(255, 205, 205))
_FIELD_RE = re.compile(r"pairs\[(\d+)\](?:\.(\w+))?")


def problem_cells(problems: Sequence[PresetError]) -> tuple[dict[tuple[int, int], list[str]], list[PresetError]]:
    """Map each problem to the cells it names: ``pairs[3].target`` is (3, 1); ``pairs[3]``
    (a duplicate) is both cells of row 3. Problems naming no cell (``pairs``) come back
    separately."""
    cells: dict[tuple[int, int], list[str]] = {}
    general: list[PresetError] = []
    for p in problems:
        m = _FIELD_RE.fullmatch(p.field or "")
        if not m:
            general.append(p)
            continue
        row, key = int(m.group(1)), m.group(2)
        cols = [COLUMNS.index(key)] if key in COLUMNS else list(range(len(COLUMNS)))
        for col in cols:
            cells.setdefault((row, col), []).append(p.message)
    return cells, general


class PairsTableModel(QAbstractTableModel):
    """Rows are pairs, columns are source and target."""

    edit_requested = Signal(int, int, str)  # row, column, new text

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pairs: tuple[Pair, ...] = ()
        self._cells: dict[tuple[int, int], list[str]] = {}
        self._editable = True

    # ------------------------------------------------------------------ feeding

    def set_pairs(self, pairs: Sequence[Pair], problems: Sequence[PresetError] = ()) -> None:
        pairs = tuple(pairs)
        cells, _general = problem_cells(problems)
        if len(pairs) == len(self._pairs):
            changed = [i for i, (a, b) in enumerate(zip(pairs, self._pairs)) if a != b]
            rows_with_problems = {r for r, _c in cells} | {r for r, _c in self._cells}
            self._pairs, self._cells = pairs, cells
            touched = sorted(set(changed) | rows_with_problems)
            if touched:
                self.dataChanged.emit(self.index(touched[0], 0), self.index(touched[-1], len(COLUMNS) - 1))
                self.headerDataChanged.emit(Qt.Orientation.Vertical, touched[0], touched[-1])
            return
        self.beginResetModel()
        self._pairs, self._cells = pairs, cells
        self.endResetModel()

    def set_editable(self, editable: bool) -> None:
        self._editable = editable

    def pairs(self) -> tuple[Pair, ...]:
        return self._pairs

    def cell_problems(self, row: int, column: int) -> list[str]:
        return list(self._cells.get((row, column), ()))

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._pairs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._pairs):
            return None
        row, col = index.row(), index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            text = getattr(self._pairs[row], COLUMNS[col])
            if role == Qt.ItemDataRole.DisplayRole:
                # make invisible characters visible: a tab or NUL must not hide in the table
                return "".join(ch if ch.isprintable() or ch == " " else "\u2423" if ch.isspace() else f"\\u{ord(ch):04x}"
                               for ch in text)
            return text
        problems = self._cells.get((row, col))
        if problems:
            if role == Qt.ItemDataRole.BackgroundRole:
                return PROBLEM_BRUSH
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(0, 0, 0))
            if role == Qt.ItemDataRole.ToolTipRole:
                return "\n".join(problems)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return _HEADERS[section] if 0 <= section < len(_HEADERS) else None
            return str(section + 1)
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.ToolTipRole:
            msgs = [m for c in range(len(COLUMNS)) for m in self._cells.get((section, c), ())]
            return "\n".join(dict.fromkeys(msgs)) or None
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self._editable:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not self._editable:
            return False
        text = "" if value is None else str(value)
        if text == getattr(self._pairs[index.row()], COLUMNS[index.column()]):
            return False
        self.edit_requested.emit(index.row(), index.column(), text)
        return True
