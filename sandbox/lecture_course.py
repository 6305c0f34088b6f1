"""Finding lectures and what a slide refers to: the course order the Lecture menu lists,
the user's lectures folder, a slide's preset, sentence and image, and the step it shows.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import userdirs as _userdirs
from .lecture_schema import SHIPPED_LECTURES_DIR, Lecture, LectureError, Slide, resolve_preset
from .presets import Preset, PresetError, load_preset
from .tomlfile import find_file, toml_files

__all__ = ["COURSE_ORDER", "user_lectures_dir", "list_lectures", "find_lecture", "slide_preset_ref",
           "lecture_presets", "load_lecture_preset", "slide_sentence", "image_path", "clamp_step"]


# --------------------------------------------------------------------------- finding lectures


def user_lectures_dir() -> Path:
    """Where the user's lectures are saved (:func:`sandbox.userdirs.lectures_dir`). Not created here."""
    return _userdirs.lectures_dir()




# The order a course takes; other shipped lectures follow alphabetically.
COURSE_ORDER = ("why_attention", "dot_product", "bahdanau", "teacher_forcing", "transformer")


def list_lectures() -> list[tuple[str, Path, bool]]:
    """(key, path, is_user): shipped lectures in course order, then the user's by key."""
    shipped = toml_files(SHIPPED_LECTURES_DIR)
    rank = {k: i for i, k in enumerate(COURSE_ORDER)}
    shipped.sort(key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    return [(p.stem, p, False) for p in shipped] + [(p.stem, p, True) for p in toml_files(user_lectures_dir())]


def find_lecture(name_or_path: str | os.PathLike[str]) -> Path:
    """An existing lecture file, or a shipped/user key ("dot_product"). A user lecture with
    the key of a shipped one wins (a Save As of a shipped lecture lands there)."""
    return find_file(name_or_path, list_lectures, LectureError)


# --------------------------------------------------------------------------- slide helpers


def slide_preset_ref(lecture: Lecture, slide: Slide) -> str:
    return slide.preset or lecture.preset


def lecture_presets(lecture: Lecture) -> list[str]:
    """Every preset the lecture uses, its own first, each once."""
    refs = [lecture.preset]
    for s in lecture.slides:
        if s.preset and s.preset not in refs:
            refs.append(s.preset)
    return refs


def load_lecture_preset(lecture: Lecture, ref: str | None = None) -> Preset:
    """A preset the lecture names (default: its own), as a LectureError on failure."""
    ref = ref or lecture.preset
    try:
        return load_preset(resolve_preset(ref, lecture.path))
    except PresetError as e:
        raise LectureError(lecture.path, "preset", f"cannot use preset {ref!r}: {e}") from None


def slide_sentence(slide: Slide, preset: Preset) -> tuple[str, str | None]:
    """(source, target) the slide shows; target may be None (free running only)."""
    if slide.source is not None:
        return slide.source, slide.target
    pair = preset.pairs[slide.pair or 0]
    return pair.source, pair.target


def image_path(lecture: Lecture, slide: Slide) -> Path | None:
    """The slide's image file: the same name in :func:`user_lectures_dir` if the user made
    one (a fresh run of the experiment wins), else relative to the lecture file. None
    without an image; a path that may not exist when neither has it (callers draw a
    placeholder)."""
    if not slide.image:
        return None
    base = Path(lecture.path).parent if lecture.path is not None else Path.cwd()
    beside = base / slide.image
    for candidate in (user_lectures_dir() / slide.image, beside):
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):
            pass
    return beside


def clamp_step(step: int, n_steps: int) -> tuple[int, str | None]:
    """The step to show for a trace of ``n_steps`` steps, and a note when it was clamped."""
    if n_steps <= 0:
        return 0, "this trace has no decoder steps"
    if step < n_steps:
        return step, None
    last = n_steps - 1
    return last, f"step {step} is past the end of this trace; showing its last step, t = {last}"


