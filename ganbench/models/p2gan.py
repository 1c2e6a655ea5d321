"""P2GAN — Zhang et al., "Posterior Promoted GAN with Distribution Discriminator for Unsupervised Image Synthesis",
CVPR 2021 (https://ieeexplore.ieee.org/document/9578672).

Official code: none known. ``phymhan/P2GAN`` is Dual Projection GAN and ``ddcas/p2gan-pytorch`` is P²-GAN style
transfer; neither is this paper. Sources: the seed article (reading notes carrying the paper's formulas) and the
model card. The paper's numbers (FID, parameter counts) were not available.

What the paper fixes:
- D maps an image to a diagonal Gaussian N(mu, diag(sigma^2)) in R^d: a conv trunk, then two linear heads *without
  activation* for mu and sigma; spectral norm on every layer of D.
- Distance between Gaussians, derived with the reparameterisation a = eps*sigma + mu (shared eps):
  2*Dis(P1, P2) = E[(a1 - a2)^2] = (sigma1 - sigma2)^2 + (mu1 - mu2)^2.
- Distribution LSGAN, writing (P - Q)^2 := 2*Dis(P, Q):
  L_D = 1/2 E_real[(D(x) - Pb)^2] + 1/2 E_fake[(D(x) - Pa)^2];  L_adv = 1/2 E_fake[(D(x) - Pc)^2],
  Pc = N((mu_a + mu_b)/2, ((sigma_a + sigma_b)/2)^2 I).
- G takes noise eps ~ N(0, I) and a posterior code z ~ D(x_real); per-layer posterior modules (linear layers, no
  activation) map z to posterior features s_i, and AdaIN(m_i, s_i) = sigma_IN(s_i) (m_i - mu_BN(m_i)) /
  sigma_BN(m_i) + mu_IN(s_i) injects them into every layer.
- L_z = E|D(x_g) - D(x_r)|, L_G = L_adv + lambda L_z with lambda = 10. Adam beta1 = 0, beta2 = 0.999, batch 32,
  channel size 64. The reparameterisation trick and "a pre-training step" stabilise training.

Every choice the paper (as available to us) leaves open, as made here:
1. Architecture: the SNGAN "standard CNN" at 32x32 (Miyato et al. 2018, Table 3), c = 64 ("channel size 64").
   G: linear eps -> 4x4x8c, three 4x4 stride-2 transposed convs 8c -> 4c -> 2c -> c, 3x3 conv to RGB, tanh; a
   normalisation + ReLU after the linear and after each transposed conv (so 4 AdaIN layers, 4 posterior modules).
   D: convs 3x3 c, 4x4/2 c, 3x3 2c, 4x4/2 2c, 3x3 4c, 4x4/2 4c, 3x3 8c, LeakyReLU(0.1), flatten 4x4x8c, two linear
   heads mu, sigma. Xavier-uniform init for G and D (as the PyTorch SNGAN ports), unknown in the paper.
2. Priors: Pa = N(-1, 1) (fake), Pb = N(+1, 1) (real) in every dimension, hence Pc = N(0, 1): the scalar LSGAN
   setting a = -1, b = 1, c = 0 (Mao et al.'s Pearson-chi^2 condition b - c = 1, b - a = 2) lifted to
   distributions. Equal prior sigmas mean only mu discriminates; sigma is pulled to 1 for real and fake alike.
3. d = 128 (= noise size) in ``paper``, 16 in ``tiny``.
4. Reductions: every distance is summed over the d dimensions and averaged over the batch (L_D, L_adv and L_z
   alike, so lambda keeps one meaning whatever d is).
5. sigma is used raw (the paper's heads have no activation) in the distance and in eps*sigma + mu; a negative sigma
   samples the same distribution, and the positive prior sigmas pull it positive.
6. L_z uses both outputs, L1: sum_d |mu_g - mu_r| + |sigma_g - sigma_r|, *paired*: x_g is generated from the posterior
   code of the x_r it is compared to. D(x_r) is a constant target in the G step.
7. Posterior module i: Linear(d, C_i * k) reshaped to [C_i, k]; mu_IN / sigma_IN are taken over the k axis per
   channel (the vector analogue of AdaIN's per-channel spatial statistics of a style feature map); k = 8 (``paper``),
   4 (``tiny``). Init N(0, 1/d) so s_i starts at unit scale (sigma_IN ~ 1, like BN's default gamma). G's BN is
   non-affine, as the AdaIN formula has no other scale/shift. G's first BN is per channel on the 4x4 map (the SNGAN
   Chainer code normalises the dense output per unit), because AdaIN needs channels.
8. The noise feeds only G's input linear; the posterior code enters only through the AdaIN layers.
9. Training codes: one reparameterised sample z = mu + sigma*eps from D(x_r) on the current real batch (D step: from
   the same D forward that scores the reals; G step: a no-grad D forward). No gradient reaches D through the code; D
   learns only from L_D.
10. Pre-training: D-only warm-up for the first ``pretrain_kimg`` thousand real images (``paper`` 10 kimg, about 312
   D steps at batch 32; ``tiny`` 1 kimg) so the posterior means something before G consumes it. During warm-up
   ``g_loss`` returns a constant leaf, so G's parameters get no gradient (None) and Adam skips them; a zero gradient
   would advance Adam's step count and inflate the first real G updates through bias correction.
11. Test-time codes (what FID sees): a reparameterised sample from D on random real *training* images
   (``draw_conditioning``), the paper's "real images as style reference" reading. D runs in eval mode there, so sampling
   does not advance its spectral-norm power iteration. Unconditional FID of this model thus conditions on real images.
12. lr 2e-4 for G and D, one D step per G step, no EMA, no augmentation (unreported).
13. ``D(x)`` (the shared "logits" interface) returns the realness score Dis(D(x), Pa) - Dis(D(x), Pb) (> 0: nearer the
   real prior); the losses use ``D.posterior(x)``.
14. Ablation ``bn_no_posterior``: affine BN instead of AdaIN, G ignores the code, and L_z then compares unpaired
   fake/real posteriors (kept so that the variant changes one thing).

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): c = 8 in G and D, z 64, d 16, k 4; at 1 channel 32x32 G 117,857 / D 78,744 trainable.

``tiny`` learning rates: G 0.002, D 0.002, 10 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x1 21.5 / x3 11.9 / x10 7.4 / x30 56.6 / x100 46.8.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor, nn

from .. import rand
from ..errors import GanbenchError
from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, StepInfo, init_weights, register_model
from .layers import snconv, snlinear


@dataclass(frozen=True)
class P2GANConfig(GANConfig):
    g_ch: int = 64  # G width at full resolution (bottom has 8x)
    d_ch: int = 64  # D width of the first block
    lrelu: float = 0.1  # SNGAN standard-CNN D slope
    post_dim: int = 128  # d: dimension of D's Gaussian
    post_k: int = 8  # posterior features per channel over which mu_IN / sigma_IN are taken
    prior_mu_fake: float = -1.0  # Pa = N(mu_a, sigma_a^2)
    prior_mu_real: float = 1.0  # Pb = N(mu_b, sigma_b^2)
    prior_sigma_fake: float = 1.0
    prior_sigma_real: float = 1.0
    lambda_z: float = 10.0  # weight of the latent regulariser L_z
    pretrain_kimg: float = 10.0  # D-only warm-up before G updates (thousands of real images)
    use_posterior: bool = True  # False: plain affine BN in G, no posterior code (ablation)

    def validate(self) -> None:
        if self.post_dim < 1 or self.post_k < 2:
            raise GanbenchError("p2gan: post_dim must be >= 1 and post_k >= 2 (sigma_IN needs 2 features)")
        if self.lambda_z < 0 or self.pretrain_kimg < 0:
            raise GanbenchError("p2gan: lambda_z and pretrain_kimg must be >= 0")


# ---- distribution maths -------------------------------------------------------------------------------------
Gaussian = tuple[Tensor, Tensor]  # (mu, sigma), each [b, d]
Prior = tuple[float, float]  # (mu, sigma), the same in every dimension


def gaussian_sq_dist(p: Gaussian, q: Gaussian | Prior) -> Tensor:
    """2*Dis(P, Q) = sum_d (sigma_p - sigma_q)^2 + (mu_p - mu_q)^2, per sample [b]."""
    (mu1, s1), (mu2, s2) = p, q
    return ((s1 - s2) ** 2 + (mu1 - mu2) ** 2).sum(-1)


def gaussian_l1(p: Gaussian, q: Gaussian) -> Tensor:
    """|P - Q| for L_z: sum_d |mu_p - mu_q| + |sigma_p - sigma_q|, per sample [b]."""
    (mu1, s1), (mu2, s2) = p, q
    return ((mu1 - mu2).abs() + (s1 - s2).abs()).sum(-1)


def reparameterise(mu: Tensor, sigma: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z = eps * sigma + mu, eps ~ N(0, I); differentiable in mu and sigma."""
    eps = rand.randn(mu.shape, generator, mu.device, mu.dtype)
    return eps * sigma + mu


def p2gan_d_loss(real: Gaussian, fake: Gaussian, pa: Prior, pb: Prior) -> Tensor:
    """L_D = 1/2 E_real[2 Dis(D(x), Pb)] + 1/2 E_fake[2 Dis(D(x), Pa)]."""
    return 0.5 * gaussian_sq_dist(real, pb).mean() + 0.5 * gaussian_sq_dist(fake, pa).mean()


def p2gan_g_adv_loss(fake: Gaussian, pc: Prior) -> Tensor:
    """L_adv = 1/2 E_fake[2 Dis(D(x), Pc)]."""
    return 0.5 * gaussian_sq_dist(fake, pc).mean()


# ---- generator ----------------------------------------------------------------------------------------------
class AdaIN(nn.Module):
    """Non-affine BN, then scale/shift by sigma_IN / mu_IN of the posterior features P_i(z) (shape [b, C, k]).

    With ``use_posterior=False`` it is plain affine BN (the ``bn_no_posterior`` ablation)."""

    def __init__(self, ch: int, post_dim: int, k: int, use_posterior: bool, eps: float = 1e-5) -> None:
        super().__init__()
        self.use_posterior, self.ch, self.k, self.eps = use_posterior, ch, k, eps
        self.bn = nn.BatchNorm2d(ch, affine=not use_posterior)
        self.post = nn.Linear(post_dim, ch * k) if use_posterior else None  # the posterior module P_i

    def forward(self, m: Tensor, code: Tensor | None) -> Tensor:
        h = self.bn(m)
        if self.post is None:
            return h
        s = self.post(code).view(-1, self.ch, self.k)
        mu = s.mean(-1)
        sigma = (s.var(-1, unbiased=False) + self.eps).sqrt()
        return sigma[..., None, None] * h + mu[..., None, None]


class Generator(nn.Module):
    def __init__(self, z_dim: int, ch: int, out_ch: int, resolution: int, post_dim: int, k: int,
                 use_posterior: bool) -> None:
        super().__init__()
        self.use_posterior = use_posterior
        self.bottom = resolution // 8
        self.linear = nn.Linear(z_dim, self.bottom * self.bottom * 8 * ch)
        widths = (8 * ch, 4 * ch, 2 * ch, ch)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, 2, 1) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(AdaIN(c, post_dim, k, use_posterior) for c in widths)
        self.out = nn.Conv2d(ch, out_ch, 3, 1, 1)
        self.act = nn.ReLU()

    def forward(self, z: Tensor, y: Tensor | None = None, code: Tensor | None = None) -> Tensor:
        """``z``: noise [b, z_dim]; ``code``: posterior code [b, d] (use ``P2GAN.generate`` to draw it)."""
        if self.use_posterior and code is None:
            raise GanbenchError("p2gan: the generator needs a posterior code; sample with model.generate()/sample()")
        h = self.linear(z).view(z.shape[0], -1, self.bottom, self.bottom)
        h = self.act(self.norms[0](h, code))
        for up, norm in zip(self.ups, self.norms[1:]):
            h = self.act(norm(up(h), code))
        return torch.tanh(self.out(h))


# ---- discriminator ------------------------------------------------------------------------------------------
class Discriminator(nn.Module):
    """SN standard-CNN trunk, then two SN linear heads (no activation): image -> (mu, sigma) in R^d."""

    def __init__(self, in_ch: int, ch: int, resolution: int, slope: float, post_dim: int,
                 pa: Prior, pb: Prior) -> None:
        super().__init__()
        spec = [(in_ch, ch, 3, 1), (ch, ch, 4, 2), (ch, 2 * ch, 3, 1), (2 * ch, 2 * ch, 4, 2),
                (2 * ch, 4 * ch, 3, 1), (4 * ch, 4 * ch, 4, 2), (4 * ch, 8 * ch, 3, 1)]
        layers: list[nn.Module] = []
        for cin, cout, k, s in spec:
            layers += [snconv(cin, cout, k, s, 1), nn.LeakyReLU(slope)]
        self.net = nn.Sequential(*layers)
        feat = (resolution // 8) ** 2 * 8 * ch
        self.mu = snlinear(feat, post_dim)
        self.sigma = snlinear(feat, post_dim)
        self.pa, self.pb = pa, pb  # for the realness score only

    def posterior(self, x: Tensor) -> Gaussian:
        h = self.net(x).flatten(1)
        return self.mu(h), self.sigma(h)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Realness score Dis(D(x), Pa) - Dis(D(x), Pb) per image (> 0: nearer the real prior)."""
        p = self.posterior(x)
        return 0.5 * (gaussian_sq_dist(p, self.pa) - gaussian_sq_dist(p, self.pb))


@contextlib.contextmanager
def _mode(m: nn.Module, training: bool) -> Iterator[None]:
    was = m.training
    m.train(training)
    try:
        yield
    finally:
        m.train(was)


def _eval_mode(m: nn.Module) -> contextlib.AbstractContextManager[None]:
    return _mode(m, False)


def _train_mode(m: nn.Module) -> contextlib.AbstractContextManager[None]:
    return _mode(m, True)


@register_model("p2gan")
class P2GAN(GAN):
    __doc__ = __doc__
    Config = P2GANConfig
    samples_from_data = True
    presets = {
        "paper": P2GANConfig(z_dim=128, g_ch=64, d_ch=64, post_dim=128, post_k=8, batch_size=32, lr_g=2e-4,
                             lr_d=2e-4, beta1=0.0, beta2=0.999, loss="lsgan", lambda_z=10.0, pretrain_kimg=10.0),
        # capacity-matched with the other models' tiny presets (see the module docstring)
        "tiny": P2GANConfig(z_dim=64, g_ch=8, d_ch=8, post_dim=16, post_k=4, batch_size=32, lr_g=2e-3,
                            lr_d=2e-3, beta1=0.0, beta2=0.999, loss="lsgan", lambda_z=10.0, pretrain_kimg=1.0),
    }
    variants = {
        "default": {},
        "no_lz": {"lambda_z": 0.0},
        "bn_no_posterior": {"use_posterior": False},
        "no_pretrain": {"pretrain_kimg": 0.0},
    }
    paper = PaperRef(
        title="Posterior Promoted GAN with Distribution Discriminator for Unsupervised Image Synthesis "
              "(Zhang et al., CVPR 2021)",
        url="https://ieeexplore.ieee.org/document/9578672", code="",
        params_g=None, params_d=None,
        params_note="no official code and no published parameter counts; counts here are for our reading "
                    "(SNGAN standard CNN, c=64, d=128, k=8)")
    deviations = ("No official code: architecture (SNGAN standard CNN), priors N(-1,1)/N(1,1), d, posterior-module "
                  "shape [C,k], L_z on mu and sigma, the D-only warm-up as the pre-training step, lr 2e-4 and "
                  "test-time codes from D on real training images are our readings (see the module docstring).")

    def __init__(self, cfg: P2GANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        if img.resolution % 8:
            raise GanbenchError(f"p2gan: resolution must be a multiple of 8, got {img.resolution}")
        self.pa = (cfg.prior_mu_fake, cfg.prior_sigma_fake)
        self.pb = (cfg.prior_mu_real, cfg.prior_sigma_real)
        self.pc = ((cfg.prior_mu_fake + cfg.prior_mu_real) / 2, (cfg.prior_sigma_fake + cfg.prior_sigma_real) / 2)
        self.G = Generator(cfg.z_dim, cfg.g_ch, img.channels, img.resolution, cfg.post_dim, cfg.post_k,
                           cfg.use_posterior)
        self.D = Discriminator(img.channels, cfg.d_ch, img.resolution, cfg.lrelu, cfg.post_dim, self.pa, self.pb)
        init_weights(self, "xavier")
        for norm in self.G.norms:  # unit-scale posterior features at init (choice 7)
            if norm.post is not None:
                nn.init.normal_(norm.post.weight, 0.0, cfg.post_dim ** -0.5)
                nn.init.zeros_(norm.post.bias)
        self._settle_spectral_norm()

    @torch.no_grad()
    def _settle_spectral_norm(self, iters: int = 10) -> None:
        """Run D's power iterations (input-independent) so that its eval-mode spectral norm, used when sampling
        codes, is sane before the first training step rather than normalised by random u, v."""
        x = torch.zeros(1, self.img.channels, self.img.resolution, self.img.resolution)
        with _train_mode(self.D):
            for _ in range(iters):
                self.D.posterior(x)

    # ---- sampling -------------------------------------------------------------------------------------------
    def posterior_code(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A code z ~ D(x), drawn without gradient and without advancing D's spectral-norm state."""
        with torch.no_grad(), _eval_mode(self.D):
            return reparameterise(*self.D.posterior(x), generator=generator)

    def generate(self, z: Tensor, y: Tensor | None = None, G: nn.Module | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        """Images from noise ``z``; posterior codes come from D on random real training images (choice 11)."""
        code = None
        if self.cfg.use_posterior:
            code = self.posterior_code(self.draw_conditioning(z.shape[0], generator), generator)
        return (G or self.G)(z, y, code=code)

    # ---- training -------------------------------------------------------------------------------------------
    def _pretraining(self, info: StepInfo) -> bool:
        return info.images_seen < self.cfg.pretrain_kimg * 1000

    def d_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        n = real.shape[0]
        post_r = self.D.posterior(self.augment(real))
        with torch.no_grad():
            code = reparameterise(*post_r) if self.cfg.use_posterior else None
            fake = self.G(self.sample_z(n), code=code)
        post_f = self.D.posterior(self.augment(fake))
        loss = p2gan_d_loss(post_r, post_f, self.pa, self.pb)
        return loss, {"loss_d": loss.detach(), "mu_real": post_r[0].detach().mean(),
                      "mu_fake": post_f[0].detach().mean(), "sigma_real": post_r[1].detach().mean()}

    def g_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        if self._pretraining(info):  # D-only warm-up: no gradient reaches G, so Adam skips it (choice 10)
            zero = torch.zeros((), device=real.device, requires_grad=True)
            return zero, {"loss_g": zero.detach(), "pretrain": torch.ones((), device=real.device)}
        n = real.shape[0]
        with torch.no_grad():
            post_r = self.D.posterior(self.augment(real))
        code = reparameterise(*post_r) if self.cfg.use_posterior else None
        fake = self.G(self.sample_z(n), code=code)
        post_f = self.D.posterior(self.augment(fake))
        adv = p2gan_g_adv_loss(post_f, self.pc)
        lz = gaussian_l1(post_f, post_r).mean()
        loss = adv + self.cfg.lambda_z * lz
        return loss, {"loss_g": loss.detach(), "loss_adv": adv.detach(), "loss_z": lz.detach()}
