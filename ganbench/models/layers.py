"""Building blocks shared by several models (spectral norm wrappers, SAGAN self-attention)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from ..attention import attention


def sn(module: nn.Module, enabled: bool = True) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018), one power iteration per forward, as SNGAN/SAGAN/BigGAN."""
    return spectral_norm(module, eps=1e-6) if enabled else module


def snconv(cin: int, cout: int, k: int = 3, s: int = 1, p: int | None = None, bias: bool = True,
           enabled: bool = True) -> nn.Module:
    return sn(nn.Conv2d(cin, cout, k, s, k // 2 if p is None else p, bias=bias), enabled)


def snlinear(cin: int, cout: int, bias: bool = True, enabled: bool = True) -> nn.Module:
    return sn(nn.Linear(cin, cout, bias=bias), enabled)


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019) in the BigGAN-PyTorch/StudioGAN form: theta, phi 1x1 convs to C/8,
    g to C/2, phi and g 2x2 max-pooled, softmax(theta^T phi), 1x1 conv back to C, y = x + gamma * o, gamma = 0 at
    init; no biases; spectral norm on all four convs (``use_sn``)."""

    def __init__(self, ch: int, use_sn: bool = True) -> None:
        super().__init__()
        self.theta = snconv(ch, ch // 8, 1, bias=False, enabled=use_sn)
        self.phi = snconv(ch, ch // 8, 1, bias=False, enabled=use_sn)
        self.g = snconv(ch, ch // 2, 1, bias=False, enabled=use_sn)
        self.o = snconv(ch // 2, ch, 1, bias=False, enabled=use_sn)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)[:, None]  # b, 1, hw, c/8
        phi = F.max_pool2d(self.phi(x), 2).flatten(2).transpose(1, 2)[:, None]  # b, 1, hw/4, c/8
        g = F.max_pool2d(self.g(x), 2).flatten(2).transpose(1, 2)[:, None]  # b, 1, hw/4, c/2
        o = attention(theta, phi, g, scale=1.0)[:, 0]  # softmax(theta^T phi) g^T: b, hw, c/2 (SDPA, unscaled)
        o = o.transpose(1, 2).reshape(b, c // 2, h, w)
        return x + self.gamma * self.o(o)
