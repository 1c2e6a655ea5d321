"""Budget and power, measured on exploratory runs: for every evaluation budget of a comparison group, the seeds, the
pooled seed SD of the models, the smallest difference detectable between two models at that n
(``sample_size.detectable_effect``, two-sample, pooled SD) and how many model pairs the rank intervals' tests
(``ranks.rank_intervals``: all pairs by Welch, Holm over all pairs) separate (``ganbench budget RESULTS_DIR`` and the
report's "Budget and power" section).

Nothing here picks a budget: a rule chosen after looking at the data it judges is not a test, and the number of
separated pairs goes up and down with the budget. A budget for a confirmatory run is fixed in its plan before the runs
(``analysis.plan``); these rows are exploratory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .groups import Group, MetricKey
from .ranks import RankIntervals, rank_intervals
from .sample_size import MIN_N, DetectableEffect, detectable_effect

EXPLORATORY = ("Exploratory: a budget for a confirmatory run is fixed in its plan before the runs; these rows describe "
               "the runs at hand and choose nothing.")


def pooled_sd(values: dict[str, list[float]]) -> float:
    """sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)) over the entries with 2+ values; NaN without any."""
    num = sum((len(v) - 1) * float(np.var(v, ddof=1)) for v in values.values() if len(v) >= 2)
    den = sum(len(v) - 1 for v in values.values() if len(v) >= 2)
    return math.sqrt(num / den) if den else math.nan


def primary_metric(g: Group) -> MetricKey | None:
    """The metric budgets and power are stated for: the first FD-type quality metric, else the first quality metric
    (a check such as a copy rate is never primary)."""
    qm = g.quality_metrics
    return next((mk for mk in qm if mk.kind in ("fd", "fid")), qm[0] if qm else None)


def model_values(g: Group, mk: MetricKey) -> dict[str, dict[float, list[float]]]:
    """{model: {images seen: values of its complete default-variant seeds there}} (images seen > 0)."""
    out: dict[str, dict[float, list[float]]] = {}
    for m in g.models():
        for run, rr in g.curves(m, "default", mk):
            if run.status != "complete":
                continue
            for i, v in zip(rr["images_seen"], rr["value"]):
                if i > 0:
                    out.setdefault(m, {}).setdefault(_budget(float(i), run), []).append(float(v))
    return out


def _num(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(x) else x


def _budget(images: float, run) -> float:
    """The evaluation budget an evaluation belongs to: its images seen rounded down to the run's evaluation grid
    (an evaluation runs after the first iteration that reaches k x eval_every, so models whose batches differ land a
    few images apart: 4,000 and 4,032 are both the 4-kimg evaluation); the last evaluation is the run's budget."""
    every, kimg = (_num(getattr(run, k, None)) for k in ("eval_every_kimg", "kimg"))
    if kimg and images >= kimg * 1000:
        return float(kimg * 1000)
    if not every:
        return images
    step = every * 1000
    return float(int(images // step) * step)


@dataclass(frozen=True)
class BudgetRow:
    images: float
    seeds: int  # the fewest complete seeds of any ranked model (models with one seed are not ranked)
    sd: float  # pooled seed SD over the models
    mde: DetectableEffect | None  # two-sample MDE at ``seeds`` seeds per model and ``sd`` (None: fewer than 2 seeds)
    ranks: RankIntervals  # all pairs of the models at this budget, Welch + Holm

    @property
    def k(self) -> int:
        """Models ranked (2+ seeds)."""
        return sum(e.best is not None for e in self.ranks.entries)

    @property
    def pairs(self) -> int:
        return self.k * (self.k - 1) // 2

    @property
    def separated(self) -> int:
        """Model pairs whose Holm-adjusted p is below alpha."""
        p = self.ranks.p_adj
        return int(sum(p[i, j] < self.ranks.alpha for i in range(len(p)) for j in range(i + 1, len(p))
                       if not math.isnan(p[i, j])))


def detectable(sd: float, n: int, m: int = 1) -> DetectableEffect | None:
    """``detectable_effect`` of two models with ``n`` seeds each and common SD ``sd`` (None where undefined)."""
    if n < MIN_N or not (math.isfinite(sd) and sd >= 0):
        return None
    return detectable_effect(sd, n, paired=False, m=m)


def budget_rows(g: Group, mk: MetricKey | None = None) -> list[BudgetRow]:
    """One row per evaluation budget that every model with runs reached."""
    mk = mk or primary_metric(g)
    if mk is None:
        return []
    vals = model_values(g, mk)
    if len(vals) < 2:
        return []
    budgets = sorted(set.intersection(*(set(v) for v in vals.values())))
    rows = []
    for b in budgets:
        at = {m: v[b] for m, v in vals.items()}
        n = min((len(x) for x in at.values() if len(x) >= 2), default=min(len(x) for x in at.values()))
        sd = pooled_sd(at)
        rows.append(BudgetRow(b, n, sd, detectable(sd, n), rank_intervals(at, mk.higher)))
    return rows
