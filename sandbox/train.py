"""Training: a batched, seeded loop with device choice, cancel and a non-finite guard.

:class:`Trainer` owns the model while it trains (the GUI runs it in a worker thread and only
ever sees immutable :class:`Metrics` and fresh traces). One call to :meth:`Trainer.step` is
one optimisation step; :meth:`Trainer.run` loops them and checks ``should_stop`` between
steps, so pause and stop take effect within one step.

How a step works
----------------
- The preset's pairs are encoded once, up front, into padded id tensors on the training
  device: source ids + ``<eos>`` (with their lengths), decoder input ``<sos>`` + target, and
  decoder output target + ``<eos>``; shorter rows are padded with ``<pad>``.
- Batches: with ``batch_size >= len(pairs)`` every step uses all pairs (full batch);
  otherwise each step samples ``batch_size`` distinct pairs with a ``torch.Generator``
  seeded by the preset's seed.
- Teacher forcing is drawn **per target token** (scheduled sampling, Bengio et al. 2015,
  "Scheduled Sampling for Sequence Prediction with Recurrent Neural Networks"): for every
  decoder input after ``<sos>`` an independent Bernoulli(``teacher_forcing``) draw decides
  whether that position reads the gold previous token or the model's own prediction at the
  previous position (given the inputs mixed so far). ``sandbox.presets.TEACHER_FORCING_HELP``
  says this in one sentence for the editor and the preset comment. The draws come from their own
  generator (seeded by the preset's seed), so the batch order never depends on the ratio; at
  ``teacher_forcing = 1.0`` nothing is drawn and every input is gold. ``Metrics.fed_gold``
  is the share of this step's inputs that were gold.
- Loss: cross-entropy over every non-``<pad>`` output position; Adam(lr) with the gradient
  clipped to norm 1.0.
- Dropout (Transformer presets with ``dropout > 0``) draws from a private random stream
  seeded by the preset's seed, so the same seed gives the same losses on the CPU.

Non-finite guard: if the loss or the gradient norm is not finite the optimiser step is
skipped (the weights and the Adam state are untouched). An Adam step with a finite gradient
moves a weight by at most ~32·lr (see ``ADAM_MAX_MOVE``), so while max|w| + 40·lr is far
from float32's limit the step provably cannot make a weight inf/nan and nothing more is
done; otherwise (an absurd learning rate) the weights and the Adam state are copied before
the step, checked after it, and restored if any weight is not finite or the update
overflowed. Either way :class:`NonFiniteError` names the step and the learning rate, and the
model keeps the last finite weights.

Metrics: ``loss`` is this step's batch loss. ``token_accuracy`` is the teacher-forced argmax
accuracy over non-pad tokens: on an evaluation step (every ``eval_every`` steps and the last
step) it is measured on all pairs after the update; in between it comes free from this
step's batch (before the update, fed as the step was fed). ``exact_match`` is the fraction of pairs whose free-running
greedy decode equals the target exactly (``<eos>`` included); it is measured on evaluation
steps and carried forward in between (``None`` before the first evaluation). Evaluation steps
score both by the rules of ``python main.py evaluate``
(:func:`sandbox.evaluate.teacher_forced_match`): a gold ``<unk>`` (a held-out word outside
the vocabulary) is never right.

Corpus presets (``[data]``) train on the training split only (``preset.pairs``).
``heldout_exact`` is the same exact match on the held-out pairs (``None`` when the preset
holds nothing out). A running evaluation looks at no more than :data:`EVAL_MAX_PAIRS` pairs
of each split (a fixed sample drawn with the preset's seed), so that a 100,000-pair corpus
does not spend its time evaluating; ``python main.py evaluate`` scores every pair.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .device import DEVICES, DeviceError, available_devices, resolve_device  # noqa: F401 - re-exported
from .evaluate import teacher_forced_match
from .model import RNG_LOCK, Bundle, build_model, build_vocabs
from .vocab import PAD_ID, SOS_ID, encode_sentence

__all__ = [
    "DeviceError", "NonFiniteError", "Metrics", "TrainResult", "Trainer", "EncodedPairs",
    "available_devices", "resolve_device", "encode_pairs", "EVAL_MAX_PAIRS",
]

EVAL_MAX_PAIRS = 500  # pairs per split looked at by a running evaluation (standard error ≤ 2.3 points)
GRAD_CLIP = 1.0
ADAM_BETAS = (0.9, 0.999)
# One Adam step (these betas, no weight decay, no amsgrad) moves a weight by at most
#   lr * (1-b1)/sqrt(1-b2) * 1/(1 - b1/sqrt(b2)) ~= 31.8 * lr,
# whatever the gradient (|m_t| <= (1-b1) sum_k b1^k |g_{t-k}| and
# sqrt(v_t) >= sqrt((1-b2) b2^k) |g_{t-k}|; the bias corrections only shrink it). So while
# max|w| + ADAM_MAX_MOVE * lr stays far below float32's 3.4e38, a step with a finite
# gradient cannot make a weight inf or nan, and the copy-and-check is skipped.
ADAM_MAX_MOVE = 40.0
SAFE_WEIGHT_BOUND = 1e30


class NonFiniteError(RuntimeError):
    """The loss, the gradient or the weights became inf/nan; the last finite weights are kept."""

    def __init__(self, message: str, step: int, lr: float, what: str) -> None:
        super().__init__(message)
        self.step, self.lr, self.what = step, lr, what


@dataclass(frozen=True)
class Metrics:
    """A snapshot after one step; immutable, safe to hand to another thread."""

    step: int  # steps done so far (1 after the first step)
    steps: int  # total steps planned
    loss: float  # this step's batch loss
    token_accuracy: float  # teacher-forced token accuracy (see the module docstring)
    exact_match: float | None  # free-running exact match, last evaluation (None before one)
    steps_per_sec: float  # steps done / seconds spent in step()
    elapsed: float  # seconds spent in step() (evaluations included)
    lr: float
    fed_gold: float = 1.0  # share of this step's decoder inputs (after <sos>, not padding) fed gold
    heldout_exact: float | None = None  # free-running exact match on held-out pairs (None: none held out)


@dataclass(frozen=True)
class TrainResult:
    status: str  # "done" | "stopped" | "nonfinite"
    metrics: Metrics | None  # the last metrics (None if no step finished)
    message: str


@dataclass(frozen=True)
class EncodedPairs:
    """All pairs as padded id tensors (on one device)."""

    src: torch.Tensor  # (N, S) source ids + <eos>, <pad>-padded
    src_lens: torch.Tensor  # (N,) true source lengths (<eos> included)
    tgt_in: torch.Tensor  # (N, T) <sos> + target
    tgt_out: torch.Tensor  # (N, T) target + <eos>
    src_lens_cpu: tuple[int, ...]
    tgt_lens_cpu: tuple[int, ...]

    def __len__(self) -> int:
        return self.src.shape[0]

    def select(self, idx: torch.Tensor):
        """Rows ``idx`` (a CPU long tensor), trimmed to the longest row of the batch:
        (src, src_lens, tgt_in, tgt_out, number of output tokens)."""
        rows = idx.tolist()
        s = max(self.src_lens_cpu[i] for i in rows)
        t = max(self.tgt_lens_cpu[i] for i in rows)
        dev_idx = idx.to(self.src.device)
        return (self.src[dev_idx, :s], self.src_lens[dev_idx], self.tgt_in[dev_idx, :t],
                self.tgt_out[dev_idx, :t], sum(self.tgt_lens_cpu[i] for i in rows))


def encode_pairs(bundle: Bundle, device: torch.device | str = "cpu", pairs=None) -> EncodedPairs:
    """Tokenise and pad ``pairs`` (default: the preset's training pairs) once."""
    p = bundle.preset
    pairs = p.pairs if pairs is None else pairs
    srcs = [list(encode_sentence(x.source, bundle.src_vocab, p.tokenizer.source).ids) for x in pairs]
    tgts = [list(encode_sentence(x.target, bundle.tgt_vocab, p.tokenizer.target).ids) for x in pairs]
    if not srcs:
        raise ValueError(f"preset {p.key!r} has no sentence pairs to train on")
    S, T = max(map(len, srcs)), max(map(len, tgts))
    src = [s + [PAD_ID] * (S - len(s)) for s in srcs]
    tgt_out = [t + [PAD_ID] * (T - len(t)) for t in tgts]
    tgt_in = [[SOS_ID] + t[:-1] + [PAD_ID] * (T - len(t)) for t in tgts]

    def tensor(x):
        return torch.tensor(x, dtype=torch.long, device=device)

    return EncodedPairs(src=tensor(src), src_lens=tensor([len(s) for s in srcs]),
                        tgt_in=tensor(tgt_in), tgt_out=tensor(tgt_out),
                        src_lens_cpu=tuple(map(len, srcs)), tgt_lens_cpu=tuple(map(len, tgts)))


def _has_dropout(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules())


class Trainer:
    """Trains ``bundle.model`` in place on ``device`` with the preset's training settings.

    CPU threads: the process-wide setting of :func:`sandbox.model.configure_torch` (one
    intra-op thread unless ``ATTENTION_SANDBOX_THREADS`` says otherwise) applies.
    """

    def __init__(self, bundle: Bundle, *, steps: int | None = None, device: str = "auto",
                 seed: int | None = None, eval_every: int = 25) -> None:
        self.device = resolve_device(device)
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise ValueError(f"steps must be a whole number of at least 1, got {steps!r}")
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ValueError(f"eval_every must be a whole number of at least 1, got {eval_every!r}")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
                raise ValueError(f"seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
            from .presets import with_seed

            preset = with_seed(bundle.preset, seed)  # a corpus's held-out part follows the seed
            src_vocab, tgt_vocab = bundle.src_vocab, bundle.tgt_vocab
            if preset.heldout_pairs and "subword" in (preset.tokenizer.source, preset.tokenizer.target):
                src_vocab, tgt_vocab = build_vocabs(preset)  # SentencePiece learns from this split's training pairs
            bundle = Bundle(preset, src_vocab, tgt_vocab, build_model(preset, src_vocab, tgt_vocab))
        self.bundle = bundle
        cfg = bundle.preset.training
        self.lr = float(cfg.lr)
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"the learning rate must be a positive number, got {cfg.lr!r}")
        self.batch_size = int(cfg.batch_size)
        self.teacher_forcing = float(cfg.teacher_forcing)
        self.seed = int(cfg.seed)
        self.total_steps = int(steps if steps is not None else cfg.steps)
        self.eval_every = eval_every
        self.step_count = 0
        self.elapsed = 0.0

        bundle.model.to(self.device)
        bundle.model.train()
        self.model = bundle.model
        self.data = encode_pairs(bundle, self.device)
        self._n = len(self.data)
        self._eval_train = self._eval_sample(self.data)
        held = bundle.preset.heldout_pairs
        self.heldout = encode_pairs(bundle, self.device, held) if held else None
        self._eval_held = self._eval_sample(self.heldout) if self.heldout is not None else None
        self._last_heldout: float | None = None
        self._full_batch = self.batch_size >= self._n
        if self._full_batch:
            d = self.data
            self._full = (d.src, d.src_lens, d.tgt_in, d.tgt_out, sum(d.tgt_lens_cpu))
        self._gen = torch.Generator().manual_seed(self.seed)
        # Per-token teacher forcing draws: a stream of their own, so the batches are the same
        # whatever the ratio (and nothing is drawn at 1.0).
        self._tf_gen = torch.Generator().manual_seed((self.seed + 0x5EED) % 2**63)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self._params, lr=self.lr, betas=ADAM_BETAS)
        self._weight_bound = self._max_abs_weight()  # an upper bound on max|w|
        # Dropout's own random stream (CPU and, when training there, CUDA), seeded once.
        self._dropout = _has_dropout(self.model)
        self._rng_cpu = self._rng_cuda = None
        if self._dropout:
            with RNG_LOCK:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed)
                    self._rng_cpu = torch.get_rng_state()
                if self.device.type == "cuda":
                    self._rng_cuda = self._seeded_cuda_state()
        self._snap_params: list[torch.Tensor] = []
        self._snap_state: dict = {}
        self._last_exact: float | None = None
        self._last_eval_step = -1
        self.last_metrics: Metrics | None = None

    def _eval_sample(self, data: EncodedPairs):
        """(src, lens, tgt_in, tgt_out) of at most EVAL_MAX_PAIRS rows, a seeded sample."""
        if len(data) <= EVAL_MAX_PAIRS:
            return data.src, data.src_lens, data.tgt_in, data.tgt_out
        g = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(data), generator=g)[:EVAL_MAX_PAIRS].sort().values
        src, lens, tgt_in, tgt_out, _n = data.select(idx)
        return src, lens, tgt_in, tgt_out

    # -- properties ----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.step_count >= self.total_steps

    @property
    def pairs_count(self) -> int:
        return self._n

    # -- one step ------------------------------------------------------------------------
    def _batch(self):
        if self._full_batch:
            return self._full
        idx = torch.randperm(self._n, generator=self._gen)[: self.batch_size]
        return self.data.select(idx)

    def _seeded_cuda_state(self) -> torch.Tensor:
        with torch.cuda.device(self.device):
            saved = torch.cuda.get_rng_state()
            torch.cuda.manual_seed(self.seed)
            state = torch.cuda.get_rng_state()
            torch.cuda.set_rng_state(saved)
        return state

    def _take_snapshot(self) -> None:
        """Copies of the parameters and of every tensor of the Adam state."""
        with torch.no_grad():
            self._snap_params = [p.detach().clone() for p in self._params]
            self._snap_state = {
                p: {k: (v.detach().clone() if torch.is_tensor(v) else v) for k, v in st.items()}
                for p, st in self.optimizer.state.items()}

    def _restore_snapshot(self) -> None:
        with torch.no_grad():
            for p, saved in zip(self._params, self._snap_params):
                p.copy_(saved)
            state = self.optimizer.state
            for p in list(state):
                if p not in self._snap_state:  # created by the failed step
                    del state[p]
            for p, saved_st in self._snap_state.items():
                st = state[p]
                for k, v in saved_st.items():
                    if torch.is_tensor(v) and torch.is_tensor(st.get(k)):
                        st[k].copy_(v)
                    else:
                        st[k] = v
        self._snap_params, self._snap_state = [], {}

    def _teacher_forcing(self, tgt_in: torch.Tensor) -> tuple["str | torch.Tensor", float]:
        """(feed, share fed gold) for a batch: ``"gold"`` at ratio 1.0, else a (B, T) bool
        mask, True where input position t reads the gold token (always at t = 0, <sos>)."""
        if self.teacher_forcing >= 1.0:
            return "gold", 1.0
        gold = torch.rand(tuple(tgt_in.shape), generator=self._tf_gen) < self.teacher_forcing  # (B, T)
        gold[:, 0] = True
        real = (tgt_in != PAD_ID).cpu()
        real[:, 0] = False
        n = int(real.sum())
        share = float((gold & real).sum()) / n if n else 1.0
        return gold.to(tgt_in.device), share

    def _forward_loss(self, src, lens, tgt_in, tgt_out, feed):
        logits = self.model(src, lens, tgt_in, feed=feed)
        flat = logits.reshape(-1, logits.shape[-1])
        loss = F.cross_entropy(flat, tgt_out.reshape(-1), ignore_index=PAD_ID)
        return logits, loss

    def step(self) -> Metrics:
        """One optimisation step. Raises :class:`NonFiniteError` (weights kept finite)."""
        t0 = time.perf_counter()
        n = self.step_count + 1
        src, lens, tgt_in, tgt_out, n_tokens = self._batch()
        # One scalar from the batch stream per step, unused: earlier versions drew their
        # per-batch teacher forcing here, and keeping the draw keeps every seed's batch
        # order (and so the shipped checkpoints' training) unchanged.
        torch.rand((), generator=self._gen)
        feed, fed_gold = self._teacher_forcing(tgt_in)
        if not self.model.training:  # a trace (eval mode) restores it; checking is cheap
            self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        if self._dropout:
            # Dropout draws from torch's global stream: swap ours in, under the lock that
            # model building also takes, so another thread cannot interleave its draws.
            with RNG_LOCK:
                saved_cpu = torch.get_rng_state()
                torch.set_rng_state(self._rng_cpu)
                if self._rng_cuda is not None:
                    saved_cuda = torch.cuda.get_rng_state(self.device)
                    torch.cuda.set_rng_state(self._rng_cuda, self.device)
                try:
                    logits, loss = self._forward_loss(src, lens, tgt_in, tgt_out, feed)
                finally:
                    self._rng_cpu = torch.get_rng_state()
                    torch.set_rng_state(saved_cpu)
                    if self._rng_cuda is not None:
                        self._rng_cuda = torch.cuda.get_rng_state(self.device)
                        torch.cuda.set_rng_state(saved_cuda, self.device)
        else:
            logits, loss = self._forward_loss(src, lens, tgt_in, tgt_out, feed)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self._params, GRAD_CLIP)
        with torch.no_grad():
            correct = ((logits.argmax(-1) == tgt_out) & (tgt_out != PAD_ID)).sum()
            loss_v, norm_v, correct_v = torch.stack(
                [loss.detach().float(), norm.detach().float().to(loss.device),
                 correct.float()]).tolist()
        if not math.isfinite(loss_v):
            self._fail(n, "the loss", loss_v)
        if not math.isfinite(norm_v):
            self._fail(n, "the gradient", norm_v)
        move = ADAM_MAX_MOVE * self.lr
        risky = not (self._weight_bound + move < SAFE_WEIGHT_BOUND)
        if risky:  # only an absurd learning rate (or absurd weights) gets here
            self._take_snapshot()
            try:
                self.optimizer.step()
            except RuntimeError as e:  # "value cannot be converted to type float without overflow"
                self._restore_snapshot()
                if "overflow" not in str(e):
                    raise
                self._fail(n, "the update", math.inf)
            biggest = self._max_abs_weight()
            if not math.isfinite(biggest):
                self._restore_snapshot()
                self._fail(n, "a weight", math.nan)
            self._weight_bound = biggest
        else:
            self.optimizer.step()
            self._weight_bound += move
        self.step_count = n
        token_acc = correct_v / max(n_tokens, 1)
        if n % self.eval_every == 0 or n >= self.total_steps:
            token_acc, self._last_exact = self.evaluate()
            self._last_eval_step = n
        self.elapsed += time.perf_counter() - t0
        m = Metrics(step=n, steps=self.total_steps, loss=loss_v, token_accuracy=token_acc,
                    exact_match=self._last_exact,
                    steps_per_sec=n / self.elapsed if self.elapsed > 0 else 0.0,
                    elapsed=self.elapsed, lr=self.lr, fed_gold=fed_gold,
                    heldout_exact=self._last_heldout)
        self.last_metrics = m
        return m

    def _max_abs_weight(self) -> float:
        """max |w| over all parameters (inf or nan if any weight is)."""
        with torch.no_grad():
            norms = torch._foreach_norm(self._params, math.inf)
            return float(torch.stack([x.to(self.device) for x in norms]).max())

    def _fail(self, n: int, what: str, value: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        kept = "the initial weights are kept" if n == 1 else f"the weights from step {n - 1} are kept"
        if what == "the update":
            happened = "the weight update overflowed"
        elif what == "a weight":
            happened = "a weight became inf or nan"
        else:
            happened = f"{what} became {_nonfinite_word(value)}"
        raise NonFiniteError(
            f"training stopped at step {n}: {happened} (learning rate {self.lr}); "
            f"{kept}. Lower the learning rate.", step=n, lr=self.lr, what=what)

    # -- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """(teacher-forced token accuracy, free-running exact match) on the training pairs
        (at most EVAL_MAX_PAIRS of them); also updates the held-out exact match."""
        model = self.model
        was_training = model.training
        model.eval()
        try:
            c, e = _scores(model, *self._eval_train)
            if self._eval_held is not None:
                self._last_heldout = _scores(model, *self._eval_held)[1]
        finally:
            model.train(was_training)
        return c, e

    @property
    def heldout_exact(self) -> float | None:
        """Held-out exact match at the last evaluation (None: nothing held out, or not yet)."""
        return self._last_heldout

    # -- the loop ------------------------------------------------------------------------
    def run(self, progress: Callable[[Metrics], None] | None = None,
            should_stop: Callable[[], bool] = lambda: False,
            until_exact: bool = False, final_evaluation: bool = True) -> TrainResult:
        """Step until done (or until every pair is reproduced exactly with ``until_exact``),
        checking ``should_stop`` before every step. Never raises NonFiniteError.

        ``final_evaluation``: after stopping between evaluation steps, measure the returned
        metrics on every pair first (a second on thousands of pairs); the window passes False
        so that stop returns within a step and keeps the last evaluation's figures."""
        last = self.last_metrics
        status, message = "done", ""
        while True:
            if until_exact and self._last_eval_step == self.step_count and self._last_exact == 1.0:
                message = f"every pair is reproduced exactly after {self.step_count} steps"
                break
            if self.done:
                message = f"trained {self.step_count} steps"
                break
            if should_stop():
                status, message = "stopped", f"stopped after {self.step_count} of {self.total_steps} steps"
                break
            try:
                last = self.step()
            except NonFiniteError as e:
                return TrainResult("nonfinite", last, str(e))
            if progress is not None:
                progress(last)
        if final_evaluation and last is not None and self._last_eval_step != self.step_count:
            t0 = time.perf_counter()
            acc, self._last_exact = self.evaluate()
            self._last_eval_step = self.step_count
            self.elapsed += time.perf_counter() - t0
            last = dataclasses.replace(last, token_accuracy=acc, exact_match=self._last_exact,
                                       heldout_exact=self._last_heldout, elapsed=self.elapsed,
                                       steps_per_sec=self.step_count / self.elapsed)
            self.last_metrics = last
        return TrainResult(status, last, message)


def _scores(model, src, lens, tgt_in, tgt_out) -> tuple[float, float]:
    """(teacher-forced token accuracy, free-running exact match) of an eval-mode model, by
    the rules of ``python main.py evaluate`` (:func:`sandbox.evaluate.teacher_forced_match`:
    one forward pass, no decoding loop)."""
    hits, exact = teacher_forced_match(model(src, lens, tgt_in, feed="gold"), tgt_out)
    c, total, e = torch.stack([hits.sum(), (tgt_out != PAD_ID).sum(), exact.sum()]).tolist()
    return c / max(total, 1), e / max(src.shape[0], 1)


def _nonfinite_word(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return "inf" if v > 0 else "-inf"
