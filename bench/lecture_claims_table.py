"""Every shipped lecture's claims, per seed: does it hold, and the listed tokens' weight.

Runs what ``python main.py lecture NAME --check --seeds ...`` runs (models from the user's
cache, the shipped checkpoints, or trained on the CPU and cached) and prints one row per
claim and one column per seed: ``✓ 0.93`` (holds; the listed tokens' weights together) or
``✗ 0.12``. Prints figures; asserts nothing.

    python bench/lecture_claims_table.py [--seeds 0-4] [LECTURE ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from sandbox.claims import describe_expect
    from sandbox.lecture_check import check_lecture, parse_seeds
    from sandbox.lectures import COURSE_ORDER, find_lecture, load_lecture

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lectures", nargs="*", default=list(COURSE_ORDER))
    ap.add_argument("--seeds", default="0-4")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds)
    failing = 0
    for key in args.lectures:
        lec = load_lecture(find_lecture(key))
        t0 = time.perf_counter()
        checks = check_lecture(lec, seeds)
        cells: dict[tuple[int, int], dict[int, str]] = {}
        for c in checks:
            cells.setdefault((c.slide, c.claim), {})[c.seed] = \
                f"{'✓' if c.holds else '✗'} {c.result.share:.2f}"
            failing += not c.holds
        print(f"\n{key}  ({sum(len(s.expect) for s in lec.slides)} claims, {time.perf_counter() - t0:.0f} s)")
        print("  " + f"{'slide · claim':70s}" + "".join(f"seed {s:<4d}" for s in seeds))
        for (i, k), row in sorted(cells.items()):
            what = f"{i + 1}.{k} {describe_expect(lec.slides[i].expect[k])}"
            print("  " + f"{what[:70]:70s}" + "".join(f"{row.get(s, '-'):9s}" for s in seeds))
    print(f"\n{failing} failing claim-seed pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
