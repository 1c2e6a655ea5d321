"""Image conventions shared by data, models and metrics: the shape of a dataset (``ImageSpec``) and the two pixel
formats, uint8 [0, 255] (datasets, feature extractors, PNG) and float [-1, 1] (generators)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ImageSpec:
    """What the data looks like: channels and square resolution; ``num_classes`` 0 when unlabelled."""

    channels: int = 3
    resolution: int = 32
    num_classes: int = 0


def to_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().mul_(2 / 255).sub_(1)


def to_uint8(images: Tensor) -> Tensor:
    """float [-1, 1] -> uint8 [0, 255] (round to nearest, like torchvision's save_image)."""
    return images.add(1).mul_(127.5).add_(0.5).clamp_(0, 255).to(torch.uint8)
