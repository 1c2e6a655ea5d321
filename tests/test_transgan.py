"""TransGAN-specific tests: pixel-shuffle stages, relative position index, locality-aware mask and its schedule,
multi-scale D with [cls] token, DiffAugment cutout coin, variants. Generic checks live in tests/test_models.py."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ganbench.errors import GanbenchError
from ganbench.models._transformer import Attention, band_mask, pixel_upsample, relative_position_index
from ganbench.images import ImageSpec
from ganbench.models.base import StepInfo, create_model, resolve_config
from ganbench.models.transgan import TransGAN

IMG = ImageSpec(channels=3, resolution=32)


def small(**over) -> TransGAN:
    """The tiny preset with 1 D step, for fast loss/step checks."""
    torch.manual_seed(0)
    return create_model("transgan", "tiny", img=IMG, overrides={"n_dis": 1, **over})


def test_pixel_upsample_moves_channels_to_2x2_blocks():
    h = w = 3
    x = torch.randn(2, h * w, 8)
    y, h2, w2 = pixel_upsample(x, h, w)
    assert (y.shape, h2, w2) == ((2, 4 * h * w, 2), 6, 6)
    ref = F.pixel_shuffle(x.transpose(1, 2).reshape(2, 8, h, w), 2)  # token t = row * w + col
    assert torch.equal(y, ref.flatten(2).transpose(1, 2))
    # token (1, 2) channel 4c + 2i + j lands on pixel (2 + i, 4 + j), channel c
    assert y[0, (2 + 1) * 6 + (4 + 0), 1] == x[0, 1 * w + 2, 4 * 1 + 2 * 1 + 0]
    with pytest.raises(ValueError):
        pixel_upsample(x, 2, 2)


def test_generator_stage_shapes_paper_widths():
    # paper widths (8x8x1024 -> 16x16x256 -> 32x32x64) with one block per stage to stay fast
    torch.manual_seed(0)
    m = create_model("transgan", "paper", img=IMG, overrides={"g_depths": [1, 1, 1], "d_depth": 1})
    stages = m.G.tokens(torch.randn(2, 256))
    assert [(tuple(x.shape), s) for x, s in stages] == [((2, 64, 1024), 8), ((2, 256, 256), 16), ((2, 1024, 64), 32)]
    assert m.G(torch.randn(2, 256)).shape == (2, 3, 32, 32)
    assert [tuple(p.shape) for p in m.G.pos] == [(1, 64, 1024), (1, 256, 256), (1, 1024, 64)]


def test_tiny_generator_token_counts():
    m = small()
    assert [(x.shape[1:], s) for x, s in m.G.tokens(torch.randn(3, 16))] == [
        (torch.Size([64, 64]), 8), (torch.Size([256, 16]), 16), (torch.Size([1024, 4]), 32)]


def test_relative_position_index():
    s = 4
    idx = relative_position_index(s)
    assert idx.shape == (s * s, s * s)
    assert idx.unique().numel() == (2 * s - 1) ** 2 and idx.min() == 0 and idx.max() == (2 * s - 1) ** 2 - 1
    assert (idx.diagonal() == (s - 1) * (2 * s - 1) + (s - 1)).all()  # zero offset = table centre
    # same offset -> same entry: (0,0)->(1,2) and (2,1)->(3,3)
    assert idx[0, 1 * s + 2] == idx[2 * s + 1, 3 * s + 3]
    assert idx[0, 1] != idx[1, 0]  # direction matters


def test_band_mask_matches_official_definition():
    n, w = 12, 3
    m = band_mask(n, w)
    for i in range(n):  # v1 get_attn_mask: row i covers [max(0, i - w), min(n, i + w + 1))
        assert m[i].nonzero().flatten().tolist() == list(range(max(0, i - w), min(n, i + w + 1)))


@pytest.mark.parametrize("side", [0, 4])
def test_masked_attention_is_zero_outside_band(side):
    torch.manual_seed(0)
    att = Attention(dim=8, heads=2, side=side)
    att.band = 2
    x = torch.randn(3, 16, 8)
    p = att.attention_weights(x)
    outside = ~band_mask(16, 2)
    assert (p[..., outside] == 0).all()
    assert (p[..., ~outside] > 0).all()
    assert torch.allclose(p.sum(-1), torch.ones(3, 2, 16))
    # fused forward agrees with the explicit weights, and tokens outside the band cannot influence query 0
    q, k, v = att._qkv(x)
    ref = att.proj((p @ v).transpose(1, 2).reshape(3, 16, 8))
    out = att(x)
    assert torch.allclose(out, ref, atol=1e-5)
    x2 = x.clone()
    x2[:, 10:] += 5.0
    assert torch.allclose(att(x2)[:, 0], out[:, 0], atol=1e-5)
    att.band = None  # mask removed: far tokens now matter
    assert not torch.allclose(att(x2)[:, 0], att(x)[:, 0], atol=1e-3)


def test_local_init_width_schedule():
    m = small()
    c = m.cfg
    assert c.local_widths == (4, 6, 8, 10) and c.local_kimg == (2.5, 5.0, 7.5, 10.0)
    assert [m.local_width(k) for k in (0, 2499, 2500, 4999, 5000, 7500, 9999, 10000, 10 ** 7)] == [
        4, 4, 6, 6, 8, 10, 10, None, None]
    paper = TransGAN.presets["paper"]  # v1 CIFAR epochs 22/32/42/60 x 50 kimg
    assert paper.local_kimg == (1100.0, 1600.0, 2100.0, 3000.0)
    off = small(local_init=False)
    assert off.local_width(0) is None


def test_local_mask_follows_images_seen_on_last_stage_only():
    m = small(g_depths=[1, 1, 2])
    masked = m.G.local_attentions(m.cfg.local_blocks)
    assert masked == [m.G.stages[-1][-1].attn]
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    ema = copy.deepcopy(m.G)  # stands in for the trainer's EMA copy
    for seen, width in [(0, 4), (6000, 8), (20000, None)]:
        m.d_loss(real, None, StepInfo(images_seen=seen))
        assert masked[0].band == width
        assert all(b.attn.band is None for s in m.G.stages for b in s if b.attn is not masked[0])
        m.generate(torch.randn(1, 16), G=ema)
        assert ema.stages[-1][-1].attn.band == width
    # the clock is saved with the model, so a restored model samples with the right mask
    state = m.state_dict()
    assert int(state["local_clock"]) == 20000
    m2 = small(g_depths=[1, 1, 2])
    m2.load_state_dict(state)
    m2.sample(1)
    assert m2.G.stages[-1][-1].attn.band is None


def test_discriminator_cls_token_and_branches():
    m = small()
    x = torch.randn(5, 3, 32, 32)
    feats = m.D.features(x)
    assert feats.shape == (5, 1 + 8 * 8, 48)  # [cls] + 8x8 tokens after pooling and branch concat
    assert m.D(x).shape == (5,)
    assert m.D.from_rgb_1.out_channels == 36 and m.D.from_rgb_2.out_channels == 12
    assert m.D.from_rgb_1.stride == (2, 2) and m.D.from_rgb_2.stride == (4, 4)
    noise = [a for a in m.D.modules() if isinstance(a, Attention)]
    assert len(noise) == 3
    assert all(a.noise_strength is not None and float(a.noise_strength.detach()) == 0 for a in noise)
    assert noise[-1].rel_bias is None  # the cls block has no relative bias


def test_paper_parameter_counts_exact():
    torch.manual_seed(0)
    m = create_model("transgan", "paper", img=IMG)
    counts = m.param_counts()
    assert counts["params_g"] == TransGAN.paper.params_g == 83_312_495
    assert counts["params_d"] == TransGAN.paper.params_d == 10_210_400


def test_cutout_coin():
    x = torch.ones(4, 3, 32, 32)
    never = small(diffaug="cutout", cutout_prob=0.0)
    assert torch.equal(never.augment(x), x)
    always = small(diffaug="cutout", cutout_prob=1.0)
    out = always.augment(x)
    assert (out == 0).any() and (out.flatten(1) == 0).float().mean(1).min() >= 1 / 16  # >= an 8x8 corner
    assert torch.equal(small(diffaug="").augment(x), x)


@pytest.mark.parametrize("variant", list(TransGAN.variants))
def test_variants_construct_and_step(variant):
    torch.manual_seed(0)
    m = create_model("transgan", "tiny", variant, img=IMG)
    c = m.cfg
    if variant == "no_rel_pos":
        assert not any(isinstance(a, Attention) and a.rel_bias is not None for a in m.modules())
    if variant == "no_diffaug":
        assert c.diffaug == ""
    opt_d = torch.optim.Adam(m.d_parameters(), c.lr_d, betas=(c.beta1, c.beta2))
    opt_g = torch.optim.Adam(m.g_parameters(), c.lr_g, betas=(c.beta1, c.beta2))
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    d0 = [p.detach().clone() for p in m.d_parameters()]
    loss_d, logs = m.d_loss(real, None, StepInfo(images_seen=0))
    assert torch.isfinite(loss_d) and "gp" in logs
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    assert any(not torch.equal(a, b) for a, b in zip(d0, m.d_parameters()))
    g0 = [p.detach().clone() for p in m.g_parameters()]
    loss_g, _ = m.g_loss(real, None, StepInfo(step=0, images_seen=4))
    assert torch.isfinite(loss_g)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    assert any(not torch.equal(a, b) for a, b in zip(g0, m.g_parameters()))
    assert m.G.stages[-1][-1].attn.band == (None if variant == "no_local_init" else 4)


@pytest.mark.parametrize("preset, ratio", [("paper", 2), ("tiny", 1)])
def test_g_batch_is_ratio_times_d_batch(preset, ratio):
    assert resolve_config("transgan", preset).g_batch_ratio == ratio  # official: G batch 128 vs D batch 64
    m = small(g_batch_ratio=ratio)
    seen = []
    m.D.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    m.g_loss(torch.zeros(3, 3, 32, 32), None, StepInfo())
    assert seen == [3 * ratio]


def test_bad_config_is_one_line_error():
    with pytest.raises(GanbenchError):
        small(g_dim=100)
    with pytest.raises(GanbenchError):
        small(local_widths=[4, 6])
    with pytest.raises(GanbenchError):
        create_model("transgan", "tiny", img=ImageSpec(3, 32, num_classes=10), overrides={"conditional": True})
