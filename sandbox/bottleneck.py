"""The fixed-length bottleneck experiment (Bahdanau et al. 2015, Fig. 2) in miniature.

Task: **copy** a sequence of random symbols (``a``–``j`` by default): ``c a f b`` →
``c a f b``. Every output token depends on one source token, and the first output needs
the *first* source token — the one furthest from the encoder's final state — so a decoder
that only sees that final state has to squeeze the whole sequence into one vector of
``hidden`` numbers. Attention lets it look each token up again instead. Random symbols
leave no shortcut (no grammar, no frequent phrases), and the difficulty grows with the
length and nothing else.

Protocol, as in the paper's Fig. 2 (RNNsearch-50 was trained once on sentences of up to
50 words, then scored per sentence length):

- each model is trained **once** on sequences of every length from ``min(lengths)`` to
  ``max(lengths)``; each batch has one length (drawn uniformly), so there is no padding;
- every model gets the **same** cell, hidden size, embedding size, optimiser, number of
  steps and the very same batches in the same order — only the attention differs;
- it is then scored on **held-out** sequences of each length in ``lengths``: drawn from a
  different random stream, and removed from the training pool, so none was trained on.
  Free-running greedy decoding; *exact match* = the whole output, ``<eos>`` included, is
  right; *token accuracy* = the fraction of output positions that are right.

The models are :class:`sandbox.seq2seq.Seq2Seq` built from a
:class:`~sandbox.seq2seq.Seq2SeqConfig` — the same model class the presets train. No Qt here; the
plot, the GUI and the ``bottleneck`` command live in ``widgets/bottleneck_view.py``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from .device import resolve_device
from .model import RNG_LOCK  # importing model also applies configure_torch() (one thread)
from .names import ATTENTIONS, CELLS
from .seq2seq import Seq2Seq, Seq2SeqConfig
from .vocab import EOS, EOS_ID, SOS_ID, SPECIALS

__all__ = ["TASKS", "Settings", "DEFAULT", "QUICK", "BottleneckResult", "run_experiment",
           "symbols", "make_datasets", "format_table"]

TASKS = ("copy", "reverse")
METRIC = "exact_match"
FORMAT = "attention-sandbox/bottleneck@1"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_N_SPECIAL = len(SPECIALS)


@dataclass(frozen=True)
class Settings:
    """Everything that defines a run (besides the seed). Same for every model."""

    lengths: tuple[int, ...] = (3, 6, 9, 12, 15, 18)
    models: tuple[str, ...] = ("none", "bahdanau", "dot")
    task: str = "copy"
    vocab: int = 10  # number of distinct symbols
    cell: str = "gru"
    embed: int = 16
    hidden: int = 32
    steps: int = 800  # optimisation steps per model
    batch_size: int = 64
    lr: float = 0.02  # Adam; gradients clipped to norm 1
    decay: bool = True  # decay the learning rate linearly to 10 % over the run
    train_pool: int = 1000  # training sequences drawn per length (held-out ones removed)
    test_size: int = 200  # held-out sequences per evaluated length (fewer if the space is small)
    device: str = "cpu"

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lengths"], d["models"] = list(self.lengths), list(self.models)
        return d


DEFAULT = Settings()
# For tests and a first look (~8 s of CPU): three lengths, fewer steps, a smaller test set.
QUICK = Settings(lengths=(3, 6, 9), steps=300, test_size=100)


def symbols(vocab: int) -> tuple[str, ...]:
    """The task's symbols: ``a``, ``b``, … (then ``a1``… past 26)."""
    return tuple(_ALPHABET[i % 26] + (str(i // 26) if i >= 26 else "") for i in range(vocab))


# --------------------------------------------------------------------------- result


@dataclass
class BottleneckResult:
    """Exact match (``models``) and token accuracy per model, one value per length.

    A partial result (handed to ``progress``, or returned after ``should_stop``) has
    ``complete == False``: models not reached are absent, and the model being evaluated
    has values for a prefix of ``lengths`` only.
    """

    lengths: list[int]
    models: dict[str, list[float]]
    token_accuracy: dict[str, list[float]]
    seed: int = 0
    seconds: float = 0.0
    complete: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    model_seconds: dict[str, float] = field(default_factory=dict)
    # per model, per length: one held-out example {"source", "target", "predicted"} (strings)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``lengths``, ``models`` and ``metric`` first (the contract), then the rest."""
        return {
            "lengths": list(self.lengths),
            "models": {m: [float(v) for v in vals] for m, vals in self.models.items()},
            "metric": METRIC,
            "token_accuracy": {m: [float(v) for v in vals] for m, vals in self.token_accuracy.items()},
            "seed": int(self.seed),
            "seconds": round(float(self.seconds), 3),
            "complete": bool(self.complete),
            "format": FORMAT,
            "settings": dict(self.settings),
            "model_seconds": {m: round(float(s), 3) for m, s in self.model_seconds.items()},
            "examples": {m: [dict(e) for e in ex] for m, ex in self.examples.items()},
            "notes": list(self.notes),
        }

    def dumps(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, obj: Any) -> "BottleneckResult":
        """Read :meth:`to_json` output back; ValueError naming the field if it does not fit."""
        if not isinstance(obj, dict):
            raise ValueError("a bottleneck result must be a JSON object")
        lengths = obj.get("lengths")
        if not isinstance(lengths, list) or not lengths or not all(
                isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in lengths):
            raise ValueError("lengths: must be a non-empty list of positive whole numbers")
        if obj.get("metric", METRIC) != METRIC:
            raise ValueError(f"metric: must be {METRIC!r}")
        complete = bool(obj.get("complete", True))

        def curves(key: str, required: bool) -> dict[str, list[float]]:
            raw = obj.get(key, {} if not required else None)
            if not isinstance(raw, dict) or (required and not raw):
                raise ValueError(f"{key}: must be an object mapping each model to a list of numbers")
            out: dict[str, list[float]] = {}
            for name, vals in raw.items():
                if not isinstance(vals, list) or len(vals) > len(lengths) or (
                        complete and len(vals) != len(lengths)):
                    raise ValueError(f"{key}.{name}: must hold one number per length ({len(lengths)})")
                fl = []
                for v in vals:
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                        raise ValueError(f"{key}.{name}: values must be numbers from 0 to 1")
                    fl.append(float(v))
                out[str(name)] = fl
            return out

        ex = obj.get("examples", {})
        return cls(
            lengths=list(lengths), models=curves("models", True),
            token_accuracy=curves("token_accuracy", False),
            seed=int(obj.get("seed", 0)) if isinstance(obj.get("seed", 0), int) else 0,
            seconds=float(obj.get("seconds", 0.0)) if isinstance(obj.get("seconds", 0.0), (int, float)) else 0.0,
            complete=complete,
            settings=dict(obj.get("settings", {})) if isinstance(obj.get("settings", {}), dict) else {},
            model_seconds={str(k): float(v) for k, v in obj.get("model_seconds", {}).items()
                           if isinstance(v, (int, float))} if isinstance(obj.get("model_seconds"), dict) else {},
            examples={str(k): [dict(e) for e in v if isinstance(e, dict)] for k, v in ex.items()
                      if isinstance(v, list)} if isinstance(ex, dict) else {},
            notes=[str(n) for n in obj.get("notes", [])] if isinstance(obj.get("notes"), list) else [],
        )

    def copy(self) -> "BottleneckResult":
        return BottleneckResult.from_json(json.loads(json.dumps(self.to_json())))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Split:
    src: torch.Tensor  # (N, L+1) symbols + <eos>
    tgt_in: torch.Tensor  # (N, L+1) <sos> + answer
    tgt_out: torch.Tensor  # (N, L+1) answer + <eos>


def _split(x: torch.Tensor, task: str, device: torch.device) -> _Split:
    n = x.shape[0]
    eos = torch.full((n, 1), EOS_ID, dtype=torch.long)
    y = x if task == "copy" else x.flip(1)
    return _Split(src=torch.cat([x, eos], 1).to(device),
                  tgt_in=torch.cat([torch.full((n, 1), SOS_ID, dtype=torch.long), y], 1).to(device),
                  tgt_out=torch.cat([y, eos], 1).to(device))


def _draw(n: int, length: int, vocab: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(_N_SPECIAL, _N_SPECIAL + vocab, (n, length), generator=gen)


def make_datasets(s: Settings, seed: int, device: torch.device | str = "cpu"
                  ) -> tuple[dict[int, _Split], dict[int, _Split]]:
    """(training pools for every length min..max, held-out test sets for ``s.lengths``).

    Test sequences come from their own random stream (seeded differently from the
    training stream) and are distinct; every one of them is removed from the training
    pool of its length, so no model ever trains on a sequence it is scored on.
    """
    device = torch.device(device)
    g_test = torch.Generator().manual_seed(seed * 1_000_003 + 17)
    g_train = torch.Generator().manual_seed(seed * 1_000_003 + 29)
    tests: dict[int, _Split] = {}
    pools: dict[int, _Split] = {}
    for length in range(min(s.lengths), max(s.lengths) + 1):
        held: set[tuple[int, ...]] = set()
        if length in s.lengths:
            space = s.vocab ** length
            # keep at least three quarters of a small space for training
            want = max(1, min(s.test_size, space // 4))
            rows: list[list[int]] = []
            while len(rows) < want:
                for r in _draw(2 * want, length, s.vocab, g_test).tolist():
                    t = tuple(r)
                    if t not in held and len(rows) < want:
                        held.add(t)
                        rows.append(r)
            tests[length] = _split(torch.tensor(rows, dtype=torch.long), s.task, device)
        pool = [r for r in _draw(s.train_pool, length, s.vocab, g_train).tolist() if tuple(r) not in held]
        if not pool:  # a space too small for both (cannot happen with space // 4 above)
            raise ValueError(f"length {length}: no training sequences left after holding out the test set")
        pools[length] = _split(torch.tensor(pool, dtype=torch.long), s.task, device)
    return pools, tests


# --------------------------------------------------------------------------- running


def _check(s: Settings) -> None:
    if not s.lengths:
        raise ValueError("lengths: give at least one source length")
    for L in s.lengths:
        if isinstance(L, bool) or not isinstance(L, int) or not 1 <= L <= 100:
            raise ValueError(f"lengths: each length must be a whole number from 1 to 100, got {L!r}")
    if list(s.lengths) != sorted(set(s.lengths)):
        raise ValueError("lengths: must be increasing, without repeats")
    if not s.models:
        raise ValueError("models: give at least one model")
    for m in s.models:
        if m not in ATTENTIONS:
            raise ValueError(f"models: unknown attention {m!r}; allowed: {', '.join(ATTENTIONS)}")
    if len(set(s.models)) != len(s.models):
        raise ValueError("models: each model at most once")
    if s.task not in TASKS:
        raise ValueError(f"task: unknown task {s.task!r}; allowed: {', '.join(TASKS)}")
    if s.cell not in CELLS:
        raise ValueError(f"cell: unknown cell {s.cell!r}; allowed: {', '.join(CELLS)}")
    for name in ("vocab", "embed", "hidden", "steps", "batch_size", "train_pool", "test_size"):
        v = getattr(s, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < (2 if name == "vocab" else 1):
            raise ValueError(f"{name}: must be a positive whole number, got {v!r}")
    if not (isinstance(s.lr, (int, float)) and math.isfinite(s.lr) and s.lr > 0):
        raise ValueError(f"lr: must be a positive number, got {s.lr!r}")


def _decode(ids: Iterable[int], syms: Sequence[str]) -> str:
    out = []
    for i in ids:
        if i == EOS_ID:
            break
        out.append(syms[i - _N_SPECIAL] if i >= _N_SPECIAL else SPECIALS[i])
    return " ".join(out)


def _text(ids: Iterable[int], syms: Sequence[str]) -> str:
    return " ".join(syms[i - _N_SPECIAL] if i >= _N_SPECIAL else (EOS if i == EOS_ID else SPECIALS[i])
                    for i in ids if i != EOS_ID)


def run_experiment(lengths: Sequence[int] | None = None,
                   models: Sequence[str] | None = ("none", "bahdanau", "dot"), *,
                   seed: int = 0, steps: int | None = None, hidden: int | None = None,
                   quick: bool = False, task: str | None = None, vocab: int | None = None,
                   batch_size: int | None = None, lr: float | None = None,
                   device: str | None = None,
                   progress: Callable[[dict], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> BottleneckResult:
    """Train each model once on lengths min..max and score it per length on held-out data.

    Anything left as ``None`` comes from :data:`DEFAULT` (or :data:`QUICK` with
    ``quick=True``). ``progress`` gets a dict after every evaluated (model, length) —
    ``{"event": "eval", "model", "length", "exact_match", "token_accuracy", "fraction",
    "result"}`` — and every few training steps — ``{"event": "train", "model", "step",
    "steps", "loss", "fraction", "result"}``; ``result`` is the partial
    :meth:`BottleneckResult.to_json` so far (a fresh dict each time, safe to keep).
    ``should_stop`` is checked between steps; when it returns true the run ends at once
    and the partial result comes back with ``complete == False``.
    """
    base = QUICK if quick else DEFAULT
    changes: dict[str, Any] = {}
    if lengths is not None:
        changes["lengths"] = tuple(lengths)
    if models is not None:
        changes["models"] = tuple(models)
    for name, v in (("steps", steps), ("hidden", hidden), ("task", task), ("vocab", vocab),
                    ("batch_size", batch_size), ("lr", lr), ("device", device)):
        if v is not None:
            changes[name] = v
    s = dataclasses.replace(base, **changes)
    _check(s)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed: must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
    dev = resolve_device(s.device)
    t_start = time.perf_counter()
    syms = symbols(s.vocab)
    pools, tests = make_datasets(s, seed, dev)
    train_lengths = list(range(min(s.lengths), max(s.lengths) + 1))
    settings = s.to_json()
    settings.update(device=str(dev), train_lengths=[train_lengths[0], train_lengths[-1]],
                    test_sizes=[int(tests[L].src.shape[0]) for L in s.lengths],
                    symbols=" ".join(syms))
    result = BottleneckResult(lengths=list(s.lengths), models={}, token_accuracy={}, seed=seed,
                              complete=False, settings=settings)
    n_models = len(s.models)
    report_every = max(1, s.steps // 40)

    def emit(event: dict) -> None:
        if progress is not None:
            result.seconds = time.perf_counter() - t_start
            event["result"] = result.to_json()
            progress(event)

    vocab_size = _N_SPECIAL + s.vocab
    for mi, name in enumerate(s.models):
        t_model = time.perf_counter()
        cfg = Seq2SeqConfig(cell=s.cell, attention=name, embed=s.embed, hidden=s.hidden)
        with RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same initial embeddings / encoder for every model
            net = Seq2Seq(cfg, vocab_size, vocab_size).to(dev)
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=s.lr)
        # The same batches, in the same order, for every model.
        gen = torch.Generator().manual_seed(seed * 7_919 + 3)
        order = torch.randint(0, len(train_lengths), (s.steps,), generator=gen).tolist()
        stopped = False
        for step, li in enumerate(order, start=1):
            if should_stop():
                stopped = True
                break
            pool = pools[train_lengths[li]]
            idx = torch.randint(0, pool.src.shape[0], (s.batch_size,), generator=gen).to(dev)
            logits = net(pool.src[idx], None, pool.tgt_in[idx], feed="gold")
            loss = F.cross_entropy(logits.reshape(-1, vocab_size), pool.tgt_out[idx].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            loss_v = float(loss.detach())
            if not (math.isfinite(loss_v) and math.isfinite(float(norm))):
                result.notes.append(f"{name}: training stopped at step {step}: the loss or gradient "
                                    "became non-finite; scored with the last finite weights")
                break
            if s.decay:  # linear decay to 10 % of lr over the run
                for group in opt.param_groups:
                    group["lr"] = s.lr * (1.0 - 0.9 * (step - 1) / max(s.steps - 1, 1))
            opt.step()
            if step % report_every == 0 or step == s.steps:
                emit({"event": "train", "model": name, "model_index": mi, "step": step,
                      "steps": s.steps, "loss": loss_v,
                      "fraction": (mi + 0.95 * step / s.steps) / n_models})
        if stopped:
            break
        net.eval()
        result.models[name], result.token_accuracy[name], result.examples[name] = [], [], []
        for li, L in enumerate(s.lengths):
            if should_stop():
                stopped = True
                break
            test = tests[L]
            with torch.no_grad():
                pred = net.greedy(test.src, None, test.tgt_out.shape[1])
            right = pred == test.tgt_out
            em = float(right.all(1).float().mean())
            ta = float(right.float().mean())
            result.models[name].append(round(em, 4))
            result.token_accuracy[name].append(round(ta, 4))
            # the first wrong example if there is one (more telling), else the first one
            wrong = (~right.all(1)).nonzero()
            k = int(wrong[0, 0]) if wrong.numel() else 0
            result.examples[name].append({
                "source": _text(test.src[k].tolist(), syms),
                "target": _text(test.tgt_out[k].tolist(), syms),
                "predicted": _decode(pred[k].tolist(), syms),
            })
            emit({"event": "eval", "model": name, "model_index": mi, "length": L,
                  "exact_match": em, "token_accuracy": ta,
                  "fraction": (mi + 0.95 + 0.05 * (li + 1) / len(s.lengths)) / n_models})
        result.model_seconds[name] = time.perf_counter() - t_model
        if stopped:
            break
    else:
        result.complete = True
    result.seconds = time.perf_counter() - t_start
    return result


def format_table(result: BottleneckResult | dict) -> str:
    """The result as a plain-text table: one row per length, exact match (token accuracy)."""
    r = result if isinstance(result, BottleneckResult) else BottleneckResult.from_json(result)
    names = list(r.models)
    head = f"{'length':>6} " + " ".join(f"{n:>18}" for n in names)
    lines = [head, "-" * len(head)]
    for i, L in enumerate(r.lengths):
        cells = []
        for n in names:
            em, ta = r.models[n], r.token_accuracy.get(n, [])
            cells.append(f"{em[i]:>8.2f} ({ta[i]:.2f})" if i < len(em) and i < len(ta) else
                         (f"{em[i]:>8.2f}       " if i < len(em) else f"{'–':>8}       "))
        lines.append(f"{L:>6} " + " ".join(f"{c:>18}" for c in cells))
    lines.append("exact match (token accuracy) on held-out sequences; "
                 + ", ".join(f"{n} {r.model_seconds.get(n, 0):.1f} s" for n in names))
    return "\n".join(lines)
