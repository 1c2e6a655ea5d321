"""ResNet G/D blocks of SNGAN/SAGAN/BigGAN in the PyTorch-StudioGAN ``resnet``/``big_resnet`` layout (shared by
sagan.py and biggan.py; see those for papers and deviations).

G: Linear -> 4x4, up-blocks [BN-ReLU-nearest up-conv3x3-BN-ReLU-conv3x3] + [up, 1x1 conv] skip, optional
self-attention after the block that outputs ``attn_res``, BN-ReLU-conv3x3-tanh. BN is conditional (gain 1 + f(c),
bias g(c), f/g spectrally normalised linear maps without bias) when the block gets a conditioning vector.
D: an optimised first block [conv3-ReLU-conv3-avgpool] + [avgpool-1x1 conv], down-blocks
[ReLU-conv3-ReLU-conv3-avgpool] + [1x1 conv-avgpool] to 8x8, two more blocks without downsampling (identity skip),
optional attention after the block that outputs ``attn_res``; ReLU, global sum pooling, Linear, plus a projection
term <embed(y), h> (Miyato & Koyama 2018) when class-conditional.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GanbenchError
from .layers import SelfAttention, sn, snconv, snlinear

BN_EPS = 1e-4  # StudioGAN's batchnorm_2d / ConditionalBatchNorm2d


def check_resolution(name: str, resolution: int) -> int:
    """log2(resolution) for the ResNet models (power of two, at least 16)."""
    lg = int(math.log2(resolution)) if resolution > 0 else 0
    if resolution < 16 or 2 ** lg != resolution:
        raise GanbenchError(f"{name}: resolution must be a power of two >= 16, got {resolution}")
    return lg


class CondBatchNorm(nn.Module):
    """BatchNorm without affine parameters, modulated per sample: ``bn(x) * (1 + gain(c)) + bias(c)``."""

    def __init__(self, ch: int, cond_dim: int, use_sn: bool = True) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(ch, eps=BN_EPS, affine=False)
        self.gain = snlinear(cond_dim, ch, bias=False, enabled=use_sn)
        self.bias = snlinear(cond_dim, ch, bias=False, enabled=use_sn)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        return self.bn(x) * (1 + self.gain(c))[:, :, None, None] + self.bias(c)[:, :, None, None]


class GBlock(nn.Module):
    """Up-sampling residual block; BN is conditional on a ``cond_dim`` vector when ``cond_dim`` > 0."""

    def __init__(self, cin: int, cout: int, cond_dim: int = 0, use_sn: bool = True) -> None:
        super().__init__()
        self.cond = cond_dim > 0
        if self.cond:
            self.bn1, self.bn2 = CondBatchNorm(cin, cond_dim, use_sn), CondBatchNorm(cout, cond_dim, use_sn)
        else:
            self.bn1, self.bn2 = nn.BatchNorm2d(cin, eps=BN_EPS), nn.BatchNorm2d(cout, eps=BN_EPS)
        self.conv1 = snconv(cin, cout, 3, enabled=use_sn)
        self.conv2 = snconv(cout, cout, 3, enabled=use_sn)
        self.skip = snconv(cin, cout, 1, enabled=use_sn)

    def _bn(self, bn: nn.Module, x: Tensor, c: Tensor | None) -> Tensor:
        return bn(x, c) if self.cond else bn(x)

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        h = F.interpolate(F.relu(self._bn(self.bn1, x, c)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self._bn(self.bn2, self.conv1(h), c)))
        # a 1x1 conv commutes with nearest up-sampling: convolve at low resolution (same result, 4x cheaper)
        return h + F.interpolate(self.skip(x), scale_factor=2, mode="nearest")


class DBlock(nn.Module):
    """Residual D block; ``first`` is the optimised input block (no leading ReLU, pool before the skip conv)."""

    def __init__(self, cin: int, cout: int, down: bool, first: bool = False, use_sn: bool = True) -> None:
        super().__init__()
        self.down, self.first = down or first, first
        self.conv1 = snconv(cin, cout, 3, enabled=use_sn)
        self.conv2 = snconv(cout, cout, 3, enabled=use_sn)
        self.skip = snconv(cin, cout, 1, enabled=use_sn) if (self.down or cin != cout) else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.skip(F.avg_pool2d(s, 2))
        elif self.skip is not None:
            s = self.skip(s)
            if self.down:
                s = F.avg_pool2d(s, 2)
        return h + s


class ResNetDiscriminator(nn.Module):
    """StudioGAN's 32x32 ResNet D (down, down, same, same at ``ch`` channels), generalised to 2^k inputs."""

    def __init__(self, in_ch: int, ch: int, resolution: int, attn_res: int = 16, num_classes: int = 0,
                 use_sn: bool = True) -> None:
        super().__init__()
        n_down = check_resolution("ResNet D", resolution) - 3  # down to 8x8
        blocks: list[nn.Module] = []
        res = resolution
        for i in range(n_down + 2):
            down = i < n_down
            blocks.append(DBlock(in_ch if i == 0 else ch, ch, down, first=i == 0, use_sn=use_sn))
            res //= 2 if down else 1
            if res == attn_res and not any(isinstance(b, SelfAttention) for b in blocks):
                blocks.append(SelfAttention(ch, use_sn=use_sn))
        self.blocks = nn.Sequential(*blocks)
        self.linear = snlinear(ch, 1, enabled=use_sn)
        self.embed = sn(nn.Embedding(num_classes, ch), use_sn) if num_classes else None

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise GanbenchError("conditional discriminator called without labels")
            out = out + (self.embed(y) * h).sum(1)
        return out


def ortho_init(module: nn.Module) -> None:
    """StudioGAN's ``ortho`` init: orthogonal weights for conv/linear/embedding (the raw weight under spectral norm),
    zero biases; BatchNorm and attention gamma keep their PyTorch defaults."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(getattr(m, "weight_orig", m.weight))
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def one_hot(y: Tensor, num_classes: int) -> Tensor:
    return F.one_hot(y, num_classes).to(torch.float32)
