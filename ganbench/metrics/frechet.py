"""Frechet distance between Gaussians fitted to features (FID: Heusel et al. 2017, "GANs Trained by a Two
Time-Scale Update Rule Converge to a Local Nash Equilibrium"; reference code bioinf-jku/TTUR, torch-fidelity,
clean-fid), plus the streaming float64 mean/covariance accumulator that feeds it.

FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
Deviation from the reference code (same value, sturdier numerics): tr((S1 S2)^(1/2)) is computed as
sum(sqrt(eig(A S2 A))) with A = S1^(1/2) from a symmetric eigendecomposition. A S2 A is symmetric positive
semi-definite and similar to S1 S2, so it has the same eigenvalues; tiny negative round-off eigenvalues are clipped
to 0. This needs no eps retry when S1 is singular (fewer samples than dimensions) and never yields complex numbers.
TTUR / clean-fid use scipy.linalg.sqrtm(S1 S2); torch-fidelity uses eigvals(S1 S2); tests check equality to both.
Covariances use the unbiased (n - 1) normalisation, like numpy.cov in all three references.
"""
from __future__ import annotations

import numpy as np


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FD between N(mu1, sigma1) and N(mu2, sigma2), in float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^(1/2)
    m = a @ s2 @ a
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = np.sqrt(np.clip(ev, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


class Moments:
    """Streaming mean and covariance of feature rows in float64.

    Sums are taken around a shift (the first batch's mean), which is exact and keeps the subtraction
    E[xx'] - mu mu' well conditioned when features have a large common offset.
    """

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s1: np.ndarray | None = None
        self.s2: np.ndarray | None = None

    def update(self, x) -> None:
        x = np.asarray(x, dtype=np.float64)
        if self.shift is None:
            self.shift = x.mean(axis=0)
            self.s1 = np.zeros_like(self.shift)
            self.s2 = np.zeros((x.shape[1], x.shape[1]))
        d = x - self.shift
        self.s1 += d.sum(axis=0)
        self.s2 += d.T @ d
        self.n += x.shape[0]

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, unbiased covariance); needs at least 2 rows."""
        if self.n < 2:
            raise ValueError("need at least 2 samples for a covariance")
        m = self.s1 / self.n
        cov = (self.s2 - self.n * np.outer(m, m)) / (self.n - 1)
        return self.shift + m, (cov + cov.T) / 2


def feature_stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of a whole feature array [N, D]."""
    m = Moments()
    m.update(x)
    return m.stats()
