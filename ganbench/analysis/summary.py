"""Across-seed summaries every table uses: mean with sample SD, mean with the half-width of the Student-t
confidence interval, and the mean of per-seed differences over the seeds two arms share (paired by seed)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

import numpy as np
from scipy import stats


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; NaN for one value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of the Student-t confidence interval over seeds (NaN for one value)."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan")
    sem = float(v.std(ddof=1)) / math.sqrt(len(v))
    return m, float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * sem)


@dataclass(frozen=True)
class PairedDifference:
    """Mean of the per-seed differences a - b over the seeds both arms ran, with the half-width of its 95% Student-t
    interval (NaN for one pair; mean NaN for none)."""
    mean: float
    half_width: float
    seeds: tuple[Hashable, ...]  # the common seeds, sorted

    @property
    def n(self) -> int:
        return len(self.seeds)


PAIRED_RULE = ("paired by seed: the mean of the per-seed differences (variant minus default) over the seeds both "
               "arms completed, ± the half-width of its 95% Student-t interval (scipy.stats.t, df = pairs - 1; none "
               "for one pair); seeds only one arm ran are left out")


def paired_difference(a: Mapping[Hashable, float], b: Mapping[Hashable, float],
                      level: float = 0.95) -> PairedDifference:
    """a - b paired by seed (``a``, ``b``: seed -> value): only the seeds in both enter."""
    common = tuple(sorted(set(a) & set(b), key=lambda s: (str(type(s)), s)))
    if not common:
        return PairedDifference(math.nan, math.nan, ())
    mean, half = t_interval([float(a[s]) - float(b[s]) for s in common], level)
    return PairedDifference(mean, half, common)
