"""Rank groups over seeds: Welch's t-test (scipy.stats.ttest_ind, equal_var=False) of the
best model against each other one, Holm's step-down correction over those comparisons, and rank group A = the best
model plus every model not significantly different from it at ``ALPHA`` after Holm; the same step on the models left
gives group B, then C, and so on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .inference import ALPHA, holm, welch_p

METHOD = (f"Rank groups, stepwise: (A) the best mean and every model not significantly different from it; (B) the "
          f"best of the rest and every model of the rest not significantly different from it; and so on (C, ...); "
          f"(n=1) one complete seed, not tested. Test: two-sided Welch's t-test "
          f"(scipy.stats.ttest_ind, equal_var=False) of the best against each other model, Holm correction over "
          f"those comparisons, alpha {ALPHA:g}. Bold: group A, only when the tests separate it from the rest.")


@dataclass
class Ranking:
    """Rank groups of one metric column: ``groups[i]`` is "A", "B", "C", ..., "n=1" or "" (no value) for entry i."""
    groups: list[str]
    claimed: bool  # False: no ranking is claimed (fewer than two entries with two or more seeds)
    bold: set[int] = field(default_factory=set)
    pvalues: dict[int, float] = field(default_factory=dict)  # Holm-adjusted p of the best vs entry i
    reason: str = ""


def rank(values: Sequence[Sequence[float]], higher: bool, alpha: float = ALPHA) -> Ranking:
    """Rank groups of entries given each entry's per-seed values (``higher``: larger is better)."""
    tested = [i for i, v in enumerate(values) if len(v) >= 2]
    single = [i for i, v in enumerate(values) if len(v) == 1]
    groups = ["n=1" if len(v) == 1 else "" for v in values]
    if len(tested) < 2:
        return Ranking(groups if tested else [""] * len(values), False,
                       reason="fewer than two models have two or more complete seeds")
    means = {i: float(np.mean(values[i])) for i in tested + single}
    best = (max if higher else min)(tested, key=lambda i: means[i])
    others = [i for i in tested if i != best]
    adj = holm([welch_p(values[best], values[i]) for i in others])
    pv = dict(zip(others, adj))
    top = {best} | {i for i in others if pv[i] >= alpha}
    for i in tested:
        groups[i] = "A" if i in top else "B"
    rest = [i for i in tested if i not in top]
    if len(rest) >= 2:  # stepwise: the same test among the models worse than group A gives B, C, ...
        sub = rank([values[i] for i in rest], higher, alpha)
        for i, g in zip(rest, sub.groups):
            groups[i] = chr(ord(g) + 1) if len(g) == 1 else g
    better_single = [i for i in single if (means[i] >= means[best] if higher else means[i] <= means[best])]
    bold = top if len(top) < len(tested) and not better_single else set()
    reason = ("" if bold or len(top) < len(tested) else "no model is significantly worse than the best")
    if better_single:
        reason = "a one-seed model has a mean at least as good as the best tested one"
    return Ranking(groups, True, bold, pv, reason)


def rank_groups(values: dict[str, list[float]], higher: bool, alpha: float = ALPHA) -> list[list[str]]:
    """Stepwise rank groups of the entries with 2+ values (see the module docstring), best group first."""
    remaining = [k for k, v in values.items() if len(v) >= 2]
    out: list[list[str]] = []
    while remaining:
        if len(remaining) == 1:
            out.append(remaining)
            break
        r = rank([values[k] for k in remaining], higher, alpha)
        top = [k for k, g in zip(remaining, r.groups) if g == "A"]
        top.sort(key=lambda k: float(np.mean(values[k])), reverse=higher)
        out.append(top)
        remaining = [k for k in remaining if k not in top]
    return out
