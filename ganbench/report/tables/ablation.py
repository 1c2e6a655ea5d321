"""Ablations: LRM GAN's in its paper's shape, a generic per-model table otherwise (with each variant's change
against the default paired by seed)."""
from __future__ import annotations

import math

from .. import fmt
from ..document import Table
from ...analysis.budget import primary_metric
from ...analysis.groups import Group, MetricKey
from ...analysis.ranks import RankIntervals
from ...analysis.summary import PAIRED_RULE, PairedDifference, paired_difference
from ..labels import seeds_text, status_text
from ..marks import Marks
from ._shared import (CHECK_TEXT, CI, FROZEN_NOTE, LRM_LABELS, NO_MARKS, EfficiencyIndex, _any_frozen,
                      _caption_common, _first, _frozen, _metric_cell, _model_notes, _params, _short, rank_caption,
                      ranked, ranks_of)


VARIANTS = "the variants' final values; each variant is ranked as a model is"


def _config_change(g: Group, model: str, variant: str) -> str:
    """The model-config fields in which a variant's run differs from the default variant's run."""
    if variant == "default":
        return "full model"
    base = _first(g.subset(model, "default"), "model_config")
    mine = _first(g.subset(model, variant), "model_config")
    if not isinstance(base, dict) or not isinstance(mine, dict):
        return "—"
    diff = [f"{k}={mine[k]}" for k in mine if base.get(k) != mine.get(k)]
    return ", ".join(diff) if diff else "same config"


def ablation_tables(g: Group, eff: EfficiencyIndex, marks: Marks = NO_MARKS) -> list[Table]:
    out = []
    for model in g.models():
        variants = g.variants(model)
        if len(variants) < 2:
            continue
        out.append(lrm_table(g, eff, variants, marks) if model == "lrm_gan"
                   else generic_ablation(g, eff, model, variants, marks))
    return out


def _ranked_columns(g: Group, model: str, variants: list[str], metrics: list[MetricKey], labels: list[str],
                    header=lambda mk: mk.label) -> tuple[list[str], list[list[str]], set[tuple[int, int]],
                                                         list[tuple[str, RankIntervals]]]:
    """Per quality metric its value column and, where a ranking is claimed, a Rank column; checks unranked."""
    cols: list[str] = []
    cells: list[list[str]] = [[] for _ in variants]
    bold: set[tuple[int, int]] = set()
    said = []
    for mk in metrics:
        vals = [_metric_cell(g, model, v, mk) for v in variants]
        cols.append(header(mk))
        for row, (cell, _) in zip(cells, vals):
            row.append(cell)
        if mk.is_check:
            continue
        r = ranks_of(labels, [f.values for _, f in vals], mk.higher)
        said.append((mk.label, r))
        if ranked(r):
            cols.append("Rank" if len([m for m in metrics if not m.is_check]) == 1 else f"Rank {_short(mk)}")
            for i, (row, e) in enumerate(zip(cells, r.entries)):
                row.append(e.interval)
                if e.bold:
                    bold |= {(i, len(row) - 2), (i, len(row) - 1)}
    return cols, cells, bold, said


def _shift(bold: set[tuple[int, int]], by: int) -> set[tuple[int, int]]:
    return {(i, j + by) for i, j in bold}


def _checks_text(metrics: list[MetricKey]) -> str:
    checks = [mk for mk in metrics if mk.is_check]
    return (f" {', '.join(_short(mk) for mk in checks)}: the share of generated samples the metric protocol counts "
            f"as copies of training images, {CHECK_TEXT}." if checks else "")


def lrm_table(g: Group, eff: EfficiencyIndex, variants: list[str], marks: Marks = NO_MARKS) -> Table:
    """LRM GAN's ablation in the paper's shape: Ours / w/o Meta / w/o LRM / w/ Residual / w/ SA x FID-type metric,
    IT, NoP-G, NoP-D."""
    model = "lrm_gan"
    order = [v for v in LRM_LABELS if v in variants] + [v for v in variants if v not in LRM_LABELS]
    metrics = [mk for mk in g.quality_metrics if mk.kind in ("fd", "fid")] or g.quality_metrics
    subs = {v: g.subset(model, v) for v in order}
    show_status = any(status_text(s) != "complete" for s in subs.values())
    params = [_params(subs[v]) for v in order]
    frozen = _any_frozen(params)
    keys = [(model, g.preset, v) for v in order]
    has_it = eff.has_it(keys)
    labels = [LRM_LABELS.get(v, v) for v in order]
    mcols, mcells, mbold, said = _ranked_columns(g, model, order, metrics, labels,
                                                 lambda mk: f"{mk.label} [{mk.extractor}]")
    cols = (["Method"] + (["Status"] if show_status else []) + mcols
            + (["IT (s)"] if has_it else []) + ["NoP-G (M)", "NoP-D (M)"] + (["Frozen G / D (M)"] if frozen else []))
    rows = []
    for v, p, label, mc in zip(order, params, labels, mcells):
        cells = [label] + ([status_text(subs[v])] if show_status else []) + mc
        cells += ([eff.it_cell(model, g.preset, v)] if has_it else []) + [fmt.millions(p["params_g"]),
                                                                           fmt.millions(p["params_d"])]
        cells += [_frozen(p)] if frozen else []
        rows.append(cells)
    names = ", ".join(f"{LRM_LABELS[v]} = variant {v}" for v in order if v in LRM_LABELS)
    caption = (f"LRM GAN ablation in the paper's layout, {g.title}: {_caption_common(g, metrics)} "
               f"Rows: {names}. Values: {CI}. "
               f"{eff.describe(keys)} NoP-G/NoP-D: trainable parameters of each "
               f"trained run in millions{FROZEN_NOTE if frozen else ''}. "
               f"{rank_caption(said, VARIANTS)}")
    return Table(f"ablation-{g.key}-{model}", f"LRM GAN{marks.suffix(model)} ablation, {g.title}", caption.rstrip(),
                 cols, rows, _shift(mbold, 1 + show_status), _model_notes(g.runs, [model], metrics, marks))


def _delta_cell(d: PairedDifference, places: int) -> str:
    if not d.n:
        return "no common seed"
    half = "" if math.isnan(d.half_width) else f" ± {fmt.num(d.half_width, places)}"
    return f"{d.mean:+.{places}f}{half} ({d.n} pair{'s' if d.n != 1 else ''})"


def generic_ablation(g: Group, eff: EfficiencyIndex, model: str, variants: list[str],
                     marks: Marks = NO_MARKS) -> Table:
    metrics = g.metrics
    params = [_params(g.subset(model, v)) for v in variants]
    frozen = _any_frozen(params)
    primary = primary_metric(g)
    keys = [(model, g.preset, v) for v in variants]
    has_it = eff.has_it(keys)
    mcols, mcells, mbold, said = _ranked_columns(g, model, variants, metrics, variants)
    cols = (["Variant", "Change", "Status", "Seeds"] + mcols
            + ([f"Δ {primary.protocol} (paired)"] if primary else []) + ["NoP-G (M)", "NoP-D (M)"]
            + (["Frozen G / D (M)"] if frozen else []) + (["IT (s)"] if has_it else []))
    base = g.finals(model, "default", primary) if primary else None
    rows = []
    for v, p, mc in zip(variants, params, mcells):
        sub = g.subset(model, v)
        cells = [v, _config_change(g, model, v), status_text(sub), seeds_text(sub)] + mc
        if primary:
            mine = g.finals(model, v, primary)
            if v == "default" or not base.values or not mine.values:
                cells.append("—")
            else:
                cells.append(_delta_cell(paired_difference(mine.by_seed, base.by_seed), fmt.decimals(base.mean)))
        cells += [fmt.millions(p["params_g"]), fmt.millions(p["params_d"])]
        cells += [_frozen(p)] if frozen else []
        cells += [eff.it_cell(model, g.preset, v)] if has_it else []
        rows.append(cells)
    delta = (f" Δ: {primary.protocol} at the final evaluation, {PAIRED_RULE} (n pairs in the cell; "
             f"{'higher' if primary.higher else 'lower'} is better)." if primary else "")
    caption = (f"Ablation of {model}, {g.title}: {_caption_common(g, metrics)} Change: the model-config fields in "
               f"which the variant's run differs from the default run. Values: {CI}.{delta}"
               f"{_checks_text(metrics)} NoP-G/NoP-D: trainable parameters in millions. {eff.describe(keys)} "
               f"{rank_caption(said, VARIANTS)}")
    return Table(f"ablation-{g.key}-{model}", f"Ablation of {model}{marks.suffix(model)}, {g.title}",
                 caption.rstrip(), cols, rows, _shift(mbold, 4), _model_notes(g.runs, [model], metrics, marks))
