"""Comparable sets of training runs ("groups": one suite on one dataset, shape and preset), their metrics and the
per-seed values that tables, claims and budgets aggregate. Everything here is read from the results (the direction
of each metric included: its rows' ``higher_is_better``); nothing is assumed."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..results import ResultSet
from .summary import mean_std

STATUS_ORDER = ("complete", "diverged", "failed", "running", "missing")
CHECK_PREFIXES = ("copy_rate", "c_t")  # metrics that check the samples (copying), not quality scores: never ranked
FLAG_PREFIX = "copy_flagged"  # 1/0 per run: whether the copy rate's exact test flagged copying (counted, not shown)


def shares_backbone(extractor: str) -> set[str]:
    """Models whose networks contain this extractor's backbone (their scores with it are biased)."""
    try:
        from ..metrics import FEATURES
        return set(getattr(FEATURES.get(extractor), "shares_backbone_with", ()) or ())
    except Exception:  # noqa: BLE001
        return set()


@dataclass(frozen=True)
class MetricKey:
    protocol: str
    metric: str
    extractor: str
    n_samples: float
    n_real: float
    split: str | None
    higher: bool
    unique_in_preset: bool = True

    @property
    def label(self) -> str:
        name = self.protocol if self.unique_in_preset else f"{self.protocol}:{self.metric}"
        return f"{name} {'↑' if self.higher else '↓'}"

    @property
    def kind(self) -> str:
        return self.metric.split("_")[0]

    @property
    def is_check(self) -> bool:
        """A check of the samples (``copy_rate*``: the share of samples counted as copies of training images;
        ``c_t*``: Meehan et al.'s C_T; ``copy_flagged*``: the copy rate's verdict), not a quality score: tables show
        it but never rank or bold it."""
        return self.metric.startswith((*CHECK_PREFIXES, FLAG_PREFIX))

    @property
    def is_flag(self) -> bool:
        return self.metric.startswith(FLAG_PREFIX)


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
        cols = ["protocol", "metric", "extractor", "n_samples", "n_real", "split", "higher_is_better"]
        uniq = self.rows[cols].drop_duplicates(["protocol", "metric"])
        per_preset = uniq.groupby("protocol", dropna=False)["metric"].nunique().to_dict()
        return [MetricKey(str(r.protocol), str(r.metric), str(r.extractor), r.n_samples, r.n_real,
                          None if _nan(r.split) else str(r.split), bool(r.higher_is_better),
                          per_preset.get(r.protocol, 1) == 1) for r in uniq.itertuples()]

    @property
    def quality_metrics(self) -> list[MetricKey]:
        """The metrics that rank models (every metric but the checks)."""
        return [mk for mk in self.metrics if not mk.is_check]

    @property
    def check_metrics(self) -> list[MetricKey]:
        """The copying checks shown as columns (the copy rate and C_T; the flag is counted in the copy rate's cell)."""
        return [mk for mk in self.metrics if mk.is_check and not mk.is_flag]

    def flags(self, model: str, variant: str, mk: MetricKey) -> tuple[int, int] | None:
        """(runs flagged, runs checked) by the copy rate's verdict row of the same protocol, or None."""
        flag = next((f for f in self.metrics if f.is_flag and f.protocol == mk.protocol), None)
        if flag is None or not mk.metric.startswith("copy_rate"):
            return None
        vals = self.finals(model, variant, flag).values
        return int(sum(v > 0 for v in vals)), len(vals)

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
        return r[(r["run"] == run) & (r["protocol"] == mk.protocol) & (r["metric"] == mk.metric)] \
            .sort_values("images_seen")

    def finals(self, model: str, variant: str, mk: MetricKey) -> "Finals":
        """The last value of each seed (complete runs) plus what happened to the others."""
        out = Finals()
        for run in self.subset(model, variant).itertuples():
            rr = self.run_rows(run.run, mk)
            if run.status == "complete" and len(rr):
                out.values.append(float(rr["value"].iloc[-1]))
                out.images.append(float(rr["images_seen"].iloc[-1]))
                out.seeds.append(_int(run.seed))
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

    def devices(self) -> list[str]:
        return sorted(self.runs["device"].dropna().unique())


@dataclass
class Finals:
    values: list[float] = field(default_factory=list)  # last value of each complete seed
    images: list[float] = field(default_factory=list)  # images seen at that value
    seeds: list[Any] = field(default_factory=list)  # the seed of each value
    diverged: list[float] = field(default_factory=list)  # images seen when each diverged seed stopped
    other: list[str] = field(default_factory=list)  # statuses of failed/running seeds

    @property
    def mean(self) -> float | None:
        return mean_std(self.values)[0] if self.values else None

    @property
    def by_seed(self) -> dict[Any, float]:
        """{seed: final value} of the complete seeds."""
        return dict(zip(self.seeds, self.values))


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
