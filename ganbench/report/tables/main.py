"""The main comparison: one row per model (its default variant): each quality metric at the final evaluation with the
model's rank interval, its best value and how many seeds collapsed or bounced; diverged runs; copy rates (checks,
never ranked); parameters and time."""
from __future__ import annotations

from .. import fmt
from ..document import Table
from ...analysis.groups import Group, MetricKey
from ...analysis.ranks import RankIntervals
from ...analysis.stability import rules as stability_rules
from ..labels import seeds_text, status_text
from ..marks import Marks
from ._shared import (CI, FROZEN_NOTE, NO_MARKS, EfficiencyIndex, _any_frozen, _caption_common, _frozen, _kimg_range,
                      _metric_cell, _model_notes, _params, _short, _train_time, check_caption, check_cell, check_header,
                      rank_caption, ranked, ranks_of, stability_notes, stability_of)


def main_entries(g: Group) -> list[tuple[str, str]]:
    """(model, variant) rows of the main table: the default variant of each model (all variants of a model that
    has no default run). Empty when the group is a single model's ablation (its ablation table covers it)."""
    models = g.models()
    if len(models) == 1 and len(g.variants(models[0])) > 1:
        return []
    out = []
    for m in models:
        vs = g.variants(m)
        out += [(m, "default")] if "default" in vs else [(m, v) for v in vs]
    return out


def entry_name(model: str, variant: str) -> str:
    return model if variant == "default" else f"{model} ({variant})"


def main_ranks(g: Group) -> list[tuple[MetricKey, RankIntervals]]:
    """The main table's rank intervals: per quality metric, every pair of its rows' final values (complete seeds)."""
    entries = main_entries(g)
    if not entries:
        return []
    names = [entry_name(m, v) for m, v in entries]
    return [(mk, ranks_of(names, [g.finals(m, v, mk).values for m, v in entries], mk.higher))
            for mk in g.quality_metrics]


def _stability_caption(quality: list[MetricKey]) -> str:
    dirs = sorted({mk.higher for mk in quality})
    if not dirs:
        return ""
    head = ("Best, Collapsed, Bounced: from every evaluation after 0 images of the complete and diverged runs "
            "(running and failed runs are left out). ")
    # the module's last rule defines Diverged; the column states it once, for every metric
    if len(dirs) == 1:
        return head + " ".join(stability_rules(dirs[0])[:-1])
    return head + " ".join(f"{'Higher' if h else 'Lower'}-is-better metrics: " + " ".join(stability_rules(h)[:-1])
                           for h in dirs)


def main_table(g: Group, eff: EfficiencyIndex, marks: Marks = NO_MARKS) -> Table | None:
    entries = main_entries(g)
    if not entries:
        return None
    quality, checks = g.quality_metrics, g.check_metrics
    ranks = dict(main_ranks(g))
    show_variant = any(v != "default" for _, v in entries)
    params = [_params(g.subset(m, v)) for m, v in entries]
    frozen = _any_frozen(params)
    several = len(quality) > 1

    def head(text: str, mk: MetricKey) -> str:
        return f"{text} {_short(mk)}" if several else text

    cols = ["Model"] + (["Variant"] if show_variant else []) + ["Status", "Seeds", "kimg"]
    for mk in quality:
        cols += ([mk.label] + ([head("Rank", mk)] if ranked(ranks[mk]) else [])
                 + [head("Best", mk), head("Collapsed", mk), head("Bounced", mk)])
    cols += ["Diverged"] + [check_header(mk) for mk in checks]
    cols += ["NoP-G (M)", "NoP-D (M)"] + (["Frozen G / D (M)"] if frozen else []) + ["Train time (s)"]
    rows, bold, stab_items = [], set(), []
    for i, ((m, v), p) in enumerate(zip(entries, params)):
        sub = g.subset(m, v)
        cells = ([m + marks.suffix(m)] + ([v] if show_variant else [])
                 + [status_text(sub), seeds_text(sub), _kimg_range(sub)])
        for mk in quality:
            cells.append(_metric_cell(g, m, v, mk)[0])
            r = ranks[mk]
            if ranked(r):
                if r.entries[i].bold:
                    bold |= {(i, len(cells) - 1), (i, len(cells))}
                cells.append(r.entries[i].interval)
            st = stability_of(g, m, v, mk)
            stab_items.append((entry_name(m, v), mk, st))
            cells += [st.best, st.collapsed, st.bounced]
        cells.append(f"{int((sub['status'] == 'diverged').sum())}/{len(sub)}")
        cells += [check_cell(g, m, v, mk) for mk in checks]
        cells += [fmt.millions(p["params_g"]), fmt.millions(p["params_d"])]
        cells += [_frozen(p)] if frozen else []
        cells.append(_train_time(sub))
        rows.append(cells)
    copy = check_caption(checks)
    caption = " ".join(s for s in (
        _caption_common(g, g.metrics),
        f"Values: {CI}, at each run's final evaluation; runs that diverged or failed are counted in Status and left "
        f"out of the values (↓ lower is better, ↑ higher is better).",
        rank_caption([(mk.label, ranks[mk]) for mk in quality]), _stability_caption(quality),
        stability_rules()[-1].rstrip(".") + ", of all runs of the model.", copy,
        f"NoP-G/NoP-D: trainable parameters of G and D in millions (each run's config)"
        f"{FROZEN_NOTE if frozen else ''}. Train time: training wall-clock without evaluations, mean over complete "
        f"seeds.") if s)
    return Table(f"main-{g.key}", f"Main results, {g.title}", caption, cols, rows, bold,
                 stability_notes(stab_items) + _model_notes(g.runs, [m for m, _ in entries], g.metrics, marks))
