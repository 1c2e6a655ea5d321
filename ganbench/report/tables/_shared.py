"""Pieces every table uses: the caption's conventions, rank intervals and their caption, stability cells, parameter
and time cells, and the efficiency measurements by run (``EfficiencyIndex``)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from .. import fmt
from ...analysis.groups import Finals, Group, MetricKey, shares_backbone
from ...analysis.ranks import RankIntervals, rank_intervals
from ...analysis.stability import ArmStability, arm_stability
from ...results import ResultSet
from ..marks import Marks
from ..labels import describe_group, describe_metric, finals_cell, seeds_text

LRM_LABELS = {"default": "Ours", "no_meta": "w/o Meta", "no_lrm": "w/o LRM", "residual": "w/ Residual",
              "sa": "w/ SA"}
PARAM_NAMES = ("params_g", "params_d", "params_g_frozen", "params_d_frozen")
FROZEN_NOTE = "; Frozen: parameters with requires_grad off (pretrained or fixed random networks)"
CI = ("mean ± half-width of the 95% Student-t confidence interval over complete seeds (scipy.stats.t; one seed: its "
      "value, no interval)")
NO_MARKS = Marks()
CHECK_TEXT = ("a check of the samples, not a quality score: shown as the other values are (final evaluation, complete "
              "seeds), never ranked and never bold")


def _first(df: pd.DataFrame, col: str) -> Any:
    vals = df[col].dropna() if col in df else []
    return vals.iloc[0] if len(vals) else None


def _devices(devs) -> str:
    devs = sorted({d for d in devs if isinstance(d, str) and d})
    return "; ".join(devs) if devs else "not recorded"


def _short(mk: MetricKey) -> str:
    """The metric's column label without its direction arrow."""
    return mk.label.rsplit(" ", 1)[0]


def ranks_of(names: Sequence[str], values: Sequence[Sequence[float]], higher: bool) -> RankIntervals:
    """Rank intervals of the rows ``names`` (per-seed values of each; a non-finite value, which the value column
    shows as such, cannot be tested and is left out of the ranks)."""
    return rank_intervals(dict(zip(names, [[x for x in v if math.isfinite(x)] for v in values])), higher)


def ranked(r: RankIntervals) -> bool:
    """Whether a ranking is claimed: two or more rows with two or more seeds."""
    return sum(e.best is not None for e in r.entries) >= 2


def rank_caption(items: list[tuple[str, RankIntervals]], what: str = "the final values") -> str:
    """The caption's rank sentences: the module's rule texts, once when every ranked column shares them."""
    claimed = [(label, r) for label, r in items if ranked(r)]
    if not claimed:
        return ("Rank: none claimed, as fewer than two rows have two or more complete seeds (the pairwise Welch "
                "t-tests need two); nothing is bold.") if items else ""
    head = f"Rank (of {what}): the rows' possible ranks, from"
    skipped = [label for label, r in items if not ranked(r)]
    tail = (f" {', '.join(skipped)}: no rank claimed (fewer than two rows with two or more seeds)." if skipped else "")
    if len({r.rules for _, r in claimed}) == 1:
        return f"{head} all pairs of rows. " + claimed[0][1].caption + tail
    return f"{head} all pairs of rows. " + " ".join(f"{label}: {r.caption}" for label, r in claimed) + tail


@dataclass
class Stability:
    """Stability cells of one row and metric: mean best ± t-interval, collapsed and bounced shares."""
    arm: ArmStability | None

    @property
    def best(self) -> str:
        if self.arm is None or not self.arm.n_best:
            return "—"
        return fmt.pm(self.arm.mean_best, self.arm.half_width)

    @property
    def collapsed(self) -> str:
        return self.arm.share_collapsed if self.arm and self.arm.judged else "—"

    @property
    def bounced(self) -> str:
        return self.arm.share_bounced if self.arm and self.arm.judged_bounce else "—"


def _seed(x: Any) -> Any:
    try:
        return int(x)
    except (TypeError, ValueError):
        return x


def stability_of(g: Group, model: str, variant: str, mk: MetricKey) -> Stability:
    """Stability of the complete and diverged runs of one row (running and failed runs have no final value)."""
    curves, diverged = {}, set()
    for run, rr in g.curves(model, variant, mk):
        if run.status not in ("complete", "diverged"):
            continue
        pts = [(float(i), float(v)) for i, v in zip(rr["images_seen"], rr["value"]) if float(i) > 0]
        if not pts:
            continue
        seed = _seed(run.seed)
        curves[seed] = pts
        if run.status == "diverged":
            diverged.add(seed)
    return Stability(arm_stability(curves, mk.higher, diverged) if curves else None)


def stability_notes(items: list[tuple[str, MetricKey, Stability]]) -> list[str]:
    """One note per metric: the runs that bounced, the worst fall of each (so the final value hides nothing)."""
    out = []
    for mk in dict.fromkeys(mk for _, mk, _ in items):
        parts = []
        for label, m, st in items:
            if m != mk or st.arm is None:
                continue
            runs = [r for r in st.arm.runs if r.bounced and r.relapse]
            if runs:
                seeds = "; ".join(
                    f"seed {r.key}: {fmt.num(r.relapse.best)} at {fmt.kimg(r.relapse.best_time)} kimg → "
                    f"{fmt.num(r.relapse.value)} at {fmt.kimg(r.relapse.time)} kimg"
                    + (f", final {fmt.num(r.final)} (collapsed)" if r.collapsed else
                       f", final {fmt.num(r.final)}") for r in runs)
                parts.append(f"{label} ({seeds})")
        if parts:
            out.append(f"Bounced runs, {_short(mk)} (best so far → worst value after it): " + "; ".join(parts) + ".")
    return out


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


def _metric_cell(g: Group, model: str, variant: str, mk: MetricKey,
                 places: int | None = None) -> tuple[str, Finals]:
    f = g.finals(model, variant, mk)
    cell = finals_cell(f, places)
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
    descs = "; ".join(describe_metric(mk) for mk in metrics if not mk.is_flag) or "no metrics were recorded"
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


COPY_RATE_PLACES = 4  # every copy-rate cell alike: one run of 2,000 samples moves in steps of 0.0005


def check_header(mk: MetricKey) -> str:
    return f"{'Copy rate' if mk.metric.startswith('copy_rate') else 'C_T'} ({mk.protocol})"


def check_cell(g: Group, model: str, variant: str, mk: MetricKey) -> str:
    """A copying check's cell: mean ± t-interval over seeds (and, for the copy rate, the runs its exact test flagged);
    '(not validated)' when the extractor's copy ladder has not passed this metric."""
    from ...analysis.copy_ladder import validated_copy_metrics

    rate = mk.metric.startswith("copy_rate")
    cell = _metric_cell(g, model, variant, mk, COPY_RATE_PLACES if rate else None)[0]
    flags = g.flags(model, variant, mk)
    if flags:
        cell += f", flagged {flags[0]}/{flags[1]}"
    name = "copy_rate" if rate else "c_t"
    return cell if name in validated_copy_metrics(mk.extractor) else f"{cell} (not validated)"


def check_caption(checks: list[MetricKey]) -> str:
    if not checks:
        return ""
    return (f"Copying checks ({', '.join(f'{check_header(mk)}: {mk.protocol}' for mk in checks)}), {CHECK_TEXT}: "
            f"the copy rate is the share of generated samples closer to a training image than the 5% quantile of "
            f"held-out test images' distances to the training set (about 0.05 without copying; 'flagged k/n': runs "
            f"whose exact one-sided test gives p < 0.001); C_T is Meehan et al.'s data-copying statistic (below -3: "
            f"copying). Both passed the copy ladder of their extractor (ganbench validate-copying; '(not validated)' "
            f"otherwise).")
