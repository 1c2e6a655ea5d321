"""The main comparison: one row per model (its default variant), metrics with rank groups, parameters, time."""
from __future__ import annotations

from .. import fmt
from ..document import Table
from ...analysis.groups import Group
from ..labels import seeds_text, status_text
from ..marks import Marks
from ...analysis.inference import ALPHA
from ._shared import (CI, FROZEN_NOTE, NO_MARKS, EfficiencyIndex, _any_frozen, _caption_common, _frozen,
                      _kimg_range, _metric_cell, _model_notes, _params, _rank, _rank_notes, _train_time)


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


def main_table(g: Group, eff: EfficiencyIndex, marks: Marks = NO_MARKS) -> Table | None:
    entries = main_entries(g)
    if not entries:
        return None
    metrics = g.metrics
    show_variant = any(v != "default" for _, v in entries)
    params = [_params(g.subset(m, v)) for m, v in entries]
    frozen = _any_frozen(params)
    cols = (["Model"] + (["Variant"] if show_variant else []) + ["Status", "Seeds", "kimg"]
            + [mk.label for mk in metrics] + ["NoP-G (M)", "NoP-D (M)"] + (["Frozen G / D (M)"] if frozen else [])
            + ["Train time (s)"])
    first_metric = 1 + show_variant + 3
    rows, means = [], [[] for _ in metrics]
    for (m, v), p in zip(entries, params):
        sub = g.subset(m, v)
        cells = ([m + marks.suffix(m)] + ([v] if show_variant else [])
                 + [status_text(sub), seeds_text(sub), _kimg_range(sub)])
        for j, mk in enumerate(metrics):
            cell, f = _metric_cell(g, m, v, mk)
            cells.append(cell)
            means[j].append(f.values)
        cells += [fmt.millions(p["params_g"]), fmt.millions(p["params_d"])]
        cells += [_frozen(p)] if frozen else []
        cells.append(_train_time(sub))
        rows.append(cells)
    bold: set[tuple[int, int]] = set()
    said: list[str] = []
    for j, mk in enumerate(metrics):
        _rank(rows, means[j], first_metric + j, mk.higher, bold, mk.label, said)
    caption = (f"{_caption_common(g, metrics)} Values: {CI}; runs that diverged or failed are counted in Status "
               f"and left out of the values. "
               f"NoP-G/NoP-D: trainable parameters of G and D in millions (each run's config)"
               f"{FROZEN_NOTE if frozen else ''}"
               f". Train time: training wall-clock without evaluations, mean over complete seeds. (A)/(B)/...: rank "
               f"groups at the final evaluation, alpha {ALPHA:g}, Welch's t-test with Holm correction, see the notes "
               f"(↓ lower is better, ↑ higher is better).")
    return Table(f"main-{g.key}", f"Main results, {g.title}", caption, cols, rows, bold,
                 _rank_notes(said, len(metrics)) + _model_notes(g.runs, [m for m, _ in entries], metrics, marks))
