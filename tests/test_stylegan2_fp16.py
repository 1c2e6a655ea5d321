"""StyleGAN2's official mixed precision (``num_fp16_res``, ``conv_clamp``): which blocks run in fp16, that their
outputs track fp32 with the same weights, that the clamp bounds activations, and that a training step stays finite."""
from __future__ import annotations

import pytest
import torch

from ganbench.errors import GanbenchError
from ganbench.models import ImageSpec, StepInfo, create_model, resolve_config
from ganbench.models._stylegan2_ops import modulated_conv2d
from ganbench.models.stylegan2 import fp16_resolution

OFFICIAL = {"num_fp16_res": 4, "conv_clamp": 256.0}  # train.py without --fp32


def _pair(**extra):
    """The tiny preset in fp32 and with the official mixed precision, holding the same weights."""
    torch.manual_seed(0)
    a = create_model("stylegan2", "tiny", "default", ImageSpec(1, 32), extra)
    b = create_model("stylegan2", "tiny", "default", ImageSpec(1, 32), {**OFFICIAL, **extra})
    b.load_state_dict(a.state_dict())
    return a.eval(), b.eval()


def test_fp16_blocks_are_the_official_ones():
    cfg = resolve_config("stylegan2", "tiny", "default", OFFICIAL)
    assert fp16_resolution(cfg, 32) == 8  # 32x32: blocks at 8, 16, 32 (official max(2^(5+1-4), 8))
    assert fp16_resolution(cfg, 256) == 32
    _, m = _pair()
    assert [b.dtype for b in m.G.synthesis.blocks] == [torch.float32] + [torch.float16] * 3  # 4, 8, 16, 32
    assert [b.dtype for b in m.D.blocks] == [torch.float16] * 3  # 32, 16, 8; the 4x4 epilogue stays fp32


def test_fp16_generator_and_discriminator_track_fp32():
    a, b = _pair()
    z = torch.randn(8, a.cfg.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        gen = torch.Generator().manual_seed(2)
        xa = a.generate(z, generator=gen)
        xb = b.generate(z, generator=torch.Generator().manual_seed(2))
        assert xb.dtype == torch.float32 and torch.isfinite(xb).all()
        err = (xb - xa).norm() / xa.norm()
        assert 0 < err < 1e-2, err  # fp16 really ran (not bit-equal) and stays close
        da, db = a.D(xa), b.D(xa)
        assert db.dtype == torch.float32 and (db - da).abs().max() < 1e-2 * da.abs().max() + 1e-3


def test_fp16_prenormalisation_leaves_the_demodulated_conv_unchanged():
    """Without the official pre-normalisation these weights and styles overflow fp16 (|x * s| conv w ~ 4e5)."""
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, 8, 8, 8, generator=g), torch.randn(4, 8, 3, 3, generator=g) * 100
    s = torch.rand(2, 8, generator=g) * 1000
    ref = modulated_conv2d(x, w, s)
    out = modulated_conv2d(x.half(), w, s).float()
    assert (out - ref).norm() < 5e-3 * ref.norm()


def test_conv_clamp_bounds_activations():
    _, m = _pair()
    layer = m.G.synthesis.blocks[-1].conv1
    seen = []
    layer.register_forward_hook(lambda mod, inp, out: seen.append(out.detach().float().abs().max().item()))
    with torch.no_grad():
        layer.bias.fill_(1e4)  # pushes every activation far past the clamp
        m.generate(torch.randn(2, m.cfg.z_dim))
    assert seen == [256.0]


def test_fp16_training_step_is_finite_and_misuse_is_refused():
    _, m = _pair(batch_size=8)
    m.train()
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    loss_d, _ = m.d_loss(real, None, StepInfo())
    loss_d.backward()
    loss_g, _ = m.g_loss(real, None, StepInfo())
    loss_g.backward()
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
    with pytest.raises(GanbenchError, match="precision fp32"):
        create_model("stylegan2", "tiny", "default", ImageSpec(1, 32), {**OFFICIAL, "precision": "bf16"})
