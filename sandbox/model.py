"""A preset turned into something runnable: vocabularies plus a seeded model.

:class:`Bundle` is what traces, the trainer and checkpoints pass around. Building one from
the same preset always gives the same weights (the model is initialised under the preset's
seed), so an untrained model's trace is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

import os
import threading
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .presets import Preset
from .seq2seq import Memory, Seq2Seq, Seq2SeqConfig, StepOut
from .transformer import Transformer, TransformerConfig
from .vocab import Vocab


def configure_torch() -> None:
    """Use one intra-op thread unless ATTENTION_SANDBOX_THREADS says otherwise.

    These models are tiny: splitting a 32×32 matmul across threads costs more than it
    saves, and on a busy 2-core machine the spinning worker threads made a trace ~100×
    slower (1.8 s against 15 ms for en_ko_transformer, measured here).
    """
    n = int(os.environ.get("ATTENTION_SANDBOX_THREADS", "1") or 1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


configure_torch()

# Guards torch's process-wide random state. Seeding a model build (fork_rng + manual_seed)
# and the trainer's swap to its private dropout stream both rewrite that global state; run
# in two threads at once (the window builds a preset while a worker trains), each would
# draw from the other's stream and neither would be reproducible.
RNG_LOCK = threading.RLock()


@runtime_checkable
class Decoder(Protocol):
    """What the trainer, :func:`sandbox.trace.trace` and beam search call on a model; both
    :class:`~sandbox.seq2seq.Seq2Seq` and :class:`~sandbox.transformer.Transformer` provide it.
    Shapes: B sentences, S source and L target positions, V target-vocabulary entries."""

    kind: str  # "seq2seq" | "transformer"

    def forward(self, src: torch.Tensor, src_lens: torch.Tensor | None, tgt_in: torch.Tensor,
                feed: "str | torch.Tensor" = "gold") -> torch.Tensor:
        """Logits (B, L, V) for decoder inputs (B, L) that start with <sos>. ``feed``:
        "gold", "prediction", or a (B, L) bool mask, True where the input is gold (per-token
        teacher forcing)."""
        ...

    def greedy(self, src: torch.Tensor, src_lens: torch.Tensor | None, max_len: int) -> torch.Tensor:
        """Greedy output ids (B, max_len)."""
        ...

    def encode(self, src: torch.Tensor, src_lens: torch.Tensor | None = None) -> Memory:
        """Encoder states (B, S, H), padding mask and final state."""
        ...

    def start(self, mem: Memory) -> Any:
        """The carry before decoder step 0 (one sentence)."""
        ...

    def step(self, mem: Memory, carry: Any, token: int, t: int) -> StepOut:
        """Decoder step t fed ``token``; records attention when a recorder is active."""
        ...


def build_vocabs(preset: Preset, subword: tuple[Vocab | None, Vocab | None] = (None, None)) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies of every token in the preset's pairs.

    For a corpus, held-out pairs count too (training pairs first): a word only they contain
    gets an id whose embedding training never moves, which the model cannot use any more
    than ``<unk>``. A ``subword`` side is a SentencePiece model trained on the training
    pairs only. Tokens are numbered in file order, so the vocabulary is the same for
    every seed's split and a checkpoint trained with ``--seed`` fits the preset it came from."""
    pairs = preset.file_order()
    tok = preset.tokenizer
    # A subword model is trained on the training pairs only (what a model may learn from).
    # ``subword`` gives already-trained subword vocabularies (a checkpoint's) to use as they are.
    src = (subword[0] if tok.source == "subword" and subword[0] is not None else
           Vocab.build((p.source for p in (preset.pairs if tok.source == "subword" else pairs)),
                       tok.source, tok.vocab_size))
    tgt = (subword[1] if tok.target == "subword" and subword[1] is not None else
           Vocab.build((p.target for p in (preset.pairs if tok.target == "subword" else pairs)),
                       tok.target, tok.vocab_size))
    return src, tgt


def build_model(preset: Preset, src_vocab: Vocab, tgt_vocab: Vocab) -> nn.Module:
    """A freshly initialised model for the preset, seeded by ``preset.training.seed``."""
    cfg = preset.model
    with RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(preset.training.seed)
        if cfg.kind == "seq2seq":
            return Seq2Seq(Seq2SeqConfig.of(cfg), len(src_vocab), len(tgt_vocab))
        if cfg.kind == "transformer":
            return Transformer(TransformerConfig.of(cfg), len(src_vocab), len(tgt_vocab))
    raise ValueError(f"unknown model kind {cfg.kind!r}; allowed: seq2seq, transformer")


def model_summary(preset: Preset) -> dict:
    """The trace JSON's ``model`` object."""
    cfg = preset.model
    if cfg.kind == "seq2seq":
        out = {"kind": "seq2seq", "cell": cfg.cell, "attention": cfg.attention}
        if cfg.encoder != "uni":
            out["encoder"] = cfg.encoder
        return out
    return {"kind": "transformer", "d_model": cfg.d_model, "heads": cfg.heads,
            "layers": cfg.layers, "d_ff": cfg.d_ff}


@dataclass
class Bundle:
    """A preset, its vocabularies and a model built for them."""

    preset: Preset
    src_vocab: Vocab
    tgt_vocab: Vocab
    model: nn.Module

    @classmethod
    def from_preset(cls, preset: Preset, device: str | torch.device = "cpu") -> "Bundle":
        src, tgt = build_vocabs(preset)
        model = build_model(preset, src, tgt).to(device)
        return cls(preset, src, tgt, model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


# Parameters with one row per vocabulary entry (same names in Seq2Seq and Transformer):
# which vocabulary indexes their first dimension.
VOCAB_ROWS = {"src_embed.weight": "src", "tgt_embed.weight": "tgt", "W_o.weight": "tgt", "W_o.bias": "tgt"}


def same_model_inputs(a: "Preset", b: "Preset") -> bool:
    """True when a model trained for preset ``a`` is a valid model of preset ``b``: the same
    model settings, tokenizers and seed, and the same token *sets* on both sides (pair
    order, training settings, names and comments do not matter)."""
    if a.model != b.model or a.tokenizer != b.tokenizer or a.training.seed != b.training.seed:
        return False
    va, vb = build_vocabs(a), build_vocabs(b)
    for x, y in zip(va, vb):
        if x.subword is not None or y.subword is not None:
            if x != y:  # a SentencePiece model retrained on other pairs splits differently
                return False
        elif set(x.tokens) != set(y.tokens):
            return False
    return True


def rebind(bundle: Bundle, preset: "Preset") -> Bundle | None:
    """``bundle``'s trained model as a Bundle of ``preset`` (None when
    :func:`same_model_inputs` is False). The vocabularies are rebuilt from ``preset`` (its
    order of first appearance may differ) and the vocabulary rows of the weights are
    permuted to match, so the new bundle computes exactly what the old one did and a
    checkpoint of it is consistent with ``preset``. The old bundle is not changed."""
    if not same_model_inputs(bundle.preset, preset):
        return None
    src, tgt = build_vocabs(preset)
    if (src, tgt) == (bundle.src_vocab, bundle.tgt_vocab):
        return Bundle(preset, src, tgt, bundle.model)
    old = {"src": bundle.src_vocab, "tgt": bundle.tgt_vocab}
    new = {"src": src, "tgt": tgt}
    state = bundle.model.state_dict()
    moved = {}
    for name, t in state.items():
        side = VOCAB_ROWS.get(name)
        if side is None:
            moved[name] = t.detach().clone()
            continue
        rows = torch.tensor([old[side].id(tok) for tok in new[side].tokens], device=t.device)
        moved[name] = t.detach().index_select(0, rows).clone()
    model = build_model(preset, src, tgt).to(bundle.device)
    model.load_state_dict(moved, strict=True)
    model.train(bundle.model.training)
    return Bundle(preset, src, tgt, model)
