"""Rank intervals: which ranks the seeds allow each model, from every pairwise comparison with Holm's correction.

Every pair of the K models with 2+ seeds is compared by a two-sided Welch t-test (``scipy.stats.ttest_ind``,
``equal_var=False``); a pair in which neither model has any spread (where the t statistic is undefined) by the
exact permutation test of the difference in means (``_perm``). Holm's step-down correction (Holm 1979, Scand. J.
Statist. 6:65-70; ``statsmodels.stats.multitest.multipletests(method="holm")``) runs over all K(K-1)/2 p-values.
Model i's rank interval is [1 + #models significantly better than i, K - #models significantly worse than i]; a
model is bold only when it is significantly better than every other ranked model. Unlike stepwise rank groups, a
noisy model cannot share the top group and its bold: it is not significantly worse than anyone, so its interval
simply spans nearly every rank.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ..errors import GanbenchError
from . import _perm

ALPHA = 0.05
MIN_SEEDS = 2  # a model with fewer seeds is not ranked
UNRANKED = "—"


@dataclass(frozen=True)
class RankEntry:
    name: str
    n: int  # seeds
    mean: float
    best: int | None  # best possible rank (1 = first); None: not ranked (fewer than MIN_SEEDS seeds)
    worst: int | None  # worst possible rank
    bold: bool  # significantly better than every other ranked model

    @property
    def interval(self) -> str:
        """"1", "1–3", or "—" (not ranked)."""
        if self.best is None or self.worst is None:
            return UNRANKED
        return str(self.best) if self.best == self.worst else f"{self.best}–{self.worst}"


@dataclass(frozen=True)
class RankIntervals:
    """Rank intervals of a metric column. The matrices are indexed by ``names`` (input order, unranked models
    included with NaN rows and columns); ``diff[i, j]`` = mean_i - mean_j, NaN on the diagonal."""
    entries: tuple[RankEntry, ...]
    names: tuple[str, ...]
    p_raw: np.ndarray  # (K, K) two-sided p of each pair, symmetric
    p_adj: np.ndarray  # (K, K) Holm-adjusted p
    diff: np.ndarray  # (K, K) mean difference row - column
    test: np.ndarray  # (K, K) object: "Welch t" or "permutation" ("" off the tested pairs)
    alpha: float
    higher: bool
    rules: tuple[str, ...]  # caption sentences: test, correction, interval, bold (and unranked, if any)

    @property
    def caption(self) -> str:
        return " ".join(self.rules)

    def entry(self, name: str) -> RankEntry:
        return self.entries[self.names.index(name)]

    @property
    def bold(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries if e.bold)


def _no_spread(x: np.ndarray, y: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(np.concatenate([x, y])))))
    return float(np.ptp(x)) <= 1e-12 * scale and float(np.ptp(y)) <= 1e-12 * scale


def pair_p(x: Sequence[float], y: Sequence[float], n_perm: int = _perm.N_PERM,
           seed: int = _perm.SEED) -> tuple[float, str]:
    """(two-sided p, test name) of mean(x) = mean(y): Welch's t-test, or the permutation test when neither sample
    has any spread (Welch's t is then undefined or infinite)."""
    a, b = np.asarray(x, float), np.asarray(y, float)
    if _no_spread(a, b):
        return _perm.mean_difference_p(a, b, n_perm, seed)[0], "permutation"
    with warnings.catch_warnings():  # one sample without spread: scipy warns of precision loss, the test is fine
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return (1.0 if math.isnan(p) else p), "Welch t"


def rank_intervals(values: Mapping[str, Sequence[float]], higher: bool = False, alpha: float = ALPHA,
                   n_perm: int = _perm.N_PERM, seed: int = _perm.SEED) -> RankIntervals:
    """Rank intervals of the models ``values`` (name -> per-seed values; ``higher``: larger is better)."""
    names = tuple(values)
    vals = {k: np.asarray(values[k], float) for k in names}
    for k, v in vals.items():
        if v.ndim != 1 or not np.all(np.isfinite(v)):
            raise GanbenchError(f"rank intervals: {k} needs a flat list of finite values, got {values[k]!r}")
    ranked = [k for k in names if len(vals[k]) >= MIN_SEEDS]
    unranked = [k for k in names if len(vals[k]) < MIN_SEEDS]
    idx = {k: i for i, k in enumerate(names)}
    n = len(names)
    p_raw, p_adj, diff = (np.full((n, n), np.nan) for _ in range(3))
    test = np.full((n, n), "", dtype=object)
    for k in names:
        for j in names:
            if k != j and len(vals[k]) and len(vals[j]):
                diff[idx[k], idx[j]] = float(vals[k].mean() - vals[j].mean())
    pairs = [(ranked[i], ranked[j]) for i in range(len(ranked)) for j in range(i + 1, len(ranked))]
    kinds = [pair_p(vals[a], vals[b], n_perm, seed) for a, b in pairs]
    adjusted = multipletests([p for p, _ in kinds], alpha=alpha, method="holm")[1] if pairs else []
    better = {k: 0 for k in ranked}  # models significantly better than k
    worse = {k: 0 for k in ranked}
    for (a, b), (p, kind), pa in zip(pairs, kinds, adjusted):
        for r, c in ((a, b), (b, a)):
            p_raw[idx[r], idx[c]], p_adj[idx[r], idx[c]], test[idx[r], idx[c]] = p, float(pa), kind
        if pa < alpha and diff[idx[a], idx[b]] != 0:
            a_better = (diff[idx[a], idx[b]] > 0) == higher
            win, lose = (a, b) if a_better else (b, a)
            worse[win] += 1
            better[lose] += 1
    k_ranked = len(ranked)
    means = {k: float(vals[k].mean()) for k in names if len(vals[k])}
    entries = []
    for k in names:
        v = vals[k]
        mean = float(v.mean()) if len(v) else math.nan
        if k in ranked:
            rivals = [u for u in unranked  # an untested model with a mean at least as good blocks the bold
                      if u in means and (means[u] >= means[k] if higher else means[u] <= means[k])]
            bold = k_ranked >= 2 and worse[k] == k_ranked - 1 and not rivals
            entries.append(RankEntry(k, len(v), mean, 1 + better[k], k_ranked - worse[k], bold))
        else:
            entries.append(RankEntry(k, len(v), mean, None, None, False))
    return RankIntervals(tuple(entries), names, p_raw, p_adj, diff, test, alpha, higher,
                         rules(k_ranked, alpha, higher, unranked, n_perm))


def rules(k: int, alpha: float = ALPHA, higher: bool = False, unranked: Sequence[str] = (),
          n_perm: int = _perm.N_PERM) -> tuple[str, ...]:
    """The caption sentences of a rank-interval column with ``k`` ranked models."""
    m = k * (k - 1) // 2
    out = [
        f"Test: every pair of models by a two-sided Welch t-test on the per-seed values (scipy.stats.ttest_ind, "
        f"equal_var=False), or, where neither model of the pair has any spread, by a permutation test of the "
        f"difference in means (exact over every split of the pooled seeds up to {_perm.EXACT_MAX:,} splits, "
        f"otherwise {n_perm:,} random splits).",
        f"Correction: Holm's step-down over all {m} pair{'s' if m != 1 else ''} of the {k} ranked models "
        f"(statsmodels multipletests, method holm); a pair differs significantly when its adjusted p < {alpha:g}.",
        f"Rank interval: best possible rank = 1 + the number of models significantly better, worst possible rank = "
        f"{k} - the number significantly worse ({'higher' if higher else 'lower'} is better); models whose "
        f"intervals overlap are not ordered.",
        "Bold: a model significantly better than every other ranked model; a model that is merely not shown worse "
        "than the best is not bold." if k >= 2 else
        "Bold: none, as fewer than two models are ranked.",
    ]
    if unranked:
        out.append(f"Not ranked ({UNRANKED}): {', '.join(unranked)}, with fewer than {MIN_SEEDS} seeds: not "
                   f"tested, not counted among the {k} ranked models, and no model is bold whose mean it equals "
                   f"or beats.")
    return tuple(out)
