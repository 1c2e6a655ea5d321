"""RealStats-side statistics: features of a real split, reduced to mean/covariance (and optionally kept), cached on
disk under ``<ganbench cache>/stats/``.

The cache key holds everything that changes the numbers: dataset name, split, resolution, channels, extractor name,
weights sha256, preprocessing, sample count, the subset rule, and the pixels' fingerprint (``ImageData.fingerprint``).
Files are ``.npz`` written atomically and read with ``allow_pickle=False``; a file whose stored key differs (or that
cannot be read) is recomputed. The key does not hold the device: CPU and CUDA features agree to float32 rounding,
so one file serves both.
"""
from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rand
from ..data import ImageData
from ..errors import GanbenchError
from ..io import atomic_write
from ..paths import cache_dir
from .features import Extractor
from .frechet import Moments

log = logging.getLogger(__name__)
SUBSET_SEED = 0  # fixed: the real subset is the same in every run
VERSION = 1


@dataclass
class RealStats:
    """Statistics of ``n`` real images on the extractor's ``fd_layer``; ``features`` kept when asked."""

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray | None
    n: int
    meta: dict[str, Any]
    path: Path | None = None


def subset_indices(n_total: int, n_real: int | None) -> tuple[torch.Tensor | None, int, str]:
    """(indices or None for all, count, rule): a fixed seeded random subset, since splits may be sorted by class."""
    if n_real is None or n_real >= n_total:
        return None, n_total, "all"
    g = torch.Generator().manual_seed(SUBSET_SEED)
    return rand.randperm(n_total, g)[:n_real], n_real, f"randperm-seed{SUBSET_SEED}"


def real_stats_key(data: ImageData, ext: Extractor, n_real: int | None, keep_features: bool) -> dict[str, Any]:
    _, n, rule = subset_indices(len(data), n_real)
    return {"version": VERSION, "dataset": data.name, "split": data.split, "resolution": data.resolution,
            "channels": data.channels, "extractor": ext.name, "weights_sha256": ext.weights_sha256,
            "layer": ext.fd_layer, "preprocessing": ext.preprocessing, "n": n, "subset": rule,
            "fingerprint": data.fingerprint, "features": bool(keep_features)}


def cache_path(key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key["dataset"])
    return cache_dir() / "stats" / (f"{safe}-{key['split']}-{key['resolution']}px-{key['channels']}ch-"
                                    f"{key['extractor']}-n{key['n']}{'-feats' if key['features'] else ''}-{digest}.npz")


def extract_all(ext: Extractor, images: torch.Tensor, batch_size: int = 250,
                layers: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Run the extractor over uint8 images in batches; float32 arrays per layer."""
    out: dict[str, list[np.ndarray]] = {}
    for chunk in images.split(batch_size):
        for k, v in ext(chunk).items():
            if layers is None or k in layers:
                out.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def compute_real_stats(data: ImageData, ext: Extractor, n_real: int | None, keep_features: bool,
                      batch_size: int = 250) -> RealStats:
    """Features of the (subset of the) split, streamed in batches, reduced to float64 mean/covariance."""
    idx, n, _ = subset_indices(len(data), n_real)
    moments, kept = Moments(), []
    for start in range(0, n, batch_size):
        sel = slice(start, min(start + batch_size, n))
        batch = data.images[idx[sel]] if idx is not None else data.images[sel]
        f = ext(batch)[ext.fd_layer].numpy()
        moments.update(f)
        if keep_features:
            kept.append(f)
    mu, sigma = moments.stats()
    return RealStats(mu, sigma, np.concatenate(kept) if keep_features else None, n,
                     real_stats_key(data, ext, n_real, keep_features))


def save_real_stats(ref: RealStats, path: Path) -> Path:
    arrays = {"mu": ref.mu, "sigma": ref.sigma, "meta": np.array(json.dumps(ref.meta, sort_keys=True))}
    if ref.features is not None:
        arrays["features"] = ref.features
    atomic_write(path, lambda f: np.savez(f, **arrays))
    ref.path = path
    return path


def load_stats_file(path: str | Path) -> RealStats:
    """Read a statistics .npz (ours, or any with ``mu``/``sigma`` arrays such as pytorch-fid's) without pickle."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as z:
        if "mu" not in z or "sigma" not in z:
            raise ValueError(f"no 'mu'/'sigma' arrays in {path}")
        meta = json.loads(str(z["meta"])) if "meta" in z else {}
        feats = z["features"] if "features" in z else None
        return RealStats(z["mu"].astype(np.float64), z["sigma"].astype(np.float64), feats,
                         int(meta.get("n", 0)), meta, path)


STATS_KEYS = ("extractor", "weights_sha256", "preprocessing", "layer", "n")
FOREIGN = "foreign stats (unknown weights)"


def check_stats(ref: RealStats, ext: Extractor, foreign_ok: bool = False) -> str:
    """Check a statistics file against ``ext``: ganbench files must match its extractor, weights sha256,
    preprocessing and layer and carry n; a file without ganbench metadata (pytorch-fid, clean-fid) is taken only
    with ``foreign_ok`` and its dimension checked. Returns the label for output rows."""
    dim = ext.layers[ext.fd_layer]
    if ref.mu.shape != (dim,) or ref.sigma.shape != (dim, dim):
        raise GanbenchError(f"{ref.path} has {list(ref.mu.shape)}/{list(ref.sigma.shape)} statistics; {ext.name} "
                            f"gives {dim}-d")
    if not ref.meta:
        if not foreign_ok:
            raise GanbenchError(f"{ref.path} has no ganbench metadata (a pytorch-fid or clean-fid file?); pass "
                                f"--foreign-stats to use it, labelled {FOREIGN!r}")
        return FOREIGN
    missing = [k for k in STATS_KEYS if k not in ref.meta]
    if missing:
        raise GanbenchError(f"{ref.path} lacks {', '.join(missing)} in its metadata")
    want = {"extractor": ext.name, "weights_sha256": ext.weights_sha256, "preprocessing": ext.preprocessing,
            "layer": ext.fd_layer}
    for k, v in want.items():
        if ref.meta[k] != v:
            raise GanbenchError(f"{ref.path} was made with {k} {ref.meta[k]!r}, not {v!r} ({ext.name})")
    if not isinstance(ref.meta["n"], int) or ref.meta["n"] < 2:
        raise GanbenchError(f"{ref.path} has n={ref.meta['n']!r}; expected an image count >= 2")
    return ext.name


def export_pytorch_fid(ref: RealStats, path: Path) -> Path:
    """Write ``mu``/``sigma`` only (the pytorch-fid / clean-fid layout), atomically."""
    atomic_write(path, lambda f: np.savez(f, mu=ref.mu, sigma=ref.sigma))
    return path


def real_stats(data: ImageData, ext: Extractor, n_real: int | None = None, keep_features: bool = False,
                    batch_size: int = 250, use_cache: bool = True) -> RealStats:
    """Cached statistics of real images; a cached file with features also serves a request without them."""
    key = real_stats_key(data, ext, n_real, keep_features)
    if use_cache:
        tries = [key] if keep_features else [{**key, "features": True}, key]
        for k in tries:
            path = cache_path(k)
            if path.exists():
                try:
                    ref = load_stats_file(path)
                    if ref.meta == k:
                        return ref
                    log.warning("statistics cache %s holds another key; recomputing", path)
                except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
                    log.warning("unreadable statistics cache %s (%s); recomputing", path, e)
    ref = compute_real_stats(data, ext, n_real, keep_features, batch_size)
    if use_cache:
        save_real_stats(ref, cache_path(key))
    return ref
