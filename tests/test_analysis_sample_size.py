"""Power and sample size (ganbench.analysis.sample_size): the MDE and the seeds needed, checked against the
noncentral-t power computed here with scipy and against statsmodels' known values. Each test names the bug it was
seen to catch (planted once in sample_size.py, watched fail, removed)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from ganbench.analysis.sample_size import (detectable_effect, detectable_effect_of, paired_sd, pooled_sd,
                                           sample_size)
from ganbench.errors import GanbenchError


def nct_power(d: float, df: int, nc_scale: float, alpha: float) -> float:
    """Two-sided t-test power, closed form: P(|T'| > t(1 - alpha/2, df)), T' noncentral t with nc = d * nc_scale."""
    tc = stats.t.isf(alpha / 2, df)
    return float(stats.nct.sf(tc, df, d * nc_scale) + stats.nct.cdf(-tc, df, d * nc_scale))


def test_known_sample_sizes():
    # planted: alternative "larger" (one-sided) in the solver -> 51 per group -> fails
    assert sample_size(0.5, 1.0, paired=False, n_max=100).n == 64  # Cohen's d 0.5, 80%, alpha .05 two-sided
    assert math.ceil(TTestIndPower().solve_power(0.5, alpha=0.05, power=0.8, alternative="two-sided")) == 64
    assert sample_size(0.5, 1.0, paired=True, n_max=100).n == 34
    assert math.ceil(TTestPower().solve_power(0.5, alpha=0.05, power=0.8, alternative="two-sided")) == 34
    assert sample_size(1.0, 2.0, paired=True, n_max=100).n == 34  # only effect / sd matters
    assert sample_size(30.0, 1.0, paired=True).n == 2  # the smallest n a t-test runs on


def test_mde_gives_the_stated_power_by_the_closed_form():
    # planted: the MDE solved one-sided (alternative "larger") -> its two-sided power is not 0.8 -> fails
    p = detectable_effect(2.0, 10, paired=True)
    assert p.df == 9 and p.mde == pytest.approx(2.0 * p.d, rel=1e-15)
    assert nct_power(p.d, 9, math.sqrt(10), 0.05) == pytest.approx(0.8, abs=1e-9)
    assert p.d == pytest.approx(TTestPower().solve_power(None, nobs=10, alpha=0.05, power=0.8), rel=1e-5)
    i = detectable_effect(2.0, 10, paired=False, n2=12)
    assert i.df == 20 and i.n2 == 12
    assert nct_power(i.d, 20, math.sqrt(10 * 12 / 22), 0.05) == pytest.approx(0.8, abs=1e-9)
    assert i.d == pytest.approx(TTestIndPower().solve_power(None, nobs1=10, ratio=1.2, alpha=0.05, power=0.8),
                                rel=1e-5)


def test_small_n_and_holm_alpha_where_statsmodels_solver_fails():
    # planted: statsmodels' solve_power trusted as is -> at n = 2 pairs and alpha 0.05/12 it returns its starting
    # value 10 (power 0.07) -> fails
    p = detectable_effect(1.0, 2, paired=True, m=12)
    assert p.alpha == pytest.approx(0.05 / 12, rel=1e-15) and p.df == 1
    assert nct_power(p.d, 1, math.sqrt(2), 0.05 / 12) == pytest.approx(0.8, abs=1e-7)
    assert "0.05/12" in p.rule and "Holm's first step" in p.rule
    q = detectable_effect(1.0, 5, paired=False, m=12)  # the strictest step of 12 claims
    assert nct_power(q.d, 8, math.sqrt(2.5), 0.05 / 12) == pytest.approx(0.8, abs=1e-9)
    assert q.d > detectable_effect(1.0, 5, paired=False).d


def test_paired_mde_uses_the_sd_of_the_differences():
    # planted: the pooled SD of the arms for a paired design -> a much larger MDE -> fails
    a = [10.0, 14.0, 9.0, 12.0, 15.0]
    b = [11.1, 15.0, 10.2, 12.9, 16.1]  # large seed spread, differences about -1 with small spread
    p = detectable_effect_of(a, b, paired=True)
    sd = float(np.std(np.subtract(a, b), ddof=1))
    assert p.sd == pytest.approx(sd, rel=1e-12) == paired_sd(a, b)
    assert p.mde == pytest.approx(p.d * sd, rel=1e-12) and p.mde < 1.0
    u = detectable_effect_of(a, b, paired=False)
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    assert u.sd == pytest.approx(math.sqrt((4 * va + 4 * vb) / 8), rel=1e-12) == pooled_sd(a, b)
    assert u.mde > 3.0 and u.df == 8


def test_cap_and_infinite_sample_sizes():
    # planted: the cap ignored (every n affordable) -> fails
    s = sample_size(0.5, 1.0, paired=False, n_max=30)
    assert s.n == 64 and not s.affordable and s.text == "not affordable: 64 seeds per arm needed (cap 30)"
    s = sample_size(-1.5, 1.0, paired=True, expected_sign=-1, n_max=30)
    assert s.affordable and s.text == f"{s.n:.0f} pairs" and s.n == math.ceil(
        TTestPower().solve_power(1.5, alpha=0.05, power=0.8, alternative="two-sided"))
    # planted: the sign not checked -> an estimate against the claim gets a finite n -> fails
    assert sample_size(1.5, 1.0, paired=True, expected_sign=-1).text == "inf"
    assert sample_size(0.0, 1.0, paired=False).n == math.inf
    with pytest.raises(GanbenchError):
        sample_size(1.0, -1.0, paired=True)


def test_no_spread_needs_the_seeds_of_the_exact_tests():
    # planted: n = 2 whenever sd = 0 -> the exact sign-flip test's smallest p on 2 pairs is 0.5 -> fails
    assert sample_size(1.0, 0.0, paired=True).n == 6  # 2 / 2^6 = 0.031 <= 0.05 < 2 / 2^5
    assert sample_size(1.0, 0.0, paired=False).n == 4  # 2 / C(8, 4) = 0.029 <= 0.05 < 2 / C(6, 3)
    assert sample_size(1.0, 0.0, paired=True, m=12).n == 9  # 2 / 2^9 = 0.0039 <= 0.05 / 12 < 2 / 2^8


def test_rule_texts_and_bad_input():
    p = detectable_effect(1.0, 10, paired=True)
    assert "SD of the per-seed differences" in p.rule and "df = n - 1" in p.rule and "80% power" in p.rule
    i = detectable_effect(1.0, 10, paired=False)
    assert "pooled SD" in i.rule and "df = n1 + n2 - 2" in i.rule and "alpha 0.05" in i.rule
    assert "exploratory" in sample_size(1.0, 1.0, paired=True).rule
    with pytest.raises(GanbenchError):
        detectable_effect(1.0, 1, paired=True)
    with pytest.raises(GanbenchError):
        pooled_sd([1.0], [2.0, 3.0])
