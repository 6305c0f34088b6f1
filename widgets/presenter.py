"""Lectures in the window: presenter mode, slide authoring and the Lecture menu.

- :class:`Presenter` turns a :class:`~widgets.mainwindow.MainWindow` into a full-screen
  presentation: the window's chrome (toolbar, pair list, stepping bar) is hidden, the views
  get a large font, and a narration panel docks on the right. → Space PageDown next slide,
  ← Backspace PageUp previous (what presentation clickers send), Home / End first / last,
  ↑ ↓ step t within the slide, R reveals hidden panels, L switches Korean / English, Esc
  leaves: the window is back in free exploration at that slide's state.
- On start the lecture's models are loaded from the cache or trained (seeded) by
  :func:`sandbox.lectures.ensure_trained` on the app's job runner, with a progress bar; leaving stops
  and joins the thread.
- :class:`LectureEditor` (a dock) builds and edits lectures: add the current view as a
  slide, edit titles and narration, reorder, delete, save. Shipped lectures are never
  written; saving one saves a copy in the user's lectures folder.
- :func:`install_lectures` adds a "Lecture" menu and a toolbar combo to a window, without
  the window knowing about lectures.

:func:`apply_slide` is the one way a slide reaches the window; the PDF/PNG export
(``widgets/lecture_export.py``) uses it too, so an exported slide is what the class saw.
"""

from __future__ import annotations

from .lecture_editor import LectureEditor
from .lecture_menu import LectureController, install_lectures
from .presenter_mode import (LANG_NAMES, NARRATION_FONT_FACTOR, NEXT_KEYS, PRESENTER_FONT_SCALE, PREV_KEYS,
                             NarrationPanel, Presenter, hide_chrome, missing_image_text, narration_html,
                             restore_chrome)
from .slide_apply import (SlideState, apply_slide, lecture_models_task, lecture_trained_steps, quiz_hidden,
                          untrained_bundles)

__all__ = ["LANG_NAMES", "NARRATION_FONT_FACTOR", "NEXT_KEYS", "PRESENTER_FONT_SCALE", "PREV_KEYS",
           "LectureController", "LectureEditor", "NarrationPanel", "Presenter", "SlideState", "apply_slide",
           "hide_chrome", "install_lectures", "lecture_models_task", "lecture_trained_steps",
           "missing_image_text", "narration_html", "quiz_hidden", "restore_chrome", "untrained_bundles"]
