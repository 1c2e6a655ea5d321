"""BigGAN — Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image Synthesis"
(ICLR 2019).

``paper`` preset = PyTorch-StudioGAN's CIFAR-10 BigGAN (configs/CIFAR10/BigGAN-Mod-Uncond.yaml and its conditional
twin), the configuration that the published parameter counts describe: G of 384 channels (g_conv_dim 96 x 4),
z = 80 split hierarchically ("skip-z") into 4 chunks of 20 — chunk 0 feeds Linear -> 4x4x384, chunks 1-3 feed the
conditional BN (gain 1 + W_g c, bias W_b c, spectrally normalised, no bias) of the three up-blocks, where c is
[shared class embedding (128) || chunk] when class-conditional and the chunk alone otherwise; self-attention after
G block 2 (16x16); D of 192 channels (d_conv_dim 96 x 2) with attention after block 1 (16x16) and a projection head
when conditional; spectral norm in G and D; orthogonal init; hinge loss; Adam 2e-4/2e-4, betas (0.5, 0.999), 5 D
steps per G step, batch 64; G weight EMA with decay 0.9999 per G step. StudioGAN reports conditional CIFAR-10
IS 9.75 / FID 8.03 (10k vs test); the paper reports IS 9.22 / FID 14.73.

BigGAN's modified orthogonal regularisation (paper: beta = 1e-4; off in StudioGAN's and BigGAN-PyTorch's CIFAR runs)
is ``ortho_reg``: it adds beta/2 * ||W W^T (.) (1 - I)||_F^2 per G weight (W viewed as out x rest, the shared
embedding excluded), whose gradient 2 beta (W W^T (.) (1 - I)) W is exactly what BigGAN-PyTorch's utils.ortho adds.
``hier_z=False`` gives a single z into the Linear (plain BN when unconditional, BN on the shared embedding when
conditional).

Official code: https://github.com/ajbrock/BigGAN-PyTorch (its CIFAR script: 256 channels, no attention, no shared
embedding or skip-z, class-conditional only); counts/architecture: https://github.com/POSTECH-CVLab/PyTorch-StudioGAN
(src/models/big_resnet.py). Checked once against it: with copied weights and buffers, G and D outputs
(unconditional and conditional, train mode) equal StudioGAN's modules at commit 947b35e to 1e-6.

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): G 44 channels, D 34, z 40; at 1 channel 32x32 G 126,634 / D 76,128 trainable.

``tiny`` learning rates: G 0.0006, D 0.0006, 3 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x1 12.4 / x3 8.7 / x10 9.7 / x30 15.9 / x100 45.2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import GanbenchError
from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, StepInfo, register_model
from ._resnet_gan import BN_EPS, GBlock, ResNetDiscriminator, check_resolution, ortho_init
from .layers import SelfAttention, snconv, snlinear


def ema_kimg_for_decay(decay: float, batch_size: int) -> float:
    """The EMA half-life (kimg, per G step of ``batch_size``) equal to a fixed per-step decay."""
    return batch_size * math.log(0.5) / math.log(decay) / 1000


@dataclass(frozen=True)
class BigGANConfig(GANConfig):
    g_ch: int = 384  # channels of every G block (StudioGAN g_conv_dim 96 x 4)
    d_ch: int = 192  # channels of every D block (d_conv_dim 96 x 2)
    attn_g: int = 16  # resolution after which G's attention block sits; 0 = none
    attn_d: int = 16
    hier_z: bool = True  # skip-z: one z chunk for the Linear plus one per G block
    shared_dim: int = 128  # shared class embedding (used when conditional)
    ortho_reg: float = 0.0  # beta of BigGAN's modified orthogonal regularisation on G (paper: 1e-4)

    def validate(self) -> None:
        if self.ortho_reg < 0 or self.shared_dim < 1:
            raise GanbenchError("biggan: ortho_reg must be >= 0 and shared_dim >= 1")


def ortho_penalty(w: Tensor) -> Tensor:
    """||W W^T (.) (1 - I)||_F^2 with W = ``w`` viewed as (out, rest): off-diagonal row correlations."""
    w = w.flatten(1)
    gram = w @ w.t()
    return (gram * (1 - torch.eye(gram.shape[0], device=w.device, dtype=w.dtype))).square().sum()


class Generator(nn.Module):
    def __init__(self, cfg: BigGANConfig, out_ch: int, resolution: int, num_classes: int) -> None:
        super().__init__()
        n_blocks = check_resolution("BigGAN", resolution) - 2
        self.chunk = cfg.z_dim // (n_blocks + 1) if cfg.hier_z else cfg.z_dim
        if cfg.hier_z and cfg.z_dim % (n_blocks + 1):
            raise GanbenchError(f"biggan: z_dim {cfg.z_dim} must split into {n_blocks + 1} equal chunks (hier_z)")
        self.hier = cfg.hier_z
        self.shared = nn.Embedding(num_classes, cfg.shared_dim) if num_classes else None
        cond_dim = (self.chunk if cfg.hier_z else 0) + (cfg.shared_dim if num_classes else 0)
        self.linear = snlinear(self.chunk, 4 * 4 * cfg.g_ch)
        blocks: list[nn.Module] = []
        res = 4
        for _ in range(n_blocks):
            blocks.append(GBlock(cfg.g_ch, cfg.g_ch, cond_dim))
            res *= 2
            if res == cfg.attn_g:
                blocks.append(SelfAttention(cfg.g_ch))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Sequential(nn.BatchNorm2d(cfg.g_ch, eps=BN_EPS), nn.ReLU(), snconv(cfg.g_ch, out_ch, 3),
                                 nn.Tanh())

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        zs = list(torch.split(z, self.chunk, dim=1)) if self.hier else [z]
        shared = [self.shared(y)] if self.shared is not None else []
        # one conditioning vector per block: [shared embedding || its z chunk] (StudioGAN's order)
        conds = iter([torch.cat(shared + [zc], 1) for zc in zs[1:]] if self.hier else [])
        c_all = shared[0] if (shared and not self.hier) else None
        h = self.linear(zs[0]).view(z.shape[0], -1, 4, 4)
        for b in self.blocks:
            h = b(h, next(conds, c_all)) if isinstance(b, GBlock) else b(h)
        return self.out(h)


@register_model("biggan")
class BigGAN(GAN):
    __doc__ = __doc__
    Config = BigGANConfig
    presets = {
        "paper": BigGANConfig(z_dim=80, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, n_dis=5,
                              loss="hinge", ema_kimg=round(ema_kimg_for_decay(0.9999, 64), 3), adam_eps=1e-6,
                              ema_start_kimg=1000 * 5 * 64 / 1000),  # g_ema_start 1000 G steps of 5 x 64 images
        # same mechanisms (skip-z into conditional BN, attention, SN, hinge, EMA), capacity-matched widths (G 44,
        # D 34), z 40 = 4 x 10; 2 D steps instead of 5 and an EMA ramp-up so that runs of a few kimg have a usable
        # EMA generator
        "tiny": BigGANConfig(z_dim=40, g_ch=44, d_ch=34, shared_dim=32, batch_size=32, lr_g=6e-4, lr_d=6e-4, beta1=0.5,
                             beta2=0.999, n_dis=2, loss="hinge", ema_kimg=round(ema_kimg_for_decay(0.9999, 32), 3),
                             ema_rampup=0.05, adam_eps=1e-6),
    }
    variants = {
        "default": {},
        "ortho_reg": {"ortho_reg": 1e-4},  # the paper's ImageNet setting
        "no_hier_z": {"hier_z": False},
        "no_attn": {"attn_g": 0, "attn_d": 0},
        "no_ema": {"ema_kimg": 0.0},
    }
    paper = PaperRef(
        title="Large Scale GAN Training for High Fidelity Natural Image Synthesis (Brock et al., ICLR 2019)",
        url="https://arxiv.org/abs/1809.11096", code="https://github.com/ajbrock/BigGAN-PyTorch",
        params_g=8_825_092, params_d=2_413_250,
        params_note="PyTorch-StudioGAN CIFAR-10 BigGAN (ch 96, z 80, hierarchical z), unconditional (computed; the "
                    "logged conditional run has G 9,416,196 / D 2,415,170, reproduced here with conditional=True)")
    deviations = """\
- `paper` preset is PyTorch-StudioGAN's CIFAR-10 BigGAN (ch 96 / z 80 skip-z / attention / 5 D steps), the config
  the published counts describe, not BigGAN-PyTorch's CIFAR script (ch 64, conditional-only, no attention/skip-z).
- EMA: decay 0.9999 per G step as a half-life (ema_kimg = batch * ln 0.5 / ln 0.9999). `paper` copies G for the
  first 1000 G steps (StudioGAN's g_ema_start, as 320 kimg at 5 x 64 images per step); `tiny` has no plain-copy
  phase and a ramp-up (0.05) instead, so that runs of a few kimg have a usable EMA.
- Orthogonal regularisation is a loss term with the gradient of BigGAN-PyTorch's utils.ortho (beta/2 times the
  Frobenius form above), not a direct gradient edit.
- BN running statistics are copied into the EMA G (StudioGAN averages them).
- The residual skip's 1x1 conv runs before nearest up-sampling (identical output, cheaper).
"""

    def __init__(self, cfg: BigGANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        k = img.num_classes if cfg.conditional else 0
        self.G = Generator(cfg, img.channels, img.resolution, k)
        self.D = ResNetDiscriminator(img.channels, cfg.d_ch, img.resolution, cfg.attn_d, k)
        with torch.no_grad():
            ortho_init(self)

    def ortho_weights(self) -> list[Tensor]:
        """G weights under orthogonal regularisation: every >= 2-D parameter except the shared embedding."""
        skip = {id(p) for p in self.G.shared.parameters()} if self.G.shared is not None else set()
        return [p for p in self.G.parameters() if p.ndim >= 2 and id(p) not in skip and p.requires_grad]

    def g_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        loss, logs = super().g_loss(real, y, info)
        if self.cfg.ortho_reg:
            reg = sum(ortho_penalty(w) for w in self.ortho_weights())
            loss = loss + 0.5 * self.cfg.ortho_reg * reg
            logs["ortho"] = reg.detach()
        return loss, logs
