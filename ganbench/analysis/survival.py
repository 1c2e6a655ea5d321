"""Time to a threshold, with censoring: when a run reaches a value for good, and how two arms compare.

A run *reaches* threshold T at the first evaluation (after 0 images) from which its value stays at or better than T
for the rest of the run (stay-below rule: a curve that dips under T and bounces back has not reached it). A run that
never reaches T, ends worse than T, or diverged is *censored* at its last evaluation.

Two arms are compared by the restricted mean time to threshold (RMST; Royston & Parmar 2013, BMC Med. Res.
Methodol. 13:152): the area under each arm's Kaplan-Meier curve of "not yet reached" from 0 to the budget tau (the
curve from ``statsmodels.duration.survfunc.SurvfuncRight``, integrated as a step function up to tau), effect =
RMST_A - RMST_B (negative: A reaches T sooner). A run censored at tau counts as tau; a run censored earlier (diverged,
stopped) is carried by the Kaplan-Meier estimate rather than counted as reaching T at its last evaluation. Its p-value
comes from a permutation test of that difference (paired arms: the seeds' A and B runs swapped, i.e. a sign flip of the
per-seed differences; unpaired: the pooled runs relabelled), its 95% interval from a percentile bootstrap over seeds,
and the log-rank test (``statsmodels.duration.survfunc.survdiff``, default weights = log-rank) is reported beside it as
the classical unpaired comparison.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Hashable, Mapping, Sequence, Union

import numpy as np
from scipy.stats import chi2
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from ..errors import GanbenchError
from . import _perm

Curve = Sequence[tuple[float, float]]  # (time, value) per evaluation; the time in any unit (images, kimg)
Arm = Union[Mapping[Hashable, Curve], Sequence[Curve]]  # seed -> curve (a sequence: keyed by position)
N_PERM = _perm.N_PERM
N_BOOT = 10_000
SEED = 0
LEVEL = 0.95
MIN_RUNS = 2  # per arm (pairs when paired)


def _points(curve: Curve) -> list[tuple[float, float]]:
    return sorted((float(t), float(v)) for t, v in curve if float(t) > 0)


def reach_time(curve: Curve, threshold: float, higher: bool = False, diverged: bool = False) -> tuple[float, bool]:
    """(time, event) of one run: the first evaluation after 0 from which every value is at or better than
    ``threshold`` (event True), else the last evaluation (event False: censored). A diverged run is censored; a NaN
    value is never at or better than the threshold."""
    pts = _points(curve)
    if not pts:
        raise GanbenchError("reach time: the curve has no evaluation after 0 images")
    ok = [(v >= threshold if higher else v <= threshold) for _, v in pts]
    if diverged or not ok[-1]:
        return pts[-1][0], False
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return pts[i][0], True


# ---- Kaplan-Meier RMST for many weightings of the same runs at once (permutations, bootstrap) ------------------
def _km_rmst(w: np.ndarray, t: np.ndarray, e: np.ndarray, tau: float) -> np.ndarray:
    """RMST up to tau of the Kaplan-Meier estimate of each row of weights ``w`` (n_rows, n_runs) over the runs
    (t, e); the curve stays flat after a row's last run, as statsmodels' does."""
    u = np.unique(t[e & (t <= tau)])
    if not len(u):
        return np.full(len(w), float(tau))
    deaths = w @ (e[:, None] & (t[:, None] == u[None, :])).astype(float)
    at_risk = w @ (t[:, None] >= u[None, :]).astype(float)
    hazard = np.divide(deaths, at_risk, out=np.zeros_like(deaths), where=at_risk > 0)
    surv = np.concatenate([np.ones((len(w), 1)), np.cumprod(1 - hazard, axis=1)], axis=1)
    widths = np.diff(np.concatenate([[0.0], u, [tau]]))
    return surv @ widths


def _restricted_times(t: np.ndarray, e: np.ndarray, tau: float) -> np.ndarray:
    """Per run: min(time, tau) for an event or a run censored at tau; for a run censored at c < tau, its expected
    restricted time given that it had not reached T by c under the arm's Kaplan-Meier curve, c + int_c^tau S / S(c)
    (redistribution to the right: the mean of these is the arm's Kaplan-Meier RMST)."""
    u = np.unique(t[e & (t <= tau)])
    at_risk = np.array([(t >= x).sum() for x in u], float)
    deaths = np.array([(e & (t == x)).sum() for x in u], float)
    knots = np.concatenate([[0.0], u])
    surv = np.concatenate([[1.0], np.cumprod(1 - deaths / at_risk)])

    def s_at(x: float) -> float:
        return float(surv[np.searchsorted(knots, x, side="right") - 1])

    def integral(lo: float) -> float:
        edges = np.unique(np.concatenate([[lo, tau], knots[(knots > lo) & (knots < tau)]]))
        return float(sum(s_at(a) * (b - a) for a, b in zip(edges[:-1], edges[1:])))

    return np.array([min(ti, tau) if ei or ti >= tau else ti + integral(ti) / s_at(ti) for ti, ei in zip(t, e)])


def _sm_rmst(t: np.ndarray, e: np.ndarray, tau: float) -> float:
    """RMST up to tau of the runs (t, e): the area under statsmodels' Kaplan-Meier curve (``SurvfuncRight``), a step
    function that is 1 before the first event and keeps its last value up to tau."""
    km = SurvfuncRight(np.asarray(t, float), np.asarray(e, float))
    keep = km.surv_times <= tau
    knots = np.concatenate([[0.0], km.surv_times[keep]])
    surv = np.concatenate([[1.0], km.surv_prob[keep]])
    return float(surv @ np.diff(np.concatenate([knots, [tau]])))


def _logrank_p(t_a: np.ndarray, e_a: np.ndarray, t_b: np.ndarray, e_b: np.ndarray) -> float:
    """Two-sided log-rank p of arms A and B (``statsmodels.duration.survfunc.survdiff``, default weights = log-rank;
    the p from its chi-square statistic on 1 df by the survival function, so that a tiny p does not round to 0). 1.0
    when the test has nothing to test: no event, or zero variance (every event at a time when only one arm is at risk,
    or when every run at risk reaches T at once; the observed minus expected count is then 0 too)."""
    e_a, e_b = np.asarray(e_a, bool), np.asarray(e_b, bool)
    if not (e_a.any() or e_b.any()):
        return 1.0
    time = np.concatenate([np.asarray(t_a, float), np.asarray(t_b, float)])
    status = np.concatenate([e_a, e_b]).astype(float)
    group = np.concatenate([np.zeros(len(e_a)), np.ones(len(e_b))])
    try:
        stat, _ = survdiff(time, status, group)
    except np.linalg.LinAlgError:  # a singular (zero) variance
        return 1.0
    stat = float(stat)
    return 1.0 if math.isnan(stat) else float(chi2.sf(stat, 1))


# ---- the comparison ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArmReach:
    keys: tuple[Hashable, ...]  # seeds (or positions), in the order of the arrays below
    time: tuple[float, ...]  # reach time (event) or censoring time
    event: tuple[bool, ...]
    restricted: tuple[float, ...]  # per-run restricted time (see _restricted_times); their mean is rmst
    rmst: float  # Kaplan-Meier RMST up to tau (statsmodels)

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def events(self) -> int:
        return sum(self.event)

    @property
    def censored(self) -> int:
        return self.n - self.events


@dataclass(frozen=True)
class ReachComparison:
    threshold: float
    higher: bool
    tau: float
    unit: str
    paired: bool
    a: ArmReach
    b: ArmReach
    effect: float  # RMST_A - RMST_B (negative: A reaches the threshold sooner)
    ci: tuple[float, float]  # percentile bootstrap interval (NaN when n_boot = 0)
    p_perm: float  # two-sided permutation p of the effect
    perm: str  # how the permutation test ran (exact / Monte-Carlo and how many)
    p_logrank: float  # two-sided log-rank p (unpaired; 1.0 when neither arm has an event)
    rules: tuple[str, ...]

    @property
    def caption(self) -> str:
        return " ".join(self.rules)


def _arm(curves: Arm) -> dict[Hashable, list[tuple[float, float]]]:
    items = curves.items() if isinstance(curves, Mapping) else enumerate(curves)
    return {k: _points(c) for k, c in items}


def default_tau(curves_a: Arm, curves_b: Arm) -> float:
    """The common budget: the smaller of the two arms' latest evaluations (so both Kaplan-Meier curves are
    estimated up to tau)."""
    ends = []
    for arm in (_arm(curves_a), _arm(curves_b)):
        if not arm or not any(arm.values()):
            raise GanbenchError("threshold comparison: an arm has no evaluation after 0 images")
        ends.append(max(c[-1][0] for c in arm.values() if c))
    return min(ends)


def compare_reach(curves_a: Arm, curves_b: Arm, threshold: float, *, paired: bool, higher: bool = False,
                  tau: float | None = None, unit: str = "", diverged_a: Collection[Hashable] = (),
                  diverged_b: Collection[Hashable] = (), n_perm: int = N_PERM, n_boot: int = N_BOOT,
                  seed: int = SEED) -> ReachComparison:
    """Compare arms A and B on the time to reach ``threshold`` (see the module docstring). ``paired``: the arms
    share seeds (runs with the same key are a pair; keys in only one arm are left out). ``diverged_*``: keys of
    runs that diverged (censored at their last evaluation). Curves are cut at ``tau`` (default ``default_tau``)."""
    arms = [_arm(curves_a), _arm(curves_b)]
    tau_max = default_tau(curves_a, curves_b)
    tau = tau_max if tau is None else float(tau)
    if not 0 < tau <= tau_max:
        raise GanbenchError(f"threshold comparison: tau {tau:g} must lie in (0, {tau_max:g}], the latest "
                            f"evaluation both arms reached")
    if paired:
        common = [k for k in arms[0] if k in arms[1]]
        arms = [{k: arm[k] for k in common} for arm in arms]
    if min(len(arm) for arm in arms) < MIN_RUNS:
        raise GanbenchError(f"threshold comparison: {len(arms[0])} and {len(arms[1])} "
                            f"{'pairs' if paired else 'runs'}; at least {MIN_RUNS} per arm are needed")
    reach = []
    for arm, div in zip(arms, (set(diverged_a), set(diverged_b))):
        cut = {k: [p for p in c if p[0] <= tau] for k, c in arm.items()}
        if not all(cut.values()):
            raise GanbenchError(f"threshold comparison: a run has no evaluation in (0, {tau:g}]")
        reach.append({k: reach_time(c, threshold, higher, k in div) for k, c in cut.items()})
    out = []
    for r in reach:
        t = np.array([x[0] for x in r.values()])
        e = np.array([x[1] for x in r.values()], bool)
        rmst = _sm_rmst(t, e, tau)
        check = float(_km_rmst(np.ones((1, len(t))), t, e, tau)[0])
        if not math.isclose(rmst, check, rel_tol=1e-9, abs_tol=1e-12 * tau):
            raise RuntimeError(f"Kaplan-Meier RMST: statsmodels {rmst!r} != ganbench {check!r}")
        out.append(ArmReach(tuple(r), tuple(t.tolist()), tuple(e.tolist()),
                            tuple(_restricted_times(t, e, tau).tolist()), rmst))
    a, b = out
    effect = a.rmst - b.rmst
    t = np.array(a.time + b.time)
    e = np.array(a.event + b.event, bool)
    na, nb = a.n, b.n
    if paired:
        design = _perm.sign_flips(na, n_perm, seed)
        w_a = np.concatenate([design.first, ~design.first], axis=1).astype(float)
        perm = design.describe("swaps of A and B within seeds")
    else:
        design = _perm.splits(na + nb, na, n_perm, seed)
        w_a = design.first.astype(float)
        perm = design.describe("relabellings of the pooled runs")
    null = _km_rmst(w_a, t, e, tau) - _km_rmst(1 - w_a, t, e, tau)
    p_perm = _perm.p_value(null, effect, design.exact)
    p_lr = _logrank_p(np.array(a.time), np.array(a.event), np.array(b.time), np.array(b.event))
    ci = _bootstrap(t, e, na, nb, tau, paired, n_boot, seed)
    return ReachComparison(float(threshold), higher, tau, unit, paired, a, b, effect, ci, p_perm, perm, p_lr,
                           rules(tau, unit, paired, higher, perm, n_boot, seed))


def _bootstrap(t: np.ndarray, e: np.ndarray, na: int, nb: int, tau: float, paired: bool, n_boot: int,
               seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of RMST_A - RMST_B: seeds resampled with replacement (a pair's two runs
    together when paired, each arm's runs on their own otherwise)."""
    if n_boot <= 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)

    def counts(n: int) -> np.ndarray:
        c = np.zeros((n_boot, n))
        np.add.at(c, (np.repeat(np.arange(n_boot), n), rng.integers(0, n, size=n_boot * n)), 1.0)
        return c

    ca = counts(na)
    cb = ca if paired else counts(nb)
    zero_a, zero_b = np.zeros((n_boot, na)), np.zeros((n_boot, nb))
    diffs = (_km_rmst(np.concatenate([ca, zero_b], axis=1), t, e, tau)
             - _km_rmst(np.concatenate([zero_a, cb], axis=1), t, e, tau))
    lo, hi = np.percentile(diffs, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return float(lo), float(hi)


def rules(tau: float, unit: str = "", paired: bool = True, higher: bool = False, perm: str = "",
          n_boot: int = N_BOOT, seed: int = SEED) -> tuple[str, ...]:
    """The caption sentences of a time-to-threshold comparison."""
    u = f" {unit}" if unit else ""
    better = "at or above" if higher else "at or below"
    return (
        f"Reaching the threshold: a run reaches T at the first evaluation after 0 images from which every later "
        f"evaluation is {better} T (a run that dips past T and bounces back has not reached it); a run that never "
        f"gets there, ends on the wrong side of T or diverged is censored at its last evaluation.",
        f"Effect: restricted mean time to threshold (RMST, Royston & Parmar 2013) of A minus B up to the common "
        f"budget tau = {tau:g}{u}, the area under each arm's Kaplan-Meier curve of runs not yet at T (statsmodels); a "
        f"run censored at tau counts as tau, one censored earlier (diverged or stopped) is carried by the "
        f"Kaplan-Meier estimate, not counted as reaching T; negative = A reaches T sooner.",
        ("Permutation test (paired by seed): each seed's A and B runs swapped, the RMST difference recomputed"
         if paired else
         "Permutation test (unpaired): the pooled runs relabelled into arms of the observed sizes, the RMST "
         "difference recomputed") + f" ({perm or 'exact, or Monte-Carlo when there are too many'}; two-sided"
        + ("; without early censoring this is the sign-flip test of the per-seed differences of min(time, tau))."
           if paired else ")."),
        "Log-rank test (statsmodels survdiff): the two arms' reach times with censoring, two-sided"
        + (", unpaired (it ignores the pairing by seed)." if paired else "."),
        (f"95% interval: percentile bootstrap over seeds ({n_boot:,} resamples, seed {seed}"
         + ("; a seed's A and B runs resampled together)." if paired else "; each arm's runs resampled).")
         if n_boot > 0 else "No interval computed."),
    )


@dataclass(frozen=True)
class ThresholdSensitivity:
    """The comparison at each threshold of a range: a verdict whose sign flips with T is visible here."""
    comparisons: tuple[ReachComparison, ...]

    @property
    def thresholds(self) -> tuple[float, ...]:
        return tuple(c.threshold for c in self.comparisons)

    @property
    def effects(self) -> tuple[float, ...]:
        return tuple(c.effect for c in self.comparisons)

    @property
    def p_perm(self) -> tuple[float, ...]:
        return tuple(c.p_perm for c in self.comparisons)

    @property
    def p_logrank(self) -> tuple[float, ...]:
        return tuple(c.p_logrank for c in self.comparisons)

    @property
    def sign_flips(self) -> bool:
        """Whether the effect is negative at some threshold and positive at another."""
        return min(self.effects) < 0 < max(self.effects)


def threshold_sensitivity(curves_a: Arm, curves_b: Arm, thresholds: Sequence[float], paired: bool, *,
                          higher: bool = False, tau: float | None = None, unit: str = "",
                          diverged_a: Collection[Hashable] = (), diverged_b: Collection[Hashable] = (),
                          n_perm: int = N_PERM, n_boot: int = 0, seed: int = SEED) -> ThresholdSensitivity:
    """``compare_reach`` at every threshold (same tau for all; no bootstrap interval unless ``n_boot`` > 0)."""
    tau = default_tau(curves_a, curves_b) if tau is None else tau
    return ThresholdSensitivity(tuple(
        compare_reach(curves_a, curves_b, float(th), paired=paired, higher=higher, tau=tau, unit=unit,
                      diverged_a=diverged_a, diverged_b=diverged_b, n_perm=n_perm, n_boot=n_boot, seed=seed)
        for th in thresholds))
