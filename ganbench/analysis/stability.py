"""Stability next to quality: per run its best and final value, whether it collapsed or diverged; per arm the mean
best value with a 95% t-interval, the share of collapsed seeds and the number of diverged runs.

Collapse is judged against the run's own best, as a ratio: lower is better, final > COLLAPSE_FACTOR * best; higher
is better, final < best / COLLAPSE_FACTOR (the same multiplicative loss: the final value lost the factor the best had
gained over it). The ratio needs a positive best; where the best is 0 or negative (KID can be) the run is not judged.
A diverged run (its status, given by the caller) is counted apart and not judged for collapse; its best value before
diverging still enters the mean best value. Only evaluations after 0 images count (the value at initialisation is no
achievement). The t-interval is Student's: mean +- t(0.975, n-1) * s / sqrt(n) (scipy.stats.t).

A run can also bounce: get good, fall back and recover before its last evaluation, which the final value hides. The
same rule applied at every evaluation against the run's best up to then finds it: a run bounced when any evaluation
was worse than its best so far by the collapse factor (recovered or not; a collapsed run has bounced). The worst such
fall of each run (its ``relapse``) is kept for the caption.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Hashable, Mapping, Sequence, Union

from ..errors import GanbenchError
from .summary import t_interval

Curve = Sequence[tuple[float, float]]  # (time, value) per evaluation
Arm = Union[Mapping[Hashable, Curve], Sequence[Curve]]
COLLAPSE_FACTOR = 1.5
LEVEL = 0.95


def collapse_rule(higher: bool = False, factor: float = COLLAPSE_FACTOR) -> str:
    """The collapse rule as caption text."""
    if higher:
        return (f"Collapsed: the final value is below the run's own best divided by {factor:g} "
                f"(final < best / {factor:g}; higher is better).")
    return (f"Collapsed: the final value is above {factor:g} times the run's own best "
            f"(final > {factor:g} x best; lower is better).")


def collapsed(best: float, final: float, higher: bool = False, factor: float = COLLAPSE_FACTOR) -> bool | None:
    """The collapse rule (see the module docstring); None where it is undefined (best <= 0 or not finite)."""
    if not (math.isfinite(best) and best > 0):
        return None
    if not math.isfinite(final):
        return True
    return final < best / factor if higher else final > factor * best


@dataclass(frozen=True)
class Relapse:
    """A fall from the run's best so far: best (at best_time) to value (at time); ratio = value / best (lower is
    better) or best / value (higher is better), so > 1 is a loss."""
    best_time: float
    best: float
    time: float
    value: float
    ratio: float


@dataclass(frozen=True)
class RunStability:
    key: Hashable
    best: float  # best value after 0 images (NaN when the run has no finite value)
    best_time: float
    final: float  # value at the last evaluation
    final_time: float
    collapsed: bool | None  # None: not judged (diverged, or the rule is undefined for this best)
    diverged: bool
    bounced: bool | None = None  # some evaluation fell below the best so far by the factor (None: not judged)
    relapse: Relapse | None = None  # the worst fall from the best so far (None: not judged or no later evaluation)


def bounce_rule(higher: bool = False, factor: float = COLLAPSE_FACTOR) -> str:
    """The bounce rule as caption text."""
    cmp = (f"below its best up to then divided by {factor:g}" if higher
           else f"above {factor:g} times its best up to then")
    return (f"Bounced: at some evaluation the value was {cmp} (the collapse rule applied at every evaluation; "
            f"recovered or not, so a collapsed run has bounced).")


def _worst_relapse(pts: Sequence[tuple[float, float]], higher: bool, factor: float) -> tuple[bool | None,
                                                                                            Relapse | None]:
    """Whether the finite curve ``pts`` bounced, and its worst fall from the best so far."""
    bounced: bool | None = False
    worst: Relapse | None = None
    best_t, best = pts[0]
    for t, v in pts[1:]:
        hit = collapsed(best, v, higher, factor)
        if hit is None:  # the rule is undefined for this best so far (not positive)
            bounced = None if bounced is False else bounced
        elif hit:
            bounced = True
        if best > 0:
            ratio = (best / v if v > 0 else math.inf) if higher else v / best
            if worst is None or ratio > worst.ratio:
                worst = Relapse(best_t, best, t, v, ratio)
        if (v > best) if higher else (v < best):
            best_t, best = t, v
    return bounced, worst


def run_stability(curve: Curve, higher: bool = False, diverged: bool = False, factor: float = COLLAPSE_FACTOR,
                  key: Hashable = None) -> RunStability:
    """Best and final value of one run, and whether it collapsed or bounced (neither judged when ``diverged``)."""
    pts = sorted((float(t), float(v)) for t, v in curve if float(t) > 0)
    if not pts:
        raise GanbenchError(f"stability: run {key!r} has no evaluation after 0 images")
    finite = [(t, v) for t, v in pts if math.isfinite(v)]
    if finite:
        best_time, best = (max if higher else min)(finite, key=lambda p: p[1])
    else:
        best_time, best = math.nan, math.nan
    final_time, final = pts[-1]
    coll = None if diverged else collapsed(best, final, higher, factor)
    bounced, relapse = (None, None) if diverged or not finite else _worst_relapse(finite, higher, factor)
    if coll:
        bounced = True  # the final value fell from the best: also a bounce (a non-finite final is not in ``finite``)
    return RunStability(key, best, best_time, final, final_time, coll, diverged, bounced, relapse)


@dataclass(frozen=True)
class ArmStability:
    runs: tuple[RunStability, ...]
    mean_best: float
    ci_best: tuple[float, float]  # 95% t-interval of the mean best value (NaN with fewer than 2 finite bests)
    n_best: int  # runs with a finite best value (diverged ones included)
    collapsed: int
    judged: int  # runs judged for collapse (not diverged, rule defined)
    diverged: int
    higher: bool
    factor: float
    rules: tuple[str, ...]
    bounced: int = 0
    judged_bounce: int = 0  # runs judged for bouncing

    @property
    def share_bounced(self) -> str:
        """"6/10": runs that bounced of those judged."""
        return f"{self.bounced}/{self.judged_bounce}"

    @property
    def half_width(self) -> float:
        return (self.ci_best[1] - self.ci_best[0]) / 2

    @property
    def share_collapsed(self) -> str:
        """"2/10": collapsed runs of those judged."""
        return f"{self.collapsed}/{self.judged}"

    @property
    def caption(self) -> str:
        return " ".join(self.rules)


def arm_stability(curves: Arm, higher: bool = False, diverged: Collection[Hashable] = (),
                  factor: float = COLLAPSE_FACTOR) -> ArmStability:
    """Per-run stability and the arm's summary. ``curves``: seed -> (time, value) curve (a sequence is keyed by
    position); ``diverged``: keys of runs whose status is diverged."""
    if not factor > 1:
        raise GanbenchError(f"stability: the collapse factor must be > 1, got {factor!r}")
    items = curves.items() if isinstance(curves, Mapping) else enumerate(curves)
    div = set(diverged)
    runs = tuple(run_stability(c, higher, k in div, factor, k) for k, c in items)
    bests = [r.best for r in runs if math.isfinite(r.best)]
    mean, half = t_interval(bests, LEVEL) if bests else (math.nan, math.nan)
    lo, hi = mean - half, mean + half
    judged = [r for r in runs if r.collapsed is not None]
    judged_b = [r for r in runs if r.bounced is not None]
    return ArmStability(runs, mean, (lo, hi), len(bests), sum(bool(r.collapsed) for r in judged), len(judged),
                        sum(r.diverged for r in runs), higher, factor, rules(higher, factor),
                        sum(bool(r.bounced) for r in judged_b), len(judged_b))


def rules(higher: bool = False, factor: float = COLLAPSE_FACTOR) -> tuple[str, ...]:
    """The caption sentences of a stability table."""
    return (
        f"Best: the run's {'highest' if higher else 'lowest'} value at any evaluation after 0 images, mean and 95% "
        f"t-interval over seeds (diverged runs included with their best value before diverging).",
        collapse_rule(higher, factor) + " The share counts collapsed runs among those judged: diverged runs, and "
        "runs whose best is not positive, are not judged.",
        bounce_rule(higher, factor) + " Diverged runs are not judged.",
        "Diverged: runs whose status is diverged.",
    )
