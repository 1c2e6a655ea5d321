"""``evaluate``: the one entry point the trainer and the CLI use to score a generator with metric protocols.

Generated images come in batches from ``sample_fn(n, generator)`` (float [-1, 1]), are quantised to uint8 and go
through each needed extractor once; protocols sharing an extractor share that pass (and all extractors see the same
samples). Only features are kept (as float64 running moments for FD, as float32 arrays for KID/PR/IS), never images.
The sampling generator is seeded from ``seed`` alone, so results do not depend on the training RNG.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from ..data import ImageData, load_dataset
from ..errors import GanbenchError
from ..images import to_uint8
from .features import Extractor, get_extractor
from .frechet import Moments, frechet_distance
from .inception_score import inception_score
from .kid import kid
from .prdc import prdc
from .protocols import COPYING, PROTOCOLS, MetricProtocol
from .real_stats import real_stats

SampleFn = Callable[[int, torch.Generator], Tensor]


def real_split_data(data: ImageData, split: str, root: str | None = None) -> ImageData:
    """The real split ``split`` of ``data``'s dataset (same resolution, channels)."""
    if split == data.split:
        return data
    if data.name.startswith("folder:"):
        return load_dataset("folder", split, data.resolution, data.channels, data.source)
    return load_dataset(data.name, split, data.resolution, data.channels, root)


@dataclass
class _Accumulator:
    """Per-extractor state while generated batches stream through."""

    ext: Extractor
    fd_checkpoints: set[int]  # n at which FD protocols snapshot the running moments
    keep_n: dict[str, int]  # layer -> how many rows to keep
    moments: Moments = field(default_factory=Moments)
    snapshots: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    kept: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def update(self, images: Tensor, n_before: int) -> None:
        feats = self.ext(images)
        n_after = n_before + len(images)
        if self.fd_checkpoints and n_before < max(self.fd_checkpoints):
            self.moments.update(feats[self.ext.fd_layer].numpy())
            if n_after in self.fd_checkpoints:
                self.snapshots[n_after] = self.moments.stats()
        for layer, n in self.keep_n.items():
            if n_before < n:
                self.kept.setdefault(layer, []).append(feats[layer][: n - n_before].numpy())

    def features(self, layer: str, n: int) -> np.ndarray:
        return np.concatenate(self.kept[layer])[:n]


def _resolve(protocols: Iterable[str | MetricProtocol]) -> list[MetricProtocol]:
    out = [p if isinstance(p, MetricProtocol) else PROTOCOLS.get(p) for p in protocols]
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise GanbenchError(f"metric protocols listed twice: {', '.join(twice)}")
    return out


def evaluate(sample_fn: SampleFn, data: ImageData, protocols: Iterable[str | MetricProtocol], seed: int = 0,
             device: str | torch.device = "cpu", batch_size: int = 250, root: str | None = None,
             use_cache: bool = True) -> list[dict[str, Any]]:
    """Score ``sample_fn`` on ``protocols`` against ``data`` (the TRAIN split; other real splits are loaded).

    Returns one row per metric value: ``metric, protocol, value, extractor, n_samples, n_real, split, dataset,
    resolution, channels, higher_is_better, seed, weights_sha256`` (+ ``std`` for IS and KID, ``subset_size`` and
    ``n_subsets`` for KID, ``splits`` for IS). A ``pr`` protocol yields four rows (precision, recall, density,
    coverage); a ``copy`` protocol two (the copy rate, and 1/0 whether its exact test flags copying, with its
    ``copying`` result), a ``ct`` protocol one (C_T, with its ``copying`` result).
    """
    protocols = _resolve(protocols)
    if not protocols:
        return []
    device = torch.device(device)
    by_ext: dict[str, list[MetricProtocol]] = {}
    for p in protocols:
        by_ext.setdefault(p.extractor, []).append(p)
    accs: dict[str, _Accumulator] = {}
    for name, ps in by_ext.items():
        ext = get_extractor(name, device)
        keep: dict[str, int] = {}
        for p in ps:
            layer = ext.is_layer if p.kind == "is" else ext.fd_layer if p.keeps_features else None
            if layer:
                keep[layer] = max(keep.get(layer, 0), p.n_gen)
        accs[name] = _Accumulator(ext, {p.n_gen for p in ps if p.kind == "fd"}, keep)

    # ---- generated side: one seeded stream, batches cut so every preset's n falls on a batch boundary
    boundaries = sorted({p.n_gen for p in protocols})
    gen = torch.Generator(device=device).manual_seed(int(seed))
    done = 0
    with torch.no_grad():
        while done < boundaries[-1]:
            nxt = next(b for b in boundaries if b > done)
            n = min(batch_size, nxt - done)
            x = sample_fn(n, gen)
            if x.shape != (n, data.channels, data.resolution, data.resolution):
                raise GanbenchError(f"sample_fn returned {list(x.shape)}, expected "
                                    f"[{n}, {data.channels}, {data.resolution}, {data.resolution}]")
            if not torch.isfinite(x).all():
                raise GanbenchError("sample_fn returned NaN/inf images (diverged generator?)")
            u8 = to_uint8(x.clamp(-1, 1))
            for name, acc in accs.items():
                need = max(p.n_gen for p in by_ext[name])
                if done < need:
                    acc.update(u8[: need - done], done)
            done += n

    # ---- real side (cached) and the metrics
    rows: list[dict[str, Any]] = []
    for p in protocols:
        acc = accs[p.extractor]
        ext = acc.ext
        base = {"protocol": p.name, "extractor": ext.name, "n_samples": p.n_gen, "split": p.split,
                "dataset": data.name, "resolution": data.resolution, "channels": data.channels, "seed": int(seed),
                "weights_sha256": ext.weights_sha256[:16]}
        if p.kind == "is":
            mean, std = inception_score(acc.features(ext.is_layer, p.n_gen))
            rows.append({"metric": ext.metric_names["is"], "value": mean, "std": std, "n_real": None, "splits": 10,
                         "higher_is_better": True, **base})
            continue
        ref = real_stats(real_split_data(data, p.split, root), ext, p.n_real, p.keeps_features, batch_size,
                              use_cache)
        base["n_real"] = ref.n
        if p.kind == "fd":
            mu, sigma = acc.snapshots[p.n_gen]
            rows.append({"metric": ext.metric_names["fd"], "value": frechet_distance(mu, sigma, ref.mu, ref.sigma),
                         "higher_is_better": False, **base})
        elif p.kind == "kid":
            mean, std, m = kid(acc.features(ext.fd_layer, p.n_gen), ref.features, seed=0)
            rows.append({"metric": ext.metric_names["kid"], "value": mean, "std": std, "subset_size": m,
                         "n_subsets": 100, "higher_is_better": False, **base})
        elif p.kind == "pr":
            for k, v in prdc(acc.features(ext.fd_layer, p.n_gen), ref.features, k=3).items():
                rows.append({"metric": ext.metric_names[k], "value": v, "higher_is_better": True, **base})
        elif p.kind in COPYING:
            rows += _copying_rows(p, acc.features(ext.fd_layer, p.n_gen), data, ext, base, root, device)
    return rows


def metric_name(ext: Extractor, key: str) -> str:
    """The extractor's name for a metric (``copy_rate`` -> ``copy_rate_domain`` where FD is ``fd_domain``)."""
    if key in ext.metric_names:
        return ext.metric_names[key]
    fd = ext.metric_names["fd"]
    return key + (fd[2:] if fd.startswith("fd") else fd[3:] if fd.startswith("fid") else "")


def _copying_rows(p: MetricProtocol, feats: np.ndarray, data: ImageData, ext: Extractor, base: dict[str, Any],
                  root: str | None, device: torch.device) -> list[dict[str, Any]]:
    """A copying check of the generated features against the train split and the held-out half of the test
    split (``copying.copying_sets``, prepared once per dataset and extractor and cached)."""
    from .copying import c_t, copy_rate, copying_sets

    if "test" not in dataset_splits(data):
        raise GanbenchError(f"{p.name} needs held-out images the generator was not trained on: dataset "
                            f"{data.name} has no test split")
    sets = copying_sets(real_split_data(data, p.split, root), real_split_data(data, "test", root), ext,
                        device=device, authenticity=False)
    row = {**base, "n_real": len(sets.train), "n_held_out": len(sets.held_out)}
    if p.kind == "copy":
        r = copy_rate(feats, sets)
        return [{**row, "metric": metric_name(ext, "copy_rate"), "value": r.value, "higher_is_better": False,
                 "copying": r},
                {**row, "metric": metric_name(ext, "copy_flagged"), "value": float(r.flagged),
                 "higher_is_better": False, "copying": r}]
    r = c_t(feats, sets)
    return [{**row, "metric": metric_name(ext, "c_t"), "value": r.value, "higher_is_better": True, "copying": r}]


def dataset_splits(data: ImageData) -> tuple[str, ...]:
    """The splits of ``data``'s dataset."""
    from ..data import DATASETS

    name = "folder" if data.name.startswith("folder:") else data.name
    return tuple(getattr(DATASETS.get(name), "splits", ("train", "test")))
