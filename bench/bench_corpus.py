"""Corpus benchmark: prints figures, never asserts on time.

1. Reading 100,000 pairs with ``main.py pairs`` (in process: read, normalise, tokenise for
   ``max_tokens``, split, write the JSON), next to an anchor measured in the same run: reading
   the same file's bytes and splitting its lines and columns with plain Python.
2. Training throughput in target tokens per second on a corpus preset: ``Trainer.run`` (every
   guard and evaluation included) against a bare PyTorch loop over the same batches
   (zero_grad, forward, cross-entropy, backward, clip, Adam step), interleaved, best of repeats.
3. Time to the same held-out exact match: the Trainer (batches, Adam) against a loop in the
   style of PyTorch's seq2seq tutorial (one sentence at a time, SGD), the same model and
   corpus; the time ratio.

Usage: ``python bench/bench_corpus.py [--preset PATH] [--pairs 100000] [--target 0.95]``.
Without ``--preset`` a generated SOV→SVO corpus (384 pairs, 20% held out) is used.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import _common  # noqa: E402
from sandbox import cli  # noqa: E402
from sandbox.model import Bundle  # noqa: E402
from sandbox.presets import load_preset  # noqa: E402
from sandbox.train import Trainer, _scores  # noqa: E402
from sandbox.vocab import PAD_ID  # noqa: E402


def bench_reading(folder: Path, n: int) -> None:
    lines = [f"I saw {i} small cats today\t나는 오늘 작은 고양이 {i}마리를 봤다\tCC-BY 2.0 #{i}" for i in range(n)]
    (folder / "big.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "big.toml").write_text(
        'name = "big"\n[model]\nkind = "seq2seq"\ncell = "gru"\nattention = "dot"\nembed = 8\nhidden = 8\n'
        '[training]\nsteps = 1\nbatch_size = 4\nlr = 0.01\nteacher_forcing = 1.0\nseed = 0\n'
        '[data]\nfile = "big.tsv"\nsource_column = 2\ntarget_column = 1\nheldout = 0.1\n', encoding="utf-8")
    t0 = time.perf_counter()
    with open(folder / "big.tsv", "rb") as f:
        rows = [ln.split("\t") for ln in f.read().decode("utf-8").split("\n")]
    anchor = time.perf_counter() - t0
    out = folder / "pairs.json"
    t0 = time.perf_counter()
    with redirect_stderr(io.StringIO()):
        rc = cli.main(["pairs", "--preset", str(folder / "big.toml"), "--split", "all", "--json", str(out)])
    dt = time.perf_counter() - t0
    print(f"== reading {n:,} pairs (`main.py pairs`, in process): {dt:.2f} s (exit {rc}, "
          f"{out.stat().st_size / 2**20:.1f} MiB JSON) · anchor, bytes + split only: {anchor:.2f} s "
          f"({len(rows):,} lines) · ratio {dt / anchor:.1f}× · target ≤ 5 s")


def sov_preset(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_evaluate import SOV_PRESET, write_sov_corpus

    write_sov_corpus(folder / "sov.tsv")
    (folder / "sov.toml").write_text(SOV_PRESET, encoding="utf-8")
    return folder / "sov.toml"


def bench_throughput(path: Path, steps: int, repeats: int) -> None:
    preset = load_preset(path)
    batches = _common.trainer_batches(preset, steps)
    tokens = sum(b[4] for b in batches)

    def trainer_once(eval_every: int = 25) -> float:
        tr = Trainer(Bundle.from_preset(preset), device="cpu", steps=steps, eval_every=eval_every)
        t0 = time.perf_counter()
        tr.run()
        return tokens / (time.perf_counter() - t0)

    def trainer_quiet() -> float:  # evaluates only after the last step
        return trainer_once(eval_every=steps)

    def bare_once() -> float:
        return tokens / _common.bare_loop_seconds(preset, batches)

    rates: dict = {trainer_once: [], trainer_quiet: [], bare_once: []}
    for i in range(repeats):
        order = list(rates)
        for f in (order if i % 2 else order[::-1]):
            rates[f].append(f())
    t, q, b = (max(rates[f]) for f in (trainer_once, trainer_quiet, bare_once))
    print(f"== throughput, {preset.key} ({len(preset.pairs)} training pairs, batch {preset.training.batch_size}, "
          f"{steps} steps, best of {repeats}): bare loop {b:,.0f} target tokens/s · Trainer {t:,.0f} "
          f"(ratio {t / b:.2f}; evaluating train and held-out exact match every 25 steps) · Trainer evaluating "
          f"only at the end {q:,.0f} (ratio {q / b:.2f}; target ≥ 0.9)")


def heldout_exact(model, data) -> float:
    was = model.training
    model.eval()
    with torch.no_grad():
        e = _scores(model, data.src, data.src_lens, data.tgt_in, data.tgt_out)[1]
    model.train(was)
    return e


def bench_tutorial(path: Path, target: float, limit: float, sgd_lr: float) -> None:
    preset = load_preset(path)
    tr = Trainer(Bundle.from_preset(preset), device="cpu", steps=100_000, eval_every=10)
    t0 = time.perf_counter()
    batched = None
    while time.perf_counter() - t0 < limit:
        m = tr.step()
        if m.step % 10 == 0 and m.heldout_exact is not None and m.heldout_exact >= target:
            batched = (time.perf_counter() - t0, m.step)
            break
    # Tutorial style: one pair per step, plain SGD, the same model and data, the same check.
    bundle = Bundle.from_preset(preset)
    model = bundle.model
    model.train()
    data, held = tr.data, tr.heldout
    opt = torch.optim.SGD(model.parameters(), lr=sgd_lr)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    tutorial, n = None, 0
    while time.perf_counter() - t0 < limit:
        i = int(torch.randint(len(data), (1,), generator=g))
        src, lens, tgt_in, tgt_out, _ = data.select(torch.tensor([i]))
        opt.zero_grad()
        logits = model(src, lens, tgt_in, feed="gold")
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD_ID)
        loss.backward()
        opt.step()
        n += 1
        if n % 250 == 0 and heldout_exact(model, held) >= target:
            tutorial = (time.perf_counter() - t0, n)
            break
    fmt = (lambda r, unit: "not reached in {:.0f} s".format(limit) if r is None else f"{r[0]:.1f} s ({r[1]} {unit})")
    print(f"== time to held-out exact ≥ {target}: Trainer {fmt(batched, 'steps')} · tutorial-style loop "
          f"(batch 1, SGD lr {sgd_lr}) {fmt(tutorial, 'sentences')}"
          + (f" · ratio {tutorial[0] / batched[0]:.1f}×" if batched and tutorial else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", help="a corpus preset (default: a generated SOV corpus)")
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--limit", type=float, default=300.0, help="seconds allowed to reach the target")
    ap.add_argument("--sgd-lr", type=float, default=0.05)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} intra-op thread(s), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_reading(folder, args.pairs)
        path = Path(args.preset) if args.preset else sov_preset(folder)
        bench_throughput(path, args.steps, args.repeats)
        bench_tutorial(path, args.target, args.limit, args.sgd_lr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
