"""Caption and cell text for the analysis objects (``analysis.groups``): what a metric is, what a group of runs is,
a model's final values, its runs' statuses and seeds."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..analysis.groups import STATUS_ORDER, Finals, Group, MetricKey
from ..analysis.summary import t_interval
from . import fmt


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def describe_metric(mk: MetricKey) -> str:
    """'fd_domain2k_train = fd_domain (fmnist-cnn features), 2,000 generated vs 60,000 train images'."""
    ref = (f" vs {fmt.count(mk.n_real)} {mk.split} images" if mk.split and not _nan(mk.n_real)
           else f" vs the {mk.split} split" if mk.split else "")
    return f"{mk.protocol} = {mk.metric} ({mk.extractor} features), {fmt.count(mk.n_samples)} generated{ref}"


def describe_group(g: Group) -> str:
    """Dataset, split, size and image shape of a group, for captions."""
    n = g.runs["n_train"].dropna()
    split = g.runs["split"].dropna()
    size = f", {fmt.count(n.iloc[0])} images" if len(n) else ""
    sp = f" ({split.iloc[0]} split{size})" if len(split) else ""
    return (f"{g.dataset}{sp}, {g.resolution}×{g.resolution}, {g.channels} channel"
            f"{'s' if g.channels != 1 else ''}, {g.preset} preset")


def finals_cell(f: Finals, places: int | None = None) -> str:
    """'mean ± 95% half-width' of the complete seeds' final values (``places`` decimals, else the mean's own
    precision), else what happened to the runs."""
    if f.values:
        m, hw = t_interval(f.values)
        return fmt.pm(m, hw, places)
    if f.diverged:
        return "diverged"
    if f.other:
        return f.other[0]
    return "—"


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
