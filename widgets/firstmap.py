"""The first attention map on screen before PyTorch has loaded.

When the window closes it writes the attention map it was showing — token labels, the
weights, each cell's colour, the current row and the title — to
``<user cache>/first_map.json`` (atomically). At the next launch :class:`CachedMap` paints
that file with plain QPainter calls (no numpy, no pyqtgraph, no torch: only ``json`` and
PySide6, which the window has already loaded), so a map is on screen with the window
itself; the live views replace it once torch, the preset and the first trace are ready.

On the very first launch there is no such file yet: the map of the default view (the
default preset's shipped model on its example sentence, step 0, teacher forcing: what the
live views will show) ships as ``presets/first_map.json`` and is painted instead, with its
own note. ``python -m widgets.firstmap_default`` writes it again after the default preset or
its shipped model changes (tests/test_firstmap_shipped.py checks it against the live view).

A missing, unreadable or foreign file is ignored: the window then shows "loading…".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

FORMAT = "attention-sandbox/first-map@1"
FILE_NAME = "first_map.json"
MAX_CELLS = 128 * 128
SHIPPED_PATH = Path(__file__).resolve().parent.parent / "presets" / FILE_NAME  # the default view's map
SHIPPED_NOTE = "loading PyTorch and the model…"


def cache_path() -> Path:
    """``first_map.json`` in the user's cache folder (:func:`sandbox.userdirs.cache_dir`, the
    same folder as the lecture model cache; importing it loads nothing heavy)."""
    from sandbox.userdirs import cache_dir

    return cache_dir() / FILE_NAME


def snapshot(amap, preset: str | None, title: str) -> dict[str, Any] | None:
    """What an AttentionMap shows, as the JSON-ready dict :class:`CachedMap` paints."""
    full, shown = amap.full, amap.shown
    if full is None or shown is None or shown.ndim != 2 or shown.size > MAX_CELLS:
        return None
    from .plots import WEIGHTS_CMAP

    import numpy as np

    rgba = WEIGHTS_CMAP.map(np.nan_to_num(shown, nan=0.0).clip(0, 1), mode="byte")  # (rows, cols, 4)
    masked = amap.masked
    cells, values = [], []
    for r in range(shown.shape[0]):
        crow, vrow = [], []
        for c in range(shown.shape[1]):
            v = float(shown[r, c])
            if masked is not None and masked[r, c]:
                crow.append("masked")
                vrow.append(None)
            elif v != v:
                crow.append(None)
                vrow.append(None)
            else:
                crow.append("#%02x%02x%02x" % tuple(int(x) for x in rgba[r, c, :3]))
                vrow.append(round(v, 3))
        cells.append(crow)
        values.append(vrow)
    return {"format": FORMAT, "preset": preset, "title": title, "rows": list(amap.row_labels),
            "cols": list(amap.col_labels), "cells": cells, "values": values, "current": amap.current_row}


def save(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``data`` atomically (sandbox.fileio); creates the cache folder."""
    from .export import write_bytes_atomic

    from sandbox.shipped import refuse_shipped

    path = path or cache_path()
    refuse_shipped(path, "cache file")  # before any folder is made (a user folder inside presets/)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def load(path: Path | None = None) -> dict[str, Any] | None:
    """The cached map, or None when there is none or it is not a valid one."""
    path = path or cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        ok = (data.get("format") == FORMAT and isinstance(data["rows"], list) and isinstance(data["cols"], list)
              and len(data["cells"]) == len(data["rows"]) and len(data["values"]) == len(data["rows"])
              and all(len(r) == len(data["cols"]) for r in data["cells"])
              and 0 < len(data["rows"]) * len(data["cols"]) <= MAX_CELLS)
    except (AttributeError, KeyError, TypeError):
        return None
    return data if ok else None


class CachedMap(QWidget):
    """Paints a cached map: title, token labels, coloured cells, values when they fit."""

    NOTE = "from your last session · loading PyTorch and the model…"

    def __init__(self, data: dict[str, Any], parent=None, note: str | None = None) -> None:
        super().__init__(parent)
        self.data = data
        self.note = self.NOTE if note is None else note
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 120)
        self.painted = False

    def paintEvent(self, ev) -> None:
        d = self.data
        rows, cols = d["rows"], d["cols"]
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), QColor("white"))
            font = QFont(self.font())
            fm = QFontMetricsF(font)
            lh = fm.height()
            bold = QFont(font)
            bold.setBold(True)
            p.setFont(bold)
            p.setPen(QColor("#1f2328"))
            title = f"{d.get('title') or 'attention'}"
            p.drawText(QRectF(8, 4, self.width() - 16, lh + 4), Qt.AlignmentFlag.AlignHCenter, title)
            p.setFont(font)
            p.setPen(QColor("#57606a"))
            p.drawText(QRectF(8, 6 + lh, self.width() - 16, lh + 4), Qt.AlignmentFlag.AlignHCenter, self.note)
            left = min(max((fm.horizontalAdvance(str(r)) for r in rows), default=0) + 14, self.width() * 0.3)
            top = 2 * lh + 16 + lh
            area = QRectF(left, top, self.width() - left - 12, self.height() - top - 10)
            if area.width() <= 0 or area.height() <= 0:
                return
            cw, ch = area.width() / len(cols), area.height() / len(rows)
            step_c = max(1, int((fm.horizontalAdvance("MMMM") + 8) // max(cw, 1e-6)) + 1) if cw < 40 else 1
            for j in range(len(cols) - 1, -1, -step_c):  # thinned from the last (<eos>) back
                text = fm.elidedText(str(cols[j]), Qt.TextElideMode.ElideRight, cw * step_c - 4)
                p.drawText(QRectF(area.left() + j * cw - cw * (step_c - 1) / 2, top - lh - 2, cw * step_c, lh),
                           Qt.AlignmentFlag.AlignHCenter, text)
            step_r = max(1, int(lh // max(ch, 1e-6)) + (1 if ch < lh else 0))
            for i in range(len(rows) - 1, -1, -step_r):
                text = fm.elidedText(str(rows[i]), Qt.TextElideMode.ElideRight, left - 10)
                p.drawText(QRectF(0, area.top() + i * ch, left - 6, ch),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            show_values = cw >= 34 and ch >= lh
            for i, (crow, vrow) in enumerate(zip(d["cells"], d["values"])):
                for j, colour in enumerate(crow):
                    cell = QRectF(area.left() + j * cw, area.top() + i * ch, cw + 0.5, ch + 0.5)
                    if colour == "masked":
                        p.fillRect(cell, QColor("#c8c8c8"))
                    elif colour:
                        p.fillRect(cell, QColor(colour))
                        v = vrow[j]
                        if show_values and isinstance(v, (int, float)):
                            p.setPen(QColor("black") if v > 0.55 else QColor("white"))
                            p.drawText(cell, Qt.AlignmentFlag.AlignCenter, f"{v:.3f}")
            cur = d.get("current")
            if isinstance(cur, int) and 0 <= cur < len(rows):
                pen = QPen(QColor("#ff3b30"), 3)
                p.setPen(pen)
                p.drawRect(QRectF(area.left(), area.top() + cur * ch, area.width(), ch))
        finally:
            p.end()
        self.painted = True

