"""Metric protocols: a name that states the whole protocol (StyleGAN2-ADA's ``fid50k_full`` idea), registered in
``PROTOCOLS``. (A model's *preset* is something else: its configuration, ``tiny`` or ``paper``.)

Naming: ``<metric><n>k[_<split>]``, where the split is the *real split* the generated samples are compared with.
Protocols (all extractors):
- ``fd*``/``fid*``: FD between n generated samples and the statistics of the **whole** real split (the real side
  is computed once and cached, so it costs nothing per evaluation). FD is biased upward at small n: compare only
  numbers of the same protocol.
- ``kid*``: unbiased KID between n generated samples and a fixed random subset of n real images (seed 0, clamped to
  the split size), 100 subsets of size min(1000, n).
- ``pr*``: precision, recall, density and coverage (k = 3) between n generated samples and a fixed random subset of
  n real images (equal sizes, as Kynkaanniemi et al.; the numbers depend on n).
- ``is*``: Inception Score of n generated samples over 10 splits (no real images).
- ``copy*`` / ``ct*`` (copying checks, ``metrics.copying``): the nearest-neighbour copy rate (share of generated
  samples closer to a training image than the 5% quantile of fresh held-out images' distances; ~0.05 without
  copying) and Meehan et al.'s C_T (< -3: copying), against the whole train split and the held-out half of the test
  split. Used in tables only for extractors whose copy ladder passed (``ganbench validate-copying``).
Generated samples: the first n of one seeded stream (protocols with smaller n use a prefix of the same samples).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

KINDS = ("fd", "kid", "is", "pr", "copy", "ct")
COPYING = ("copy", "ct")  # copying checks: their rows say whether a generator returns training images


@dataclass(frozen=True)
class MetricProtocol:
    """One evaluation protocol."""

    name: str
    kind: str  # fd | kid | is | pr | copy | ct
    extractor: str
    n_gen: int
    split: str | None  # the real split compared with; None for IS
    n_real: int | None  # real images compared with; None = the whole split
    description: str = ""

    @property
    def higher_is_better(self) -> bool:
        """pr rows: precision, recall, density, coverage; ct: C_T above -3 is no sign of copying (its copy_rate and
        copy_flagged rows are lower-is-better: evaluate gives each row its own direction)."""
        return self.kind in ("is", "pr", "ct")

    @property
    def keeps_features(self) -> bool:
        """Whether the metric needs individual features (not just mean/covariance)."""
        return self.kind in ("kid", "pr", *COPYING)


PROTOCOLS: Registry[MetricProtocol] = Registry("metric protocol")

_EXTRACTOR_PREFIX = {"fmnist-cnn": "domain", "effnet-lite0": "effnet", "inception-v3": "",
                     "dinov2-vit-l-14": "dinov2_", "clip-vit-b-32": "clip_"}
_EXTRACTOR_LABEL = {"fmnist-cnn": "Fashion-MNIST domain CNN", "effnet-lite0": "EfficientNet-Lite0",
                    "inception-v3": "FID Inception-v3", "dinov2-vit-l-14": "DINOv2 ViT-L/14",
                    "clip-vit-b-32": "CLIP ViT-B/32"}


def _name(kind: str, extractor: str, n_gen: int, split: str | None) -> str:
    p = _EXTRACTOR_PREFIX[extractor]
    base = ({"fd": "fid", "kid": "kid", "is": "is", "pr": "pr", "copy": "copy", "ct": "ct"}[kind] if not p
            else f"{kind}_{p}")
    return f"{base}{n_gen // 1000}k" + (f"_{split}" if split else "")


def _describe(kind: str, extractor: str, n_gen: int, split: str | None) -> str:
    ex = _EXTRACTOR_LABEL[extractor]
    if kind == "fd":
        return f"Frechet distance ({ex} features), {n_gen} generated vs all {split} images"
    if kind == "kid":
        return (f"KID ({ex} features), {n_gen} generated vs {n_gen} random {split} images (seed 0), "
                f"100 subsets of min(1000, n)")
    if kind == "pr":
        return f"precision/recall/density/coverage, k=3 ({ex} features), {n_gen} generated vs {n_gen} {split} images"
    if kind == "copy":
        return (f"nearest-neighbour copy rate ({ex} features): share of {n_gen} generated samples closer to a {split} "
                f"image than the 5% quantile of held-out test images' distances (~0.05 without copying)")
    if kind == "ct":
        return (f"data-copying test C_T (Meehan et al. 2020; {ex} features), {n_gen} generated vs all {split} images "
                f"and held-out test images, 50 k-means cells (< -3: copying)")
    return f"Inception Score ({ex} class probabilities), {n_gen} generated, 10 splits"


def add_protocol(kind: str, extractor: str, n_gen: int, split: str | None = "train") -> MetricProtocol:
    """Register the preset for (kind, extractor, n, split) under its canonical name."""
    split = None if kind == "is" else split
    n_real = n_gen if kind in ("kid", "pr") else None  # fd and the copying checks: the whole split
    p = MetricProtocol(_name(kind, extractor, n_gen, split), kind, extractor, n_gen, split, n_real,
               _describe(kind, extractor, n_gen, split))
    return PROTOCOLS.add(p.name, p)


for _split in ("train", "test"):
    for _n in (2000, 10000):
        add_protocol("fd", "fmnist-cnn", _n, _split)
        add_protocol("kid", "fmnist-cnn", _n, _split)
        add_protocol("pr", "fmnist-cnn", _n, _split)
    for _n in (10000, 50000):
        add_protocol("fd", "inception-v3", _n, _split)
        add_protocol("kid", "inception-v3", _n, _split)
        add_protocol("fd", "effnet-lite0", _n, _split)
        add_protocol("kid", "effnet-lite0", _n, _split)
    add_protocol("pr", "inception-v3", 10000, _split)
    add_protocol("pr", "effnet-lite0", 10000, _split)
add_protocol("fd", "effnet-lite0", 2000, "train")
add_protocol("fd", "inception-v3", 2000, "train")
for _n in (2000, 10000):
    add_protocol("is", "fmnist-cnn", _n)
for _n in (10000, 50000):
    add_protocol("is", "inception-v3", _n)
    add_protocol("is", "effnet-lite0", _n)
for _kind in COPYING:  # against the train split, with held-out test images as the fresh reference
    for _n in (2000, 10000):
        add_protocol(_kind, "fmnist-cnn", _n)
    add_protocol(_kind, "inception-v3", 10000)
    add_protocol(_kind, "effnet-lite0", 10000)
# Modern feature spaces (torch-fidelity's networks; weights from the user's cache or a path, sha256-verified)
for _ext in ("dinov2-vit-l-14", "clip-vit-b-32"):
    for _n in (10000, 50000):
        add_protocol("fd", _ext, _n)
    add_protocol("kid", _ext, 10000)
    add_protocol("pr", _ext, 10000)
    for _kind in COPYING:
        add_protocol(_kind, _ext, 10000)
