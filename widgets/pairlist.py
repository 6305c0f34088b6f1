"""The sentence-pair list: a model/view list that stays quick with 100,000 pairs.

Rows are the preset's training pairs followed by its held-out pairs (a corpus preset's
evaluation part, drawn in grey and marked "held out"). A filter box narrows the list to the
pairs containing some text, and a choice shows all pairs, training pairs or held-out pairs.

:class:`PairList` emits ``currentRowChanged(row)`` with the row in that combined order (so a
training pair's row is its index in ``preset.pairs``; a held-out pair's row is
``len(preset.pairs) + i``), like the ``QListWidget`` it replaces.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

SPLIT_ROLE = Qt.ItemDataRole.UserRole + 1  # "train" | "heldout"
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the row in the combined order
HELDOUT_COLOR = QColor("#6e7781")


class PairListModel(QAbstractListModel):
    """Training pairs, then held-out pairs; immutable tuples, so rows are cheap to draw."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.train: tuple = ()
        self.heldout: tuple = ()

    def set_pairs(self, train: Sequence, heldout: Sequence = ()) -> None:
        self.beginResetModel()
        self.train, self.heldout = tuple(train), tuple(heldout)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.train) + len(self.heldout)

    def pair(self, row: int):
        n = len(self.train)
        return self.train[row] if row < n else self.heldout[row - n]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        held = row >= len(self.train)
        if role == Qt.ItemDataRole.DisplayRole:
            p = self.pair(row)
            return f"{'◇ ' if held else ''}{p.source}  →  {p.target}"
        if role == Qt.ItemDataRole.ToolTipRole:
            p = self.pair(row)
            what = f"held-out pair {row - len(self.train) + 1} (never trained on)" if held else f"pair {row + 1}"
            links = f"\ngold links: {' '.join(f'{i}-{j}' for i, j in p.alignment)}" if p.alignment else ""
            return f"{what}: {p.source} → {p.target}{links}"
        if role == Qt.ItemDataRole.ForegroundRole and held:
            return HELDOUT_COLOR
        if role == SPLIT_ROLE:
            return "heldout" if held else "train"
        if role == ROW_ROLE:
            return row
        return None


class _Filter(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.split = "all"
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_split(self, split: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.split = split
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.split = split
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802 - Qt's name
        if self.split != "all":
            model = self.sourceModel()
            if (row >= len(model.train)) != (self.split == "heldout"):
                return False
        return super().filterAcceptsRow(row, parent)


class PairList(QWidget):
    """Filter box + split choice + the list. ``currentRowChanged(row)``: see the module doc."""

    currentRowChanged = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = PairListModel(self)
        self.proxy = _Filter(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter pairs…")
        self.filter_edit.setClearButtonEnabled(True)
        self.split_combo = QComboBox()
        self.split_combo.addItem("all", "all")
        self.split_combo.addItem("training", "train")
        self.split_combo.addItem("held out", "heldout")
        self.split_combo.setToolTip("held-out pairs (◇, grey) are never trained on: they show "
                                    "whether the model generalises")
        self.count_label = QLabel("")
        self.count_label.setStyleSheet("color: #57606a")
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)  # 100,000 rows lay out instantly
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.split_combo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.count_label)
        self._index: dict[tuple[str, str], int] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)  # filter once typing pauses
        self._timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._timer.start())
        self.split_combo.currentIndexChanged.connect(self._on_split)
        self.view.selectionModel().currentChanged.connect(self._on_current)

    # -- contents ----------------------------------------------------------------------
    def set_pairs(self, train: Sequence, heldout: Sequence = ()) -> None:
        """Show these pairs (``Pair`` objects); the selection is cleared."""
        blocked = self.blockSignals(True)
        try:
            self.model.set_pairs(train, heldout)
            self._index = {}
            for row in range(self.model.rowCount() - 1, -1, -1):  # the first of equal pairs wins
                p = self.model.pair(row)
                self._index[(p.source, p.target)] = row
            self.split_combo.setEnabled(bool(heldout))
            self._update_count()
        finally:
            self.blockSignals(blocked)

    def clear(self) -> None:
        self.set_pairs((), ())

    def count(self) -> int:
        return self.model.rowCount()

    def pair(self, row: int):
        return self.model.pair(row)

    def row_of(self, source: str | None, target: str | None) -> int:
        """The row of the pair with this source and target, or -1."""
        return self._index.get((source, target), -1) if source is not None else -1

    def is_heldout(self, row: int) -> bool:
        return row >= len(self.model.train)

    # -- selection ---------------------------------------------------------------------
    def currentRow(self) -> int:  # noqa: N802 - QListWidget's name
        idx = self.view.currentIndex()
        return self.proxy.mapToSource(idx).row() if idx.isValid() else -1

    def setCurrentRow(self, row: int) -> None:  # noqa: N802 - QListWidget's name
        if row < 0 or row >= self.model.rowCount():
            self.clearSelection()
            self.view.setCurrentIndex(QModelIndex())
            return
        idx = self.proxy.mapFromSource(self.model.index(row))
        if not idx.isValid():  # filtered out: show everything again so the pair is visible
            self.filter_edit.blockSignals(True)
            self.filter_edit.clear()
            self.filter_edit.blockSignals(False)
            self.split_combo.setCurrentIndex(0)
            self._apply_filter()
            idx = self.proxy.mapFromSource(self.model.index(row))
        self.view.setCurrentIndex(idx)
        self.view.scrollTo(idx)

    def clearSelection(self) -> None:  # noqa: N802 - QListWidget's name
        self.view.clearSelection()

    # -- handlers ----------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.currentRowChanged.emit(self.proxy.mapToSource(current).row())

    def _on_split(self, _i: int) -> None:
        self.proxy.set_split(self.split_combo.currentData())
        self._update_count()

    def _apply_filter(self) -> None:
        self.proxy.setFilterFixedString(self.filter_edit.text().strip())
        self._update_count()

    def _update_count(self) -> None:
        n_train, n_held = len(self.model.train), len(self.model.heldout)
        shown = self.proxy.rowCount()
        total = n_train + n_held
        what = f"{n_train:,} training · {n_held:,} held out" if n_held else f"{n_train:,} pairs"
        self.count_label.setText(what if shown == total else f"{shown:,} of {total:,} shown · {what}")
