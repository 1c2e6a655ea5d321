"""The report's "Budget and power" section (and ``ganbench budget``'s table): renders ``analysis.budget``: for every
evaluation budget of a comparison group, the seeds, the pooled seed SD of the models, the smallest difference
detectable between two models (``sample_size.detectable_effect``) and the model pairs separated after Holm. Labelled
exploratory: it chooses no budget.
"""
from __future__ import annotations

from ..analysis.budget import EXPLORATORY, budget_rows, detectable, primary_metric
from ..analysis.groups import Group
from ..analysis.sample_size import rule as mde_rule
from . import fmt
from .document import Section, Table
from .labels import describe_group, describe_metric

SD_TEXT = ("Pooled SD: the seed SD pooled over every model, sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1)), taken as the "
           "common SD of any two models")


def _mde(r) -> str:
    return fmt.num(r.mde.mde) if r.mde else "—"


def budget_table(g: Group) -> Table | None:
    mk = primary_metric(g)
    rows = budget_rows(g, mk)
    if len(rows) < 1 or mk is None:
        return None
    cells = [[fmt.kimg(r.images), str(r.seeds), fmt.num(r.sd), _mde(r),
              f"{r.separated} of {r.pairs}" if r.pairs else "—"] for r in rows]
    ks = sorted({r.k for r in rows})
    rank_rules = rows[-1].ranks.rules
    caption = (f"{EXPLORATORY} {g.title}, {mk.protocol} ({mk.extractor}; {'higher' if mk.higher else 'lower'} is "
               f"better), default variant of each model, complete seeds, at every evaluation every model reached. "
               f"{describe_group(g)}; {describe_metric(mk)}; device {', '.join(g.devices()) or '—'}. "
               f"Seeds: the fewest complete seeds of any ranked model (a model with one seed is not ranked). "
               f"{SD_TEXT}. {mde_rule(paired=False)} Here n1 = n2 = Seeds and the pooled SD stands for the pair's. "
               f"Pairs separated: model pairs whose Holm-adjusted p is below {rows[-1].ranks.alpha:g}, of the "
               f"K(K-1)/2 pairs of the K = {'/'.join(map(str, ks))} ranked models. {rank_rules[0]} {rank_rules[1]}")
    return Table(f"budget-{g.key}", f"Budget and power (exploratory), {g.title}", caption,
                 ["kimg", "Seeds", "Pooled SD", "MDE", "Pairs separated (Holm)"], cells, align="rrrrr")


def power_line(g: Group) -> str | None:
    """The main table's power analysis: the smallest difference detectable between two models at this n."""
    mk = primary_metric(g)
    rows = budget_rows(g, mk) if mk else []
    if not rows or not rows[-1].mde:
        return None
    last = rows[-1]
    strict = detectable(last.sd, last.seeds, m=last.pairs) if last.pairs > 1 else None
    return (f"Power (exploratory), {g.title}, {mk.protocol} at {fmt.kimg(last.images)} kimg: with {last.seeds} "
            f"complete seed{'s' if last.seeds != 1 else ''} per model (the fewest of any ranked model) and a pooled "
            f"seed SD of {fmt.num(last.sd)}, the MDE between two models is {fmt.num(last.mde.mde)}"
            + (f"; at Holm's strictest step over the {last.pairs} pairs (alpha {last.ranks.alpha:g}/{last.pairs}, "
               f"Bonferroni's bound) {fmt.num(strict.mde)}" if strict else "")
            + f". {last.mde.rule} {SD_TEXT}.")


def power_section(gs: list[Group]) -> Section | None:
    text = [t for g in gs if (t := power_line(g))]
    tables = [t for g in gs if (t := budget_table(g))]
    return Section("Budget and power", text, tables) if text or tables else None
