"""Power and sample size, one definition for every table: the minimum detectable effect (MDE) at n seeds and the
seeds needed to detect an effect, for a two-sided t-test at alpha with power 0.8 (Cohen 1988, ch. 2).

Paired designs (variants of one model, paired by seed): a one-sample t-test on the per-seed differences
(``statsmodels.stats.power.TTestPower``), standardised by the SD of the differences, df = n - 1. Independent arms
(different models): a two-sample t-test (``TTestIndPower``), standardised by the pooled SD of the two arms,
sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2)), df = n1 + n2 - 2. Both solve the noncentral-t power equation
exactly. ``m`` > 1 sizes each of m claims at alpha / m, the threshold of the first step of Holm's procedure (Holm 1979)
and so a conservative bound for every step. statsmodels' ``solve_power`` can fail silently (at n = 2 and a small alpha
it returns its starting value); every solution is checked against statsmodels' ``power`` and otherwise found by
bracketing (``scipy.optimize.brentq``).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import integrate, optimize, stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from ..errors import GanbenchError

ALPHA = 0.05
POWER = 0.8
N_MAX = 30  # seeds per arm (pairs) beyond which a claim is "not affordable"
MIN_N = 2


def power(d: float, n: float, paired: bool, n2: float | None = None, alpha: float = ALPHA) -> float:
    """Power of the two-sided test at standardised effect ``d`` (statsmodels; where its noncentral t gives NaN, as
    at df 1 and a large noncentrality, the same probability by integrating over the chi-distributed SD)."""
    n2 = n if n2 is None else n2
    if paired:
        p = float(TTestPower().power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided"))
    else:
        p = float(TTestIndPower().power(effect_size=d, nobs1=n, ratio=n2 / n, alpha=alpha, alternative="two-sided"))
    if math.isnan(p):
        df, nc = (n - 1, d * math.sqrt(n)) if paired else (n + n2 - 2, d * math.sqrt(n * n2 / (n + n2)))
        tc = float(stats.t.isf(alpha / 2, df))
        scale = math.sqrt(df)

        def f(s: float) -> float:  # s = sqrt(chi2_df / df): the t statistic is (Z + nc) / s
            return float((stats.norm.sf(tc * s - nc) + stats.norm.cdf(-tc * s - nc)) * stats.chi.pdf(s * scale, df)
                         * scale)
        p = float(integrate.quad(f, 0, np.inf, limit=200)[0])
    return p


def _solve(f, lo: float, hi: float, guess: float | None) -> float:
    """The root of the increasing f: statsmodels' guess if it is one, else bracketed."""
    if guess is not None and math.isfinite(guess) and lo <= guess and abs(f(guess)) < 1e-10:
        return float(guess)
    while f(hi) < 0:
        hi *= 2
        if hi > 1e12:
            return math.inf
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def _statsmodels(fn, **kw) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the result is checked anyway
        try:
            return float(np.squeeze(fn(alternative="two-sided", **kw)))
        except (ValueError, RuntimeError, ArithmeticError):
            return None


def pooled_sd(a: Sequence[float], b: Sequence[float]) -> float:
    """sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2))."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if len(x) < 2 or len(y) < 2:
        raise GanbenchError("pooled SD: each arm needs at least 2 values")
    return math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))


def paired_sd(a: Sequence[float], b: Sequence[float]) -> float:
    """SD of the per-seed differences a - b."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if len(x) != len(y) or len(x) < 2:
        raise GanbenchError("paired SD: the arms need the same number (2+) of values")
    return float(np.std(x - y, ddof=1))


def _alpha_text(alpha: float, m: int) -> str:
    if m == 1:
        return f"alpha {alpha:g}"
    return (f"alpha {alpha:g}/{m} = {alpha / m:.3g} (each of {m} claims at the threshold of Holm's first step, "
            f"Bonferroni's bound)")


def rule(paired: bool, alpha: float = ALPHA, power_: float = POWER, m: int = 1) -> str:
    """The MDE caption sentence."""
    if paired:
        return (f"MDE: the smallest true mean difference that a two-sided paired t-test on the per-seed differences "
                f"detects with {power_:.0%} power at {_alpha_text(alpha, m)}: d_z times the SD of the per-seed "
                f"differences, d_z from the noncentral t distribution with df = n - 1 (statsmodels TTestPower).")
    return (f"MDE: the smallest true difference between two means that a two-sided two-sample t-test detects with "
            f"{power_:.0%} power at {_alpha_text(alpha, m)}: Cohen's d times the pooled SD of the two arms, "
            f"sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2)), d from the noncentral t distribution with "
            f"df = n1 + n2 - 2 (statsmodels TTestIndPower).")


@dataclass(frozen=True)
class DetectableEffect:
    mde: float  # in the metric's unit: d * sd
    d: float  # standardised (d_z paired, Cohen's d independent)
    sd: float  # SD of the differences (paired) or pooled SD (independent)
    n: int  # pairs, or seeds of the first arm
    n2: int | None  # seeds of the second arm (independent), None when paired
    df: int
    paired: bool
    alpha: float  # the level each test is run at (alpha / m)
    power: float
    rule: str


def detectable_effect(sd: float, n: int, *, paired: bool, n2: int | None = None, alpha: float = ALPHA,
                      power_: float = POWER, m: int = 1) -> DetectableEffect:
    """The MDE at ``n`` pairs (paired) or ``n`` and ``n2`` (default n) seeds per arm."""
    n2 = None if paired else (n if n2 is None else n2)
    if n < MIN_N or (n2 is not None and n2 < MIN_N) or m < 1:
        raise GanbenchError(f"MDE: needs at least {MIN_N} seeds per arm (got {n}{'' if n2 is None else f', {n2}'})"
                            f" and m >= 1")
    if not (math.isfinite(sd) and sd >= 0):
        raise GanbenchError(f"MDE: the SD must be finite and non-negative, got {sd!r}")
    a = alpha / m
    if paired:
        guess = _statsmodels(TTestPower().solve_power, effect_size=None, nobs=n, alpha=a, power=power_)
    else:
        guess = _statsmodels(TTestIndPower().solve_power, effect_size=None, nobs1=n, ratio=n2 / n, alpha=a,
                             power=power_)
    d = _solve(lambda x: power(x, n, paired, n2, a) - power_, 1e-9, 10.0, guess)
    df = n - 1 if paired else n + n2 - 2
    return DetectableEffect(d * sd, d, sd, n, n2, df, paired, a, power_, rule(paired, alpha, power_, m))


def detectable_effect_of(a: Sequence[float], b: Sequence[float], *, paired: bool, alpha: float = ALPHA,
                         power_: float = POWER, m: int = 1) -> DetectableEffect:
    """The MDE of a comparison of per-seed values ``a`` and ``b`` (paired: same seeds in the same order)."""
    if paired:
        return detectable_effect(paired_sd(a, b), len(a), paired=True, alpha=alpha, power_=power_, m=m)
    return detectable_effect(pooled_sd(a, b), len(a), paired=False, n2=len(b), alpha=alpha, power_=power_, m=m)


@dataclass(frozen=True)
class SampleSize:
    n: float  # pairs (paired) or seeds per arm needed, rounded up; math.inf when there is nothing to detect
    affordable: bool  # n <= n_max
    n_max: int
    effect: float  # the exploratory estimate, in the metric's unit
    sd: float
    d: float
    paired: bool
    alpha: float  # the level each test is run at (alpha / m)
    power: float
    text: str  # "12 seeds per arm" / "not affordable: 87 seeds per arm needed (cap 30)" / "inf"
    rule: str


def _no_spread_n(paired: bool, alpha: float) -> int:
    """With no spread the tests fall back to the exact sign-flip / permutation test, whose smallest p is 2 / 2^n
    (paired) or 2 / C(2n, n) (independent): the smallest n at which that p is at or below alpha."""
    n = MIN_N
    while (2 / 2 ** n if paired else 2 / math.comb(2 * n, n)) > alpha:
        n += 1
    return n


def sample_size(effect: float, sd: float, *, paired: bool, alpha: float = ALPHA, power_: float = POWER,
                m: int = 1, n_max: int = N_MAX, expected_sign: int | None = None) -> SampleSize:
    """Seeds per arm (pairs) to detect ``effect`` (an exploratory estimate, in the metric's unit) given the seed
    ``sd`` (of the differences when paired, pooled otherwise). ``expected_sign`` (+1/-1): the claimed direction;
    an estimate of 0 or of the other sign needs infinitely many seeds ("inf")."""
    if not (math.isfinite(sd) and sd >= 0 and math.isfinite(effect)) or m < 1:
        raise GanbenchError(f"sample size: needs a finite effect and SD >= 0 and m >= 1 (effect {effect!r}, "
                            f"sd {sd!r}, m {m!r})")
    a = alpha / m
    unit = "pairs" if paired else "seeds per arm"
    rule_text = (f"Seeds needed: the smallest n at which a two-sided {'paired' if paired else 'two-sample'} t-test "
                 f"detects the estimated effect with {power_:.0%} power at {_alpha_text(alpha, m)} (statsmodels "
                 f"{'TTestPower' if paired else 'TTestIndPower'}), the estimate taken as the true effect, so an "
                 f"exploratory figure; above {n_max} it is not affordable; an estimate of 0 or against the claim "
                 f"needs inf.")
    wrong = effect == 0 or (expected_sign is not None and effect * expected_sign <= 0)
    if wrong:
        return SampleSize(math.inf, False, n_max, effect, sd, 0.0, paired, a, power_, "inf", rule_text)
    if sd == 0:
        n = float(_no_spread_n(paired, a))
        d = math.inf
    else:
        d = abs(effect) / sd
        if power(d, MIN_N, paired, alpha=a) >= power_:
            n = float(MIN_N)
        else:
            solver = TTestPower().solve_power if paired else TTestIndPower().solve_power
            kw = {"nobs": None} if paired else {"nobs1": None, "ratio": 1.0}
            guess = _statsmodels(solver, effect_size=d, alpha=a, power=power_, **kw)
            n = float(math.ceil(_solve(lambda x: power(d, x, paired, alpha=a) - power_, MIN_N, 100.0, guess)
                                - 1e-9))
    ok = n <= n_max
    n_text = f"{n:.0f} {unit}" if math.isfinite(n) else "inf"
    text = n_text if ok else f"not affordable: {n_text} needed (cap {n_max})"
    return SampleSize(n, ok, n_max, effect, sd, d, paired, a, power_, text, rule_text)
