"""Characters lost when the app is SIGKILLed mid-typing (issue 16: at most about a second).

Each run starts ``python main.py`` (offscreen) with the ``type`` probe (one key every 100 ms
into the preset editor's description box), kills it with SIGKILL after a random number of
keys (25–60), relaunches it with the ``restore`` probe and compares the restored text with
what was typed. Prints, per run and in total, the characters and seconds of typing lost;
the anchor printed beside them is what one autosave interval of typing is (1 s = 10 keys).
Asserts nothing.

    python bench/bench_kill_typing.py [--runs 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _run_once():
    spec = importlib.util.spec_from_file_location("kill_while_typing", ROOT / "tests" / "test_kill_while_typing.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.run_once, mod.AUTOSAVE_S


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    run_once, autosave_s = _run_once()
    rng = random.Random(args.seed)
    lost, seconds = [], []
    for i in range(args.runs):
        keys = rng.randint(25, 60)
        with tempfile.TemporaryDirectory() as home:
            r = run_once(Path(home), keys)
        ok = r["typed"].startswith(r["restored"])
        lost.append(r["lost"])
        seconds.append(r["lost_seconds"])
        print(f"run {i + 1}: killed after {len(r['typed'])} keys; restored {len(r['restored'])}; "
              f"lost {r['lost']} characters ({r['lost_seconds']:.2f} s of typing){'' if ok else '  NOT A PREFIX'}",
              flush=True)
    print(f"characters lost over {args.runs} runs: min {min(lost)}, median {statistics.median(lost)}, max {max(lost)} "
          f"(seconds of typing: max {max(seconds):.2f}); anchor: one autosave interval = {autosave_s:.1f} s "
          f"= {int(autosave_s * 10)} keys at 100 ms per key")


if __name__ == "__main__":
    main()
