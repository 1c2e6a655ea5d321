"""Two-arm inference over seeds: the paired t-test (same model, paired by seed) and Welch's t-test (different
models), their Student-t and bootstrap intervals, the exact sign-flip / permutation tests that stand in where a
t statistic is infinite (no spread). Holm's correction (statsmodels ``multipletests``) and the minimum detectable
effect (``sample_size``) are applied by the callers."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05
N_BOOT = 10_000
BOOT_SEED = 0


@dataclass
class Test:
    """A two-sided test of mean(A) - mean(B)."""
    kind: str  # "paired t" | "Welch t" | "sign-flip" / "permutation" (no spread: the exact tests)
    n: tuple[int, ...]  # (pairs,) or (nA, nB)
    diff: float
    ci: tuple[float, float]
    boot_ci: tuple[float, float]
    p: float
    sd: float  # SD of the per-seed differences (paired) or sqrt((sA^2 + sB^2) / 2) (Welch)


def _p(p: float) -> float:
    """NaN reads as 1.0: nothing is called different on no evidence."""
    return 1.0 if math.isnan(p) else float(p)


def _no_spread(sd: float, mean: float) -> bool:
    return sd <= 1e-9 * max(1.0, abs(mean))


def sign_flip_p(d: Sequence[float]) -> float:
    """Exact two-sided sign-flip permutation p of mean(d) = 0 (the t-test's stand-in when d has no spread, where a
    t statistic is infinite: constant differences on n seeds give 2 / 2^n, not 0)."""
    d = np.asarray(d, float)
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    means = np.abs((signs * d).mean(axis=1))
    return float(np.mean(means >= abs(d.mean()) - 1e-12 * max(1.0, abs(d.mean()))))


def permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Exact two-sided permutation p of mean(a) - mean(b) = 0 over every split of the pooled values (Welch's
    stand-in when neither arm has spread)."""
    x = np.concatenate([np.asarray(a, float), np.asarray(b, float)])
    obs = abs(float(np.mean(a) - np.mean(b)))
    diffs = []
    for idx in itertools.combinations(range(len(x)), len(a)):
        mask = np.zeros(len(x), bool)
        mask[list(idx)] = True
        diffs.append(abs(x[mask].mean() - x[~mask].mean()))
    return float(np.mean(np.asarray(diffs) >= obs - 1e-12 * max(1.0, obs)))


def paired_test(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> Test:
    """Paired t-test of a - b over seeds (needs 2+ pairs)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    tq = float(stats.t.ppf(1 - ALPHA / 2, n - 1))
    mean = float(d.mean())
    p = sign_flip_p(d) if _no_spread(sd, mean) else _p(stats.ttest_rel(a, b).pvalue)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.percentile(boots, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    kind = "sign-flip" if _no_spread(sd, mean) else "paired t"
    return Test(kind, (n,), mean, (mean - tq * se, mean + tq * se), (float(lo), float(hi)), p, sd)


def welch_test(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> Test:
    """Welch's t-test of mean(a) - mean(b) (needs 2+ values per arm)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    va, vb = float(x.var(ddof=1)) / len(x), float(y.var(ddof=1)) / len(y)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(x) - 1) + vb ** 2 / (len(y) - 1)) if se > 0 else len(x) + len(y) - 2
    tq = float(stats.t.ppf(1 - ALPHA / 2, df))
    diff = float(x.mean() - y.mean())
    p = permutation_p(x, y) if _no_spread(se, diff) else _p(stats.ttest_ind(x, y, equal_var=False).pvalue)
    rng = np.random.default_rng(seed)
    boots = (x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
             - y[rng.integers(0, len(y), size=(n_boot, len(y)))].mean(axis=1))
    lo, hi = np.percentile(boots, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    kind = "permutation" if _no_spread(se, diff) else "Welch t"
    return Test(kind, (len(x), len(y)), diff, (diff - tq * se, diff + tq * se), (float(lo), float(hi)), p,
                math.sqrt((float(x.var(ddof=1)) + float(y.var(ddof=1))) / 2))
