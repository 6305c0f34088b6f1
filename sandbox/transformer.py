"""A small encoder-decoder Transformer whose every attention goes through :func:`attend`.

Sinusoidal positions, multi-head scaled dot-product attention, pre-LayerNorm residual
blocks (LayerNorm before each sub-layer; it trains reliably at toy sizes without warm-up),
a final LayerNorm on each stack. Masks use PyTorch's convention: True = may not attend.

Per layer the encoder runs ``self`` attention; the decoder runs ``masked_self`` attention
(causal: position t sees 0..t) and then ``cross`` attention over the encoder's output.
Each :class:`MultiHeadAttention` is parameterised like ``torch.nn.MultiheadAttention``
(q/k/v projections with bias, then an output projection), so its weights can be copied
into one and compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .attention import attend
from .seq2seq import Memory, StepOut
from .vocab import PAD_ID, SOS_ID

MAX_LEN = 256


@dataclass(frozen=True)
class TransformerConfig:
    """What a :class:`Transformer` is built from (a preset's ``[model]`` keys for it)."""

    d_model: int = 32  # D, the width of every vector
    heads: int = 2  # must divide d_model; each head has d_model // heads dimensions
    layers: int = 1  # encoder and decoder layers each
    d_ff: int = 64  # the feed-forward block's inner width
    dropout: float = 0.0  # in [0, 1); attention weights are recorded before it

    @classmethod
    def of(cls, cfg: Any) -> "TransformerConfig":
        """This config, or one read from any object with the same fields (a preset's ModelConfig)."""
        if isinstance(cfg, cls):
            return cfg
        return cls(d_model=int(cfg.d_model), heads=int(cfg.heads), layers=int(cfg.layers),
                   d_ff=int(cfg.d_ff), dropout=float(cfg.dropout))


def sinusoidal_positions(n: int, d: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same); (n, d) float32."""
    pos = np.arange(n, dtype=np.float64)[:, None]
    i = np.arange(0, d, 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, i / d)
    pe = np.zeros((n, d), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d // 2])
    return pe.astype(np.float32)


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, heads: int, dropout: float, kind: str, layer: int) -> None:
        super().__init__()
        self.heads, self.kind, self.layer = heads, kind, layer
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.attn_drop = nn.Dropout(dropout)

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor, mask: torch.Tensor | None,
                record_from: int = 0) -> torch.Tensor:
        B, L, D = x_q.shape
        S, H = x_kv.shape[1], self.heads
        q = self.q_proj(x_q).view(B, L, H, D // H).transpose(1, 2)  # (B, H, L, dh)
        k = self.k_proj(x_kv).view(B, S, H, D // H).transpose(1, 2)  # (B, H, S, dh)
        v = self.v_proj(x_kv).view(B, S, H, D // H).transpose(1, 2)  # (B, H, S, dh)
        out, _ = attend(q, k, v, score="scaled_dot", mask=mask, kind=self.kind,
                        layer=self.layer, dropout=self.attn_drop, record_from=record_from)  # (B, H, L, dh)
        out = out.transpose(1, 2).reshape(B, L, D)  # heads concatenated
        return self.out_proj(out)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model),
                                 nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    def __init__(self, cfg, layer: int) -> None:
        super().__init__()
        D = cfg.d_model
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.self_attn = MultiHeadAttention(D, cfg.heads, cfg.dropout, "self", layer)
        self.ff = FeedForward(D, cfg.d_ff, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.drop(self.self_attn(h, h, src_mask))
        return x + self.ff(self.ln2(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, layer: int) -> None:
        super().__init__()
        D = cfg.d_model
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
        self.self_attn = MultiHeadAttention(D, cfg.heads, cfg.dropout, "masked_self", layer)
        self.cross_attn = MultiHeadAttention(D, cfg.heads, cfg.dropout, "cross", layer)
        self.ff = FeedForward(D, cfg.d_ff, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, self_mask: torch.Tensor,
                src_mask: torch.Tensor, record_from: int = 0) -> torch.Tensor:
        h = self.ln1(y)
        y = y + self.drop(self.self_attn(h, h, self_mask, record_from=record_from))
        y = y + self.drop(self.cross_attn(self.ln2(y), memory, src_mask, record_from=record_from))
        return y + self.ff(self.ln3(y))


def causal_mask(n: int, device=None) -> torch.Tensor:
    """(1, 1, n, n) True above the diagonal: position t may not attend to t' > t."""
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)[None, None]


class Transformer(nn.Module):
    kind = "transformer"

    def __init__(self, cfg: TransformerConfig, src_vocab: int, tgt_vocab: int) -> None:
        super().__init__()
        cfg = self.config = TransformerConfig.of(cfg)
        if cfg.d_model % cfg.heads:
            raise ValueError(f"heads ({cfg.heads}) must divide d_model ({cfg.d_model})")
        D = self.d_model = cfg.d_model
        self.heads, self.layers = cfg.heads, cfg.layers
        self.src_embed = nn.Embedding(src_vocab, D, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab, D, padding_idx=PAD_ID)
        self.register_buffer("pe", torch.from_numpy(sinusoidal_positions(MAX_LEN, D)), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.enc_layers = nn.ModuleList(EncoderLayer(cfg, i) for i in range(cfg.layers))
        self.dec_layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(D), nn.LayerNorm(D)
        self.W_o = nn.Linear(D, tgt_vocab)

    def _embed(self, table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        n = ids.shape[1]
        if n > MAX_LEN:
            raise ValueError(f"sequence of {n} tokens is longer than the model's {MAX_LEN}")
        return self.drop(table(ids) * math.sqrt(self.d_model) + self.pe[:n])

    def encode(self, src: torch.Tensor, src_lens: torch.Tensor | None = None) -> Memory:
        mask = (src == PAD_ID)[:, None, None, :]  # (B, 1, 1, S)
        x = self._embed(self.src_embed, src)  # (B, S, D)
        for layer in self.enc_layers:
            x = layer(x, mask)
        return Memory(states=self.enc_norm(x), mask=mask, final=None)

    def decode(self, mem: Memory, tgt_in: torch.Tensor, padded: bool = True, record_from: int = 0) -> torch.Tensor:
        """Decoder output (B, L, D) for inputs tgt_in (B, L).

        ``padded``: tgt_in is a padded training batch, so <pad> keys are masked. Decoding
        feeds its own predictions, which are never padding even if an untrained model
        predicts the <pad> token, so it passes False. ``record_from``: see :func:`attend`.
        """
        L = tgt_in.shape[1]
        self_mask = causal_mask(L, tgt_in.device)
        if padded:
            self_mask = self_mask | (tgt_in == PAD_ID)[:, None, None, :]
        y = self._embed(self.tgt_embed, tgt_in)
        for layer in self.dec_layers:
            y = layer(y, mem.states, self_mask, mem.mask, record_from=record_from)
        return self.dec_norm(y)

    @torch.no_grad()
    def _greedy_inputs(self, mem: Memory, first: torch.Tensor, length: int) -> torch.Tensor:
        ys = first[:, None]
        for _ in range(length - 1):
            nxt = self.W_o(self.decode(mem, ys, padded=False)[:, -1]).argmax(-1)
            ys = torch.cat([ys, nxt[:, None]], dim=1)
        return ys

    @torch.no_grad()
    def _mixed_inputs(self, mem: Memory, tgt_in: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        """Scheduled sampling per token: position t reads tgt_in[:, t] where gold[:, t], else
        the model's argmax after the inputs mixed so far (no gradient)."""
        ys = tgt_in[:, :1]
        for t in range(1, tgt_in.shape[1]):
            pred = self.W_o(self.decode(mem, ys, padded=False)[:, -1]).argmax(-1)
            ys = torch.cat([ys, torch.where(gold[:, t], tgt_in[:, t], pred)[:, None]], dim=1)
        return ys

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_lens: torch.Tensor | None, max_len: int) -> torch.Tensor:
        """Greedy free-running decode of a batch: predicted ids (B, max_len), no recording."""
        mem = self.encode(src, src_lens)
        first = torch.full((src.shape[0],), SOS_ID, dtype=torch.long, device=src.device)
        return self._greedy_inputs(mem, first, max_len + 1)[:, 1:]

    def forward(self, src: torch.Tensor, src_lens: torch.Tensor | None, tgt_in: torch.Tensor,
                feed: "str | torch.Tensor" = "gold") -> torch.Tensor:
        """Logits (B, L, V). ``feed="prediction"`` first decodes greedily (no gradient) and
        then trains on those inputs — free running, computed in parallel. A (B, L) bool
        tensor mixes per token (see :meth:`_mixed_inputs`; True = gold)."""
        mem = self.encode(src, src_lens)
        if isinstance(feed, torch.Tensor):
            if not bool(feed[:, 1:].all()):
                tgt_in = self._mixed_inputs(mem, tgt_in, feed)
        elif feed != "gold":
            tgt_in = self._greedy_inputs(mem, tgt_in[:, 0], tgt_in.shape[1])
        return self.W_o(self.decode(mem, tgt_in))

    # -- one sentence, one step at a time (tracing) ---------------------------------------
    def start(self, mem: Memory) -> Any:
        return []

    def step(self, mem: Memory, carry: Any, token: int, t: int) -> StepOut:
        prefix = list(carry) + [token]
        ids = torch.tensor([prefix], device=mem.states.device)
        # causal: re-running the prefix changes nothing before t, so only row t is recorded
        y = self.decode(mem, ids, padded=False, record_from=t)[0, -1]  # (D,)
        return StepOut(logits=self.W_o(y), output=y, state=y, carry=prefix, concat=(), cell_input=())

    def steps_parallel(self, mem: Memory, tokens: list[int]) -> list[StepOut]:
        """Every decoder step at once, as training runs it: inputs ``tokens`` (L,) under the
        causal mask, so a recorder sees each ``masked_self`` row with -inf after its step."""
        ids = torch.tensor([tokens], device=mem.states.device)  # (1, L)
        y = self.decode(mem, ids, padded=False)[0]  # (L, D)
        logits = self.W_o(y)  # (L, V)
        return [StepOut(logits=logits[t], output=y[t], state=y[t], carry=list(tokens[: t + 1]),
                        concat=(), cell_input=()) for t in range(len(tokens))]

    # -- a batch of hypotheses, one step at a time (beam search) --------------------------
    def beam_start(self, mem: Memory) -> torch.Tensor:
        return torch.zeros((1, 0), dtype=torch.long, device=mem.states.device)  # (B, 0) prefixes

    def beam_step(self, mem: Memory, carry: torch.Tensor, tokens: torch.Tensor,
                  t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B,) -> (logits (B, V), carry); ``mem`` holds one sentence, shared."""
        ids = torch.cat([carry, tokens[:, None]], dim=1)  # (B, t + 1)
        B = ids.shape[0]
        shared = Memory(states=mem.states.expand(B, -1, -1), mask=mem.mask.expand(B, -1, -1, -1),
                        final=None)
        y = self.decode(shared, ids, padded=False)[:, -1]  # (B, D)
        return self.W_o(y), ids

    @staticmethod
    def beam_select(carry: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return carry[index]
