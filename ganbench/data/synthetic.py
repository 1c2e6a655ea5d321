"""A small synthetic dataset for tests only: one bright axis-aligned rectangle per image on a dark background,
4 classes by rectangle size. Deterministic (fixed seed per split), learnable in seconds."""
from __future__ import annotations

import torch

from .. import rand
from .base import ImageData, fit, register_dataset

SIZES = {"train": 2048, "test": 512}


@register_dataset("synthetic", default_channels=1)
def synthetic(split: str, resolution: int, channels: int, root: str | None) -> ImageData:
    n, r = SIZES[split], 32
    g = torch.Generator().manual_seed(0 if split == "train" else 1)
    labels = rand.randint(0, 4, (n,), g)
    side = 6 + 4 * labels  # 6, 10, 14, 18 px
    top = (rand.rand((n,), g) * (r - side)).long()
    left = (rand.rand((n,), g) * (r - side)).long()
    ys = torch.arange(r).view(1, r, 1)
    xs = torch.arange(r).view(1, 1, r)
    inside = ((ys >= top.view(-1, 1, 1)) & (ys < (top + side).view(-1, 1, 1))
              & (xs >= left.view(-1, 1, 1)) & (xs < (left + side).view(-1, 1, 1)))
    images = (inside.to(torch.uint8) * 220 + 20).unsqueeze(1)
    return ImageData("synthetic", split, fit(images, resolution, channels), labels, 4, "generated (seed 0/1)")
