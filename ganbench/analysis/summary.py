"""Across-seed summaries every table uses: mean with sample SD, and mean with the half-width of the Student-t
confidence interval."""
from __future__ import annotations

import math
from typing import Sequence

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
