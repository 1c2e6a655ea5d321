"""The fast paths compute what the reference math computes (outputs and gradients within float tolerance), and the
GP/R1 passes through them stay twice differentiable. The reference formulas are the code these paths replaced."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganbench.attention import double_backward
from ganbench.losses import gradient_penalty
from ganbench.models._lrm import ChannelLRM, SpatialLRM
from ganbench.models._transformer import Attention
from ganbench.models.layers import SelfAttention


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def sagan_reference(m: SelfAttention, x):
    b, c, h, w = x.shape
    theta = m.theta(x).flatten(2)
    phi = F.max_pool2d(m.phi(x), 2).flatten(2)
    g = F.max_pool2d(m.g(x), 2).flatten(2)
    beta = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)
    o = (g @ beta.transpose(1, 2)).view(b, c // 2, h, w)
    return x + m.gamma * m.o(o)


def spatial_reference(m: SpatialLRM, h):
    b, c, hh, ww = h.shape
    q, k = m.q(h).flatten(2), m.k(h).flatten(2)
    alpha = torch.softmax(q.transpose(1, 2) @ k, dim=-1)
    o = h.flatten(2) @ (m.w * alpha.transpose(1, 2))
    return h + m.gamma * o.view(b, c, hh, ww)


def channel_reference(m: ChannelLRM, h):
    b, c, hh, ww = h.shape
    q, k = m.q(h).flatten(2), m.k(h).flatten(2)
    alpha = torch.softmax(q @ k.transpose(1, 2), dim=-1)
    o = (m.w * alpha.transpose(1, 2)).transpose(1, 2) @ h.flatten(2)
    return h + m.gamma * o.view(b, c, hh, ww)


def transformer_reference(m: Attention, x):
    b, n, c = x.shape
    q, k, v = m.qkv(x).view(b, n, 3, m.heads, c // m.heads).permute(2, 0, 3, 1, 4)
    logits = (q @ k.transpose(-2, -1)) * m.scale
    bias = m.logit_bias(n, x.device, x.dtype)
    out = (logits if bias is None else logits + bias).softmax(dim=-1) @ v
    return m.proj(out.transpose(1, 2).reshape(b, n, c))


def _same_outputs_and_grads(module, fast, ref, x):
    with torch.no_grad():  # gamma = 0 at init would hide the attention branch
        for name, p in module.named_parameters():
            if name == "gamma":
                p.fill_(0.7)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    y1, y2 = fast(x1), ref(x2)
    torch.testing.assert_close(y1, y2, rtol=1e-4, atol=1e-5)
    g1 = torch.autograd.grad(y1.square().sum(), [x1, *module.parameters()])
    g2 = torch.autograd.grad(y2.square().sum(), [x2, *module.parameters()])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_sagan_attention_matches_reference():
    m = SelfAttention(32, use_sn=False)
    _same_outputs_and_grads(m, m, lambda x: sagan_reference(m, x), torch.randn(3, 32, 8, 8))


def test_lrm_spatial_matches_reference():
    m = SpatialLRM(16, 8)
    _same_outputs_and_grads(m, m, lambda x: spatial_reference(m, x), torch.randn(2, 16, 8, 8))


def test_lrm_channel_matches_reference():
    m = ChannelLRM(16)
    _same_outputs_and_grads(m, m, lambda x: channel_reference(m, x), torch.randn(2, 16, 8, 8))


@pytest.mark.parametrize("side,band,banded", [(4, None, False), (4, 3, False), (8, 3, True), (8, 1, True),
                                             (16, 4, True)])
def test_transformer_attention_with_bias_matches_reference(side, band, banded, monkeypatch):
    """Relative-position bias as the additive mask, plus the locality band; a narrow band is computed on the band
    alone (``banded``), which must give the masked full attention's outputs and gradients (the bias table's too)."""
    calls, banded_path = [], Attention.banded

    def spy(self, *args):
        calls.append(1)
        return banded_path(self, *args)

    monkeypatch.setattr(Attention, "banded", spy)
    m = Attention(16, 2, side=side)
    m.band = band
    _same_outputs_and_grads(m, m, lambda x: transformer_reference(m, x), torch.randn(3, side * side, 16))
    assert bool(calls) == banded


def test_gradient_penalty_through_fused_attention():
    """WGAN-GP differentiates D's input gradient: the GP pass must use the twice-differentiable form and give the same
    penalty gradient as the reference math."""
    m = Attention(16, 2, side=4)
    d = lambda x: m(x).sum(dim=(1, 2))  # noqa: E731
    ref = lambda x: transformer_reference(m, x).sum(dim=(1, 2))  # noqa: E731
    real, fake = torch.randn(2, 16, 16), torch.randn(2, 16, 16)
    torch.manual_seed(1)
    gp = gradient_penalty(lambda x: d(x.squeeze(1))[:, None], real[:, None], fake[:, None])
    params = [m.qkv.weight, m.proj.weight, m.rel_bias]  # (the proj bias does not enter the input gradient)
    g1 = torch.autograd.grad(gp, params)
    torch.manual_seed(1)
    gp_ref = gradient_penalty(lambda x: ref(x.squeeze(1))[:, None], real[:, None], fake[:, None])
    g2 = torch.autograd.grad(gp_ref, params)
    torch.testing.assert_close(gp, gp_ref, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_fused_attention_has_no_double_backward_outside_the_context():
    """Guards the reason for ``double_backward()``: without it the fused kernel's backward is not differentiable."""
    m = Attention(16, 2)
    x = torch.randn(2, 16, 16, requires_grad=True)
    (g,) = torch.autograd.grad(m(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.square().sum(), list(m.parameters()))
    with double_backward():
        (g,) = torch.autograd.grad(m(x).sum(), x, create_graph=True)
    assert all(t is not None for t in torch.autograd.grad(g.square().sum(), list(m.qkv.parameters())))


def test_transgan_band_schedule_reads_no_device_buffer():
    """The locality mask follows a host-side clock: the GPU buffer is never read in a loss or a sample (a read is a
    host sync per call). A meta-device buffer raises on any read, so this fails if the schedule reads it."""
    from ganbench.models import create_model

    m = create_model("transgan", "tiny")
    m.set_images_seen(3000)
    width = m.local_width()
    m.local_clock = torch.empty((), dtype=torch.long, device="meta")
    assert m.local_width() == width
    m.generate(m.sample_z(2))
    assert [a.band for a in m.G.local_attentions(m.cfg.local_blocks)] == [width] * len(
        list(m.G.local_attentions(m.cfg.local_blocks)))


def test_transgan_clock_restored_from_state_dict():
    from ganbench.models import create_model

    a, b = create_model("transgan", "tiny"), create_model("transgan", "tiny")
    a.set_images_seen(6000)
    assert a.local_width() != b.local_width()
    b.load_state_dict(a.state_dict())
    assert b.local_width() == a.local_width()


@pytest.mark.parametrize("shared_bias", [True, False])
def test_chunked_attention_over_several_chunks_matches_explicit(shared_bias, monkeypatch):
    """Several batch chunks (a tiny CHUNK_BYTES), a bias shared over the batch or one per sample: the same outputs
    and gradients (the bias's included) as the explicit form, and the CPU dispatch really takes this path."""
    import ganbench.attention as A

    monkeypatch.setattr(A, "CHUNK_BYTES", 2 * 16 * 16 * 4 * 2)  # two batch rows per chunk: 3 chunks for 5 rows
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(5, 2, 16, 4, generator=g, requires_grad=True) for _ in range(3))
    bias = torch.randn(1 if shared_bias else 5, 2, 16, 16, generator=g).requires_grad_()
    calls, chunked = [], A.chunked_attention
    monkeypatch.setattr(A, "chunked_attention", lambda *a: calls.append(1) or chunked(*a))
    out = A.attention(q, k, v, bias, 0.5)
    ref = A.explicit_attention(q, k, v, bias, 0.5)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    w = torch.randn(ref.shape, generator=g)
    for a, b in zip(torch.autograd.grad((out * w).sum(), (q, k, v, bias)),
                    torch.autograd.grad((ref * w).sum(), (q, k, v, bias))):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert calls == [1]


def test_fused_attention_flops_are_counted_on_the_cpu():
    """FlopCounterMode has no formula of its own for SDPA's CPU kernel (it counted 0, so `ganbench throughput`
    under-counted every attention model); ganbench registers torch's SDPA formulas for it. The forward counts what the
    explicit form's two matmuls count; the backward recomputes q k^T (5 matmuls against the explicit 4)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ganbench.attention import explicit_attention

    q, k, v = (torch.randn(2, 3, 64, 8, requires_grad=True) for _ in range(3))

    def flops(f, backward: bool) -> int:
        with FlopCounterMode(display=False) as c:
            out = f()
            if backward:
                out.sum().backward()
        return c.get_total_flops()
    fused = lambda: F.scaled_dot_product_attention(q, k, v)  # noqa: E731
    explicit = lambda: explicit_attention(q, k, v, scale=8 ** -0.5)  # noqa: E731
    assert flops(fused, False) == flops(explicit, False) == 4 * 2 * 3 * 64 * 64 * 8
    assert flops(fused, True) == flops(explicit, True) // 6 * 7
