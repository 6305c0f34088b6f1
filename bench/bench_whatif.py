"""What-if latency (issue 15): an edit → retrace → every visible view repainted, and beam search.

For each shipped preset the real window (teacher forcing, cross-attention tab, step 1)
applies edits the way a click does — ``window.whatif.force(1, token)`` alternating
between two top-k tokens, and ``window.whatif.pin(1, j)`` alternating between two source
tokens — then ``processEvents()``. Target: p95 ≤ 50 ms. Anchors measured in the same
run: a plain step (``set_step`` + ``processEvents``) and a plain retrace of the same
sentence without edits.

Beam search: width 8 on a 20-token source sentence (the preset's source words repeated,
``<eos>`` included): the search as the window runs it (a beam is traced when chosen),
then with a trace of every beam as ``main.py beam`` writes. Target ≤ 200 ms. Anchor: the
free-running trace of the same sentence along the longest beam (as many steps as the
search ran). Untrained models rarely say ``<eos>``, so most searches run the full 42
steps: the worst case. Prints figures; asserts nothing.

    python bench/bench_whatif.py [--rounds 15] [--presets a,b]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: E402


pct = _common.pct


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def row(name: str, what: str, xs: list[float]) -> None:
    print(f"{name:<22} {what:<26} {statistics.median(xs):>9.2f} {pct(xs, 0.95):>8.2f} {max(xs):>8.2f}")


def long_source(bundle, n_tokens: int) -> str:
    """A source sentence of exactly ``n_tokens`` tokens with <eos> (words from the preset)."""
    from sandbox.vocab import tokenize

    kind = bundle.preset.tokenizer.source
    words: list[str] = []
    for p in bundle.preset.pairs:
        words += tokenize(p.source, kind)
    while len(words) < n_tokens - 1:
        words += words
    words = words[: n_tokens - 1]
    return "".join(words).replace("␣", " ") if kind == "char" else " ".join(words)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--presets", help="comma-separated preset keys (default: every shipped one)")
    ap.add_argument("--size", default="1480x940")
    args = ap.parse_args()

    from sandbox.presets import list_presets
    from sandbox.trace import trace
    from sandbox.vocab import encode_sentence
    from sandbox.whatif import beam_search
    from widgets.whatif import install_whatif

    app, win, tmp = _common.window(args.size)
    w, h = (int(v) for v in args.size.split("x"))
    ctl = install_whatif(win)
    wanted = set(args.presets.split(",")) if args.presets else None
    print(f"what-if latency, window {w}×{h}, platform {app.platformName()}, {os.cpu_count()} CPUs, "
          f"{args.rounds} rounds; untrained seeded models")
    print(f"{'preset':<22} {'what':<26} {'median ms':>9} {'p95 ms':>8} {'max ms':>8}")
    for key, _path, is_user in list_presets():
        if is_user or (wanted and key not in wanted):
            continue
        win.load_preset(key)
        win.set_mode("teacher_forcing")
        win.focus_panel("map")
        win.set_step(1)
        app.processEvents()
        n = len(win.trace.steps)
        step_times = []
        for _ in range(args.rounds):
            for t in list(range(n)) + list(range(n - 2, 0, -1)):
                t0 = time.perf_counter()
                win.set_step(t)
                app.processEvents()
                step_times.append((time.perf_counter() - t0) * 1000)
        win.set_step(1)
        cv = win.current_view()
        row(key, "anchor: step", step_times)
        row(key, "anchor: retrace (no edit)",
            timed(lambda: trace(win.bundle, cv["source"], cv["target"], mode=cv["mode"]), args.rounds))
        toks = [tok for tok, _ in win.trace.steps[1].top_k[1:3]]
        flip = [0]

        def force() -> None:
            flip[0] ^= 1
            ctl.force(1, toks[flip[0]])
            app.processEvents()

        row(key, "force a token + redraw", timed(force, args.rounds))
        ctl.reset()
        if win.views.index.has_attention:
            m = len(win.trace.source_tokens)

            def pin() -> None:
                flip[0] ^= 1
                ctl.pin(1, flip[0] % m)
                app.processEvents()

            row(key, "pin a cell + redraw", timed(pin, args.rounds))
            ctl.reset()
        source = long_source(win.bundle, 20)
        assert len(encode_sentence(source, win.bundle.src_vocab, win.bundle.preset.tokenizer.source).ids) == 20
        res = beam_search(win.bundle, source, 8, traces=False)
        longest = max(res.beams, key=lambda b: len(b.ids))
        row(key, f"anchor: 1 trace, {len(longest.ids)} steps",
            timed(lambda: trace(win.bundle, source, mode="free_running", follow=list(longest.ids)),
                  max(3, args.rounds // 3)))
        row(key, f"beam K=8, 20 tok ({len(res.beams[0].tokens)} out)",
            timed(lambda: beam_search(win.bundle, source, 8, traces=False), max(3, args.rounds // 3)))
        row(key, "  + a trace of every beam",
            timed(lambda: beam_search(win.bundle, source, 8), max(3, args.rounds // 3)))
    win.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
