"""Number formatting for report tables (one place, so every table reads the same)."""
from __future__ import annotations

import math
from typing import Iterable

from ..analysis.summary import mean_std, t_interval  # noqa: F401  (tables format these)


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


def join(items: Iterable) -> str:
    return ", ".join(str(i) for i in items)
