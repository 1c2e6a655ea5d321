"""The gate's rules, for both kinds of baseline: the tolerance formula and its stated text, ``--tolerance``
overrides, a metric's direction and which checks gate. No training, evaluation or files.

A baseline value and a gated value are two draws (a training-suite check: two means of n seeds; a generator check:
two evaluations), so with s the sample std over m spread seeds the tolerance is
``max(t(0.99, m-1) * s * sqrt(2/n), 2% of |value|)``: on the machine that made the baseline a rerun is bit-identical,
but another CPU, BLAS build or thread count changes rounding, which GAN training amplifies into a difference of the
size of a seed change; the one-sided 99% Student-t factor accounts for sigma being estimated from m seeds
(m = 6, n = 3: 3.36 * 0.816 = 2.75 s).

Only checks that can catch a regression gate: never the evaluation at 0 images (an untrained G), and only those whose
tolerance is at most MAX_GAIN of the check's gain over the untrained G (a change that loses a quarter of what the
suite learns fails); without an evaluation at 0 images, only those whose tolerance is at most MAX_REL of the value.
Why not "at most 10% of the value" for every check: early in GAN training the seeds disagree by 19-36% of the value
(measured at 1.5-3 kimg: StyleGAN2, P2GAN, DCGAN tiny), so a 10% tolerance needs dozens of seeds or a budget no CI
has.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import GanbenchError

CONFIDENCE = 0.99  # one-sided: a faithful rerun on another machine fails about 1 time in 100 per check
FLOOR = 0.02  # minimum tolerance as a fraction of |value|
MAX_GAIN = 0.25  # a check is gated only when its tolerance is at most this fraction of its gain over 0 images
MAX_REL = 0.10  # ... or, with no evaluation at 0 images, at most this fraction of |mean|


def _fails(what: str) -> str:
    return f"fails when the {what} worsens (direction of the metric protocol) by more than its tolerance"


MEAN_RULE = (f"tolerance = max(t({CONFIDENCE:g}, m-1) * s * sqrt(2/n), {FLOOR:g} * |mean|): s = sample std (ddof 1) of "
             f"the metric at the same evaluation over the m spread seeds, n = the gate's seeds (the check is their "
             f"mean); sqrt(2/n) because baseline and rerun are two means of n draws; t = one-sided Student-t "
             f"quantile for a sigma estimated from m seeds. Gated only when images_seen > 0 and tolerance <= "
             f"{MAX_GAIN:g} * the gain of the mean over the untrained G (the mean at 0 images; without one, tolerance "
             f"<= {MAX_REL:g} * |mean|). A gated check {_fails('mean')}")
SPREAD_RULE = (f"tolerance = max(t({CONFIDENCE:g}, n-1) * sqrt(2) * s, {FLOOR:g} * |value|): s = sample std (ddof 1) "
               f"of the metric over the n evaluation (sampling) seeds of the same generator, i.e. sample noise only "
               f"(no training noise); sqrt(2) because the baseline and the gated value are two draws. A check "
               f"{_fails('value')}")


def mean_tolerance(spread: list[float], n_gate: int, value: float) -> tuple[float, float, float]:
    """(tolerance, s, factor) for a mean over ``n_gate`` draws with s from the ``spread`` values (MEAN_RULE; one
    draw, ``n_gate`` = 1, is SPREAD_RULE)."""
    import pandas as pd
    from scipy.stats import t

    s = float(pd.Series(spread).std(ddof=1))
    factor = float(t.ppf(CONFIDENCE, len(spread) - 1)) * math.sqrt(2 / n_gate)
    return max(factor * s, FLOOR * abs(value)), s, factor


@dataclass(frozen=True)
class Tolerance:
    """A tolerance given on the command line (``--tolerance``)."""

    value: float
    relative: bool = False  # a fraction of |baseline value|

    def absolute(self, baseline: float) -> float:
        return self.value * abs(baseline) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


Overrides = dict[str | None, Tolerance]  # by preset or metric name; None: every metric


def parse_tolerances(items: Iterable[str]) -> Overrides:
    """``5`` / ``5%`` (every metric) or ``fd_domain2k_train=5`` / ``fd_domain=2.5%`` (a preset or metric name)."""
    out: Overrides = {}
    for it in items:
        name, sep, val = it.rpartition("=")
        val = val.strip()
        rel = val.endswith("%")
        try:
            x = float(val[:-1] if rel else val)
        except ValueError:
            raise GanbenchError(f"bad --tolerance {it!r}; expected [METRIC=]VALUE[%], e.g. 5, 3%, "
                                f"fd_domain2k_train=4") from None
        if not math.isfinite(x) or x < 0:
            raise GanbenchError(f"bad --tolerance {it!r}: must be a finite number >= 0")
        out[name.strip() or None if sep else None] = Tolerance(x / 100 if rel else x, rel)
    return out


def given_tolerance(over: Overrides, check: dict[str, Any]) -> Tolerance | None:
    """The override that applies to ``check``: its preset's, else its metric's, else the one for every metric."""
    for k in (check.get("protocol"), check.get("metric"), None):
        if k in over:
            return over[k]
    return None


def tolerance_of(check: dict[str, Any], over: Overrides) -> float:
    """The tolerance ``check`` is gated with: an override's, else the baseline's."""
    t = given_tolerance(over, check)
    return t.absolute(check["value"]) if t else float(check["tolerance"])


def declared_direction(protocol: str) -> bool:
    """The direction a metric protocol declares (for baselines that do not store the direction of a check)."""
    from ..metrics import PROTOCOLS

    return bool(PROTOCOLS.get(protocol).higher_is_better)


def higher_is_better(check: dict[str, Any]) -> bool:
    """A check's direction: as its baseline stores it, else its metric protocol's."""
    if "higher_is_better" in check:
        return bool(check["higher_is_better"])
    return declared_direction(check["protocol"])


def why_not_gated(check: dict[str, Any], init: float | None) -> str | None:
    """None when ``check`` gates, else why not; ``init``: the same metric's value at 0 images (see MEAN_RULE)."""
    c = check
    if c["images_seen"] == 0:
        return "at 0 images (an untrained G)"
    if init is None:
        if c["tolerance"] > MAX_REL * abs(c["value"]):
            return f"tolerance {c['tolerance']:.4g} is over {MAX_REL:g} of the value (seeds disagree too much here)"
        return None
    gain = (c["value"] - init) if higher_is_better(c) else (init - c["value"])
    if gain <= c["tolerance"]:
        return f"not past the first rise (mean {c['value']:.4g} vs {init:.4g} at 0 images)"
    if c["tolerance"] > MAX_GAIN * gain:
        return (f"tolerance {c['tolerance']:.4g} is over {MAX_GAIN:g} of the gain {gain:.4g} over the untrained G "
                f"(seeds disagree too much here)")
    return None
