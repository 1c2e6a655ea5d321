"""P2GAN-specific tests: Gaussian distance and losses against hand-computed values, reparameterisation, AdaIN
conditioning, reference-based sampling, the pre-training warm-up and the ablation variants."""
from __future__ import annotations

import pytest
import torch

from ganbench.errors import GanbenchError
from ganbench.models import ImageSpec, StepInfo, create_model
from ganbench.models.p2gan import (AdaIN, gaussian_l1, gaussian_sq_dist, p2gan_d_loss, p2gan_g_adv_loss,
                                   reparameterise)

IMG = ImageSpec(channels=1, resolution=32)
AFTER_WARMUP = StepInfo(step=100, d_step=100, images_seen=10**6)


def t(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def tiny(variant: str = "default", **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("p2gan", "tiny", variant, img=IMG, overrides=overrides or None)


def reference(seed: int, n: int = 64) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


# ---- distribution maths, by hand ---------------------------------------------------------------------------
def test_gaussian_distance_by_hand():
    # (1-1)^2 + (0-1)^2 for mu, (1-1)^2 + (2-0)^2 for sigma -> 1 + 4 = 5; second row identical -> 0
    p = (t([0, 1], [3, 3]), t([1, 2], [1, 1]))
    q = (t([1, 1], [3, 3]), t([1, 0], [1, 1]))
    assert torch.allclose(gaussian_sq_dist(p, q), torch.tensor([5.0, 0.0]))
    # scalar priors broadcast: N(2, 3^2) vs (-1, 1): (2+1)^2 + (3-1)^2 = 13 per dim, 2 dims -> 26
    assert gaussian_sq_dist((t([2, 2]), t([3, 3])), (-1.0, 1.0)).item() == pytest.approx(26.0)
    # L1 for L_z: |1| + |-1| + |0.5-1| + |2-1| = 3.5
    assert gaussian_l1((t([1, -1]), t([0.5, 2])), (t([0, 0]), t([1, 1]))).item() == pytest.approx(3.5)


def test_distribution_lsgan_losses_by_hand():
    pa, pb, pc = (-1.0, 1.0), (1.0, 1.0), (0.0, 1.0)
    real = (t([1, 0], [1, 1]), t([1, 1], [1, 1]))  # 2Dis to Pb: 1 and 0 -> mean 0.5
    fake = (t([0.5, -1]), t([2, 1]))  # 2Dis to Pa: 1.5^2 + 0 + 1^2 + 0 = 3.25
    assert p2gan_d_loss(real, fake, pa, pb).item() == pytest.approx(0.5 * 0.5 + 0.5 * 3.25)
    # 2Dis to Pc = N(0, 1): 0.25 + 1 + 1 + 0 = 2.25 -> L_adv = 1.125
    assert p2gan_g_adv_loss(fake, pc).item() == pytest.approx(1.125)


def test_model_priors_and_realness_score():
    m = tiny()
    assert m.pa == (-1.0, 1.0) and m.pb == (1.0, 1.0) and m.pc == (0.0, 1.0)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        m.D.eval()
        mu, _ = m.D.posterior(x)
        score = m.D(x)
    # Dis(P, N(-1,1)) - Dis(P, N(1,1)) = 1/2 sum_d [(mu+1)^2 - (mu-1)^2] = 2 sum_d mu
    assert score.shape == (4,)
    assert torch.allclose(score, 2 * mu.sum(-1), atol=1e-5)


def _stub_posterior(m, real: torch.Tensor):
    """D outputs fixed Gaussians: N([1, 0], [1, 1]) for the real batch, N([0.5, -1], [2, 1]) for anything else."""
    def posterior(x):
        mu, s = (t([1, 0]), t([1, 1])) if x is real else (t([0.5, -1]), t([2, 1]))
        return mu.expand(x.shape[0], -1), s.expand(x.shape[0], -1)
    m.D.posterior = posterior


def test_d_and_g_loss_compose_as_in_the_paper():
    m = tiny(post_dim=2)
    real = torch.rand(3, 1, 32, 32) * 2 - 1
    _stub_posterior(m, real)
    # L_D: real vs Pb = 1; fake vs Pa = 3.25 -> 0.5 * 1 + 0.5 * 3.25
    assert m.d_loss(real, None, StepInfo())[0].item() == pytest.approx(2.125)
    # L_G = L_adv + 10 L_z: 1.125 + 10 * (0.5 + 1 + 1 + 0)
    loss, logs = m.g_loss(real, None, AFTER_WARMUP)
    assert logs["loss_adv"].item() == pytest.approx(1.125) and logs["loss_z"].item() == pytest.approx(2.5)
    assert loss.item() == pytest.approx(26.125)
    assert tiny("no_lz", post_dim=2).cfg.lambda_z == 0.0


# ---- reparameterisation ------------------------------------------------------------------------------------
def test_reparameterisation_shape_grad_and_moments():
    mu = torch.tensor([[0.5, -2.0, 0.0]], requires_grad=True)
    sigma = torch.tensor([[1.0, 0.1, 3.0]], requires_grad=True)
    z = reparameterise(mu.expand(4, -1), sigma.expand(4, -1), torch.Generator().manual_seed(1))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    assert z.shape == (4, 3)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.full((1, 3), 4.0))  # dz/dmu = 1 per sample
    assert torch.allclose(sigma.grad, eps.sum(0, keepdim=True))  # dz/dsigma = eps
    big = reparameterise(mu.detach().expand(20000, -1), sigma.detach().expand(20000, -1),
                         torch.Generator().manual_seed(2))
    assert torch.allclose(big.mean(0), mu.detach()[0], atol=0.05)
    assert torch.allclose(big.std(0), sigma.detach()[0], rtol=0.03)


# ---- AdaIN / posterior conditioning ------------------------------------------------------------------------
def test_adain_uses_posterior_feature_statistics():
    layer = AdaIN(ch=2, post_dim=3, k=2, use_posterior=True)
    with torch.no_grad():
        layer.post.weight.zero_()
        layer.post.bias.copy_(torch.tensor([1.0, 3.0, 0.0, 4.0]))  # channel 0: {1, 3}, channel 1: {0, 4}
    out = layer(torch.randn(16, 2, 4, 4) * 5 + 7, torch.randn(16, 3))
    # channel 0: mu_IN = 2, sigma_IN = 1; channel 1: mu_IN = 2, sigma_IN = 2 (population std over k)
    assert torch.allclose(out.mean((0, 2, 3)), torch.tensor([2.0, 2.0]), atol=1e-4)
    assert torch.allclose(out.std((0, 2, 3), unbiased=False), torch.tensor([1.0, 2.0]), atol=1e-3)
    assert not any(p.requires_grad for p in layer.bn.parameters())  # non-affine BN


def test_generator_output_depends_on_code_unless_ablated():
    z = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
    c1, c2 = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(1))
    g = tiny().G
    with torch.no_grad():
        assert (g(z, code=c1) - g(z, code=c2)).abs().max() > 1e-3
        with pytest.raises(GanbenchError):
            g(z)
    plain = tiny("bn_no_posterior").G
    with torch.no_grad():
        assert torch.equal(plain(z, code=c1), plain(z, code=c2))
    assert not any("post" in n for n, _ in plain.named_parameters())


# ---- sampling ------------------------------------------------------------------------------------------------
def test_sampling_draws_codes_from_reference_images_deterministically():
    m = tiny()
    with pytest.raises(GanbenchError):
        m.sample(4, torch.Generator().manual_seed(0))
    m.bind_conditioning(reference(0))
    sn_state = {k: v.clone() for k, v in m.D.state_dict().items()}
    a = m.sample(6, torch.Generator().manual_seed(0))
    b = m.sample(6, torch.Generator().manual_seed(0))
    c = m.sample(6, torch.Generator().manual_seed(1))
    assert a.shape == (6, 1, 32, 32) and torch.equal(a, b) and not torch.equal(a, c)
    assert all(torch.equal(v, m.D.state_dict()[k]) for k, v in sn_state.items())  # sampling leaves D untouched
    m.bind_conditioning(reference(1))  # other real images -> other posterior codes -> other samples
    assert not torch.equal(a, m.sample(6, torch.Generator().manual_seed(0)))


def test_bn_no_posterior_samples_without_reference():
    m = tiny("bn_no_posterior")
    a = m.sample(4, torch.Generator().manual_seed(0))
    assert torch.equal(a, m.sample(4, torch.Generator().manual_seed(0)))


# ---- pre-training and variants -------------------------------------------------------------------------------
def test_pretraining_warmup_gives_g_no_gradient():
    m = tiny()
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    loss, logs = m.g_loss(real, None, StepInfo(images_seen=int(m.cfg.pretrain_kimg * 1000) - 1))
    loss.backward()
    assert loss.item() == 0.0 and logs["pretrain"] == 1
    assert all(p.grad is None for p in m.g_parameters())
    loss, _ = m.g_loss(real, None, StepInfo(images_seen=int(m.cfg.pretrain_kimg * 1000)))
    loss.backward()
    assert all(p.grad is not None for p in m.g_parameters())
    assert tiny("no_pretrain").g_loss(real, None, StepInfo())[0].grad_fn is not None


@pytest.mark.parametrize("variant", ["default", "no_lz", "bn_no_posterior", "no_pretrain"])
def test_variants_construct_and_step(variant):
    m = tiny(variant)
    opt_d = torch.optim.Adam(m.d_parameters(), 2e-4, betas=(0.0, 0.999))
    opt_g = torch.optim.Adam(m.g_parameters(), 2e-4, betas=(0.0, 0.999))
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    before = [p.detach().clone() for p in m.g_parameters()]
    for step in range(2):
        opt_d.zero_grad(set_to_none=True)
        loss_d, _ = m.d_loss(real, None, AFTER_WARMUP)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g, _ = m.g_loss(real, None, AFTER_WARMUP)
        loss_g.backward()
        opt_g.step()
        assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    assert any(not torch.equal(a, b) for a, b in zip(before, m.g_parameters()))


def test_paper_preset_and_config_validation():
    m = create_model("p2gan", "paper", img=ImageSpec(3, 32))
    c = m.cfg
    assert (c.batch_size, c.beta1, c.beta2, c.lambda_z, c.g_ch, c.d_ch) == (32, 0.0, 0.999, 10.0, 64, 64)
    assert m.paper.params_g is None and m.paper.params_d is None and m.paper.params_note
    assert m.D.posterior(torch.zeros(2, 3, 32, 32))[0].shape == (2, c.post_dim)
    for bad in ({"post_k": 1}, {"lambda_z": -1.0}, {"pretrain_kimg": -1.0}):
        with pytest.raises(GanbenchError):
            tiny(**bad)
    with pytest.raises(GanbenchError):
        create_model("p2gan", "tiny", img=ImageSpec(1, 28))
