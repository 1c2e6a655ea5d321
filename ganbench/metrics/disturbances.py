"""Disturbances of real images: the operations the disturbance ladder (``analysis.ladder``) applies at increasing
strength, and the corruption augmentation that trains the domain extractor (``fmnist_cnn``) uses. uint8 in, uint8
out (``disturb``, ``degenerate``); float [-1, 1] for ``gaussian_blur`` and ``swirl``."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _to_float(x: Tensor) -> Tensor:
    return x.float() / 127.5 - 1


def _to_uint8(x: Tensor) -> Tensor:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of float images [N, C, H, W], kernel radius 3 sigma, reflect padding."""
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def swirl(x: Tensor, strength: float) -> Tensor:
    """skimage.transform.swirl about the centre, radius = image size: theta += s * exp(-rho / (radius ln 2 / 5))."""
    n, _, h, w = x.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    cy, cx = (h - 1) / 2, (w - 1) / 2
    rho = torch.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    radius = float(max(h, w)) / 5 * math.log(2)
    theta = torch.atan2(yy - cy, xx - cx) + strength * torch.exp(-rho / radius)
    sx, sy = cx + rho * torch.cos(theta), cy + rho * torch.sin(theta)
    grid = torch.stack([sx / (w - 1) * 2 - 1, sy / (h - 1) * 2 - 1], dim=-1).expand(n, h, w, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def disturb(images: Tensor, labels: Tensor | None, family: str, level: float, g: torch.Generator) -> Tensor:
    """uint8 [N, C, H, W] -> the same count of uint8 images disturbed by ``family`` at ``level``."""
    n, c, h, w = images.shape
    x = _to_float(images)
    if family == "noise":
        x = (1 - level) * x + level * torch.randn(x.shape, generator=g)
    elif family == "blur":
        x = gaussian_blur(x, level)
    elif family == "rectangle":
        sh, sw = max(1, round(level * h)), max(1, round(level * w))
        top = torch.randint(0, h - sh + 1, (n,), generator=g)
        left = torch.randint(0, w - sw + 1, (n,), generator=g)
        rows = torch.arange(h)[None, :, None]
        cols = torch.arange(w)[None, None, :]
        mask = ((rows >= top[:, None, None]) & (rows < (top + sh)[:, None, None])
                & (cols >= left[:, None, None]) & (cols < (left + sw)[:, None, None]))
        x = x.masked_fill(mask[:, None], -1.0)
    elif family == "swirl":
        x = swirl(x, level)
    elif family == "salt":
        u = torch.rand((n, 1, h, w), generator=g).expand(n, c, h, w)
        x = torch.where(u < level / 2, -1.0, torch.where(u < level, 1.0, x))
    elif family == "modes":
        if labels is None:
            raise ValueError("mode dropping needs class labels")
        classes = torch.unique(labels)
        keep = classes[torch.randperm(len(classes), generator=g)[:int(level)]]
        pool = torch.nonzero(torch.isin(labels, keep)).flatten()
        return images[pool[torch.randint(0, len(pool), (n,), generator=g)]]
    else:
        raise ValueError(f"unknown disturbance family {family!r}")
    return _to_uint8(x)


def degenerate(images: Tensor, kind: str, g: torch.Generator) -> Tensor:
    """A degenerate set with the shape of ``images``: noise of three kinds, a constant grey image, one image."""
    shape = images.shape
    if kind == "uniform":
        return torch.randint(0, 256, shape, generator=g, dtype=torch.int64).to(torch.uint8)
    if kind == "binary":
        return (torch.randint(0, 2, shape, generator=g) * 255).to(torch.uint8)
    if kind == "gaussian":
        return _to_uint8(torch.randn(shape, generator=g) * 0.5)
    if kind == "constant":
        return torch.full(shape, 128, dtype=torch.uint8)
    if kind == "repeated":
        return images[int(torch.randint(0, shape[0], (1,), generator=g))].expand(shape).contiguous()
    raise ValueError(f"unknown degenerate set {kind!r}")
