"""Dataset registry and the in-memory image container."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Callable, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import GanbenchError
from ..images import ImageSpec
from ..registry import Registry


@dataclass(frozen=True)
class ImageData:
    """A whole split in memory: ``images`` uint8 [N, C, R, R], ``labels`` int64 [N] or None."""

    name: str
    split: str
    images: Tensor
    labels: Tensor | None
    num_classes: int
    source: str  # where the files came from (path or generator), for provenance

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def spec(self) -> ImageSpec:
        return ImageSpec(self.channels, self.resolution, self.num_classes if self.labels is not None else 0)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Content hash of the pixels (keys the caches of real-split statistics)."""
        return hashlib.sha1(self.images.contiguous().numpy().tobytes()).hexdigest()[:16]

    def __len__(self) -> int:
        return self.images.shape[0]


class Loader(Protocol):
    def __call__(self, split: str, resolution: int, channels: int, root: str | None) -> ImageData: ...


DATASETS: Registry[Loader] = Registry("dataset")


def register_dataset(name: str, splits: tuple[str, ...] = ("train", "test"), default_channels: int = 3,
                     default_resolution: int = 32) -> Callable[[Loader], Loader]:
    def deco(fn: Loader) -> Loader:
        fn.splits = splits  # type: ignore[attr-defined]
        fn.default_channels = default_channels  # type: ignore[attr-defined]
        fn.default_resolution = default_resolution  # type: ignore[attr-defined]
        return DATASETS.register(name)(fn)
    return deco


@functools.lru_cache(maxsize=8)
def _load(name: str, split: str, resolution: int, channels: int, root: str | None) -> ImageData:
    return DATASETS.get(name)(split, resolution, channels, root)


def load_dataset(name: str, split: str = "train", resolution: int | None = None, channels: int | None = None,
                 root: str | None = None) -> ImageData:
    """Load (once per process) a registered dataset at an explicit resolution and channel count."""
    loader = DATASETS.get(name)
    if split not in loader.splits:
        raise GanbenchError(f"dataset {name!r} has no split {split!r}; choose from: {', '.join(loader.splits)}")
    resolution = resolution or loader.default_resolution
    channels = channels or loader.default_channels
    if channels not in (1, 3):
        raise GanbenchError(f"channels must be 1 or 3, got {channels}")
    if not 8 <= resolution <= 1024:
        raise GanbenchError(f"resolution must be between 8 and 1024, got {resolution}")
    return _load(name, split, int(resolution), int(channels), root)


def fit(images: Tensor, resolution: int, channels: int) -> Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, channels, resolution, resolution]: centre-crop to square, antialiased
    bilinear resize, grey replicated to 3 channels (or RGB averaged to grey with ITU-R 601 weights)."""
    n, c, h, w = images.shape
    if h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        images = images[:, :, top:top + s, left:left + s]
    if images.shape[-1] != resolution:
        out = []
        for chunk in images.split(4096):
            x = F.interpolate(chunk.float(), size=(resolution, resolution), mode="bilinear", antialias=True,
                              align_corners=False)
            out.append(x.round_().clamp_(0, 255).to(torch.uint8))
        images = torch.cat(out)
    if c == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    elif c == 3 and channels == 1:
        wts = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (images.float() * wts).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    return images.contiguous()
