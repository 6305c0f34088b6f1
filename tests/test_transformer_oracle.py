"""The Transformer's attention against torch.nn.MultiheadAttention, and its masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sandbox.attention import recording
from sandbox.model import Bundle
from sandbox.presets import list_presets, load_preset
from sandbox.trace import trace
from sandbox.transformer import MultiHeadAttention
from sandbox.vocab import SOS_ID, encode_sentence

TOL = 1e-5
# shipped only: this runs at collection, before conftest points the user folder at a temp dir
TRANSFORMERS = [p for _, p, user in list_presets()
                if not user and load_preset(p).model.kind == "transformer"]


def reference_mha(mine: MultiHeadAttention, d_model: int) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(d_model, mine.heads, bias=True, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mine.q_proj.weight, mine.k_proj.weight, mine.v_proj.weight]))
        ref.in_proj_bias.copy_(torch.cat([mine.q_proj.bias, mine.k_proj.bias, mine.v_proj.bias]))
        ref.out_proj.weight.copy_(mine.out_proj.weight)
        ref.out_proj.bias.copy_(mine.out_proj.bias)
    return ref.eval()


def captured_calls(model, fn):
    """Run fn() and capture (module, x_q, x_kv, mask, output) for every attention module."""
    calls = []
    hooks = [m.register_forward_hook(lambda mod, args, out: calls.append((mod, *args, out)))
             for m in model.modules() if isinstance(m, MultiHeadAttention)]
    try:
        with torch.no_grad(), recording() as rec:
            fn()
    finally:
        for h in hooks:
            h.remove()
    return calls, rec.records


@pytest.fixture(params=TRANSFORMERS, ids=lambda p: p.stem)
def bundle(request):
    torch.manual_seed(1)
    b = Bundle.from_preset(load_preset(request.param))
    # perturb the weights away from their initial values so the test is not about init
    with torch.no_grad():
        for p in b.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return b


def test_every_attention_layer_matches_multiheadattention(bundle):
    model = bundle.model.eval()
    pair = bundle.preset.pairs[0]
    src = torch.tensor([encode_sentence(pair.source, bundle.src_vocab).ids])
    tgt = torch.tensor([[SOS_ID, *encode_sentence(pair.target, bundle.tgt_vocab).ids[:-1]]])
    calls, records = captured_calls(model, lambda: model(src, None, tgt))
    assert len(calls) == 3 * model.layers
    for mod, x_q, x_kv, mask, out in calls:
        ref = reference_mha(mod, model.d_model)
        with torch.no_grad():
            ref_out, ref_w = ref(x_q, x_kv, x_kv, need_weights=True, average_attn_weights=False,
                                 attn_mask=mask[0, 0].expand(x_q.shape[1], x_kv.shape[1]))
        torch.testing.assert_close(out, ref_out, atol=TOL, rtol=0)
        mine = [r for r in records if r.kind == mod.kind and r.layer == mod.layer]
        assert len(mine) == mod.heads * x_q.shape[1]
        for r in mine:
            np.testing.assert_allclose(r.weights, ref_w[0, r.head, r.position].numpy(), atol=TOL)


def test_masked_self_attention_never_looks_ahead(bundle):
    model = bundle.model.eval()
    pair = bundle.preset.pairs[0]
    src = torch.tensor([encode_sentence(pair.source, bundle.src_vocab).ids])
    tgt = torch.tensor([[SOS_ID, *encode_sentence(pair.target, bundle.tgt_vocab).ids[:-1]]])
    _, records = captured_calls(model, lambda: model(src, None, tgt))
    masked = [r for r in records if r.kind == "masked_self"]
    assert masked
    for r in masked:
        assert np.all(r.weights[r.position + 1:] == 0.0)
        assert np.all(np.isneginf(r.energies[r.position + 1:]))
        assert np.all(np.isfinite(r.energies[: r.position + 1]))
        assert r.weights[: r.position + 1].sum() == pytest.approx(1.0, abs=TOL)


def test_stepwise_trace_equals_parallel_decoder(bundle):
    """Re-running the prefix one step at a time gives the parallel pass's numbers."""
    model = bundle.model.eval()
    pair = bundle.preset.pairs[0]
    tr = trace(bundle, pair.source, pair.target, mode="teacher_forcing")
    src = torch.tensor([encode_sentence(pair.source, bundle.src_vocab).ids])
    tgt = torch.tensor([[SOS_ID, *encode_sentence(pair.target, bundle.tgt_vocab).ids[:-1]]])
    _, records = captured_calls(model, lambda: model(src, None, tgt))
    with torch.no_grad():
        probs = torch.softmax(model(src, None, tgt)[0], -1).numpy()
    for step in tr.steps:
        np.testing.assert_allclose(step.probs, probs[step.t], atol=TOL)
        for r in step.attention:
            twin = next(p for p in records if (p.kind, p.layer, p.head, p.position)
                        == (r.kind, r.layer, r.head, r.position))
            n = r.weights.shape[0]
            np.testing.assert_allclose(r.weights, twin.weights[:n], atol=TOL)
            assert np.all(twin.weights[n:] == 0.0)


def test_padding_is_masked_in_a_batch(bundle):
    """A padded sentence in a batch gets the same output as alone; pads get weight 0."""
    model = bundle.model.eval()
    a, b = bundle.preset.pairs[0], bundle.preset.pairs[1]
    ids_a = list(encode_sentence(a.source, bundle.src_vocab).ids)
    ids_b = list(encode_sentence(b.source + " " + b.source, bundle.src_vocab).ids)
    n = max(len(ids_a), len(ids_b))
    batch = torch.tensor([ids_a + [0] * (n - len(ids_a)), ids_b + [0] * (n - len(ids_b))])
    tgt = torch.tensor([[SOS_ID, 4, 5], [SOS_ID, 4, 5]])
    with torch.no_grad():
        together = model(batch, None, tgt)[0]
        alone = model(torch.tensor([ids_a]), None, tgt[:1])[0]
    torch.testing.assert_close(together, alone, atol=TOL, rtol=0)
