"""The report's tables, built from the tidy results: main comparison, ablations (LRM GAN in its paper's shape, a
generic per-model table otherwise), convergence, efficiency, paper vs ours, and the runs that did not complete.

Conventions (stated in every caption): values are taken at the final evaluation of each run; every table shows
mean ± the half-width of the 95% Student-t interval over complete seeds (one seed: the value); rank groups come from
Welch's t-tests with Holm correction (``stats.rank``) and only a group the tests separate is bold; the direction is
taken from each metric preset. Model names carry marks (``marks.Marks``): [n] deviations, ‡ samples from real data.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from . import fmt
from .document import Table
from .groups import Finals, Group, MetricKey, seeds_text, shares_backbone, status_text
from .load import ResultSet
from .marks import Marks
from .stats import ALPHA, METHOD, rank

LRM_LABELS = {"default": "Ours", "no_meta": "w/o Meta", "no_lrm": "w/o LRM", "residual": "w/ Residual",
              "sa": "w/ SA"}
PARAM_NAMES = ("params_g", "params_d", "params_g_frozen", "params_d_frozen")
FROZEN_NOTE = "; Frozen: parameters with requires_grad off (pretrained or fixed random networks)"
CI = ("mean ± half-width of the 95% Student-t confidence interval over complete seeds (scipy.stats.t; one seed: its "
      "value, no interval)")
NO_MARKS = Marks()


# ---- shared pieces --------------------------------------------------------------------------------------------
def _first(df: pd.DataFrame, col: str) -> Any:
    vals = df[col].dropna() if col in df else []
    return vals.iloc[0] if len(vals) else None


def _devices(devs) -> str:
    devs = sorted({d for d in devs if isinstance(d, str) and d})
    return "; ".join(devs) if devs else "not recorded"


def _rank(table_rows: list[list[str]], values: list[list[float]], col: int, higher: bool,
          bold: set[tuple[int, int]], label: str, said: list[str]) -> None:
    """Rank groups of one metric column: "(A)"/"(B)"/"(n=1)" appended to the cells, group A bold when the tests
    separate it; what was (not) claimed is appended to ``said``."""
    r = rank(values, higher)
    if not r.claimed:
        said.append(f"{label}: no ranking is claimed ({r.reason}); nothing is bold.")
        return
    for i, grp in enumerate(r.groups):
        if grp:
            table_rows[i][col] += f" ({grp})"
    bold |= {(i, col) for i in r.bold}
    if not r.bold:
        said.append(f"{label}: group A is not bold ({r.reason}).")


def _rank_notes(said: list[str], n_cols: int) -> list[str]:
    claimed = len(said) < n_cols or any("not bold" in s for s in said)
    out = [METHOD if claimed else ""]
    if not claimed and n_cols:
        out = [f"One complete seed per model (or fewer than two models with two or more): no ranking is claimed "
               f"and nothing is bold; Welch's t-test (alpha {ALPHA:g}, Holm correction) needs two or more seeds."]
    return [o for o in out if o] + [s for s in said if claimed]


def _model_notes(g_runs: pd.DataFrame, models: list[str], metrics: list[MetricKey],
                 marks: Marks = NO_MARKS) -> list[str]:
    """Marks (deviations, sampling from real data) and shared-backbone warnings for the metrics shown."""
    notes = marks.notes(models)
    for ext in sorted({mk.extractor for mk in metrics}):
        shared = sorted(shares_backbone(ext) & set(models))
        if shared:
            notes.append(f"† {', '.join(shared)}: the discriminator is built on the pretrained network behind the "
                         f"{ext} extractor (ImageNet EfficientNet-Lite), so {ext} scores are biased in this "
                         f"model's favour (Kynkäänniemi et al., 2023); compare it with another extractor.")
    return notes


def _metric_cell(g: Group, model: str, variant: str, mk: MetricKey) -> tuple[str, Finals]:
    f = g.finals(model, variant, mk)
    cell = f.cell()
    if model in shares_backbone(mk.extractor) and f.values:
        cell += " †"
    return cell, f


def _params(sub: pd.DataFrame) -> dict[str, Any]:
    return {k: _first(sub, k) for k in PARAM_NAMES}


def _frozen(p: dict[str, Any]) -> str:
    return f"{fmt.millions(p['params_g_frozen'] or 0)} / {fmt.millions(p['params_d_frozen'] or 0)}"


def _any_frozen(ps: list[dict[str, Any]]) -> bool:
    return any((p["params_g_frozen"] or 0) + (p["params_d_frozen"] or 0) > 0 for p in ps)


def _kimg_range(sub: pd.DataFrame) -> str:
    done = sub.loc[sub["status"] == "complete", "images_seen"].dropna()
    if not len(done):
        return "—"
    lo, hi = done.min(), done.max()
    return fmt.kimg(lo) if lo == hi else f"{fmt.kimg(lo)}–{fmt.kimg(hi)}"


def _train_time(sub: pd.DataFrame) -> str:
    t = sub.loc[sub["status"] == "complete", "wall_s"].dropna()
    return fmt.seconds(float(t.mean())) if len(t) else "—"


def _caption_common(g: Group, metrics: list[MetricKey]) -> str:
    descs = "; ".join(mk.describe() for mk in metrics) or "no metrics were recorded"
    done = g.runs.loc[g.runs["status"] == "complete", "images_seen"].dropna()
    seen = (f"{fmt.kimg(done.min())}–{fmt.kimg(done.max())} kimg" if len(done) and done.min() != done.max()
            else f"{fmt.kimg(done.iloc[0])} kimg" if len(done) else "no complete run")
    return (f"{g.describe()}. Metrics: {descs}. Images seen at the final evaluation: {seen} (real images shown to "
            f"D). Seeds: {seeds_text(g.runs)}. Device: {_devices(g.runs['device'])}.")


class EfficiencyIndex:
    """Efficiency measurements by (model, preset, variant)."""

    def __init__(self, rs: ResultSet) -> None:
        self.by_key: dict[tuple[str, str, str], dict[str, Any]] = {}
        eff = rs.eff
        runs = rs.eff_runs()
        for run in runs[runs["status"] == "complete"].itertuples():
            rows = eff[(eff["run"] == run.run) & (eff["suite"] == run.suite)]
            if not len(rows):
                continue
            vals = dict(zip(rows["metric"], rows["value"]))
            it = [m for m in vals if m.startswith("it") and m.endswith("_s")]
            rec = {"values": vals, "it": (it[0], vals[it[0]]) if it else None, "device": _first(rows, "device"),
                   "resolution": _first(rows, "resolution"), "channels": _first(rows, "channels"),
                   "timing": run.timing, "run": run.run}
            self.by_key.setdefault((run.model, run.preset, run.variant), rec)

    def get(self, model: str, preset: str, variant: str) -> dict[str, Any] | None:
        return self.by_key.get((model, preset, variant))

    def it_cell(self, model: str, preset: str, variant: str) -> str:
        r = self.get(model, preset, variant)
        return fmt.seconds(r["it"][1]) if r and r["it"] else "—"

    def has_it(self, keys: list[tuple[str, str, str]]) -> bool:
        return any(k in self.by_key and self.by_key[k]["it"] for k in keys)

    def describe(self, keys: list[tuple[str, str, str]]) -> str:
        recs = [self.by_key[k] for k in keys if k in self.by_key and self.by_key[k]["it"]]
        if not recs:
            return ("IT (time to generate images) is left out: no efficiency measurement found for these runs "
                    "(run `ganbench run --suite efficiency` into the same results folder).")
        shapes = sorted({f"{int(r['channels'])}×{int(r['resolution'])}×{int(r['resolution'])}" for r in recs})
        n = sorted({r["it"][0][2:-2] for r in recs})
        return (f"IT: seconds to generate {'/'.join(n)} images (efficiency suite, randomly initialised weights, "
                f"{', '.join(shapes)}, {_devices(r['device'] for r in recs)}).")


# ---- main table -----------------------------------------------------------------------------------------------
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
               f". Train time: training wall-clock without evaluations, mean over complete seeds. (A)/(B): rank "
               f"groups at the final evaluation, alpha {ALPHA:g}, Welch's t-test with Holm correction, see the notes "
               f"(↓ lower is better, ↑ higher is better).")
    return Table(f"main-{g.key}", f"Main results, {g.title}", caption, cols, rows, bold,
                 _rank_notes(said, len(metrics)) + _model_notes(g.runs, [m for m, _ in entries], metrics, marks))


# ---- ablations ------------------------------------------------------------------------------------------------
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
               f" (A)/(B): rank groups of the variants, see the notes.")
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
            + ([f"Δ {primary.preset_name}"] if primary else []) + ["NoP-G (M)", "NoP-D (M)"]
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
            m = fmt.mean_std(means[0][-1])[0] if means[0][-1] else None
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
    delta = (f" Δ: variant mean minus the default's mean for {primary.preset_name} "
             f"({'higher' if primary.higher else 'lower'} is better)." if primary else "")
    caption = (f"Ablation of {model}, {g.title}: {_caption_common(g, metrics)} Change: the model-config fields in "
               f"which the variant's run differs from the default run. Values: {CI}.{delta} NoP-G/NoP-D: "
               f"trainable parameters in millions. {eff.describe(keys)} (A)/(B): rank groups of the variants, see "
               f"the notes.")
    return Table(f"ablation-{g.key}-{model}", f"Ablation of {model}{marks.suffix(model)}, {g.title}", caption, cols,
                 rows, bold, _rank_notes(said, len(metrics)) + _model_notes(g.runs, [model], metrics, marks))


# ---- convergence ----------------------------------------------------------------------------------------------
def _round_lenient(x: float, up: bool) -> float:
    """x to 3 significant digits, rounded towards the easier side (so the model it came from still reaches it)."""
    if x == 0 or not math.isfinite(x):
        return x
    q = 10.0 ** (math.floor(math.log10(abs(x))) - 2)
    return float(f"{(math.ceil(x / q - 1e-9) if up else math.floor(x / q + 1e-9)) * q:.6g}")


def auto_thresholds(bests: list[float], higher: bool) -> list[float]:
    """The level every model reaches (the worst model's best) and the median model's best, 3 significant digits."""
    if len(bests) < 2:
        return []
    worst = min(bests) if higher else max(bests)
    ts = [_round_lenient(t, up=not higher) for t in (worst, float(np.median(bests)))]
    return sorted(set(ts), reverse=not higher)


def _reached(rr: pd.DataFrame, t: float, higher: bool) -> tuple[float, float] | None:
    ok = rr["value"] >= t if higher else rr["value"] <= t
    if not ok.any():
        return None
    first = rr[ok].iloc[0]
    return float(first["images_seen"]), float(first["wall_s"]) if not pd.isna(first["wall_s"]) else math.nan


def _ci_cell(values: list[float], scale: float = 1.0, places: int | None = None) -> str:
    if not values:
        return "—"
    m, hw = fmt.t_interval([v / scale for v in values])
    return fmt.pm(m, hw, places)


def _init_values(g: Group, entry: tuple[str, str], mk: MetricKey) -> list[float]:
    """Each seed's value at initialisation (the evaluation at 0 images seen), where one was made."""
    return [float(rr.loc[rr["images_seen"] == 0, "value"].iloc[0]) for _, rr in g.curves(*entry, mk)
            if (rr["images_seen"] == 0).any()]


def _beats(t: float, init: list[float], higher: bool) -> bool:
    """T counts as an achievement only when it is strictly better than every seed's value at initialisation."""
    return all(t > v if higher else t < v for v in init)


def convergence_tables(g: Group, thresholds: dict[str, list[float]] | None = None,
                       marks: Marks = NO_MARKS) -> list[Table]:
    entries = main_entries(g) or [(m, v) for m in g.models() for v in g.variants(m)]
    out = []
    for mk in g.metrics:
        # the value at initialisation is a reference, not an achievement: best and thresholds use trained points
        curves = {e: [(run, rr[rr["images_seen"] > 0]) for run, rr in g.curves(*e, mk)] for e in entries}
        curves = {e: [(run, rr) for run, rr in cs if len(rr)] for e, cs in curves.items()}
        if not any(len(rr) >= 2 for cs in curves.values() for _, rr in cs):
            continue
        best_of = (lambda rr: rr["value"].max()) if mk.higher else (lambda rr: rr["value"].min())
        bests = [float(np.mean([best_of(rr) for _, rr in cs])) for cs in curves.values() if cs]
        given = (thresholds or {}).get(mk.preset_name) or (thresholds or {}).get(mk.metric)
        ts = sorted(given, reverse=not mk.higher) if given else auto_thresholds(bests, mk.higher)
        rel = "≥" if mk.higher else "≤"
        cols = (["Model", "Status", "Seeds", "Best", "kimg at best", "Final"]
                + [c for t in ts for c in (f"kimg to {rel} {fmt.num(t)}", f"time (s) to {rel} {fmt.num(t)}")])
        rows = []
        best_vals: list[list[float]] = []
        at_init: list[str] = []
        no_init: list[str] = []
        for (m, v), cs in curves.items():
            sub = g.subset(m, v)
            label = marks.label(m, v)
            if not cs:
                rows.append([label, status_text(sub), seeds_text(sub)] + ["—"] * (len(cols) - 3))
                best_vals.append([])
                continue
            b_vals, b_imgs, finals = [], [], []
            for run, rr in cs:
                i = rr["value"].idxmax() if mk.higher else rr["value"].idxmin()
                b_vals.append(float(rr.loc[i, "value"]))
                b_imgs.append(float(rr.loc[i, "images_seen"]))
                if run.status == "complete":
                    finals.append(float(rr["value"].iloc[-1]))
            cells = [label, status_text(sub), seeds_text(sub), _ci_cell(b_vals), _ci_cell(b_imgs, 1000, 2),
                     _ci_cell(finals)]
            best_vals.append(b_vals)
            init = _init_values(g, (m, v), mk)
            if not init:
                no_init.append(label)
            for t in ts:
                if not _beats(t, init, mk.higher):
                    cells += ["— (init)", "— (init)"]
                    at_init.append(f"{label} (T = {fmt.num(t)}; at 0 images: "
                                   f"{'/'.join(fmt.num(x) for x in init)})")
                    continue
                hits = [_reached(rr, t, mk.higher) for _, rr in cs]
                got = [h for h in hits if h]
                if not got:
                    cells += ["not reached", "not reached"]
                    continue
                tail = "" if len(got) == len(hits) else f" ({len(got)}/{len(hits)} seeds)"
                cells += [_ci_cell([h[0] for h in got], 1000, 2) + tail,
                          _ci_cell([h[1] for h in got if not math.isnan(h[1])], 1, 1) + tail]
            rows.append(cells)
        bold: set[tuple[int, int]] = set()
        said: list[str] = []
        _rank(rows, best_vals, 3, mk.higher, bold, "Best", said)
        every = sorted({float(x) for x in g.runs["eval_every_kimg"].dropna()})
        every_txt = (f"evaluated every {'/'.join(f'{e:g}' for e in every)} kimg" if every
                     else "evaluation points as recorded")
        how = ("none (fewer than two models)" if not ts else "given on the command line" if given else
               "chosen from the data: the worst model's best value (reached by every model on average) and the "
               "median model's best value, rounded to 3 significant digits towards the reachable side")
        caption = (f"Convergence, {g.title}, {mk.preset_name}: {_caption_common(g, [mk])} {every_txt.capitalize()} "
                   f"(best and thresholds count only evaluations after training started). Best: each seed's best "
                   f"evaluation, and the images seen at it; Final: the last evaluation of complete seeds. Thresholds "
                   f"T ({how}): images seen and training wall-clock (without evaluations) at the first evaluation "
                   f"with value {rel} T, reported only where T is better than the model's value at initialisation "
                   f"(0 images seen) for every seed, \"— (init)\" otherwise; seeds that never reach T are left out "
                   f"and counted. ± is the half-width of the 95% Student-t confidence interval over seeds "
                   f"(scipy.stats.t; none for one seed). (A)/(B): rank groups of the per-seed best values, see the "
                   f"notes.")
        notes = _rank_notes(said, 1)
        if at_init:
            notes.append("— (init): the threshold does not beat the model's own value at initialisation, so reaching "
                         "it is no sign of training: " + "; ".join(at_init) + ".")
        if no_init:
            notes.append(f"No evaluation at 0 images for {', '.join(no_init)}: thresholds not checked against "
                         f"initialisation.")
        out.append(Table(f"convergence-{g.key}-{mk.preset_name}-{mk.metric}",
                         f"Convergence, {g.title}, {mk.preset_name}", caption, cols, rows, bold,
                         notes + _model_notes(g.runs, sorted({m for m, _ in entries}), [mk], marks)))
    return out


# ---- efficiency -----------------------------------------------------------------------------------------------
def efficiency_tables(rs: ResultSet, marks: Marks = NO_MARKS) -> list[Table]:
    runs = rs.eff_runs()
    if not len(runs):
        return []
    eff = rs.eff
    preset_order = {"paper": 0, "tiny": 1}
    recs = []
    for run in runs.itertuples():
        rows = eff[(eff["run"] == run.run) & (eff["suite"] == run.suite)]
        vals = dict(zip(rows["metric"], rows["value"]))
        it = [m for m in vals if m.startswith("it") and m.endswith("_s")]
        recs.append({"run": run, "vals": vals, "it": it[0] if it else None,
                     "device": _first(rows, "device") or run.device,
                     "shape": (int(run.channels) if not pd.isna(run.channels) else 3,
                               int(run.resolution) if not pd.isna(run.resolution) else 32)})
    recs.sort(key=lambda r: (r["run"].model, preset_order.get(r["run"].preset, 9), r["run"].preset,
                             r["run"].variant != "default", r["run"].variant))
    out = []
    for part, title in (("default", "default variants"), ("variants", "ablation variants")):
        sel = [r for r in recs if (r["run"].variant == "default") == (part == "default")]
        if not sel:
            continue
        cols = (["Model", "Preset"] + (["Variant"] if part == "variants" else [])
                + ["NoP-G", "NoP-D", "Frozen G", "Frozen D", "GFLOPs / image", "IT (s)", "images / s"])
        rows = []
        for r in sel:
            run, v = r["run"], r["vals"]
            head = [run.model + marks.suffix(run.model), run.preset] + ([run.variant] if part == "variants" else [])
            if run.status != "complete":
                rows.append(head + [run.status] + ["—"] * (len(cols) - len(head) - 1))
                continue
            it = v.get(r["it"]) if r["it"] else None
            n = int(r["it"][2:-2]) if r["it"] else None
            rows.append(head + [fmt.count(v.get("params_g")), fmt.count(v.get("params_d")),
                                fmt.count(v.get("params_g_frozen")), fmt.count(v.get("params_d_frozen")),
                                f"{v['flops_per_image'] / 1e9:.3f}" if "flops_per_image" in v else "—",
                                fmt.seconds(it), f"{n / it:.1f}" if it and n else "—"])
        shapes = sorted({f"{c}×{s}×{s}" for c, s in (r["shape"] for r in sel)})
        ns = sorted({r["it"][2:-2] for r in sel if r["it"]})
        timing = sorted({str(r["run"].timing) for r in sel if isinstance(r["run"].timing, str)})
        caption = (f"Efficiency ({title}) at {', '.join(shapes)}, randomly initialised weights, no dataset (cost does "
                   f"not depend on the images; models that sample from real images draw training images). NoP: "
                   f"trainable parameters of G and D; Frozen: requires_grad-off parameters (pretrained feature "
                   f"networks, fixed random projections). GFLOPs / image: torch FlopCounterMode around "
                   f"model.sample(1), everything sampling runs (mapping, posterior or meta-data encoders), a "
                   f"multiply-add = 2 FLOPs, element-wise operations not counted. IT: seconds to generate "
                   f"{'/'.join(ns) or '?'} images ({'; '.join(timing) or 'timing method not recorded'}). "
                   f"Device: {_devices(r['device'] for r in sel)}.")
        out.append(Table(f"efficiency-{part}", f"Efficiency, {title}", caption, cols, rows,
                         notes=marks.notes(r["run"].model for r in sel)))
    return out


# ---- paper vs ours --------------------------------------------------------------------------------------------
def _ours(groups: list[Group], model: str) -> tuple[Group, MetricKey, Finals] | None:
    """Our headline number for a model: its default variant in the group with the most images seen, first FD-type
    metric."""
    best = None
    for g in groups:
        sub = g.subset(model, "default")
        if not len(sub) or not g.metrics:
            continue
        seen = sub.loc[sub["status"] == "complete", "images_seen"].dropna()
        score = (float(seen.mean()) if len(seen) else -1.0)
        if best is None or score > best[0]:
            best = (score, g)
    if best is None:
        return None
    g = best[1]
    mk = next((m for m in g.metrics if m.kind in ("fd", "fid")), g.metrics[0])
    return g, mk, g.finals(model, "default", mk)


def _our_protocol(g: Group, mk: MetricKey, f: Finals) -> str:
    n_ref = f"{fmt.count(mk.n_ref)} {mk.split}" if mk.split else "no reference"
    kimg = fmt.kimg(float(np.mean(f.images))) if f.images else "—"
    return (f"{g.dataset} {g.resolution}×{g.resolution}×{g.channels}, {mk.preset_name}: {mk.extractor}, "
            f"{fmt.count(mk.n_samples)} generated vs {n_ref}; {kimg} kimg, {g.preset} preset, "
            f"{len(f.values)} complete seed(s)")


def _differences(pub: dict[str, Any], g: Group, mk: MetricKey, conditional: bool) -> str:
    d = []
    theirs = "is" if str(pub.get("metric", "")).lower().startswith("is") else "fd"
    if theirs != ("is" if mk.kind == "is" else "fd"):
        d.append(f"metric {pub.get('metric')} → {mk.metric}")
    if str(pub.get("dataset", "")).lower() != g.dataset.lower():
        d.append(f"dataset {pub.get('dataset')} → {g.dataset}")
    if pub.get("resolution") and int(pub["resolution"]) != g.resolution:
        d.append(f"resolution {pub['resolution']} → {g.resolution}")
    if pub.get("extractor") and pub["extractor"].lower() not in mk.extractor.lower():
        d.append(f"features {pub['extractor']} → {mk.extractor}")
    if pub.get("n_gen") and pub["n_gen"] != mk.n_samples:
        d.append(f"{fmt.count(pub['n_gen'])} → {fmt.count(mk.n_samples)} generated")
    if pub.get("ref_split") and pub["ref_split"] != mk.split:
        d.append(f"reference {pub['ref_split']} → {mk.split}")
    if pub.get("conditional") is not None and bool(pub["conditional"]) != conditional:
        d.append(f"{'conditional' if pub['conditional'] else 'unconditional'} → "
                 f"{'conditional' if conditional else 'unconditional'}")
    if g.preset != "paper":
        d.append(f"{g.preset} preset (not the paper's configuration)")
    d.append("training length differs")
    return "; ".join(d)


def paper_tables(rs: ResultSet, groups: list[Group], published: dict[str, Any] | None,
                 eff: EfficiencyIndex, marks: Marks = NO_MARKS) -> list[Table]:
    if not published:
        return []
    pubs = published.get("models", {})
    ours_models = sorted(set(rs.runs["model"].dropna()))
    models = [m for m in ours_models if m in pubs]
    if not models:
        return []
    out = []
    # parameters: published counts vs our paper preset measured by the efficiency suite (left out without it)
    rows = []
    for m in models if any(eff.get(m, "paper", "default") for m in models) else []:
        p = pubs[m].get("params") or {}
        e = eff.get(m, "paper", "default")
        ev = e["values"] if e else {}
        cells = [m + marks.suffix(m)]
        for k in ("params_g", "params_d"):
            pv, ov = p.get(k), ev.get(k)
            cells += [fmt.count(pv) if pv else "not published", fmt.count(ov) if ov is not None else "—",
                      f"{100 * (ov - pv) / pv:+.2f}%" if pv and ov is not None else "—"]
        cells += [f"{fmt.count(ev.get('params_g_frozen'))} / {fmt.count(ev.get('params_d_frozen'))}" if e else "—",
                  f"{p.get('source', '—')}" + (f" [{p['evidence']}]" if p.get("evidence") else "")]
        rows.append(cells)
    shape = sorted({f"{int(e['channels'])}×{int(e['resolution'])}×{int(e['resolution'])}"
                    for e in (eff.get(m, "paper", "default") for m in models) if e})
    out += [] if not rows else [Table(
        "paper-params", "Parameter counts, paper vs ours",
        f"Parameters of the paper preset: published (or computed from the official code where the paper prints "
        f"none; evidence tags as in baselines/published.yaml: R read in the primary source, R-2 secondary source, "
        f"C computed, C-log equal to a logged count) vs measured by the efficiency suite at "
        f"{', '.join(shape) or 'no measurement'} (trainable; Frozen: requires_grad-off parameters). Δ: relative "
        f"difference.",
        ["Model", "G published", "G ours", "Δ G", "D published", "D ours", "Δ D", "Frozen G / D ours", "Source"],
        rows, align="lrrrrrrrl", notes=marks.notes(models))]
    # metrics: published numbers next to ours, with the protocol differences spelled out
    rows = []
    for m in models:
        ours = _ours(groups, m)
        o_val = o_proto = "no training run"
        conditional = False
        if ours:
            g, mk, f = ours
            o_val = f"{f.cell()} ({mk.preset_name})"
            o_proto = _our_protocol(g, mk, f)
            cfg = _first(g.subset(m, "default"), "model_config")
            conditional = bool(cfg.get("conditional")) if isinstance(cfg, dict) else False
        results = pubs[m].get("results") or []
        if not results:
            rows.append([m + marks.suffix(m), "—", "—", "not retrieved", "—", "—", o_val, o_proto, "—"])
            continue
        for i, r in enumerate(results):
            val = f"{float(r['value']):g}" + (f" ± {float(r['std']):g}" if r.get("std") else "")  # as published
            src = f"{r.get('source', '—')}" + (f" [{r['evidence']}]" if r.get("evidence") else "")
            rows.append([m + marks.suffix(m) if i == 0 else "", f"{r['dataset']} {r.get('resolution', '')}".strip(),
                         r["metric"], val,
                         r.get("protocol", "—"), src, o_val if i == 0 else "", o_proto if i == 0 else "",
                         _differences(r, *ours[:2], conditional) if ours else "—"])
    out.append(Table(
        "paper-metrics", "Published results vs ours",
        "Published numbers (baselines/published.yaml; nothing is filled in where a paper's numbers could not be "
        "retrieved) next to our headline number per model: its default variant in the results group with the most "
        f"images seen, first FD-type metric, {CI}. The values are NOT comparable: "
        "the last column lists the protocol differences (dataset, feature extractor, sample counts, conditioning, "
        "configuration, training length).",
        ["Model", "Published on", "Metric", "Value", "Their protocol", "Source", "Ours", "Our protocol",
         "Differences"], rows, align="lllrlllll", notes=marks.notes(models)))
    return out


# ---- runs that did not complete -------------------------------------------------------------------------------
def status_table(rs: ResultSet) -> Table | None:
    bad = rs.runs[rs.runs["status"] != "complete"]
    if not len(bad):
        return None
    rows = [[r.suite, r.run, r.task, r.status, fmt.kimg(r.images_seen) if not pd.isna(r.images_seen) else "—",
             str(r.reason or "—")] for r in bad.itertuples()]
    return Table("status", "Runs that did not complete",
                 "Every run whose status is not complete: diverged (non-finite losses or exploding weights; the "
                 "metrics up to that point are kept), failed (an error; see the reason), running or missing "
                 "(interrupted; `ganbench run` resumes it). Their values are left out of every other table.",
                 ["Suite", "Run", "Task", "Status", "kimg", "Reason"], rows, align="llllrl")
