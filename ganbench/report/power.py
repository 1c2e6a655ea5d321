"""The report's "Budget and power" section (and ``ganbench budget``'s table): renders ``analysis.budget``: for every
evaluation budget of a comparison group, the seed spread of the models, how many rank groups Welch's t-tests with
Holm correction separate, and the smallest difference detectable at that n.
"""
from __future__ import annotations

import math

from ..analysis.budget import MIN_GROUPS, MIN_SEEDS, budget_rows, choose, primary_metric
from ..analysis.groups import Group
from ..analysis.inference import ALPHA, mde_two_sample
from . import fmt
from .document import Section, Table
from .labels import describe_group, describe_metric

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
    caption = (f"Budget by measurement, {g.title}, {mk.protocol} ({mk.extractor}; "
               f"{'higher' if mk.higher else 'lower'}"
               f" is better), default variant of each model, complete seeds, at every evaluation every model reached. "
               f"{describe_group(g)}; {describe_metric(mk)}; device {', '.join(g.devices()) or '—'}. "
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
    mk = primary_metric(g)
    rows = budget_rows(g, mk) if mk else []
    if not rows:
        return None
    last = rows[-1]
    k = len([m for grp in last.groups for m in grp])
    strict = (mde_two_sample(last.sd, last.seeds, alpha=ALPHA / (k - 1)) if k > 2 and last.seeds >= 2
              else math.nan)
    return (f"Power, {g.title}, {mk.protocol} at {fmt.kimg(last.images)} kimg: with {last.seeds} complete "
            f"seed{'s' if last.seeds != 1 else ''} per model (the fewest of any ranked model) and a pooled seed SD "
            f"of {fmt.num(last.sd)}, the smallest difference "
            f"between two models detectable with 80% power (two-sided t-test, alpha {ALPHA:g}) is "
            f"{fmt.num(last.mde)}" + (f"; at Holm's strictest step (alpha {ALPHA:g}/{k - 1}) {fmt.num(strict)}"
                                      if math.isfinite(strict) else "") + ".")


def power_section(gs: list[Group]) -> Section | None:
    text = [t for g in gs if (t := power_line(g))]
    tables = [t for g in gs if (t := budget_table(g))]
    return Section("Budget and power", text, tables) if text or tables else None
