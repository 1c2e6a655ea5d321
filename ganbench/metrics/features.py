"""Feature extractors: one registry ``FEATURES`` of frozen networks that map images to feature arrays.

Input convention (every extractor): **uint8 images [N, C, H, W], C = 1 or 3**, on any device. Generated images
(float in [-1, 1]) are quantised to uint8 first (``ganbench.images.to_uint8``), exactly as if they had been saved
as PNG, so real and generated images take the same path. Each extractor converts channels and resolution itself.

Output: a dict of float32 CPU tensors, e.g. ``{"pool": [N, D], "logits": [N, K]}``. ``fd_layer`` feeds FD, KID and
precision/recall; ``is_layer`` (class logits) feeds the Inception Score.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from ..registry import Registry


class Extractor:
    """A frozen feature network. Subclasses set the class attributes and implement ``_build`` and ``_features``."""

    name: ClassVar[str]
    description: ClassVar[str]
    preprocessing: ClassVar[str]  # what happens to the uint8 input; part of every statistics cache key
    layers: ClassVar[dict[str, int]]  # layer -> feature dimension
    fd_layer: ClassVar[str] = "pool"
    is_layer: ClassVar[str] = "logits"
    metric_names: ClassVar[dict[str, str]]  # kind (fd, kid, is, precision, recall, density, coverage) -> name
    shares_backbone_with: ClassVar[frozenset[str]] = frozenset()  # models whose D uses this network: flag in tables

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.weights_file, self.net = self._build()
        self.net.to(self.device).eval().requires_grad_(False)

    @classmethod
    def cache_token(cls) -> str:
        """Whatever selects the weights (e.g. an environment variable); instances are shared per token."""
        return ""

    def _build(self) -> tuple[Path, torch.nn.Module]:
        raise NotImplementedError

    def _features(self, images: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    @functools.cached_property
    def weights_sha256(self) -> str:
        return sha256_file(self.weights_file)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> dict[str, Tensor]:
        """uint8 [N, C, H, W] -> {layer: float32 [N, dim]} on the CPU."""
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"{self.name} expects uint8 [N, 1|3, H, W], got {images.dtype} {list(images.shape)}")
        out = self._features(images.to(self.device))
        return {k: v.float().cpu() for k, v in out.items()}

    def provenance(self) -> dict[str, str]:
        """Labels for tables: name, weights file and its sha256, preprocessing."""
        return {"extractor": self.name, "weights": self.weights_file.name, "sha256": self.weights_sha256,
                "preprocessing": self.preprocessing,
                "shares_backbone_with": ",".join(sorted(self.shares_backbone_with))}


class EmbeddingExtractor(Extractor):
    """An image-embedding network run through torch-fidelity (CLIP, DINOv2): grey images replicated to RGB, one
    embedding ``pool`` (FD, KID, precision/recall, copying), no class logits (no Inception Score)."""

    model: ClassVar[str]  # the torch-fidelity model name
    family: ClassVar[str]  # metric-name stem: fd_<family><suffix>
    fd_layer = "pool"
    is_layer = ""

    def _features(self, images: Tensor) -> dict[str, Tensor]:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        (emb,) = self.net(images.contiguous())
        return {"pool": emb}


def embedding_metric_names(family: str, suffix: str) -> dict[str, str]:
    """``fd_<family><suffix>`` and the like, for every metric an embedding makes."""
    return {k: f"{k}_{family}{suffix}" for k in ("fd", "kid", "precision", "recall", "density", "coverage")}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _FeatureRegistry(Registry[type[Extractor]]):
    def _load(self) -> None:
        from . import clip, dinov2, effnet, fmnist_cnn, inception  # noqa: F401  (register themselves)


FEATURES: _FeatureRegistry = _FeatureRegistry("feature extractor")


def register_extractor(cls: type[Extractor]) -> type[Extractor]:
    """Class decorator: registers under ``cls.name``."""
    return FEATURES.register(cls.name)(cls)


_INSTANCES: dict[tuple[str, str, str], Extractor] = {}


def get_extractor(name: str, device: str | torch.device = "cpu") -> Extractor:
    """A built extractor, shared within the process (weights load once per device)."""
    key = (name, str(torch.device(device)), FEATURES.get(name).cache_token())
    if key not in _INSTANCES:
        _INSTANCES[key] = FEATURES.get(name)(device)
    return _INSTANCES[key]


def clear_extractors() -> None:
    """Forget built extractors (tests that change weights or environment variables)."""
    _INSTANCES.clear()
