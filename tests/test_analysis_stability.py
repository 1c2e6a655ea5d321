"""Stability next to quality (ganbench.analysis.stability): best and final value per run, the collapse rule against
the run's own best, diverged runs apart, the arm's mean best with a t-interval. Each test names the bug it was seen to
catch (planted once in stability.py, watched fail, removed)."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from ganbench.analysis.stability import COLLAPSE_FACTOR, arm_stability, collapse_rule, run_stability
from ganbench.errors import GanbenchError


def curve(*values: float) -> list[tuple[float, float]]:
    return [(0.0, 60.0)] + [(1.0 + i, v) for i, v in enumerate(values)]  # 0 kimg: the initialisation


# Projected-GAN-like seeds: they touched 10-11.6 and jumped to 36-44; steady ones descend to about 10.
COLLAPSING = {0: curve(30, 12, 10.5, 40, 38), 1: curve(25, 11.6, 14, 44), 2: curve(28, 10, 20, 36)}
STEADY = {3: curve(30, 20, 12, 10.8, 10), 4: curve(28, 18, 13, 11, 10.6), 5: curve(35, 16, 12, 11.5, 11.9)}


def test_collapsed_seeds_are_flagged_and_steady_ones_are_not():
    # planted: the final value compared with the first evaluation instead of the run's best -> 38 < 1.5 x 30, the
    # collapses are missed -> fails
    arm = arm_stability({**COLLAPSING, **STEADY})
    assert [r.collapsed for r in arm.runs] == [True, True, True, False, False, False]
    assert arm.share_collapsed == "3/6" and arm.diverged == 0
    r = arm.runs[0]
    assert (r.best, r.best_time, r.final, r.final_time) == (10.5, 3.0, 38.0, 5.0)
    assert COLLAPSE_FACTOR == 1.5


def test_the_rule_is_a_ratio_to_the_best_in_both_directions():
    # planted: "final > best + 1.5" (a difference, not a ratio) -> 14.9 after a best of 10 counts as collapsed
    # -> fails
    assert run_stability(curve(20, 10, 14.9)).collapsed is False
    assert run_stability(curve(20, 10, 15.1)).collapsed is True
    # planted: higher-is-better judged like lower (final > 1.5 x best) -> an IS falling from 8 to 4 is not flagged
    # -> fails
    assert run_stability(curve(2, 6, 8, 4), higher=True).collapsed is True  # 4 < 8 / 1.5
    assert run_stability(curve(2, 6, 8, 5.5), higher=True).collapsed is False  # 5.5 > 5.33
    assert run_stability(curve(2, 6, 8, 4), higher=True).best == 8.0
    assert "final > 1.5 x best" in collapse_rule() and "final < best / 1.5" in collapse_rule(higher=True)
    assert run_stability(curve(20, 10, 25), factor=3.0).collapsed is False  # the factor is a parameter


def test_initialisation_is_not_the_best():
    # planted: the evaluation at 0 images counted -> for a higher-is-better curve whose init value 60 is the best,
    # every run looks collapsed -> fails
    assert run_stability(curve(2, 6, 8, 7), higher=True).best == 8.0
    assert run_stability(curve(2, 6, 8, 7), higher=True).collapsed is False


def test_diverged_runs_are_counted_apart_and_keep_their_best():
    # planted: diverged runs judged for collapse (their last value is NaN: "collapsed") -> share 2/3 -> fails
    runs = {0: curve(30, 12, 11), 1: curve(30, 11, float("nan")), 2: curve(30, 12, 40)}
    arm = arm_stability(runs, diverged={1})
    assert arm.diverged == 1 and arm.share_collapsed == "1/2"
    assert arm.runs[1].collapsed is None and arm.runs[1].best == 11.0
    assert arm.n_best == 3 and arm.mean_best == pytest.approx(34 / 3, rel=1e-12)


def test_mean_best_has_a_student_t_interval():
    # planted: the normal quantile 1.96 instead of t(0.975, n - 1) -> a narrower interval -> fails
    arm = arm_stability({**COLLAPSING, **STEADY})
    bests = [10.5, 11.6, 10.0, 10.0, 10.6, 11.5]
    lo, hi = stats.t.interval(0.95, len(bests) - 1, loc=sum(bests) / 6, scale=stats.sem(bests))
    assert arm.mean_best == pytest.approx(sum(bests) / 6, rel=1e-12)
    assert arm.ci_best == pytest.approx((lo, hi), rel=1e-12)
    one = arm_stability([curve(30, 12)])
    assert one.mean_best == 12.0 and math.isnan(one.half_width)


def test_rule_undefined_for_a_best_that_is_not_positive_and_bad_input():
    # planted: the ratio applied to a negative best (KID can be) -> a run improving to -0.001 and ending at 0.002
    # counts as collapsed -> fails
    r = run_stability(curve(0.05, -0.001, 0.002))
    assert r.collapsed is None
    arm = arm_stability([curve(0.05, -0.001, 0.002), curve(0.05, 0.01, 0.02)])
    assert arm.share_collapsed == "1/1"
    assert "not judged" in arm.caption and "1.5" in arm.caption
    with pytest.raises(GanbenchError):
        arm_stability([curve(30, 12)], factor=1.0)
    with pytest.raises(GanbenchError):
        run_stability([(0.0, 5.0)])


def test_a_bounce_is_judged_against_the_best_so_far():
    # planted: each evaluation compared with the one before it instead of the best so far -> a slow slide 12 -> 15
    # -> 17 -> 19 (each step < 1.5x, 19 > 1.5 x 12) is missed -> fails
    r = run_stability(curve(30, 12, 15, 17, 19, 11))
    assert r.bounced is True and r.collapsed is False  # recovered: the final value hides it
    assert (r.relapse.best, r.relapse.best_time, r.relapse.value, r.relapse.time) == (12.0, 2.0, 19.0, 5.0)
    assert run_stability(curve(30, 12, 17.9, 11)).bounced is False  # 17.9 < 1.5 x 12
    # a collapsed run has bounced; higher is better: a fall below best / 1.5
    assert run_stability(curve(30, 10, 40)).bounced is True
    assert run_stability(curve(2, 6, 3.9, 7), higher=True).bounced is True
    assert run_stability(curve(2, 6, 4.1, 7), higher=True).bounced is False
    arm = arm_stability({**COLLAPSING, **STEADY})
    assert arm.share_bounced == "3/6"
    assert arm_stability([curve(30, 12, 11), curve(30, 11, 40)], diverged={1}).share_bounced == "0/1"
    assert "Bounced:" in arm.caption
