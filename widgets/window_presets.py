"""The main window's preset list, device list and Model box.

The preset box lists shipped presets first, then the user's (``preset_entries``); the
Model box describes the model on screen (architecture, formula, parameters, training
state, alignment accuracy on corpus presets). A mixin of
:class:`widgets.mainwindow.MainWindow`.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from .numfmt import count
from .settings import read_str


def preset_entries() -> list[tuple[str, str, bool, str]]:
    """(key, path, is_user, display name) for every preset; broken ones are marked."""
    from sandbox.presets import PresetError, list_presets, load_preset

    out = []
    for key, path, is_user in list_presets():
        try:
            name = load_preset(path).name
        except PresetError:
            name = f"{key} (broken)"
        out.append((key, str(path), is_user, name))
    return out


class WindowPresets:
    """Preset and device boxes, the Model box (a mixin of MainWindow)."""

    def _layers_heads(self) -> tuple[int, int]:
        if self.bundle is None or self.bundle.preset.model.kind != "transformer":
            return 1, 1
        m = self.bundle.preset.model
        return m.layers, m.heads

    def _show_layer_head(self, on: bool) -> None:
        for w in (self.layer_label, self.layer_spin, self.head_label, self.head_spin):
            w.setVisible(on)

    def _update_model_view(self) -> None:
        if self.bundle is None:
            self.model_view.setHtml("")
            return
        b = self.bundle
        p, m, t = b.preset, b.preset.model, b.preset.training
        # Only the worker touches a model while it trains (Bundle.device reads its
        # parameters too): read them while no worker runs and keep them for the run.
        if not self.training.is_active:
            self._model_facts = (b, sum(x.numel() for x in b.model.parameters()), str(b.device))
        facts = self._model_facts
        params, device = (facts[1], facts[2]) if facts is not None and facts[0] is b else (0, "—")
        esc = html.escape
        rows = [f"<b>{esc(p.name)}</b>", f"<i>{esc(p.description)}</i>" if p.description else ""]
        if m.kind == "seq2seq":
            rows.append(f"{m.cell.upper()} encoder–decoder · attention: <b>{m.attention}</b>")
            rows.append(f"embedding {m.embed} · hidden {m.hidden}")
            if m.attention == "none":
                rows.append("no attention: the decoder starts from the encoder's last state and "
                            "never looks back (the fixed-length bottleneck)")
            elif m.attention == "bahdanau":
                rows.append("e<sub>j</sub> = vᵀ tanh(W<sub>1</sub>h<sub>j</sub> + W<sub>2</sub>s<sub>t−1</sub>); "
                            "c<sub>t</sub> goes into the GRU input")
            else:
                f = {"dot": "s<sub>t</sub>·h<sub>j</sub>", "scaled_dot": "s<sub>t</sub>·h<sub>j</sub>/√d",
                     "general": "s<sub>t</sub>ᵀWh<sub>j</sub>"}[m.attention]
                rows.append(f"e<sub>j</sub> = {f}; õ<sub>t</sub> = tanh(W<sub>c</sub>[c<sub>t</sub>; s<sub>t</sub>])")
        else:
            rows.append(f"Transformer · {m.layers} layer(s) × {m.heads} heads · d_model {m.d_model} · "
                        f"d_ff {m.d_ff}")
            rows.append("encoder self · masked decoder self · cross attention in every layer")
        rows.append(f"{count(params)} parameters · vocab {len(b.src_vocab)} → {len(b.tgt_vocab)} · "
                    f"{len(p.pairs)} pairs")
        rows.append(f"training: {t.steps} steps · batch {t.batch_size} · lr {t.lr} · "
                    f"teacher forcing {t.teacher_forcing:g} · seed {t.seed}")
        rows.append(f"device: {device}")
        if self._checked_on and device != "—" and not device.startswith(self._checked_on):
            rows.append(f"<span style='color:#9a6700'>⚠ this lecture was checked on the "
                        f"{esc(self._checked_on.upper())}; on {esc(device)} the numbers differ from "
                        "that run, and a slide's claim may not hold</span>")
        if self.training.is_active and self.training.is_paused:
            state = (f"<span style='color:#9a6700'>paused at step {self.state.trained_steps} "
                     "(Ctrl+R resumes, ■ stops)</span>")
        elif self.training.is_active:
            state = "<span style='color:#0969da'>training… (the views follow it live)</span>"
        elif self.state.trained_steps:
            origin = f" ({esc(self.state.trained_origin)})" if self.state.trained_origin else ""
            state = f"<span style='color:#1a7f37'>trained {self.state.trained_steps} steps{origin}</span>"
        else:
            state = "<span style='color:#8250df'>untrained (seeded weights)</span>"
        rows.append(state)
        if self._history and self.viewing_history:
            h = self._history[self.state.history_index]
            rows.append(f"<span style='color:#9a6700'>the views show step {h.step} of training (history "
                        f"slider; at the right end, “live”, they show step {self.state.trained_steps})</span>")
        kept = self._shelf.peek(self.state.preset_path or "")
        if kept is not None:
            rows.append(f"<span style='color:#9a6700'>your own model of this preset (trained {kept.trained_steps} "
                        "steps) is kept: pick the preset again to go on with it</span>")
        rows.append(self._alignment_line(b))
        self.model_view.setHtml("<br>".join(r for r in rows if r))

    def _alignment_line(self, b) -> str:
        """Alignment accuracy vs gold links (corpus presets, issue 11), once per trained model."""
        if self.training.is_active or not self.state.trained_steps:
            return ""
        from .corpus_view import alignment_html, alignment_summary

        key = (id(b), id(b.model), self.state.trained_steps)
        if getattr(self, "_align_key", None) != key:
            try:
                self._align_summary = alignment_summary(b)
            except Exception:  # noqa: BLE001 - a score is never worth an error dialog
                self._align_summary = None
            self._align_key = key
        return alignment_html(self._align_summary, b.preset.model.kind == "transformer")

    def _populate_presets(self, entries: list[tuple[str, str, bool, str]]) -> None:
        # The box reports only the user's choices (``activated``): filling it needs no blocking.
        self.preset_combo.clear()
        names = [name for _k, _p, _u, name in entries]
        for key, path, is_user, name in entries:
            label = name
            if names.count(name) > 1:  # two presets with one display name: add the file name
                label = f"{name} ({Path(path).name})"
            if is_user:
                label += "  [yours]"
            self.preset_combo.addItem(label, path)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, f"{key} — {path}",
                                          Qt.ItemDataRole.ToolTipRole)
        self._select_preset_in_combo()

    def _is_listed(self, path: str) -> bool:
        return self.preset_combo.findData(path) >= 0

    def _select_preset_in_combo(self) -> None:
        if not self.state.preset_path:
            return
        i = self.preset_combo.findData(self.state.preset_path)
        if i < 0 and self.bundle is not None:
            self.preset_combo.addItem(f"{self.bundle.preset.name}  [file]", self.state.preset_path)
            i = self.preset_combo.count() - 1
        self.preset_combo.setCurrentIndex(i)

    def _populate_devices(self, devices: list[str]) -> None:
        want = read_str(self.settings, "device", "auto")
        self.device_combo.clear()
        for d in devices:
            self.device_combo.addItem(d, d)
        i = self.device_combo.findData(want)
        self.device_combo.setCurrentIndex(max(i, 0))

    def _on_preset_chosen(self, index: int) -> None:
        path = self.preset_combo.itemData(index)
        if not path or (path == self.state.preset_path and not self.has_kept_model(path)):
            return  # the preset shown (picked again with a kept model of its own: that model comes back)
        if self.training.is_active:
            self._select_preset_in_combo()
            self.status.showMessage("stop training before switching presets", 5000)
            return
        self._guarded(lambda: self.load_preset(path), revert=self._select_preset_in_combo)

    def _open_preset_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open preset", "", "Presets (*.toml);;All files (*)")
        if path:
            self._guarded(lambda: self.load_preset(path))

    def _guarded(self, fn, revert=None) -> bool:
        """Run a user action; bad input becomes a banner, never a crash."""
        try:
            fn()
            return True
        except (ValueError, OSError) as e:  # PresetError is a ValueError
            self.show_banner(html.escape(str(e)), "error")
            self.status.showMessage(str(e).splitlines()[0], 8000)
            if revert is not None:
                revert()
            return False
