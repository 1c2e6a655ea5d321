"""Ablations: LRM GAN's in its paper's shape, a generic per-model table otherwise."""
from __future__ import annotations

from .. import fmt
from ..document import Table
from ...analysis.groups import Group
from ...analysis.summary import mean_std
from ..labels import seeds_text, status_text
from ..marks import Marks
from ._shared import (CI, FROZEN_NOTE, LRM_LABELS, NO_MARKS, EfficiencyIndex, _any_frozen, _caption_common,
                      _first, _frozen, _metric_cell, _model_notes, _params, _rank, _rank_notes)


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


def lrm_table(g: Group, eff: EfficiencyIndex, variants: list[str], marks: Marks = NO_MARKS) -> Table:
    """LRM GAN's ablation in the paper's shape: Ours / w/o Meta / w/o LRM / w/ Residual / w/ SA x FID-type metric,
    IT, NoP-G, NoP-D."""
    model = "lrm_gan"
    order = [v for v in LRM_LABELS if v in variants] + [v for v in variants if v not in LRM_LABELS]
    metrics = [mk for mk in g.metrics if mk.kind in ("fd", "fid")] or g.metrics
    subs = {v: g.subset(model, v) for v in order}
    show_status = any(status_text(s) != "complete" for s in subs.values())
    params = [_params(subs[v]) for v in order]
    frozen = _any_frozen(params)
    keys = [(model, g.preset, v) for v in order]
    has_it = eff.has_it(keys)
    cols = (["Method"] + (["Status"] if show_status else []) + [f"{mk.label} [{mk.extractor}]" for mk in metrics]
            + (["IT (s)"] if has_it else []) + ["NoP-G (M)", "NoP-D (M)"] + (["Frozen G / D (M)"] if frozen else []))
    rows, means = [], [[] for _ in metrics]
    for v, p in zip(order, params):
        cells = [LRM_LABELS.get(v, v)] + ([status_text(subs[v])] if show_status else [])
        for j, mk in enumerate(metrics):
            cell, f = _metric_cell(g, model, v, mk)
            cells.append(cell)
            means[j].append(f.values)
        cells += ([eff.it_cell(model, g.preset, v)] if has_it else []) + [fmt.millions(p["params_g"]),
                                                                           fmt.millions(p["params_d"])]
        cells += [_frozen(p)] if frozen else []
        rows.append(cells)
    bold: set[tuple[int, int]] = set()
    said: list[str] = []
    for j, mk in enumerate(metrics):
        _rank(rows, means[j], 1 + show_status + j, mk.higher, bold, mk.label, said)
    labels = ", ".join(f"{LRM_LABELS[v]} = variant {v}" for v in order if v in LRM_LABELS)
    caption = (f"LRM GAN ablation in the paper's layout, {g.title}: {_caption_common(g, metrics)} "
               f"Rows: {labels}. Values: {CI}. "
               f"{eff.describe(keys)} NoP-G/NoP-D: trainable parameters of each "
               f"trained run in millions{FROZEN_NOTE if frozen else ''}."
               f" (A)/(B)/...: rank groups of the variants, see the notes.")
    return Table(f"ablation-{g.key}-{model}", f"LRM GAN{marks.suffix(model)} ablation, {g.title}", caption, cols,
                 rows, bold, _rank_notes(said, len(metrics)) + _model_notes(g.runs, [model], metrics, marks))


def generic_ablation(g: Group, eff: EfficiencyIndex, model: str, variants: list[str],
                     marks: Marks = NO_MARKS) -> Table:
    metrics = g.metrics
    params = [_params(g.subset(model, v)) for v in variants]
    frozen = _any_frozen(params)
    primary = metrics[0] if metrics else None
    keys = [(model, g.preset, v) for v in variants]
    has_it = eff.has_it(keys)
    cols = (["Variant", "Change", "Status", "Seeds"] + [mk.label for mk in metrics]
            + ([f"Δ {primary.protocol}"] if primary else []) + ["NoP-G (M)", "NoP-D (M)"]
            + (["Frozen G / D (M)"] if frozen else []) + (["IT (s)"] if has_it else []))
    base = g.finals(model, "default", primary).mean if primary else None
    rows, means = [], [[] for _ in metrics]
    for v, p in zip(variants, params):
        sub = g.subset(model, v)
        cells = [v, _config_change(g, model, v), status_text(sub), seeds_text(sub)]
        for j, mk in enumerate(metrics):
            cell, f = _metric_cell(g, model, v, mk)
            cells.append(cell)
            means[j].append(f.values)
        if primary:
            m = mean_std(means[0][-1])[0] if means[0][-1] else None
            none = m is None or base is None or v == "default"
            cells.append("—" if none else f"{m - base:+.{fmt.decimals(base)}f}")
        cells += [fmt.millions(p["params_g"]), fmt.millions(p["params_d"])]
        cells += [_frozen(p)] if frozen else []
        cells += [eff.it_cell(model, g.preset, v)] if has_it else []
        rows.append(cells)
    bold: set[tuple[int, int]] = set()
    said: list[str] = []
    for j, mk in enumerate(metrics):
        _rank(rows, means[j], 4 + j, mk.higher, bold, mk.label, said)
    delta = (f" Δ: variant mean minus the default's mean for {primary.protocol} "
             f"({'higher' if primary.higher else 'lower'} is better)." if primary else "")
    caption = (f"Ablation of {model}, {g.title}: {_caption_common(g, metrics)} Change: the model-config fields in "
               f"which the variant's run differs from the default run. Values: {CI}.{delta} NoP-G/NoP-D: "
               f"trainable parameters in millions. {eff.describe(keys)} (A)/(B)/...: rank groups of the variants, see "
               f"the notes.")
    return Table(f"ablation-{g.key}-{model}", f"Ablation of {model}{marks.suffix(model)}, {g.title}", caption, cols,
                 rows, bold, _rank_notes(said, len(metrics)) + _model_notes(g.runs, [model], metrics, marks))
