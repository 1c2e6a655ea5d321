"""DCGAN — Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional GANs" (2015).

Architecture at 32x32 as in the standard CIFAR port (PyTorch-StudioGAN ``deep_conv``):
G: Linear z -> 4x4x(8c), three 4x4 stride-2 transposed convs (8c -> 4c -> 2c -> c), each BN + ReLU, then a 3x3
conv to RGB and tanh. D: three blocks [3x3 conv, 4x4 stride-2 conv] (c, 2c, 4c), a 3x3 conv to 8c, each with BN and
LeakyReLU(0.2), global sum pooling, Linear -> 1. Non-saturating loss, Adam 2e-4, betas (0.5, 0.999), N(0, 0.02) init.

Deviations: following Radford et al., D's first conv has no BatchNorm (StudioGAN has one: 128 more parameters);
StudioGAN's 2 D steps per G step and orthogonal init are not used (the paper uses 1 step and N(0, 0.02)).

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): c = 9 in G, 10 in D, z 64; at 1 channel 32x32 G 129,583 / D 72,211 trainable.

``tiny`` learning rates: G 0.002, D 0.002, 10 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x3 9.4 / x10 7.7 / x30 9.4 / x100 28.3 / x300 35.6.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, init_weights, register_model


@dataclass(frozen=True)
class DCGANConfig(GANConfig):
    g_ch: int = 64  # G width at full resolution (bottom has 8x)
    d_ch: int = 64  # D width of the first block
    lrelu: float = 0.2


class Generator(nn.Module):
    def __init__(self, z_dim: int, ch: int, out_ch: int, resolution: int) -> None:
        super().__init__()
        self.bottom = resolution // 8
        self.linear = nn.Linear(z_dim, self.bottom * self.bottom * 8 * ch)
        layers: list[nn.Module] = []
        for cin, cout in ((8 * ch, 4 * ch), (4 * ch, 2 * ch), (2 * ch, ch)):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.Conv2d(ch, out_ch, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(self.linear(z).view(z.shape[0], -1, self.bottom, self.bottom))


class Discriminator(nn.Module):
    def __init__(self, in_ch: int, ch: int, slope: float) -> None:
        super().__init__()
        act = lambda: nn.LeakyReLU(slope, True)  # noqa: E731
        widths = [(in_ch, ch, 3, 1), (ch, ch, 4, 2), (ch, 2 * ch, 3, 1), (2 * ch, 2 * ch, 4, 2),
                  (2 * ch, 4 * ch, 3, 1), (4 * ch, 4 * ch, 4, 2), (4 * ch, 8 * ch, 3, 1)]
        layers: list[nn.Module] = []
        for i, (cin, cout, k, s) in enumerate(widths):
            layers.append(nn.Conv2d(cin, cout, k, s, 1))
            if i > 0:  # Radford et al.: no BN on the discriminator's input layer
                layers.append(nn.BatchNorm2d(cout))
            layers.append(act())
        self.net = nn.Sequential(*layers)
        self.linear = nn.Linear(8 * ch, 1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.linear(self.net(x).sum(dim=(2, 3))).squeeze(1)


@register_model("dcgan")
class DCGAN(GAN):
    __doc__ = __doc__
    Config = DCGANConfig
    presets = {
        "paper": DCGANConfig(z_dim=128, g_ch=64, d_ch=64, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5),
        # capacity-matched with the other models' tiny presets (see the module docstring)
        "tiny": DCGANConfig(z_dim=64, g_ch=9, d_ch=10, batch_size=64, lr_g=2e-3, lr_d=2e-3, beta1=0.5),
    }
    paper = PaperRef(
        title="Unsupervised Representation Learning with Deep Convolutional GANs (Radford et al., 2015)",
        url="https://arxiv.org/abs/1511.06434", code="https://github.com/POSTECH-CVLab/PyTorch-StudioGAN",
        params_g=3_812_355, params_d=2_931_009, params_note="PyTorch-StudioGAN DCGAN CIFAR-10 log")

    def __init__(self, cfg: DCGANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        self.G = Generator(cfg.z_dim, cfg.g_ch, img.channels, img.resolution)
        self.D = Discriminator(img.channels, cfg.d_ch, cfg.lrelu)
        init_weights(self, "normal", 0.02)
