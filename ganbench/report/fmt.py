"""Number formatting and across-seed statistics for report tables (one place, so every table reads the same)."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from scipy import stats


def decimals(x: float) -> int:
    """Decimal places for a value of this size: 2 for |x| >= 1, 4 below (KID, precision), more when tiny."""
    a = abs(x)
    if a == 0 or a >= 1:
        return 2
    if a >= 1e-3:
        return 4
    return max(4, 1 - int(math.floor(math.log10(a))) + 2)


def num(x: float | None, places: int | None = None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{decimals(x) if places is None else places}f}"


def pm(mean: float, spread: float | None, places: int | None = None) -> str:
    """``mean ± spread`` (spread omitted when None/NaN: one seed), both at the mean's precision."""
    places = decimals(mean) if places is None else places
    if spread is None or math.isnan(spread):
        return num(mean, places)
    return f"{num(mean, places)} ± {num(spread, places)}"


def count(n: float | None) -> str:
    """Exact count with thousands separators."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    return f"{int(round(n)):,}"


def millions(n: float | None, places: int = 3) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    return f"{n / 1e6:.{places}f}"


def kimg(images: float | None) -> str:
    if images is None or (isinstance(images, float) and math.isnan(images)):
        return "—"
    return f"{images / 1000:.2f}"


def seconds(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    return f"{s:.3f}" if s < 1 else f"{s:.2f}" if s < 100 else f"{s:.1f}"


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


def join(items: Iterable) -> str:
    return ", ".join(str(i) for i in items)
