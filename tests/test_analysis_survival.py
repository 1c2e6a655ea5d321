"""Time to a threshold with censoring (ganbench.analysis.survival): the stay-below rule, the Kaplan-Meier RMST, the
permutation and log-rank tests, the bootstrap interval and the threshold sweep. Each test names the bug it was seen to
catch (planted once in survival.py, watched fail, removed); reference values are closed forms or statsmodels itself
(SurvfuncRight, survdiff)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from ganbench.analysis.survival import _km_rmst, _logrank_p, compare_reach, reach_time, threshold_sensitivity
from ganbench.errors import GanbenchError


def sm_rmst(t, e, tau: float, weights=None) -> float:
    """The reference RMST: the area up to tau under statsmodels' Kaplan-Meier step function (1 before the first
    event, its last value carried to tau)."""
    km = SurvfuncRight(np.asarray(t, float), np.asarray(e, float),
                       freq_weights=None if weights is None else np.asarray(weights, float))
    knots = [0.0] + [x for x in km.surv_times if x <= tau] + [tau]
    surv = [1.0] + [s for x, s in zip(km.surv_times, km.surv_prob) if x <= tau]
    return float(sum(s * (b - a) for s, a, b in zip(surv, knots[:-1], knots[1:])))


def sm_logrank_p(t_a, e_a, t_b, e_b) -> float:
    """The reference log-rank p: statsmodels' survdiff statistic (default weights), chi-square on 1 df."""
    stat, _ = survdiff(np.r_[t_a, t_b].astype(float), np.r_[e_a, e_b].astype(float),
                       np.r_[np.zeros(len(t_a)), np.ones(len(t_b))])
    return float(chi2.sf(stat, 1))


def curve(*values: float, start: float = 1.0) -> list[tuple[float, float]]:
    """Evaluations at 1, 2, ... kimg (a value at 0 is the initialisation and is ignored by the rules)."""
    return [(start + i, v) for i, v in enumerate(values)]


def test_stay_below_rule_does_not_count_a_bounce():
    # planted: the first-reach rule (first evaluation at or below T) -> the Projected-GAN-like bounce counts at 3
    # -> fails
    assert reach_time([(0, 50.0)] + curve(30, 12, 10.5, 40, 38), 11) == (5.0, False)  # dipped, bounced: censored
    assert reach_time(curve(30, 20, 12, 10.8, 10), 11) == (4.0, True)  # steady
    assert reach_time(curve(30, 10, 12, 10.5, 10.2), 11) == (4.0, True)  # from 4 on it stays below
    assert reach_time(curve(30, 20, 11, 11), 11) == (3.0, True)  # "at or below"
    assert reach_time(curve(2, 6, 8, 7.5), 7, higher=True) == (3.0, True)
    assert reach_time(curve(2, 8, 6.5, 9), 7, higher=True) == (4.0, True)
    assert reach_time(curve(2, 8, 9, 6.5), 7, higher=True) == (4.0, False)


def test_the_value_at_initialisation_and_divergence():
    # planted: evaluations at 0 images kept -> a run below T from its initialisation reaches at 0 -> fails
    assert reach_time([(0, 5.0)] + curve(6, 5, 4), 10) == (1.0, True)
    assert reach_time(curve(30, 9, 8), 10, diverged=True) == (3.0, False)  # a diverged run never reached T
    assert reach_time(curve(30, 9, float("nan")), 10) == (3.0, False)  # NaN is not at or below T
    with pytest.raises(GanbenchError):
        reach_time([(0, 5.0)], 10)


# One arm with a run censored before the budget (stopped at 3 kimg) and one censored at it (tau = 6 kimg):
# reach times 2 (event), 3 (censored), 4 (event), 6 (censored). Kaplan-Meier by hand: S = 1 on [0, 2), 3/4 on
# [2, 4) (4 at risk, 1 event), 3/4 * 1/2 = 3/8 on [4, 6] (2 at risk, 1 event); RMST = 2 + 2 * 3/4 + 2 * 3/8 = 4.25.
# Counting the censored runs as if they had reached T at their last evaluation gives mean(2, 3, 4, 6) = 3.75.
EARLY = {1: curve(20, 9, 8, 8, 8, 8), 2: curve(20, 15, 12), 3: curve(20, 18, 15, 9, 9, 9), 4: curve(*[12] * 6)}
FAST = {k: curve(*[5.0] * 6) for k in range(3)}  # reach T = 10 at 1 kimg


def test_rmst_is_kaplan_meier_with_early_censoring():
    # planted: censored runs treated as observed (every event True) -> RMST 3.75 -> fails
    r = compare_reach(EARLY, FAST, 10, paired=False, n_boot=0)
    assert r.tau == 6 and r.a.time == (2.0, 3.0, 4.0, 6.0) and r.a.event == (True, False, True, False)
    assert r.a.rmst == pytest.approx(4.25, abs=1e-12)
    km = SurvfuncRight(np.array([2.0, 3, 4, 6]), np.array([1.0, 0, 1, 0]))
    assert km.surv_times.tolist() == [2.0, 4.0] and km.surv_prob == pytest.approx([3 / 4, 3 / 8], abs=1e-15)
    assert r.a.rmst == pytest.approx(sm_rmst([2, 3, 4, 6], [1, 0, 1, 0], 6), abs=1e-12)
    assert r.b.rmst == pytest.approx(1.0, abs=1e-12) and r.effect == pytest.approx(3.25, abs=1e-12)
    assert (r.a.events, r.a.censored, r.b.events, r.b.censored) == (2, 2, 3, 0)
    # the run censored at 3: 3 + (1 * 3/4 + 2 * 3/8) / (3/4) = 5; the per-run times average to the RMST
    assert r.a.restricted == pytest.approx((2.0, 5.0, 4.0, 6.0), abs=1e-12)
    assert np.mean(r.a.restricted) == pytest.approx(r.a.rmst, abs=1e-12)


def test_tau_is_the_common_budget_and_curves_are_cut_there():
    # planted: tau = the latest evaluation of either arm -> 8 -> fails
    longer = {k: curve(*[5.0] * 8) for k in range(3)}
    r = compare_reach(EARLY, longer, 10, paired=False, n_boot=0)
    assert r.tau == 6 and r.b.time == (1.0, 1.0, 1.0)
    # planted: curves not cut at tau -> the dip at 2 still counts as reached (the bounce at 7 ignored) -> fails
    bounce = {k: curve(20, 8, 8, 8, 8, 8, 30) for k in range(3)}
    assert compare_reach(bounce, EARLY, 10, paired=False, tau=6, n_boot=0).a.time == (2.0, 2.0, 2.0)
    with pytest.raises(GanbenchError):
        compare_reach(EARLY, FAST, 10, paired=False, tau=7)


def test_diverged_runs_are_censored():
    # planted: the diverged flag ignored -> the run below T when it stopped counts as reaching T at 2 -> fails
    arm = {1: curve(20, 9, 8, 8, 8, 8), 2: curve(20, 9, 9), 3: curve(20, 18, 15, 9, 9, 9)}
    r = compare_reach(arm, FAST, 10, paired=False, diverged_a={2}, n_boot=0)
    assert r.a.event == (True, False, True) and r.a.time == (2.0, 3.0, 4.0)


def test_permutation_p_is_exact_where_it_can_be():
    # planted: the Monte-Carlo p formula (1 + hits) / (1 + n) also for the exact enumeration -> 3/21 -> fails
    a = {k: curve(20, 8, 8, 8, 8, 8) for k in range(3)}  # reach at 2
    b = {k: curve(20, 18, 15, 12, 9, 9) for k in range(3)}  # reach at 5
    r = compare_reach(a, b, 10, paired=False, n_boot=0)
    assert r.effect == pytest.approx(-3.0, abs=1e-12)
    assert r.p_perm == pytest.approx(2 / 20, abs=1e-15)  # the observed split and its mirror, of C(6, 3) = 20
    assert r.perm.startswith("exact, all 20")
    r = compare_reach(a, b, 10, paired=True, n_boot=0)
    assert r.p_perm == pytest.approx(2 / 8, abs=1e-15)  # all same sign or all flipped, of 2^3 sign flips
    big_a = {k: curve(20, 8, 8, 8, 8, 8) for k in range(18)}
    big_b = {k: curve(20, 18, 15, 12, 9, 9) for k in range(18)}
    r = compare_reach(big_a, big_b, 10, paired=True, n_perm=999, n_boot=0)
    assert r.perm.startswith("Monte-Carlo, 999 random") and r.p_perm == pytest.approx(1 / 1000, abs=1e-15)


def test_paired_swaps_equal_the_sign_flip_of_per_seed_differences_without_early_censoring():
    # planted: the B arm's runs taken in reversed seed order -> the pairing is lost, the p changes -> fails
    a = {0: curve(20, 8, 8, 8, 8, 8), 1: curve(20, 20, 8, 8, 8, 8), 2: curve(20, 20, 20, 20, 8, 8),
         3: curve(20, 20, 20, 20, 20, 8)}
    b = {0: curve(20, 20, 8, 8, 8, 8), 1: curve(20, 20, 20, 20, 8, 8), 2: curve(20, 20, 20, 20, 20, 20),
         3: curve(20, 20, 20, 20, 20, 20)}
    r = compare_reach(a, b, 10, paired=True, n_boot=0)
    d = np.array(r.a.restricted) - np.array(r.b.restricted)
    assert d.tolist() == [-1.0, -2.0, -1.0, 0.0]  # b's runs 2 and 3 never reach: censored at tau = 6
    flips = np.array([[s0, s1, s2, s3] for s0 in (1, -1) for s1 in (1, -1) for s2 in (1, -1) for s3 in (1, -1)])
    means = np.abs((flips * d).mean(axis=1))
    assert r.p_perm == pytest.approx(np.mean(means >= abs(d.mean()) - 1e-12), abs=1e-15)
    assert r.effect == pytest.approx(d.mean(), abs=1e-12)


def test_logrank_matches_statsmodels_and_the_hand_computation_on_the_reach_times():
    # planted: the censoring flags dropped in the log-rank call (every run an event) -> fails
    r = compare_reach(EARLY, {k: curve(20, 12, 9, 9, 9, 9) for k in range(3)}, 10, paired=False, n_boot=0)
    # A: 2, 3+, 4, 6+; B: 3, 3, 3. At 2: 7 at risk (4 A), 1 A event; at 3: 6 at risk (3 A), 3 B events; at 4 only A
    # is at risk (O - E = 0, no variance). O_A - E_A = 1 - 4/7 - 3/2 = -15/14, V = 12/49 + 9/20 = 681/980,
    # chi-square = (15/14)^2 / V = 1125/681.
    assert r.p_logrank == pytest.approx(chi2.sf(1125 / 681, 1), rel=1e-12)
    assert r.p_logrank == pytest.approx(sm_logrank_p([2, 3, 4, 6], [1, 0, 1, 0], [3, 3, 3], [1, 1, 1]), rel=1e-12)
    never = {k: curve(*[12] * 6) for k in range(3)}
    assert compare_reach(never, never, 10, paired=False, n_boot=0).p_logrank == 1.0  # no event: nothing to test


def test_logrank_without_variance_is_one_and_a_tiny_p_is_not_zero():
    # planted: survdiff called without catching its singular variance -> LinAlgError -> fails
    fast = {k: curve(*[5.0] * 6) for k in range(2)}
    assert compare_reach(FAST, fast, 10, paired=False, n_boot=0).p_logrank == 1.0  # every run reaches T at 1
    assert _logrank_p([5, 6], [True, True], [2, 3], [False, False]) == 1.0  # only A at risk at its events
    # planted: survdiff's own p, 1 - chi2.cdf -> 0.0 here -> fails
    t = np.arange(1.0, 41.0)
    p = _logrank_p(t, np.ones(40, bool), t + 100, np.ones(40, bool))
    assert 0 < p < 1e-20 and p == pytest.approx(sm_logrank_p(t, np.ones(40), t + 100, np.ones(40)), rel=1e-9)


def test_batch_kaplan_meier_matches_statsmodels_under_weights():
    # planted: at-risk counted with t > u instead of t >= u -> fails
    rng = np.random.default_rng(3)
    t = np.array([2.0, 3.0, 4.0, 6.0, 1.0, 3.0, 5.0, 5.0])
    e = np.array([True, False, True, False, True, True, False, True])
    w = rng.integers(0, 3, size=(6, len(t))).astype(float)
    w[:, 0] += 1  # every row has a run
    got = _km_rmst(w, t, e, 6.0)
    for row, g in zip(w, got):
        keep = row > 0
        assert g == pytest.approx(sm_rmst(t[keep], e[keep], 6.0, weights=row[keep]), rel=1e-10)


def test_bootstrap_resamples_pairs_together():
    # planted: arms resampled independently in a paired design -> a wide interval around the constant difference
    # -> fails
    a = {k: curve(*([20] * k + [8] * (6 - k))) for k in range(1, 5)}  # reach at k + 1
    b = {k: curve(*([20] * (k + 1) + [8] * (5 - k))) for k in range(1, 5)}  # one kimg later
    r = compare_reach(a, b, 10, paired=True, n_boot=2000)
    assert r.effect == pytest.approx(-1.0, abs=1e-12)
    assert r.ci == pytest.approx((-1.0, -1.0), abs=1e-12)
    u = compare_reach(a, b, 10, paired=False, n_boot=2000, seed=1)
    assert u.ci[0] < -1.0 < u.ci[1] and u.ci[1] - u.ci[0] > 1.0
    assert compare_reach(a, b, 10, paired=False, n_boot=2000, seed=1).ci == u.ci  # seeded
    assert math.isnan(compare_reach(a, b, 10, paired=True, n_boot=0).ci[0])


# The reviewer's example: arm A reaches low values early and bounces back to about 12, arm B descends steadily to 10.
DIP = [30, 9, 8.5, 12, 12.5, 12, 12.2, 12.1]
STEADY = [30, 25, 18, 14, 12, 10.4, 10.2, 10.0]


def test_threshold_sweep_shows_a_verdict_that_flips():
    # planted: the first-reach rule -> A "reaches" 11 at its dip, A faster at every threshold, no flip -> fails
    a = {s: curve(*[v + 0.05 * s for v in DIP]) for s in range(4)}
    b = {s: curve(*[v + 0.05 * s for v in STEADY]) for s in range(4)}
    sweep = threshold_sensitivity(a, b, [13.5, 12.8, 11.0, 10.5], paired=True, unit="kimg")
    assert sweep.thresholds == (13.5, 12.8, 11.0, 10.5)
    assert sweep.effects[1] == pytest.approx(2 - 5, abs=1e-12)  # T 12.8: A at 2 kimg, B at 5
    assert sweep.effects[2] == pytest.approx(8 - 6, abs=1e-12)  # T 11: A never stays below (tau 8), B at 6
    assert sweep.sign_flips
    assert sweep.p_perm[1] == pytest.approx(2 / 16, abs=1e-15)  # 4 pairs, every difference of one sign
    assert all(c.tau == 8 and c.unit == "kimg" for c in sweep.comparisons)


def test_rules_and_bad_input():
    r = compare_reach(EARLY, FAST, 10, paired=True, unit="kimg", n_boot=100)
    assert len(r.rules) == 5 and "tau = 6 kimg" in r.caption and "Royston & Parmar 2013" in r.caption
    assert "(statsmodels)" in r.rules[1] and "statsmodels survdiff" in r.rules[3] and "lifelines" not in r.caption
    assert "stays" not in r.rules[0] and "every later evaluation is at or below T" in r.rules[0]
    assert "swapped" in r.rules[2] and "ignores the pairing" in r.rules[3] and "100 resamples" in r.rules[4]
    assert r.a.keys == (1, 2) and r.b.keys == (1, 2)  # paired: the seeds both arms have
    with pytest.raises(GanbenchError):
        compare_reach({0: curve(20, 8)}, FAST, 10, paired=False)  # one run
