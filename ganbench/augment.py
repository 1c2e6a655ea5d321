"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable colour, translation and cutout, applied to real and
fake images alike inside the D step. Follows the reference implementation (mit-han-lab/data-efficient-gans)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import GanbenchError


def _color(x: Tensor, **_) -> Tensor:
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean  # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean  # contrast


def _translation(x: Tensor, translation_ratio: float = 0.125, **_) -> Tensor:
    n, _, h, w = x.shape
    sx, sy = int(h * translation_ratio + 0.5), int(w * translation_ratio + 0.5)
    tx = torch.randint(-sx, sx + 1, size=(n, 1, 1), device=x.device)
    ty = torch.randint(-sy, sy + 1, size=(n, 1, 1), device=x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    pad = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return pad.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def _cutout(x: Tensor, cutout_ratio: float = 0.5, **_) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * cutout_ratio + 0.5), int(w * cutout_ratio + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), size=(n, 1, 1), device=x.device)
    oy = torch.randint(0, w + (1 - cw % 2), size=(n, 1, 1), device=x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, min=0, max=h - 1)
    gy = torch.clamp(gy + oy - cw // 2, min=0, max=w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


POLICIES = {"color": _color, "translation": _translation, "cutout": _cutout}


def parse_policy(policy: str) -> list[str]:
    names = [p.strip() for p in policy.split(",") if p.strip()]
    for p in names:
        if p not in POLICIES:
            raise GanbenchError(f"unknown DiffAugment policy {p!r}; choose from: {', '.join(POLICIES)}")
    return names


def diff_augment(x: Tensor, policy: str, translation_ratio: float = 0.125, cutout_ratio: float = 0.5) -> Tensor:
    for p in parse_policy(policy):
        x = POLICIES[p](x, translation_ratio=translation_ratio, cutout_ratio=cutout_ratio)
    return x
