"""Adversarial losses (by name) and gradient penalties. Each loss maps D logits to (d_loss, g_loss)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .attention import double_backward
from .registry import Registry


@dataclass(frozen=True)
class Loss:
    d: Callable[[Tensor, Tensor], Tensor]  # (logits_real, logits_fake) -> scalar
    g: Callable[[Tensor], Tensor]  # logits_fake -> scalar


LOSSES: Registry[Loss] = Registry("loss")


def _fp32(d: Callable[[Tensor, Tensor], Tensor], g: Callable[[Tensor], Tensor]) -> Loss:
    """The loss of fp32 logits: under bf16/fp16 autocast D's logits are low precision, and a loss reduced in that
    precision is rounded to it (bf16: 3 significant digits), its gradient too. A no-op in fp32."""
    return Loss(d=lambda r, f: d(r.float(), f.float()), g=lambda f: g(f.float()))


LOSSES.add("nonsat", _fp32(  # Goodfellow et al. 2014, non-saturating G
    d=lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
    g=lambda f: F.softplus(-f).mean()))
LOSSES.add("hinge", _fp32(  # Lim & Ye 2017; SAGAN, BigGAN, Projected GAN
    d=lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(),
    g=lambda f: -f.mean()))
LOSSES.add("wgan", _fp32(  # Arjovsky et al. 2017 (use with gp_weight for WGAN-GP)
    d=lambda r, f: f.mean() - r.mean(),
    g=lambda f: -f.mean()))
LOSSES.add("lsgan", _fp32(  # Mao et al. 2017, a=0 (fake), b=1 (real), c=1 (G target)
    d=lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(),
    g=lambda f: 0.5 * ((f - 1) ** 2).mean()))


def _grad(out: Tensor, inp: Tensor) -> Tensor:
    (g,) = torch.autograd.grad(out.sum(), inp, create_graph=True)
    return g.flatten(1)


def gradient_penalty(D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """Two-sided WGAN-GP penalty E[(||grad D(x_hat)|| - 1)^2] on random interpolates (Gulrajani et al. 2017)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    with double_backward():  # D's attention in its twice-differentiable form
        out = D(x)
    return ((_grad(out, x).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(D: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 = E[||grad D(x_real)||^2] (Mescheder et al. 2018); the caller multiplies by gamma/2."""
    x = real.detach().requires_grad_(True)
    with double_backward():
        out = D(x)
    return _grad(out, x).pow(2).sum(1).mean()
