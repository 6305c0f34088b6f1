"""The main window's training glue and training history.

Train / Pause / Stop drive :class:`widgets.training.TrainingSession`; its snapshots become
the trace on screen while the history slider is on "live"; its history points (weights
kept every so often) let the user scrub back through training and watch the alignment
form: each point is re-traced for the sentence and mode on screen. A mixin of
:class:`widgets.mainwindow.MainWindow`.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent

from .numfmt import fmt, percent
from .training import TraceRequest

# Live training: the views follow the newest snapshot at most this often. Each snapshot is a
# trace on the trainer's thread and a repaint here; 10 a second reads as live and leaves the
# trainer most of the CPU (bench/bench_classroom.py measures window vs headless speed).
LIVE_INTERVAL_S = 0.1


class WindowTraining:
    """Training and the history slider (a mixin of MainWindow)."""

    # ================================================================== training
    @property
    def is_training(self) -> bool:
        return self.training.is_active

    def toggle_training(self) -> None:
        """Ctrl+R: start; while running, pause / resume."""
        if self.training.is_active:
            self.training.toggle_pause()
        else:
            self.start_training()

    def start_training(self, steps: int | None = None) -> bool:
        if self.bundle is None or self.state.source is None:
            return False
        if self.training.is_active:
            self.training.resume()
            return True
        device = self.device_combo.currentData() or "auto"
        # Train always continues the model on screen: a trained model gets another run of
        # steps, counted on from where it stopped (the loss curve and history go on too).
        offset = self.state.trained_steps
        if offset == 0:
            self._clear_history()
            self._clear_curve()
        self.hide_banner()
        self.training.start(self.bundle, self._request(), device=device, steps=steps, step_offset=offset,
                            interval=LIVE_INTERVAL_S)
        self._set_training_ui(True)
        self._update_model_view()
        more = f" (continuing from step {offset})" if offset else ""
        self.status.showMessage(f"training on {device}…{more}")
        return True

    def reset_weights(self) -> None:
        """Show the preset's untrained model (its seeded weights) in place of the one on
        screen — a shipped trained model, a lecture's, or one trained here (kept for the
        session: picking its preset again brings it back) — e.g. to train it from step 0
        in front of a class. Not while training."""
        if self.bundle is None or self.training.is_active:
            return
        from sandbox.model import Bundle

        self.set_bundle(Bundle.from_preset(self.bundle.preset), trained_steps=0)
        self.status.showMessage("seeded weights: untrained — Ctrl+R trains from step 0", 8000)

    def pause_training(self) -> None:
        self.training.toggle_pause()

    def stop_training(self) -> None:
        self.training.stop()

    def _request(self) -> TraceRequest:
        return TraceRequest(self.state.source or "", self.state.target, self.state.mode)

    def _set_training_ui(self, active: bool) -> None:
        for w in (self.preset_combo, self.pair_list, self.trace_button, self.source_edit, self.target_edit,
                  self.device_combo):
            w.setEnabled(not active)
        self.act_open.setEnabled(not active)
        self.act_stop.setEnabled(active)
        self._label_train_button("running" if active else "idle")
        self.act_reset.setEnabled(not active and self.bundle is not None)
        if not active:
            self.act_train.setEnabled(self.bundle is not None)
        self.pair_list.setToolTip("stop training to switch sentences" if active else "")

    def _label_train_button(self, state: str) -> None:
        """The Train button says what a press does now: Train, Pause or Resume."""
        text = {"running": "❚❚ Pause", "paused": "▶ Resume"}.get(state, "▶ Train")
        self.act_train.setText(text)

    def _paint_now(self) -> None:
        """Paint what the snapshot changed now, while the worker is held: deliver the
        scenes' queued item updates (MetaCall) and the resulting paints (UpdateRequest).
        User input is not processed here."""
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.UpdateRequest)

    def _on_training_state(self, state: str) -> None:
        self._label_train_button(state)
        if state == "paused":
            self._show_paused(self.training.steps_done)
            # The views show the last snapshot, traced a few steps back: trace the step the
            # run paused at, so the map, Model box, progress and loss curve name one step.
            self.training.set_request(self._request())
        elif state == "running":
            if "paused" in self.status.currentMessage():  # resumed: the pause message is stale
                self.status.showMessage("training resumed — Ctrl+R pauses, ■ stops", 5000)
        self._update_model_view()

    def _show_paused(self, step: int) -> None:
        self.status.showMessage(f"training paused at step {step} — Ctrl+R resumes, ■ stops")

    def _on_metrics(self, metrics: list) -> None:
        self._metrics_log.extend(metrics)
        if self.loss_plot is not None:
            self.loss_plot.add(metrics)
        m = metrics[-1]
        self.progress.setRange(0, max(m.steps, 1))
        self.progress.setValue(m.step)
        self.progress.setFormat(f"step {m.step} / {m.steps}")
        em = percent(m.exact_match)
        self.status_right.setText(f"loss {fmt(m.loss, 'loss')} · token acc {percent(m.token_accuracy)} · exact {em} · "
                                  f"{m.steps_per_sec:.0f} steps/s")

    def _on_snapshot(self, snap) -> None:
        self.state.set_trained(snap.step)
        if self.training.is_paused:  # the step paused at, traced (see _on_training_state)
            self._update_model_view()
            self._update_history_label()
            self._show_paused(snap.step)
        if snap.trace_error:
            self.status.showMessage(f"cannot trace this sentence: {snap.trace_error}", 4000)
            return
        if snap.trace is None:
            return
        self.state.live_trace = snap.trace
        if self._following_live():
            # Maps now, anatomy and explanation on the next tick: two short GUI blocks
            # instead of one long one (bench/bench_gui_lateness.py).
            self._defer_details = self.views is not None
            try:
                self._set_trace(snap.trace, keep_step=True)
            finally:
                self._defer_details = False
            if self.views is not None:
                self.training.queue_job(self.views.draw_details)

    def _on_history(self, entries: list) -> None:
        from sandbox.history import WeightHistory, WeightSnapshot

        follow = self._following_live()
        if self._weights is None:
            self._weights = WeightHistory()
        for e in entries:
            if e.weights is None and e.trace is None:
                continue
            self._history.append(e)
            if e.weights is not None:
                self._weights.add(WeightSnapshot(e.step, e.total, e.weights, e.metrics))
                if e.trace is not None:
                    self._weights.seed_trace(len(self._weights) - 1, e.request.source, e.request.target,
                                             e.request.mode, e.trace)
        self._update_history_slider(follow)

    def _on_training_finished(self, status: str, message: str, bundle) -> None:
        self._set_training_ui(False)
        self.bundle = bundle
        steps = self.training.last_step
        self.state.set_trained(self.state.trained_steps if steps is None else steps)  # origin: none now
        self._update_model_view()
        self._update_history_label()
        if not self._closing:
            self._retrace(keep_step=True, keep_history=True)
        if status == "nonfinite":
            self.show_banner(f"training stopped: {html.escape(message)}", "error")
            self.status.showMessage(message)
        elif status == "error":
            self.show_banner(f"training could not run: {html.escape(message)}", "error")
            self.status.showMessage(message)
        else:
            self.status.showMessage(f"training {status}: {message}", 8000)

    def _following_live(self) -> bool:
        return self.state.following_live

    @property
    def viewing_history(self) -> bool:
        """True while the training-history slider shows a past point rather than the live model."""
        return not self._following_live()

    def _update_history_slider(self, follow: bool = True) -> None:
        """The state learns how many history points there are (``follow``: show live)."""
        self.state.set_history_points(len(self._history), follow)
        self._update_history_label()

    def _sync_history_slider(self, index: int, points: int) -> None:
        """The slider shows the state's history point; its echo of that value is a no-op
        (:meth:`_on_history_slider` compares with the state first)."""
        self._set_range_value(self.history_slider, points, index)  # index == points: live
        self.history_slider.setEnabled(points > 0)

    def _update_history_label(self) -> None:
        n = len(self._history)
        v = self.state.history_index
        if n == 0:
            self.history_label.setText("no training yet" if self.state.trained_steps == 0 else "—")
            if self.loss_plot is not None:
                self.loss_plot.set_marker(None)
        elif v >= n:
            self.history_label.setText(f"live (step {self.state.trained_steps})")
            if self.loss_plot is not None:
                self.loss_plot.set_marker(None)
        else:
            h = self._history[v]
            self.history_label.setText(f"step {h.step} / {h.total}")
            if self.loss_plot is not None:
                self.loss_plot.set_marker(h.step)

    def _on_history_slider(self, v: int) -> None:
        if v != self.state.history_index:  # not the state's own value coming back
            self.show_history(v)

    def show_history(self, index: int) -> None:
        """Show the trace kept at history entry ``index`` (clamped; len = live)."""
        if not self.state.set_history_index(index):
            return
        if self.state.following_live:
            if self.state.live_trace is not None:
                self._set_trace(self.state.live_trace, keep_step=True)
        else:
            self._show_history_point(self.state.history_index)
        self._update_history_label()
        self._update_model_view()  # it names the point of training the views show

    def _history_trace(self, v: int):
        """The current sentence and mode traced with the weights of history point ``v``
        (the worker's own trace when it traced exactly this). Raises ValueError."""
        h = self._history[v]
        w = self._weights
        if h.weights is None or w is None or len(w) != len(self._history):
            if h.trace is None:
                raise ValueError("this history point kept no weights")
            return h.trace  # an entry without weights: only its own trace
        return w.trace_at(v, self.bundle, self.state.source or "", self.state.target, self.state.mode)

    def _show_history_point(self, v: int) -> bool:
        try:
            tr = self._history_trace(v)
        except ValueError as e:
            self.show_banner(f"cannot trace: {html.escape(str(e))}", "error")
            return False
        self._set_trace(tr, keep_step=True)
        return True

    @property
    def history(self) -> list:
        return list(self._history)

    def _clear_history(self) -> None:
        """Forget the training history (another model is shown, or training starts afresh).
        A new sentence or mode keeps it: every point is re-traced from its weights."""
        if self.training.is_active:
            return
        if self._weights is not None:
            self._weights.clear()
        if self._history:
            self._history.clear()
            self._update_history_slider()

    def _clear_curve(self) -> None:
        """Forget the loss curve (another model is shown, or training starts afresh)."""
        self._metrics_log = []
        if self.loss_plot is not None:
            self.loss_plot.clear_data()
        self._fit_empty_curve()

    def _fit_empty_curve(self) -> None:
        """An empty loss curve spans the planned steps of the model shown, not the last run's."""
        if self.loss_plot is not None and not self._metrics_log:
            planned = self.bundle.preset.training.steps if self.bundle is not None else 1
            self.loss_plot.getPlotItem().setXRange(0, max(planned, 1), padding=0.02)

    # ================================================================== kept models
    def _shelve_current(self) -> None:
        """Keep the model on screen for this session when it was trained here (not a
        lecture's cached model, not seeded weights), under its preset file: picking that
        preset again shows it as it was (sandbox.model_shelf). The window lets go of the
        history and curve it handed over."""
        from sandbox.model_shelf import ShelvedModel

        st = self.state
        if self.bundle is None or not st.trained_steps or st.trained_origin is not None or not st.preset_path:
            return
        item = ShelvedModel(self.bundle, st.trained_steps, self._history, self._weights, self._metrics_log)
        self._history, self._weights, self._metrics_log = [], None, []
        self._update_history_slider()
        self._shelf.put(st.preset_path, item)
        self.status.showMessage(
            f"kept your model of “{self.bundle.preset.name}” (trained {st.trained_steps} steps): pick it again "
            f"to go on with it — {len(self._shelf)} model(s) kept, {self._shelf.nbytes / 1e6:.1f} MB", 10000)

    def _unshelve(self, path: str, preset):
        """The model kept for ``path`` as a Bundle of ``preset`` (the file as it is now), with
        its shelf entry: ``(entry, bundle)``; None when nothing is kept or the file changed
        what the model depends on (sandbox.model.rebind)."""
        from sandbox.model import rebind

        item = self._shelf.take(path)
        if item is None:
            return None
        bundle = rebind(item.bundle, preset)
        return None if bundle is None else (item, bundle)

    def _put_back(self, item, bundle) -> None:
        """Show a kept model's training state: steps, history (when the vocabularies are
        unchanged, so its weights still fit) and loss curve."""
        same_vocab = bundle.src_vocab == item.bundle.src_vocab and bundle.tgt_vocab == item.bundle.tgt_vocab
        if same_vocab:
            self._history, self._weights = item.history, item.weights
        self._set_trained(item.trained_steps)
        self._update_history_slider()
        self._metrics_log = list(item.metrics)
        if self.loss_plot is not None and self._metrics_log:
            self.loss_plot.add(self._metrics_log)
        self.status.showMessage(f"your model of “{bundle.preset.name}” is back: trained {item.trained_steps} steps",
                                8000)

    def has_kept_model(self, path: str | None = None) -> bool:
        """True when a model trained here is kept for the preset file ``path`` (default:
        the preset shown) and is not the model on screen."""
        return (path or self.state.preset_path or "") in self._shelf

    def ask_stop_training(self, what: str) -> bool:
        """Ask whether to stop the running training for ``what`` (e.g. "Presenting a
        lecture"); True for "Stop training". Tests replace this method."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                          f"{what} replaces the model on screen, so training has to stop.\n\n"
                          "The model trained so far is kept for this session: pick its preset again "
                          "to go on with it.", parent=self)
        stop = box.addButton("Stop training", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(stop)
        box.exec()
        return box.clickedButton() is stop

    def confirm_stop_training(self, what: str) -> bool:
        """Before ``what`` replaces the model on screen: True when no training runs, or the
        user chose to stop it (it is stopped and joined, its model kept for the session);
        False on Cancel (training goes on)."""
        if not self.training.is_active:
            return True
        if not self.ask_stop_training(what):
            return False
        self.training.shutdown()
        return True
