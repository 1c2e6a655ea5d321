"""SAGAN — Zhang, Goodfellow, Metaxas & Odena, "Self-Attention Generative Adversarial Networks" (ICML 2019).

The paper has no CIFAR configuration; the architecture is PyTorch-StudioGAN's 32x32 SAGAN (``resnet`` backbone,
configs/CIFAR10/SAGAN.yaml): G = Linear z(128) -> 4x4x256, three ResNet up-blocks of 256 channels, self-attention
after the second block (16x16), BN-ReLU-conv3x3-tanh; D = ResNet of 128 channels (optimised block, down block, two
plain blocks) with self-attention after the first block (16x16), ReLU, global sum pooling, Linear. Spectral norm in
G and D (the paper's point: SN in G too), SAGAN attention (theta/phi to C/8, g to C/2, 2x2 max-pooled keys and
values, y = x + gamma * o with gamma = 0 at init), orthogonal init (StudioGAN), hinge loss.

Recipe (``paper`` preset) is the paper's: TTUR with Adam lr G 1e-4 / D 4e-4, betas (0, 0.9), one D step per G step,
no EMA; batch 64 (StudioGAN's CIFAR batch; the paper used 256 at ImageNet 128x128). StudioGAN's CIFAR run instead uses
Adam 2e-4/2e-4, betas (0.5, 0.999), 5 D steps, batch 64, 100k G steps (conditional: IS 8.68, FID 14.0 on 10k test
images): the ``studiogan`` variant. Class-conditional (``conditional=True``): conditional BN with per-class gains and
biases (spectrally normalised linear maps of the one-hot label, as StudioGAN's cBN) and a projection discriminator.

Official code: https://github.com/brain-research/self-attention-gan (TensorFlow, ImageNet);
the architecture and counts: https://github.com/POSTECH-CVLab/PyTorch-StudioGAN (src/models/resnet.py).
Checked once against it: with copied weights and buffers, G and D outputs (unconditional and conditional, train
mode) equal StudioGAN's modules at commit 947b35e to 1e-6.

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): G 38 channels, D 34, z 64; at 1 channel 32x32 G 124,794 / D 76,128 trainable.

``tiny`` learning rates: G 0.0003, D 0.0012, 3 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x1 10.4 / x3 8.4 / x10 10.8 / x30 28.6 / x100 50.9.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, register_model
from ._resnet_gan import BN_EPS, GBlock, ResNetDiscriminator, check_resolution, one_hot, ortho_init
from .layers import SelfAttention, snconv, snlinear


@dataclass(frozen=True)
class SAGANConfig(GANConfig):
    g_ch: int = 256  # channels of every G block (StudioGAN g_conv_dim 64 x 4)
    d_ch: int = 128  # channels of every D block (d_conv_dim 64 x 2)
    attn_g: int = 16  # resolution after which G's attention block sits; 0 = none
    attn_d: int = 16  # likewise for D
    sn_g: bool = True  # spectral norm in G (SAGAN); D always has it


class Generator(nn.Module):
    def __init__(self, z_dim: int, ch: int, out_ch: int, resolution: int, attn_res: int, num_classes: int,
                 use_sn: bool) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.linear = snlinear(z_dim, 4 * 4 * ch, enabled=use_sn)
        blocks: list[nn.Module] = []
        res = 4
        for _ in range(check_resolution("SAGAN", resolution) - 2):
            blocks.append(GBlock(ch, ch, num_classes, use_sn))
            res *= 2
            if res == attn_res:
                blocks.append(SelfAttention(ch, use_sn=use_sn))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Sequential(nn.BatchNorm2d(ch, eps=BN_EPS), nn.ReLU(), snconv(ch, out_ch, 3, enabled=use_sn),
                                 nn.Tanh())

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        c = one_hot(y, self.num_classes) if self.num_classes else None
        h = self.linear(z).view(z.shape[0], -1, 4, 4)
        for b in self.blocks:
            h = b(h, c) if isinstance(b, GBlock) else b(h)
        return self.out(h)


@register_model("sagan")
class SAGAN(GAN):
    __doc__ = __doc__
    Config = SAGANConfig
    presets = {
        "paper": SAGANConfig(z_dim=128, batch_size=64, lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9, n_dis=1,
                             loss="hinge"),
        # same mechanisms (SN in G and D, attention at 16x16 in both, TTUR, hinge); capacity-matched widths
        "tiny": SAGANConfig(z_dim=64, g_ch=38, d_ch=34, batch_size=32, lr_g=3e-4, lr_d=1.2e-3, beta1=0.0, beta2=0.9,
                            n_dis=1, loss="hinge"),
    }
    variants = {
        "default": {},
        "studiogan": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_dis": 5,
                      "adam_eps": 1e-6},  # StudioGAN's run
        "no_attn": {"attn_g": 0, "attn_d": 0},  # = SNGAN-style ResNet with SN in G
        "no_sn_g": {"sn_g": False},
    }
    paper = PaperRef(
        title="Self-Attention Generative Adversarial Networks (Zhang et al., ICML 2019)",
        url="https://arxiv.org/abs/1805.08318", code="https://github.com/POSTECH-CVLab/PyTorch-StudioGAN",
        params_g=4_358_660, params_d=1_074_306,
        params_note="StudioGAN CIFAR-10 SAGAN, unconditional (computed; the logged conditional run has "
                    "G 4,386,308 / D 1,075,586, which this code reproduces with conditional=True)")
    deviations = """\
- No CIFAR setting in the paper: architecture from PyTorch-StudioGAN's 32x32 SAGAN; paper recipe (TTUR 1e-4/4e-4,
  betas (0, 0.9), 1 D step) at StudioGAN's batch 64. StudioGAN's own recipe is the `studiogan` variant.
- Adam eps: 1e-8 with the paper recipe (PyTorch's default); the `studiogan` variant uses StudioGAN's 1e-6.
- The residual skip's 1x1 conv runs before nearest up-sampling (identical output, cheaper).
"""

    def __init__(self, cfg: SAGANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        k = img.num_classes if cfg.conditional else 0
        self.G = Generator(cfg.z_dim, cfg.g_ch, img.channels, img.resolution, cfg.attn_g, k, cfg.sn_g)
        self.D = ResNetDiscriminator(img.channels, cfg.d_ch, img.resolution, cfg.attn_d, k)
        with torch.no_grad():
            ortho_init(self)
