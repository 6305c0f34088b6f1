"""``main.py lecture NAME --check [--seeds 0,1,2] [--device cpu]``: do the slides' claims hold?

For each seed the lecture's models are loaded or trained exactly as the presenter would get
them with ``[train] seed`` set to that seed (:func:`sandbox.lectures.ensure_trained`: the
user's cache, the shipped checkpoints, else training, then caching), each slide's sentence
is traced in the slide's mode, and every ``[[slides.expect]]`` claim is measured with
:func:`sandbox.claims.check_claim`. Every failing claim is printed with the weights that
were measured. Exit status: 0 every claim holds for every seed, 1 at least one fails,
2 bad input (an unknown lecture, a broken file, a bad ``--seeds`` list).

No Qt here.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Sequence

from .claims import ClaimResult, check_claim
from .lectures import (Lecture, Slide, ensure_trained, lecture_presets, model_source, slide_preset_ref,
                       slide_sentence)

if TYPE_CHECKING:  # pragma: no cover
    from .model import Bundle
    from .trace import Trace

__all__ = ["ClaimCheck", "parse_seeds", "slide_claims", "check_lecture", "cli_check", "MAX_SEEDS"]

MAX_SEEDS = 100


@dataclass(frozen=True)
class ClaimCheck:
    """One claim of one slide, measured on the model trained with ``seed``."""

    seed: int
    slide: int  # 0-based
    title: str
    claim: int  # index into slide.expect
    result: ClaimResult

    @property
    def holds(self) -> bool:
        return self.result.holds

    def line(self) -> str:
        return (f"seed {self.seed} · slide {self.slide + 1} {self.title!r} · expect[{self.claim}] "
                f"{self.result.summary()}")


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]; ``"0-4"`` -> [0, 1, 2, 3, 4]. ValueError names the bad part."""
    seeds: list[int] = []
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise ValueError("--seeds: give seeds like 0,1,2 or 0-4")
    for part in parts:
        if not part:
            raise ValueError(f"--seeds {text!r}: an empty entry between commas")
        lo_hi = part.split("-")
        try:
            if len(lo_hi) == 2:
                lo, hi = int(lo_hi[0]), int(lo_hi[1])
                if hi < lo:
                    raise ValueError
                chunk = list(range(lo, hi + 1))
            elif len(lo_hi) == 1:
                chunk = [int(part)]
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"--seeds: {part!r} is not a seed (a whole number from 0 to {2**32 - 1}) "
                             "or a range like 0-4") from None
        for s in chunk:
            if not 0 <= s < 2**32:
                raise ValueError(f"--seeds: {s} is out of range (0 to {2**32 - 1})")
            if s in seeds:
                raise ValueError(f"--seeds: {s} is listed twice")
            seeds.append(s)
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"--seeds: at most {MAX_SEEDS} seeds")
    return seeds


def slide_claims(lecture: Lecture, slide: Slide, bundle: "Bundle") -> list[ClaimResult]:
    """The slide's claims measured on ``bundle`` (its sentence traced in its mode, with its
    What-if edits)."""
    if not slide.expect:
        return []
    source, target = slide_sentence(slide, bundle.preset)
    tr = slide_trace(slide, bundle, source, target)
    return [check_claim(tr, e) for e in slide.expect]


def slide_trace(slide: Slide, bundle: "Bundle", source: str, target: str | None) -> "Trace":
    """The trace a slide shows: its sentence in its mode, with its What-if edits, or the
    best beam of its beam search."""
    from .trace import trace

    if getattr(slide, "beam", None):
        from .whatif import beam_search, beam_trace

        res = beam_search(bundle, source, slide.beam, traces=False)
        return beam_trace(bundle, source, res.beams[0])
    return trace(bundle, source, target, mode=slide.mode, interventions=getattr(slide, "whatif", None))


def check_lecture(lecture: Lecture, seeds: Sequence[int], *, device: str | None = None,
                  log: Callable[[str], None] | None = None,
                  bundles: Callable[[Lecture, str], "Bundle"] | None = None) -> list[ClaimCheck]:
    """Every claim of every slide for every seed. ``device`` defaults to the lecture's own
    (``[train] device``, CPU unless it says otherwise). ``bundles(lecture, ref)`` replaces
    :func:`ensure_trained` (tests)."""
    device = device or lecture.train.device
    out: list[ClaimCheck] = []
    refs_with_claims = {slide_preset_ref(lecture, s) for s in lecture.slides if s.expect}
    for seed in seeds:
        lec = replace(lecture, train=replace(lecture.train, seed=int(seed)))
        models: dict[str, Bundle] = {}
        for ref in lecture_presets(lec):
            if ref not in refs_with_claims:
                continue
            t0 = time.perf_counter()
            where = model_source(lec, ref, device) if bundles is None else "given"
            models[ref] = (bundles(lec, ref) if bundles is not None
                           else ensure_trained(lec, preset=ref, device=device))
            if log is not None:
                how = {"cache": "loaded from the cache", "shipped": "loaded the shipped checkpoint",
                       "train": "trained"}.get(where, where)
                log(f"seed {seed}: {ref}: {how} ({time.perf_counter() - t0:.1f} s)")
        for i, slide in enumerate(lec.slides):
            if not slide.expect:
                continue
            results = slide_claims(lec, slide, models[slide_preset_ref(lec, slide)])
            out.extend(ClaimCheck(int(seed), i, slide.title, k, r) for k, r in enumerate(results))
    return out


def cli_check(args) -> int:
    """``main.py lecture NAME --check [--seeds S] [--device D]``."""
    from .lectures import find_lecture, load_lecture

    seeds = parse_seeds(getattr(args, "seeds", None) or "0")
    lecture = load_lecture(find_lecture(args.lecture))  # LectureError: one line, exit 2
    device = getattr(args, "device", None) or None

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    n_claims = sum(len(s.expect) for s in lecture.slides)
    if n_claims == 0:
        print(f"{lecture.key}: no claims to check (add [[slides.expect]] entries)")
        return 0
    checks = check_lecture(lecture, seeds, device=device, log=log)
    failing = [c for c in checks if not c.holds]
    for c in failing:
        print(c.line())
    seeds_txt = ",".join(str(s) for s in seeds)
    print(f"{lecture.key}: {n_claims} claims × {len(seeds)} seed(s) ({seeds_txt}) on "
          f"{device or lecture.train.device}: {len(checks) - len(failing)} hold, {len(failing)} fail")
    return 1 if failing else 0
