"""Budget and power, measured: for every evaluation budget of a comparison group, the seed spread of the models, how
many rank groups Welch's t-tests with Holm correction separate, and the smallest difference detectable at that n
(``ganbench budget RESULTS_DIR`` and the report's "Budget and power" section).

Rank groups, stepwise (``ranking.rank_groups``): group A is the best mean and every model not significantly different
from it (Welch's t-test of the best against each other model, Holm over those comparisons); those models are set
aside and the step repeats on the rest (group B, C, ...). Each step is its own Holm family. The standard budget is
the smallest one at which every model has at least ``MIN_SEEDS`` complete seeds and there are at least ``MIN_GROUPS``
groups; whether the better models draw recognisable images is judged on the report's sample grids, not here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .groups import Group, MetricKey
from .inference import mde_two_sample
from .ranking import rank_groups

MIN_SEEDS = 5
MIN_GROUPS = 3


def pooled_sd(values: dict[str, list[float]]) -> float:
    """sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)) over the entries with 2+ values; NaN without any."""
    num = sum((len(v) - 1) * float(np.var(v, ddof=1)) for v in values.values() if len(v) >= 2)
    den = sum(len(v) - 1 for v in values.values() if len(v) >= 2)
    return math.sqrt(num / den) if den else math.nan


def primary_metric(g: Group) -> MetricKey | None:
    return next((mk for mk in g.metrics if mk.kind in ("fd", "fid")), g.metrics[0] if g.metrics else None)


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


@dataclass
class BudgetRow:
    images: float
    seeds: int  # the fewest complete seeds of any model ranked here (models with one seed are not ranked)
    sd: float  # pooled seed SD over the models
    mde: float  # two-sample MDE at ``seeds`` seeds (80% power, alpha 0.05, two-sided)
    groups: list[list[str]]

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def ok(self, min_seeds: int = MIN_SEEDS, min_groups: int = MIN_GROUPS) -> bool:
        return self.seeds >= min_seeds and self.n_groups >= min_groups


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
        rows.append(BudgetRow(b, n, sd, mde_two_sample(sd, n), rank_groups(at, mk.higher)))
    return rows


def choose(rows: list[BudgetRow], min_seeds: int = MIN_SEEDS, min_groups: int = MIN_GROUPS) -> BudgetRow | None:
    """The smallest budget from which every evaluation (it and all larger budgets) meets both criteria, or None.
    A separation that dissolves at the next evaluation is a fluctuation of the curves, not a ranking: on the GPU
    reference, 1 and 2 kimg each showed 3 groups and 3-6 kimg only 2."""
    for i, r in enumerate(rows):
        if all(x.ok(min_seeds, min_groups) for x in rows[i:]):
            return r
    return None
