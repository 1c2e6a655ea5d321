"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"; reference code mbinkowski/MMD-GAN,
as in torch-fidelity and clean-fid): unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets.

Subsets: ``n_subsets`` (100) pairs of subsets of ``subset_size`` (1000, clamped to the smaller sample count and
reported) drawn without replacement with numpy's RandomState(seed), generated side first, in the same order as
torch-fidelity's ``kid_features_to_metric`` (so equal seeds give equal numbers).

Speed (same value): for few samples, each kernel matrix is computed once, in row blocks, and every subset's kernel
sum is read off with 0/1 subset-indicator matrices (sum over S x T of K = 1_S' K 1_T for all subsets in one matrix
product); for many samples, each subset's kernel matrices are computed directly. The cheaper plan is chosen by
counting multiply-adds.
"""
from __future__ import annotations

import numpy as np


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between equal-size samples x, y [m, d] with the cubic polynomial kernel."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / (m * m))


def _subset_kernel_sums(a: np.ndarray, b: np.ndarray, ma: np.ndarray, mb: np.ndarray, block: int = 1024):
    """For every subset s: sum of k(a_i, b_j) over i in subset ma[:, s], j in subset mb[:, s]."""
    d = a.shape[1]
    out = np.zeros(ma.shape[1])
    for start in range(0, len(a), block):
        k = (a[start:start + block] @ b.T / d + 1) ** 3
        out += np.einsum("is,is->s", ma[start:start + block], k @ mb)
    return out


def _indicators(n: int, rows: list[np.ndarray]) -> np.ndarray:
    m = np.zeros((n, len(rows)))
    for s, idx in enumerate(rows):
        m[idx, s] = 1.0
    return m


def kid(f_gen, f_ref, n_subsets: int = 100, subset_size: int = 1000, seed: int = 0,
        method: str = "auto") -> tuple[float, float, int]:
    """(mean, std over subsets, subset size used) of the unbiased MMD^2 between feature sets [N, D].

    ``method``: ``auto`` (cheaper), ``subsets`` (kernel matrices per subset) or ``indicator`` (one kernel pass).
    """
    x, y = np.asarray(f_gen, np.float64), np.asarray(f_ref, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"feature shapes do not match: {x.shape} vs {y.shape}")
    m, d = min(subset_size, len(x), len(y)), x.shape[1]
    if m < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    rng = np.random.RandomState(seed)
    ix, iy = [], []
    for _ in range(n_subsets):
        ix.append(rng.choice(len(x), m, replace=False))
        iy.append(rng.choice(len(y), m, replace=False))
    if method == "auto":
        nx, ny = len(x), len(y)
        direct = n_subsets * 3 * m * m * (d + 1)
        indicator = (nx * nx + ny * ny + nx * ny) * (d + n_subsets)
        method = "indicator" if indicator < direct else "subsets"
    if method == "subsets":
        vals = np.array([mmd2_unbiased(x[a], y[b]) for a, b in zip(ix, iy)])
    elif method == "indicator":
        mx, my = _indicators(len(x), ix), _indicators(len(y), iy)
        diag_x = ((x * x).sum(1) / d + 1) ** 3 @ mx
        diag_y = ((y * y).sum(1) / d + 1) ** 3 @ my
        kxx, kyy = _subset_kernel_sums(x, x, mx, mx), _subset_kernel_sums(y, y, my, my)
        kxy = _subset_kernel_sums(x, y, mx, my)
        vals = (kxx - diag_x + kyy - diag_y) / (m * (m - 1)) - 2 * kxy / (m * m)
    else:
        raise ValueError(f"unknown KID method {method!r}")
    return float(vals.mean()), float(vals.std()), m
