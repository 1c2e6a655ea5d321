"""Pieces every table uses: the caption's conventions, rank groups and their notes, parameter and time
cells, and the efficiency measurements by run (``EfficiencyIndex``)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from .. import fmt
from ...analysis.groups import Finals, Group, MetricKey, shares_backbone
from ...results import ResultSet
from ..marks import Marks
from ...analysis.ranking import ALPHA, METHOD, rank
from ..labels import describe_group, describe_metric, finals_cell, seeds_text

LRM_LABELS = {"default": "Ours", "no_meta": "w/o Meta", "no_lrm": "w/o LRM", "residual": "w/ Residual",
              "sa": "w/ SA"}
PARAM_NAMES = ("params_g", "params_d", "params_g_frozen", "params_d_frozen")
FROZEN_NOTE = "; Frozen: parameters with requires_grad off (pretrained or fixed random networks)"
CI = ("mean ± half-width of the 95% Student-t confidence interval over complete seeds (scipy.stats.t; one seed: its "
      "value, no interval)")
NO_MARKS = Marks()
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
    cell = finals_cell(f)
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
    descs = "; ".join(describe_metric(mk) for mk in metrics) or "no metrics were recorded"
    done = g.runs.loc[g.runs["status"] == "complete", "images_seen"].dropna()
    seen = (f"{fmt.kimg(done.min())}–{fmt.kimg(done.max())} kimg" if len(done) and done.min() != done.max()
            else f"{fmt.kimg(done.iloc[0])} kimg" if len(done) else "no complete run")
    return (f"{describe_group(g)}. Metrics: {descs}. Images seen at the final evaluation: {seen} (real images shown to "
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
