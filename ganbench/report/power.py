"""Budget and power, measured: for every evaluation budget of a comparison group, the seed spread of the models, how
many rank groups Welch's t-tests with Holm correction separate, and the smallest difference detectable at that n
(``ganbench budget RESULTS_DIR`` and the report's "Budget and power" section).

Rank groups, stepwise: group A is the best mean and every model not significantly different from it
(``stats.rank``: Welch's t-test of the best against each other model, Holm over those comparisons); those models are
set aside and the step repeats on the rest (group B, C, ...). Each step is its own Holm family. The standard budget is
the smallest one at which every model has at least ``MIN_SEEDS`` complete seeds and there are at least ``MIN_GROUPS``
groups; whether the better models draw recognisable images is judged on the report's sample grids, not here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import fmt
from .document import Section, Table
from .groups import Group, MetricKey
from .stats import ALPHA, rank

MIN_SEEDS = 5
MIN_GROUPS = 3
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
    from ..claims import mde_two_sample

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


def _groups_text(groups: list[list[str]]) -> str:
    return "; ".join(f"{LETTERS[i] if i < len(LETTERS) else i + 1}: {', '.join(ms)}" for i, ms in enumerate(groups))


def budget_table(g: Group, min_seeds: int = MIN_SEEDS, min_groups: int = MIN_GROUPS) -> Table | None:
    mk = primary_metric(g)
    rows = budget_rows(g, mk)
    if len(rows) < 1 or mk is None:
        return None
    pick = choose(rows, min_seeds, min_groups)
    cells = [[fmt.kimg(r.images), str(r.seeds), fmt.num(r.sd), fmt.num(r.mde), str(r.n_groups),
              _groups_text(r.groups), "chosen" if r is pick else ""] for r in rows]
    bold = {(rows.index(pick), j) for j in range(len(cells[0]))} if pick else set()
    best = max(rows, key=lambda r: (r.n_groups, r.images))
    verdict = (f"Chosen: {fmt.kimg(pick.images)} kimg, the smallest budget from which every evaluation has at least "
               f"{min_seeds} seeds per model and at least {min_groups} rank groups." if pick else
               f"No budget here meets both criteria (at least {min_seeds} seeds per model and {min_groups} rank "
               f"groups): the most groups is {best.n_groups} at {fmt.kimg(best.images)} kimg with {best.seeds} "
               f"seed{'s' if best.seeds != 1 else ''} per model, seed SD {fmt.num(best.sd)} and a detectable "
               f"difference of {fmt.num(best.mde)}.")
    caption = (f"Budget by measurement, {g.title}, {mk.preset_name} ({mk.extractor}; "
               f"{'higher' if mk.higher else 'lower'}"
               f" is better), default variant of each model, complete seeds, at every evaluation every model reached. "
               f"{g.describe()}; {mk.describe()}; device {', '.join(g.devices()) or '—'}. "
               f"Seeds: the fewest complete seeds of any ranked model (a model with one seed is not ranked). Seed "
               f"SD: pooled over models, sqrt(sum((n-1) s^2) / sum(n-1)). "
               f"MDE: the smallest difference between two models a two-sided two-sample t-test detects with 80% power "
               f"at alpha {ALPHA:g} with that many seeds each, (t(0.975, 2n-2) + t(0.8, 2n-2)) * SD * sqrt(2/n) "
               f"(before "
               f"Holm). Rank groups: stepwise, Welch's t-test of the best against the rest with Holm correction, the "
               f"models not separated from the best form a group and are set aside, repeated on the rest.")
    notes = [verdict, "Whether the better models draw recognisable images at the chosen budget is judged on the "
                      "sample grids (Samples section), not by this table."]
    return Table(f"budget-{g.key}", f"Budget and power, {g.title}", caption,
                 ["kimg", "Seeds", "Seed SD", "MDE", "Groups", "Rank groups (best first)", ""], cells, bold, notes,
                 align="rrrrrll")


def power_line(g: Group) -> str | None:
    """The main table's power analysis: the smallest difference detectable between two models at this n."""
    from ..claims import mde_two_sample

    mk = primary_metric(g)
    rows = budget_rows(g, mk) if mk else []
    if not rows:
        return None
    last = rows[-1]
    k = len([m for grp in last.groups for m in grp])
    strict = (mde_two_sample(last.sd, last.seeds, alpha=ALPHA / (k - 1)) if k > 2 and last.seeds >= 2
              else math.nan)
    return (f"Power, {g.title}, {mk.preset_name} at {fmt.kimg(last.images)} kimg: with {last.seeds} complete "
            f"seed{'s' if last.seeds != 1 else ''} per model (the fewest of any ranked model) and a pooled seed SD "
            f"of {fmt.num(last.sd)}, the smallest difference "
            f"between two models detectable with 80% power (two-sided t-test, alpha {ALPHA:g}) is "
            f"{fmt.num(last.mde)}" + (f"; at Holm's strictest step (alpha {ALPHA:g}/{k - 1}) {fmt.num(strict)}"
                                      if math.isfinite(strict) else "") + ".")


def power_section(gs: list[Group]) -> Section | None:
    text = [t for g in gs if (t := power_line(g))]
    tables = [t for g in gs if (t := budget_table(g))]
    return Section("Budget and power", text, tables) if text or tables else None
