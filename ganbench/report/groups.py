"""Comparable sets of training runs ("groups": one suite on one dataset, shape and preset), their metrics and the
per-seed values the tables aggregate. Everything here is read from the results; nothing is assumed."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from . import fmt
from .load import ResultSet

HIGHER_PREFIXES = ("is", "precision", "recall", "density", "coverage")
STATUS_ORDER = ("complete", "diverged", "failed", "running", "missing")


def higher_is_better(metric: str, preset_name: str | None) -> bool:
    """Direction from the metric preset (``Preset.higher_is_better``); by metric name for unknown presets."""
    try:
        from ..metrics import PRESETS
        if preset_name and preset_name in PRESETS:
            return bool(PRESETS.get(preset_name).higher_is_better)
    except Exception:  # noqa: BLE001  (a report must render even when the metric harness cannot be imported)
        pass
    return metric.split("_")[0].rstrip("0123456789k") in HIGHER_PREFIXES


def shares_backbone(extractor: str) -> set[str]:
    """Models whose networks contain this extractor's backbone (their scores with it are biased)."""
    try:
        from ..metrics import FEATURES
        return set(getattr(FEATURES.get(extractor), "shares_backbone_with", ()) or ())
    except Exception:  # noqa: BLE001
        return set()


@dataclass(frozen=True)
class MetricKey:
    preset_name: str
    metric: str
    extractor: str
    n_samples: float
    n_ref: float
    split: str | None
    higher: bool
    unique_in_preset: bool = True

    @property
    def label(self) -> str:
        name = self.preset_name if self.unique_in_preset else f"{self.preset_name}:{self.metric}"
        return f"{name} {'↑' if self.higher else '↓'}"

    @property
    def kind(self) -> str:
        return self.metric.split("_")[0]

    def describe(self) -> str:
        ref = (f" vs {fmt.count(self.n_ref)} {self.split} images" if self.split and not _nan(self.n_ref)
               else f" vs the {self.split} split" if self.split else "")
        return (f"{self.preset_name} = {self.metric} ({self.extractor} features), "
                f"{fmt.count(self.n_samples)} generated{ref}")


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


@dataclass
class Group:
    suite: str
    dataset: str
    resolution: int
    channels: int
    preset: str
    runs: pd.DataFrame  # training runs of this group (load.RUN_FIELDS)
    rows: pd.DataFrame  # their metric rows
    several_in_suite: bool = False

    @property
    def key(self) -> str:
        base = self.suite
        if self.several_in_suite:
            base += f"-{self.dataset}-{self.resolution}-{self.channels}-{self.preset}"
        return "".join(c if c.isalnum() else "-" for c in base)

    @property
    def title(self) -> str:
        extra = f" ({self.dataset}, {self.preset} preset)" if self.several_in_suite else ""
        return f"suite {self.suite}{extra}"

    @cached_property
    def metrics(self) -> list[MetricKey]:
        if not len(self.rows):
            return []
        cols = ["preset_name", "metric", "extractor", "n_samples", "n_ref", "split"]
        uniq = self.rows[cols].drop_duplicates(["preset_name", "metric"])
        per_preset = uniq.groupby("preset_name", dropna=False)["metric"].nunique().to_dict()
        return [MetricKey(str(r.preset_name), str(r.metric), str(r.extractor), r.n_samples, r.n_ref,
                          None if _nan(r.split) else str(r.split), higher_is_better(r.metric, r.preset_name),
                          per_preset.get(r.preset_name, 1) == 1) for r in uniq.itertuples()]

    def models(self) -> list[str]:
        return sorted(self.runs["model"].dropna().unique())

    def variants(self, model: str) -> list[str]:
        """Variants of ``model`` here: ``default`` first, then in the model's declared order, then by name."""
        have = set(self.runs.loc[self.runs["model"] == model, "variant"].dropna())
        try:
            from ..models import MODELS
            declared = list(MODELS.get(model).variants)
        except Exception:  # noqa: BLE001
            declared = []
        order = ["default"] + [v for v in declared if v != "default"]
        return [v for v in order if v in have] + sorted(have - set(order))

    def subset(self, model: str, variant: str) -> pd.DataFrame:
        r = self.runs
        return r[(r["model"] == model) & (r["variant"] == variant)]

    def run_rows(self, run: str, mk: MetricKey) -> pd.DataFrame:
        r = self.rows
        return r[(r["run"] == run) & (r["preset_name"] == mk.preset_name) & (r["metric"] == mk.metric)] \
            .sort_values("images_seen")

    def finals(self, model: str, variant: str, mk: MetricKey) -> "Finals":
        """The last value of each seed (complete runs) plus what happened to the others."""
        out = Finals()
        for run in self.subset(model, variant).itertuples():
            rr = self.run_rows(run.run, mk)
            if run.status == "complete" and len(rr):
                out.values.append(float(rr["value"].iloc[-1]))
                out.images.append(float(rr["images_seen"].iloc[-1]))
            elif run.status == "diverged":
                out.diverged.append(float(run.images_seen) if not _nan(run.images_seen) else math.nan)
            elif run.status != "complete":
                out.other.append(run.status)
        return out

    def curves(self, model: str, variant: str, mk: MetricKey) -> list[tuple[Any, pd.DataFrame]]:
        """(run record, its rows sorted by images seen) for every run with rows."""
        out = []
        for run in self.subset(model, variant).itertuples():
            rr = self.run_rows(run.run, mk)
            if len(rr):
                out.append((run, rr))
        return out

    def describe(self, n_note: bool = True) -> str:
        """Dataset, split, size and image shape of this group, for captions."""
        n = self.runs["n_train"].dropna()
        split = self.runs["split"].dropna()
        size = f", {fmt.count(n.iloc[0])} images" if len(n) else ""
        sp = f" ({split.iloc[0]} split{size})" if len(split) else ""
        return (f"{self.dataset}{sp}, {self.resolution}×{self.resolution}, {self.channels} channel"
                f"{'s' if self.channels != 1 else ''}, {self.preset} preset")

    def devices(self) -> list[str]:
        return sorted(self.runs["device"].dropna().unique())


@dataclass
class Finals:
    values: list[float] = field(default_factory=list)  # last value of each complete seed
    images: list[float] = field(default_factory=list)  # images seen at that value
    diverged: list[float] = field(default_factory=list)  # images seen when each diverged seed stopped
    other: list[str] = field(default_factory=list)  # statuses of failed/running seeds

    def cell(self) -> str:
        if self.values:
            m, hw = fmt.t_interval(self.values)
            return fmt.pm(m, hw)
        if self.diverged:
            return "diverged"
        if self.other:
            return self.other[0]
        return "—"

    @property
    def mean(self) -> float | None:
        return fmt.mean_std(self.values)[0] if self.values else None


def groups(rs: ResultSet) -> list[Group]:
    """Training runs grouped by (suite, dataset, resolution, channels, preset), sorted by suite."""
    runs = rs.train_runs()
    if not len(runs):
        return []
    keys = ["suite", "dataset", "resolution", "channels", "preset"]
    runs = runs.assign(**{k: runs[k].map(_key) for k in keys})  # comparable labels ("?" where unknown)
    per_suite = runs.groupby("suite")[keys[1:]].apply(lambda d: len(d.drop_duplicates())).to_dict()
    out = []
    for key, g in runs.groupby(keys, sort=True):
        suite, dataset, res, ch, preset = key
        rows = rs.rows[rs.rows["suite"].eq(suite) & rs.rows["run"].isin(g["run"])]
        out.append(Group(suite, str(dataset), _int(res), _int(ch), str(preset), g.reset_index(drop=True),
                         rows.reset_index(drop=True), per_suite.get(suite, 1) > 1))
    return out


def _key(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _int(x: Any) -> Any:
    try:
        return int(x)
    except (TypeError, ValueError):
        return x


def status_text(runs: pd.DataFrame) -> str:
    """'complete', or counts such as '1 complete, 1 diverged at 1.02 kimg'."""
    counts = runs["status"].value_counts().to_dict()
    if set(counts) == {"complete"}:
        return "complete"
    parts = []
    for s in STATUS_ORDER + tuple(sorted(set(counts) - set(STATUS_ORDER))):
        if counts.get(s):
            text = f"{counts[s]} {s}"
            if s == "diverged":
                at = runs.loc[runs["status"] == "diverged", "images_seen"].dropna()
                if len(at):
                    text += " at " + "/".join(fmt.kimg(v) for v in at) + " kimg"
            parts.append(text)
    return ", ".join(parts)


def seeds_text(runs: pd.DataFrame) -> str:
    return fmt.join(sorted(int(s) for s in runs["seed"].dropna().unique()))
