"""RNN encoder-decoder with pluggable attention (the models of the seed notes).

cell ∈ {rnn, gru, lstm} × attention ∈ {none, dot, scaled_dot, general, bahdanau}.

Encoder: embedding -> RNN; its states h_1..h_T are the keys and the values. With
``encoder = "bi"`` (as in Bahdanau et al.) the RNN reads both ways and h_j is the sum of the
forward and backward states at j, so each key describes its own word and its neighbours
on both sides instead of everything to its left.
Decoder, per step t (s = the decoder's hidden state; for an LSTM its h, not its cell):

- ``dot`` / ``scaled_dot`` / ``general`` (Luong): s_t = cell(emb(y_{t-1}), s_{t-1});
  c_t = attend(query = s_t, keys = values = h); õ_t = tanh(W_c [c_t; s_t]).
- ``bahdanau``: c_t = attend(query = s_{t-1}, ...) first; s_t = cell([emb(y_{t-1}); c_t], s_{t-1});
  õ_t = tanh(W_c [c_t; s_t]).
- ``none``: the decoder starts from the encoder's final state and never looks back;
  õ_t = tanh(W_c s_t). This is the fixed-length bottleneck baseline; it emits no record.

Output distribution: softmax(W_o õ_t). Both decoders start from the encoder's final state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import AdditiveScore, GeneralScore, attend
from .names import ATTENTIONS, CELLS
from .vocab import PAD_ID, SOS_ID

CELL_MODULES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}  # one per name in CELLS
ENCODERS = ("uni", "bi")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """What a :class:`Seq2Seq` is built from (a preset's ``[model]`` keys for seq2seq)."""

    cell: str = "gru"  # rnn | gru | lstm
    attention: str = "bahdanau"  # none | dot | scaled_dot | general | bahdanau
    embed: int = 16  # E, the embedding size
    hidden: int = 32  # H, the encoder and decoder state size
    encoder: str = "uni"  # uni | bi (h_j = forward_j + backward_j)

    @classmethod
    def of(cls, cfg: Any) -> "Seq2SeqConfig":
        """This config, or one read from any object with the same fields (a preset's ModelConfig)."""
        if isinstance(cfg, cls):
            return cfg
        return cls(cell=cfg.cell, attention=cfg.attention, embed=int(cfg.embed), hidden=int(cfg.hidden),
                   encoder=getattr(cfg, "encoder", "uni"))


@dataclass
class Memory:
    """What the decoder reads from the encoder: states, padding mask and final state."""

    states: torch.Tensor  # (B, S, H) encoder states h_1..h_S (keys = values)
    mask: torch.Tensor  # (B, 1, 1, S) True where the source is padding
    final: Any  # (1, B, H) tensor, or an (h, c) pair for an LSTM


@dataclass
class StepOut:
    """One decoder step for one sentence (batch of one)."""

    logits: torch.Tensor  # (V,)
    output: torch.Tensor  # (d,) õ_t, the vector W_o reads
    state: torch.Tensor  # (H,) s_t after the step
    carry: Any  # what the next step needs
    concat: tuple[str, ...]  # which vectors went into W_c, in order
    cell_input: tuple[str, ...] = ("embedding",)  # what the decoder cell read this step


def _hidden(state: Any) -> torch.Tensor:
    """The h part of an RNN state: (1, B, H) -> (B, H)."""
    h = state[0] if isinstance(state, tuple) else state
    return h[-1]


class Seq2Seq(nn.Module):
    kind = "seq2seq"

    def __init__(self, cfg: Seq2SeqConfig, src_vocab: int, tgt_vocab: int) -> None:
        super().__init__()
        cfg = self.config = Seq2SeqConfig.of(cfg)
        if cfg.cell not in CELLS:
            raise ValueError(f"unknown cell {cfg.cell!r}; allowed: {', '.join(CELLS)}")
        if cfg.attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {cfg.attention!r}; allowed: {', '.join(ATTENTIONS)}")
        self.cell, self.attention = cfg.cell, cfg.attention
        if cfg.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {cfg.encoder!r}; allowed: {', '.join(ENCODERS)}")
        self.bidirectional = cfg.encoder == "bi"
        E, H = cfg.embed, cfg.hidden
        rnn = CELL_MODULES[cfg.cell]
        self.src_embed = nn.Embedding(src_vocab, E, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab, E, padding_idx=PAD_ID)
        self.encoder = rnn(E, H, batch_first=True, bidirectional=self.bidirectional)
        dec_in = E + (H if cfg.attention == "bahdanau" else 0)
        self.decoder = rnn(dec_in, H, batch_first=True)
        self.scorer: nn.Module | None = None
        if cfg.attention == "general":
            self.scorer = GeneralScore(H, H)
        elif cfg.attention == "bahdanau":
            self.scorer = AdditiveScore(H, H, H)
        self.W_c = nn.Linear(H if cfg.attention == "none" else 2 * H, H)
        self.W_o = nn.Linear(H, tgt_vocab)

    # -- encoder -------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_lens: torch.Tensor | None = None) -> Memory:
        """src (B, S) padded with <pad>; src_lens (B,) true lengths (None: no padding)."""
        emb = self.src_embed(src)  # (B, S, E)
        if src_lens is None or bool((src_lens == src.shape[1]).all()):
            states, final = self.encoder(emb)
        else:
            packed = pack_padded_sequence(emb, src_lens.cpu(), batch_first=True, enforce_sorted=False)
            states, final = self.encoder(packed)
            states, _ = pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        if self.bidirectional:
            # h_j = forward_j + backward_j (keeps d = H, so every score function still
            # compares vectors of one size); the decoder starts from the sum of both
            # directions' final states.
            H = states.shape[-1] // 2
            states = states[..., :H] + states[..., H:]  # (B, S, H)
            final = (tuple(f.sum(0, keepdim=True) for f in final) if isinstance(final, tuple)
                     else final.sum(0, keepdim=True))  # (1, B, H)
        mask = (src == PAD_ID)[:, None, None, :]  # (B, 1, 1, S)
        return Memory(states=states, mask=mask, final=final)

    # -- decoder -------------------------------------------------------------------------
    def _attend(self, query: torch.Tensor, mem: Memory, t0: int) -> torch.Tensor:
        """query (B, L, H) -> context (B, L, H)."""
        keys = mem.states[:, None]  # (B, 1, S, H)
        ctx, _ = attend(query[:, None], keys, keys, score=self.attention, mask=mem.mask,
                        scorer=self.scorer, kind="cross", query_start=t0)
        return ctx[:, 0]

    def _readout(self, s: torch.Tensor, ctx: torch.Tensor | None) -> torch.Tensor:
        x = s if ctx is None else torch.cat([ctx, s], dim=-1)
        return torch.tanh(self.W_c(x))

    def _step(self, mem: Memory, carry: Any, tokens: torch.Tensor, t: int):
        """One step for a batch: tokens (B,) -> (output (B, H), s_t (B, H), carry)."""
        emb = self.tgt_embed(tokens)[:, None]  # (B, 1, E)
        if self.attention == "bahdanau":
            ctx = self._attend(_hidden(carry)[:, None], mem, t)  # query = s_{t-1}
            s, carry = self.decoder(torch.cat([emb, ctx], dim=-1), carry)
        else:
            s, carry = self.decoder(emb, carry)
            ctx = None if self.attention == "none" else self._attend(s, mem, t)
        out = self._readout(s, ctx)  # (B, 1, H)
        return out[:, 0], s[:, 0], carry

    def forward(self, src: torch.Tensor, src_lens: torch.Tensor | None, tgt_in: torch.Tensor,
                feed: "str | torch.Tensor" = "gold") -> torch.Tensor:
        """Logits (B, L, V) for decoder inputs tgt_in (B, L) starting with <sos>.

        ``feed="gold"`` is teacher forcing; ``feed="prediction"`` feeds each step's argmax
        back in (only tgt_in[:, 0] is read); a (B, L) bool tensor mixes them per token
        (scheduled sampling): step t reads tgt_in[:, t] where it is True, else the previous
        step's argmax.
        """
        mem = self.encode(src, src_lens)
        mix = feed if isinstance(feed, torch.Tensor) else None
        if mix is not None and bool(mix[:, 1:].all()):
            feed, mix = "gold", None
        if isinstance(feed, str) and feed == "gold" and self.attention != "bahdanau":
            # Luong-style and no attention: the decoder RNN does not depend on the context,
            # so all steps run in one call; attention then reads every s_t at once.
            s, _ = self.decoder(self.tgt_embed(tgt_in), mem.final)  # (B, L, H)
            ctx = None if self.attention == "none" else self._attend(s, mem, 0)
            return self.W_o(self._readout(s, ctx))
        carry, tok, logits = mem.final, tgt_in[:, 0], []
        for t in range(tgt_in.shape[1]):
            out, _, carry = self._step(mem, carry, tok, t)
            step_logits = self.W_o(out)  # (B, V)
            logits.append(step_logits)
            if t + 1 < tgt_in.shape[1]:
                if mix is not None:
                    tok = torch.where(mix[:, t + 1], tgt_in[:, t + 1], step_logits.argmax(-1))
                else:
                    tok = tgt_in[:, t + 1] if feed == "gold" else step_logits.argmax(-1)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_lens: torch.Tensor | None, max_len: int) -> torch.Tensor:
        """Greedy free-running decode of a batch: predicted ids (B, max_len), no recording."""
        mem = self.encode(src, src_lens)
        carry = mem.final
        tok = torch.full((src.shape[0],), SOS_ID, dtype=torch.long, device=src.device)
        out = []
        for t in range(max_len):
            o, _, carry = self._step(mem, carry, tok, t)
            tok = self.W_o(o).argmax(-1)
            out.append(tok)
        return torch.stack(out, dim=1)

    # -- one sentence, one step at a time (tracing) ---------------------------------------
    def start(self, mem: Memory) -> Any:
        return mem.final

    def step(self, mem: Memory, carry: Any, token: int, t: int) -> StepOut:
        tokens = torch.tensor([token], device=mem.states.device)
        out, s, carry = self._step(mem, carry, tokens, t)
        concat = ("state",) if self.attention == "none" else ("context", "state")
        cell_input = ("embedding", "context") if self.attention == "bahdanau" else ("embedding",)
        return StepOut(logits=self.W_o(out)[0], output=out[0], state=s[0], carry=carry,
                       concat=concat, cell_input=cell_input)

    # -- a batch of hypotheses, one step at a time (beam search) --------------------------
    def beam_start(self, mem: Memory) -> Any:
        return mem.final

    def beam_step(self, mem: Memory, carry: Any, tokens: torch.Tensor, t: int) -> tuple[torch.Tensor, Any]:
        """tokens (B,) -> (logits (B, V), carry); ``mem`` holds one sentence, shared."""
        B = tokens.shape[0]
        shared = Memory(states=mem.states.expand(B, -1, -1), mask=mem.mask.expand(B, -1, -1, -1),
                        final=None)
        out, _, carry = self._step(shared, carry, tokens, t)
        return self.W_o(out), carry

    @staticmethod
    def beam_select(carry: Any, index: torch.Tensor) -> Any:
        """The RNN state (1, B, H) (a pair for an LSTM) of the hypotheses in ``index``."""
        if isinstance(carry, tuple):
            return tuple(c[:, index].contiguous() for c in carry)
        return carry[:, index].contiguous()
