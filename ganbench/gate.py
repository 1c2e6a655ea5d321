"""The regression gate's logic: tolerances, baselines and the comparison, with no training (``ganbench.regress``
runs the suites; ``ganbench.external.gate`` gates generators ganbench did not train).

A baseline JSON names a suite (``ci-quick``: StyleGAN2 tiny on Fashion-MNIST, 1.5 kimg, seeds 0-2, one thread,
``fd_domain2k_train``). Its checks are the *mean over the suite's seeds* of each metric at each evaluation of each
(model, variant, preset). The gate trains the suite (or reads it, when its runs are complete in the results
directory and were made by the current clean commit), compares each gated mean with the baseline's and fails (exit
1) when one *worsens* by more than its tolerance (direction from the metric preset); improvements never fail. A run
that diverges or fails, a missing value, or a suite that no longer expands to the baseline's runs also fail.

Tolerances come from seed spread (``--update --spread-seeds 0,1,2,3,4,5``; the seeds are kept in the baseline, so a
later ``--update`` reuses them): s is the sample std (ddof 1) of the metric at that evaluation over the m spread
seeds, and ``tolerance = max(t(0.99, m-1) * s * sqrt(2/n), FLOOR * |mean|)`` for a mean over the n gate seeds. Why:
on the machine that made the baseline a rerun is bit-identical, but another CPU, BLAS build or thread count changes
rounding, which GAN training amplifies into a difference of the size of a seed change; baseline and rerun are then
two means of n draws, whose difference has std sigma*sqrt(2/n), and the one-sided 99% Student-t factor accounts for
sigma being estimated from m seeds (m = 6, n = 3: 3.36 * 0.816 = 2.75 s).

Only checks that can catch a regression are gated: never the evaluation at 0 images (an untrained G), and only those
whose tolerance is at most MAX_GAIN of the check's gain over the untrained G (so a change that loses a quarter of
what the suite learns fails the gate); without an evaluation at 0 images, only those whose tolerance is at most
MAX_REL of the value. The others are kept in the baseline with ``gated: false`` and the reason, and are reported
but never fail; ``--update`` refuses a baseline with no gated check. Why not "at most 10% of the value" for every
check: early in GAN training the seeds disagree by 19-36% of the value (measured here at 1.5-3 kimg: StyleGAN2,
P2GAN, DCGAN tiny), so a 10% tolerance needs dozens of seeds or a budget no CI has; relative to the gain, the
StyleGAN2 gate's tolerance is 0.2x.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from .errors import GanbenchError

FORMAT = "ganbench-regress-baseline/1"
CONFIDENCE = 0.99  # one-sided: a faithful rerun on another machine fails about 1 time in 100 per check
FLOOR = 0.02  # minimum tolerance as a fraction of |value|
RULE = (f"tolerance = max(t({CONFIDENCE:g}, n-1) * sqrt(2) * s, {FLOOR:g} * |value|): s = sample std (ddof 1) of the "
        f"metric at the same evaluation over the n spread seeds; sqrt(2) because baseline and rerun are two draws; "
        f"t = one-sided Student-t quantile for a sigma estimated from n seeds. A check fails when the value worsens "
        f"(direction of the metric preset) by more than its tolerance")


def spread_tolerance(values: list[float], baseline: float) -> tuple[float, float, float]:
    """(tolerance, s, factor) from the values of one check over n >= 2 seeds (see RULE)."""
    from scipy.stats import t

    n = len(values)
    s = float(pd.Series(values).std(ddof=1))
    factor = float(t.ppf(CONFIDENCE, n - 1)) * math.sqrt(2)
    return max(factor * s, FLOOR * abs(baseline)), s, factor


MAX_GAIN = 0.25  # a check is gated only when its tolerance is at most this fraction of its gain over 0 images
MAX_REL = 0.10  # ... or, with no evaluation at 0 images, at most this fraction of |mean|
GATE = "seed-mean/1"  # training-suite baselines whose checks are means over the suite's seeds
MEAN_RULE = (f"tolerance = max(t({CONFIDENCE:g}, m-1) * s * sqrt(2/n), {FLOOR:g} * |mean|): s = sample std (ddof 1) of "
             f"the metric at the same evaluation over the m spread seeds, n = the gate's seeds (the check is their "
             f"mean); sqrt(2/n) because baseline and rerun are two means of n draws; t = one-sided Student-t "
             f"quantile for a sigma estimated from m seeds. Gated only when images_seen > 0 and tolerance <= "
             f"{MAX_GAIN:g} * the gain of the mean over the untrained G (the mean at 0 images; without one, tolerance "
             f"<= {MAX_REL:g} * |mean|). A gated check fails when the mean worsens (direction of the metric preset) "
             f"by more than its "
             f"tolerance")


def mean_tolerance(spread: list[float], n_gate: int, mean: float) -> tuple[float, float, float]:
    """(tolerance, s, factor) for a mean over ``n_gate`` seeds, s from the ``spread`` values (see MEAN_RULE)."""
    from scipy.stats import t

    s = float(pd.Series(spread).std(ddof=1))
    factor = float(t.ppf(CONFIDENCE, len(spread) - 1)) * math.sqrt(2 / n_gate)
    return max(factor * s, FLOOR * abs(mean)), s, factor


Log = Callable[[str], Any]


# ---- tolerances -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerance:
    value: float
    relative: bool = False  # a fraction of |baseline value|

    def absolute(self, baseline: float) -> float:
        return self.value * abs(baseline) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_tolerances(items: Iterable[str]) -> dict[str | None, Tolerance]:
    """``5`` / ``5%`` (every metric) or ``fd_domain2k_train=5`` / ``fd_domain=2.5%`` (a preset or metric name)."""
    out: dict[str | None, Tolerance] = {}
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


def _override(over: dict[str | None, Tolerance], check: dict[str, Any]) -> Tolerance | None:
    for k in (check.get("preset_name"), check.get("metric"), None):
        if k in over:
            return over[k]
    return None


def _higher(preset_name: str, metric: str) -> bool:
    from .report.groups import higher_is_better
    return higher_is_better(metric, preset_name)


# ---- comparing ------------------------------------------------------------------------------------------------
Group = tuple  # (model, variant, preset, images_seen, preset_name, metric)


def grouped(values: dict[tuple, dict[str, Any]]) -> dict[Group, dict[int, dict[str, Any]]]:
    """Per-run values regrouped over seeds: {(model, variant, preset, images_seen, preset_name, metric): {seed: v}}."""
    out: dict[Group, dict[int, dict[str, Any]]] = {}
    for v in values.values():
        key = (v["model"], v["variant"], v["preset"], v["images_seen"], v["preset_name"], v["metric"])
        out.setdefault(key, {})[int(v["seed"])] = v
    return out


def _group_of(c: dict[str, Any]) -> Group:
    return (c["model"], c["variant"], c["preset"], int(c["images_seen"]), c["preset_name"], c["metric"])


@dataclass
class CheckResult:
    check: dict[str, Any]
    new: float | None
    tolerance: float
    verdict: str  # ok | improved | not gated | REGRESSION | MISSING | DIVERGED/FAILED...
    seeds: list[int] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.verdict not in ("ok", "improved", "not gated")


@dataclass
class Comparison:
    baseline: dict[str, Any]
    results: list[CheckResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.failed for r in self.results)

    def frame(self) -> pd.DataFrame:
        rows = []
        for r in self.results:
            c = r.check
            delta = None if r.new is None else r.new - c["value"]
            rows.append({"run": f"{c['model']}-{c['variant']}-{c['preset']}", "seeds": ",".join(map(str, r.seeds)),
                         "kimg": c["images_seen"] / 1000, "metric": c["preset_name"],
                         "dir": "↑" if c["higher_is_better"] else "↓", "old": c["value"], "new": r.new,
                         "delta": delta, "tolerance": r.tolerance, "verdict": r.verdict})
        return pd.DataFrame(rows)

    def table(self) -> str:
        df = self.frame()
        if not len(df):
            return "no checks"
        f = {"kimg": "{:.2f}".format, "old": "{:.4f}".format, "tolerance": "{:.4f}".format,
             "new": lambda x: "—" if x is None or pd.isna(x) else f"{x:.4f}",
             "delta": lambda x: "—" if x is None or pd.isna(x) else f"{x:+.4f}"}
        return "means over seeds\n" + df.to_string(index=False, formatters=f)

    def verdict(self) -> str:
        bad = [r for r in self.results if r.failed]
        gated = [r for r in self.results if r.verdict != "not gated"]
        lines = [f"regress: {e}" for e in self.errors]
        lines.append(f"regress: suite {self.baseline.get('suite')} took {self.wall_s:.1f} s (training and evaluation; "
                     f"complete runs are read, not retrained)")
        if self.ok:
            better = sum(r.verdict == "improved" for r in self.results)
            extra = (f"; {better} improved beyond tolerance (make it the new baseline with --update)"
                     if better else "")
            lines.append(f"regress: PASS ({len(gated)} gated checks within tolerance{extra})")
        else:
            lines.append(f"regress: FAIL ({len(bad)} of {len(gated)} gated checks failed"
                         + (f", {len(self.errors)} error(s)" if self.errors else "") + ")")
        return "\n".join(lines)


def compare(baseline: dict[str, Any], values: dict[tuple, dict[str, Any]], status: dict[str, dict[str, Any]],
            over: dict[str | None, Tolerance] | None = None, runs: list[str] | None = None) -> Comparison:
    """Compare the seed means of ``values`` with the baseline's. ``status``: each measured run's status (with its
    model/variant/preset); ``runs``: the run ids the suite expands to now with its own seeds (default: ``status``'s)."""
    cmp = Comparison(baseline)
    over = over or {}
    want, have = set(baseline.get("runs", [])), set(runs if runs is not None else status)
    if want != have:
        cmp.errors.append(f"suite {baseline['suite']} now expands to runs {sorted(have)}, the baseline holds "
                          f"{sorted(want)}: the suite or its defaults changed; regenerate the baseline with --update")
    groups = grouped(values)
    for c in baseline["checks"]:
        t = _override(over, c)
        tol = t.absolute(c["value"]) if t else float(c["tolerance"])
        mine = [st for st in status.values() if (st.get("model"), st.get("variant"), st.get("preset")) ==
                (c["model"], c["variant"], c["preset"])]
        got = groups.get(_group_of(c), {})
        seeds = sorted(got)
        xs = [got[s]["value"] for s in seeds]
        new = float(sum(xs) / len(xs)) if xs else None
        sts = [st.get("status", "missing") for st in mine] or ["missing"]
        if not c.get("gated", True):
            verdict = "not gated"
        elif any(st != "complete" for st in sts):
            verdict = next(st for st in sts if st != "complete").upper()
        elif len(xs) != len(mine) or new is None or not all(math.isfinite(x) for x in xs):
            verdict = "MISSING"
        else:
            worse = (c["value"] - new) if c["higher_is_better"] else (new - c["value"])
            verdict = "REGRESSION" if worse > tol else "improved" if -worse > tol else "ok"
        cmp.results.append(CheckResult(c, new, tol, verdict, seeds))
    return cmp


def load_baseline(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise GanbenchError(f"baseline {path} not found (create it with: ganbench regress --baseline {path} "
                            f"--update --suite NAME --spread-seeds 0,1,2)")
    try:
        b = json.loads(path.read_text())
    except ValueError as e:
        raise GanbenchError(f"baseline {path} is not valid JSON: {e}") from None
    if not isinstance(b, dict) or b.get("format") != FORMAT or not isinstance(b.get("checks"), list):
        raise GanbenchError(f"{path} is not a ganbench regression baseline ({FORMAT})")
    return b


def _gate_or_why(c: dict[str, Any], init: float | None) -> str | None:
    """None when the check is gated, else why not (see MEAN_RULE)."""
    if c["images_seen"] == 0:
        return "at 0 images (an untrained G)"
    if init is None:
        if c["tolerance"] > MAX_REL * abs(c["value"]):
            return f"tolerance {c['tolerance']:.4g} is over {MAX_REL:g} of the value (seeds disagree too much here)"
        return None
    gain = (c["value"] - init) if c["higher_is_better"] else (init - c["value"])
    if gain <= c["tolerance"]:
        return f"not past the first rise (mean {c['value']:.4g} vs {init:.4g} at 0 images)"
    if c["tolerance"] > MAX_GAIN * gain:
        return (f"tolerance {c['tolerance']:.4g} is over {MAX_GAIN:g} of the gain {gain:.4g} over the untrained G "
                f"(seeds disagree too much here)")
    return None

def make_checks(values: dict[tuple, dict[str, Any]], spread: dict[Group, dict[int, dict[str, Any]]],
                spread_seeds: tuple[int, ...] | None, over: dict[str | None, Tolerance]) -> list[dict[str, Any]]:
    """The baseline's checks: the seed mean of each (run, evaluation, metric) in ``values``, its tolerance (``over``
    if given, else from ``spread``, the spread runs' values grouped) and whether it gates (``_gate_or_why``)."""
    checks = []
    for key, by_seed in sorted(grouped(values).items()):
        seeds = sorted(by_seed)
        xs = [by_seed[s]["value"] for s in seeds]
        v0 = by_seed[seeds[0]]
        c: dict[str, Any] = {k: v0[k] for k in ("model", "variant", "preset", "images_seen", "metric", "preset_name",
                                                "extractor", "n_samples")}
        c.update(seeds=seeds, values=xs, value=float(sum(xs) / len(xs)),
                 higher_is_better=_higher(v0["preset_name"], v0["metric"]))
        t = _override(over, c)
        if t is not None:
            c["tolerance"] = t.absolute(c["value"])
            c["spread"] = {"given": str(t)}
        elif spread_seeds and len(spread.get(key, {})) >= 2:
            ss = sorted(spread[key])
            sx = [spread[key][s]["value"] for s in ss]
            tol, s, factor = mean_tolerance(sx, len(xs), c["value"])
            c["tolerance"] = tol
            c["spread"] = {"seeds": ss, "values": sx, "std": s, "factor": factor}
        else:
            raise GanbenchError(f"no tolerance for {key}: pass --spread-seeds 0,1,2,3,4,5 (measured) or --tolerance")
        checks.append(c)
    inits = {_group_of(c)[:3] + _group_of(c)[4:]: c["value"] for c in checks if c["images_seen"] == 0}
    for c in checks:
        why = _gate_or_why(c, inits.get(_group_of(c)[:3] + _group_of(c)[4:]))
        c["gated"] = why is None
        if why:
            c["not_gated_because"] = why
    if not any(c["gated"] for c in checks):
        raise GanbenchError("no check of this suite can gate (every evaluation is at 0 images, before the first "
                            f"fall, or its seeds disagree by more than {MAX_GAIN:g} of its gain over the untrained "
                            "G): train longer or add seeds\n" + _describe(checks))
    return checks


def _describe(checks: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {c['model']} {c['images_seen'] / 1000:g} kimg {c['preset_name']}: mean {c['value']:.4g}, "
                     f"tolerance {c['tolerance']:.4g}" + (f" (not gated: {c['not_gated_because']})"
                                                          if c.get("not_gated_because") else "") for c in checks)


def format_baseline(b: dict[str, Any]) -> str:
    rows = [{"run": f"{c['model']}-{c['variant']}-{c['preset']}", "seeds": ",".join(map(str, c.get("seeds", []))),
             "kimg": c["images_seen"] / 1000, "metric": c["preset_name"], "mean": c["value"],
             "tolerance": c["tolerance"], "tol %": 100 * c["tolerance"] / abs(c["value"]) if c["value"] else None,
             "gated": c.get("gated", True), "spread": json.dumps(c.get("spread", {}).get("values"))}
            for c in b["checks"]]
    return pd.DataFrame(rows).to_string(index=False)
