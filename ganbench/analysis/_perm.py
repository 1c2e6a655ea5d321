"""Permutation designs shared by the analysis modules: every sign flip of n pairs (paired) or every split of the
pooled runs into two arms (unpaired), enumerated exactly when there are at most ``EXACT_MAX`` of them, otherwise
``n_perm`` random ones from a seeded generator. Two-sided p-values: exact p = share of the designs whose |statistic|
is at least the observed one (the observed design is one of them, so p >= 1 / #designs, never 0); Monte-Carlo p =
(1 + hits) / (1 + n_perm) (Phipson & Smyth 2010), likewise never 0.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

EXACT_MAX = 100_000  # enumerate every design when there are at most this many
N_PERM = 10_000  # random designs otherwise
SEED = 0


@dataclass(frozen=True)
class Design:
    """Row i of ``first`` marks the units that go to the first arm in design i (``exact``: all designs)."""
    first: np.ndarray  # (n_designs, n_units) bool
    exact: bool
    total: int  # the number of possible designs (2^n or C(n, k))

    def describe(self, what: str) -> str:
        if self.exact:
            return f"exact, all {self.total:,} {what}"
        return f"Monte-Carlo, {len(self.first):,} random {what} of {self.total:,}"


def sign_flips(n: int, n_perm: int = N_PERM, seed: int = SEED, exact_max: int = EXACT_MAX) -> Design:
    """Sign flips of n pairs: True = the pair keeps its labels, False = A and B swapped."""
    total = 2 ** n
    if total <= exact_max:
        first = np.array(list(itertools.product((True, False), repeat=n)), dtype=bool).reshape(total, n)
        return Design(first, True, total)
    rng = np.random.default_rng(seed)
    return Design(rng.integers(0, 2, size=(n_perm, n)).astype(bool), False, total)


def splits(n: int, k: int, n_perm: int = N_PERM, seed: int = SEED, exact_max: int = EXACT_MAX) -> Design:
    """Splits of n pooled units into a first arm of k and a second of n - k."""
    total = math.comb(n, k)
    if total <= exact_max:
        first = np.zeros((total, n), dtype=bool)
        for row, idx in enumerate(itertools.combinations(range(n), k)):
            first[row, list(idx)] = True
        return Design(first, True, total)
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_perm, n)), axis=1)[:, :k]
    first = np.zeros((n_perm, n), dtype=bool)
    np.put_along_axis(first, order, True, axis=1)
    return Design(first, False, total)


def p_value(stats: np.ndarray, observed: float, exact: bool) -> float:
    """Two-sided p of ``observed`` among the designs' statistics (a relative tolerance of 1e-9 absorbs rounding, so
    a design that ties the observed value counts as at least as extreme)."""
    obs = abs(observed)
    hits = int(np.sum(np.abs(stats) >= obs - 1e-9 * max(1.0, obs)))
    return hits / len(stats) if exact else (1 + hits) / (1 + len(stats))


def mean_difference_p(a: np.ndarray, b: np.ndarray, n_perm: int = N_PERM, seed: int = SEED) -> tuple[float, Design]:
    """Two-sided permutation p of mean(a) - mean(b) over the splits of the pooled values."""
    x = np.concatenate([a, b]).astype(float)
    d = splits(len(x), len(a), n_perm, seed)
    f = d.first.astype(float)
    stats = f @ x / len(a) - (1 - f) @ x / len(b)
    return p_value(stats, float(np.mean(a) - np.mean(b)), d.exact), d
