"""Mechanism checks for the SAGAN, BigGAN and StyleGAN2 baselines (shapes/steps/counts are in test_models.py)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganbench.errors import GanbenchError
from ganbench.models import ImageSpec, StepInfo, create_model
from ganbench.models._resnet_gan import CondBatchNorm, GBlock
from ganbench.models._stylegan2_ops import demod_coefficients, minibatch_std, modulated_conv2d, modulated_weight
from ganbench.models.base import ema_beta
from ganbench.models.biggan import ortho_penalty
from ganbench.models.layers import SelfAttention

GRAY = ImageSpec(1, 32, 0)
LABELLED = ImageSpec(1, 32, 10)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _record_inputs(module: torch.nn.Module, kind: type) -> list[tuple]:
    seen: list[tuple] = []
    for m in module.modules():
        if isinstance(m, kind):
            m.register_forward_hook(lambda mod, args, out: seen.append(args))
    return seen


# ---- SAGAN ---------------------------------------------------------------------------------------------------------
def test_sagan_attention_in_g_and_d_at_16x16_with_zero_init_gamma():
    m = create_model("sagan", "tiny", img=GRAY)
    for net in (m.G, m.D):
        attn = [a for a in net.modules() if isinstance(a, SelfAttention)]
        assert len(attn) == 1
        assert attn[0].gamma.requires_grad and attn[0].gamma.item() == 0.0
    seen = _record_inputs(m, SelfAttention)
    m.G(m.sample_z(2))
    m.D(torch.randn(2, 1, 32, 32))
    assert [a[0].shape[-1] for a in seen] == [16, 16]


def test_sagan_attention_contributes_once_gamma_is_nonzero():
    m = create_model("sagan", "tiny", img=GRAY).eval()
    z = m.sample_z(2)
    before = m.G(z)
    attn = next(a for a in m.G.modules() if isinstance(a, SelfAttention))
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    assert not torch.allclose(before, m.G(z))


def test_sagan_no_attn_variant_removes_attention():
    m = create_model("sagan", "tiny", "no_attn", img=GRAY)
    assert not any(isinstance(a, SelfAttention) for a in m.modules())


@pytest.mark.parametrize("model", ["sagan", "biggan"])
def test_spectral_norm_on_every_conv_linear_in_g_and_d(model):
    m = create_model(model, "tiny", img=LABELLED, overrides={"conditional": True})
    for net in (m.G, m.D):
        layers = [x for x in net.modules() if isinstance(x, (torch.nn.Conv2d, torch.nn.Linear))]
        assert layers and all(hasattr(x, "weight_orig") for x in layers)
    assert hasattr(m.D.embed, "weight_orig")  # projection embedding too (StudioGAN's sn_embedding)


def test_sagan_sn_g_off_leaves_d_normalised():
    m = create_model("sagan", "tiny", "no_sn_g", img=GRAY)
    assert not any(hasattr(x, "weight_orig") for x in m.G.modules())
    assert all(hasattr(x, "weight_orig") for x in m.D.modules() if isinstance(x, torch.nn.Conv2d))


def test_sagan_paper_recipe_is_ttur():
    """The paper's TTUR (G 1e-4, D 4e-4, Adam 0/0.9, one D step, hinge); tiny keeps the 1:4 ratio at the tuned x10."""
    c = create_model("sagan", "paper", img=GRAY).cfg
    assert (c.lr_g, c.lr_d, c.beta1, c.beta2, c.n_dis, c.loss) == (1e-4, 4e-4, 0.0, 0.9, 1, "hinge")
    t = create_model("sagan", "tiny", img=GRAY).cfg
    assert (t.lr_d / t.lr_g, t.beta1, t.beta2, t.n_dis, t.loss) == (pytest.approx(4.0), 0.0, 0.9, 1, "hinge")


def test_resnet_models_reject_bad_resolution():
    with pytest.raises(GanbenchError):
        create_model("sagan", "tiny", img=ImageSpec(1, 24, 0))
    with pytest.raises(GanbenchError):
        create_model("biggan", "tiny", img=ImageSpec(1, 8, 0))


# ---- BigGAN --------------------------------------------------------------------------------------------------------
def test_biggan_skip_z_chunks_feed_the_blocks():
    m = create_model("biggan", "tiny", img=GRAY)  # z 40 = 4 chunks of 10: Linear + 3 blocks
    seen = _record_inputs(m.G, GBlock)
    z = m.sample_z(3)
    m.G(z)
    chunks = z.split(10, dim=1)
    assert len(seen) == 3
    for i, args in enumerate(seen):
        assert torch.equal(args[1], chunks[i + 1])
    assert m.G.linear.in_features == 10


def test_biggan_each_chunk_changes_the_image():
    m = create_model("biggan", "tiny", img=GRAY).eval()
    z = m.sample_z(2)
    base = m.G(z)
    for i in range(4):
        z2 = z.clone()
        z2[:, 10 * i:10 * (i + 1)] += 1.0
        assert not torch.allclose(base, m.G(z2), atol=1e-6), f"chunk {i} has no effect"


def test_biggan_conditional_bn_gets_shared_embedding_and_chunk():
    m = create_model("biggan", "tiny", img=LABELLED, overrides={"conditional": True})
    seen = _record_inputs(m.G, CondBatchNorm)
    z, y = m.sample_z(3), torch.tensor([0, 3, 9])
    m.G(z, y)
    emb = m.G.shared(y)
    for _, c in seen:
        assert c.shape == (3, m.cfg.shared_dim + 10)
        assert torch.equal(c[:, :m.cfg.shared_dim], emb)


def test_biggan_without_hier_z_is_unmodulated():
    m = create_model("biggan", "tiny", "no_hier_z", img=GRAY)
    assert m.G.linear.in_features == m.cfg.z_dim
    assert not any(isinstance(x, CondBatchNorm) for x in m.G.modules())
    with pytest.raises(GanbenchError):
        create_model("biggan", "tiny", img=GRAY, overrides={"z_dim": 41})


def test_ortho_penalty_known_values():
    w = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # W W^T = [[1, 1], [1, 2]]: off-diagonal 1, 1
    assert float(ortho_penalty(w)) == pytest.approx(2.0)
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    assert float(ortho_penalty(q)) == pytest.approx(0.0, abs=1e-10)
    assert float(ortho_penalty(3 * q)) == pytest.approx(0.0, abs=1e-8)  # rows need not be unit norm


def test_ortho_gradient_matches_biggan_pytorch():
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(0.5 * ortho_penalty(w), w)
    m = w.detach().flatten(1)
    ref = 2 * ((m @ m.t()) * (1 - torch.eye(5, dtype=m.dtype))) @ m  # BigGAN-PyTorch utils.ortho, strength 1
    assert torch.allclose(g.flatten(1), ref)


def test_biggan_ortho_reg_adds_to_g_loss_excluding_shared_embedding():
    m = create_model("biggan", "tiny", "ortho_reg", img=LABELLED, overrides={"conditional": True})
    ws = m.ortho_weights()
    assert all(w is not m.G.shared.weight for w in ws) and len(ws) > 5
    real, y = torch.rand(4, 1, 32, 32) * 2 - 1, torch.randint(0, 10, (4,))
    torch.manual_seed(1)
    loss, logs = m.g_loss(real, y, StepInfo())
    with torch.no_grad():
        reg = sum(ortho_penalty(w) for w in ws)
    assert float(logs["ortho"]) == pytest.approx(float(reg), rel=1e-5)
    assert float(loss.detach() - logs["loss_g"]) == pytest.approx(0.5 * 1e-4 * float(reg), rel=1e-3, abs=1e-6)
    assert "ortho" not in create_model("biggan", "tiny", img=GRAY).g_loss(real, None, StepInfo())[1]


def test_biggan_ema_is_0p9999_per_g_step_at_paper_batch():
    cfg = create_model("biggan", "tiny", img=GRAY).cfg
    assert cfg.ema_kimg > 0
    from ganbench.models.base import resolve_config
    paper = resolve_config("biggan", "paper")
    assert ema_beta(paper, paper.batch_size, 10 ** 8) == pytest.approx(0.9999, abs=1e-9)
    # StudioGAN's g_ema_start = 1000 G steps of 5 D steps x 64 images: a plain copy until then; Adam eps 1e-6
    assert ema_beta(paper, 64, 1000 * 5 * 64 - 1) == 0.0 < ema_beta(paper, 64, 1000 * 5 * 64)
    assert paper.adam_eps == 1e-6


def test_stylegan2_adam_betas_carry_the_lazy_regularisation_correction():
    from ganbench.models.base import resolve_config
    for preset in ("paper", "tiny"):
        cfg = resolve_config("stylegan2", preset)
        assert cfg.g_betas == pytest.approx((0.0, 0.99 ** (4 / 5)))  # G: every 4th step regularised
        assert (cfg.beta1, cfg.beta2) == pytest.approx((0.0, 0.99 ** (16 / 17)))  # D: every 16th


# ---- StyleGAN2 -----------------------------------------------------------------------------------------------------
def test_demodulated_weights_have_unit_norm_per_output_channel():
    weight, styles = torch.randn(6, 4, 3, 3), torch.randn(5, 4) * 3
    w = modulated_weight(weight, styles)
    assert torch.allclose(w.square().sum(dim=(2, 3, 4)), torch.ones(5, 6), atol=1e-5)
    assert not torch.allclose(modulated_weight(weight, styles, demodulate=False).square().sum(dim=(2, 3, 4)),
                              torch.ones(5, 6), atol=1e-2)


def test_unfused_modulated_conv_equals_grouped_conv_with_demodulated_weights():
    x, weight, styles = torch.randn(3, 4, 8, 8), torch.randn(6, 4, 3, 3), torch.randn(3, 4)
    out = modulated_conv2d(x, weight, styles)
    w = modulated_weight(weight, styles).reshape(-1, 4, 3, 3)
    ref = F.conv2d(x.reshape(1, -1, 8, 8), w, padding=1, groups=3).reshape(3, 6, 8, 8)
    assert torch.allclose(out, ref, atol=1e-5)
    # demodulation removes any scale of the weight and of the styles
    assert torch.allclose(modulated_conv2d(x, 7 * weight, 0.1 * styles), out, atol=1e-4)
    assert demod_coefficients(weight, styles).shape == (3, 6)


def test_stylegan2_synthesis_uses_modulation_noise_and_constant():
    m = create_model("stylegan2", "tiny", img=GRAY)
    syn = m.G.synthesis
    assert syn.blocks[0].const.requires_grad and syn.blocks[0].const.shape[-1] == 4
    assert m.G.num_ws == 8 and len(m.G.mapping.fcs) == 2
    layers = [x for x in syn.modules() if hasattr(x, "noise_strength")]
    assert len(layers) == 7 and all(x.noise_strength is not None for x in layers)
    for x in layers:
        with torch.no_grad():
            x.noise_strength.fill_(0.5)
    z = m.sample_z(2)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a, b = m.generate(z, G=m.G, generator=g1), m.generate(z, G=m.G, generator=g2)
    assert torch.equal(a, b)  # noise drawn from the sampling generator only
    assert not torch.allclose(a, m.generate(z, G=m.G, generator=torch.Generator().manual_seed(1)))


def test_stylegan2_r1_only_every_reg_interval_d_steps():
    m = create_model("stylegan2", "tiny", img=GRAY)
    assert m.cfg.reg_interval == 16 and m.cfg.r1_gamma == 0.01
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    for step in (0, 1, 15, 16, 17, 32):
        loss, logs = m.d_loss(real, None, StepInfo(d_step=step))
        assert ("r1" in logs) == (step % 16 == 0), step
        if "r1" in logs:
            reg = float(loss.detach() - logs["loss_d"])
            assert reg == pytest.approx(float(logs["r1"]) * 0.01 / 2 * 16, rel=1e-3, abs=1e-6)
        else:
            assert float(loss.detach()) == float(logs["loss_d"])


def test_stylegan2_lazy_regularisation_adam_correction():
    from ganbench.models.base import resolve_config
    c = resolve_config("stylegan2", "paper")
    assert c.lr_g == pytest.approx(0.0025 * 4 / 5) and c.lr_d == pytest.approx(0.0025 * 16 / 17)
    assert c.beta1 == 0.0 and c.beta2 == pytest.approx(0.99 ** (16 / 17))
    assert (c.style_mixing, c.pl_weight, c.mbstd_group, c.map_layers, c.ema_kimg) == (0.0, 0.0, 32, 2, 500.0)


def test_stylegan2_style_mixing_switch():
    m = create_model("stylegan2", "tiny", "style_mixing", img=GRAY, overrides={"style_mixing": 1.0})
    _, ws = m.run_g(m.sample_z(2), None)
    assert not torch.allclose(ws[:, 0], ws[:, -1])  # two w's, cut at a layer in [1, num_ws)
    _, ws = create_model("stylegan2", "tiny", img=GRAY).run_g(m.sample_z(2), None)
    assert torch.equal(ws[:, 0], ws[:, -1])


def test_stylegan2_path_length_regulariser_is_lazy():
    m = create_model("stylegan2", "tiny", "pl_reg", img=GRAY)
    real = torch.rand(4, 1, 32, 32) * 2 - 1
    _, logs = m.g_loss(real, None, StepInfo(step=0))
    assert "pl" in logs and float(m.pl_mean) > 0
    assert "pl" not in m.g_loss(real, None, StepInfo(step=1))[1]


def test_minibatch_std_groups_and_batch_dependence():
    x = torch.randn(6, 3, 4, 4)
    y = minibatch_std(x, 4)  # 6 is not a multiple of 4: group lowered to 3
    assert y.shape == (6, 4, 4, 4) and torch.equal(y[:, :3], x)
    g = x.reshape(3, 2, 3, 4, 4)  # sample i is in group i % 2
    expect = (g - g.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))
    assert torch.allclose(y[0, 3, 0, 0], expect[0]) and torch.allclose(y[1, 3, 0, 0], expect[1])
    m = create_model("stylegan2", "tiny", img=GRAY)
    xs = torch.randn(4, 1, 32, 32)
    x2 = xs.clone()
    x2[3] += 1
    assert not torch.allclose(m.D(xs)[0], m.D(x2)[0])  # logit of sample 0 depends on sample 3


def test_stylegan2_equalised_lr_mapping():
    m = create_model("stylegan2", "tiny", img=GRAY)
    fc = m.G.mapping.fcs[0]
    assert fc.weight.shape[1] == m.cfg.z_dim == 96  # tiny: z = w = 96
    assert fc.w_gain == pytest.approx(0.01 / math.sqrt(96)) and fc.weight.std() > 10  # N(0, 1/0.01^2) storage


# ---- conditional variants ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["sagan", "biggan", "stylegan2"])
def test_conditional_variants_use_labels(model):
    m = create_model(model, "tiny", img=LABELLED, overrides={"conditional": True}).eval()
    z, x = m.sample_z(4), torch.rand(4, 1, 32, 32) * 2 - 1
    y0, y1 = torch.zeros(4, dtype=torch.long), torch.full((4,), 7)
    if model == "stylegan2":  # generate() is noise-seeded; compare with equal noise
        a = m.generate(z, y0, generator=torch.Generator().manual_seed(0))
        b = m.generate(z, y1, generator=torch.Generator().manual_seed(0))
    else:
        a, b = m.G(z, y0), m.G(z, y1)
    assert a.shape == (4, 1, 32, 32) and not torch.allclose(a, b)
    assert not torch.allclose(m.D(x, y0), m.D(x, y1))
    m.train()
    real, y = torch.rand(8, 1, 32, 32) * 2 - 1, torch.randint(0, 10, (8,))
    for loss, _ in (m.d_loss(real, y, StepInfo()), m.g_loss(real, y, StepInfo())):
        assert torch.isfinite(loss)
        loss.backward()


@pytest.mark.parametrize("model,g,d", [("sagan", 4_386_308, 1_075_586), ("biggan", 9_416_196, 2_415_170),
                                       ("stylegan2", 20_215_315, 23_089_664)])
def test_conditional_paper_counts_equal_logged_studiogan_runs(model, g, d):
    with torch.device("meta"):  # counts only: no memory, no init cost
        m = create_model(model, "paper", img=ImageSpec(3, 32, 10), overrides={"conditional": True})
    counts = m.param_counts()
    assert (counts["params_g"], counts["params_d"]) == (g, d)
