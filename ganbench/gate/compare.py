"""A gated value against its check, for both kinds of baseline: the verdict, and a comparison's table and verdict
text (``regress: PASS``/``regress: FAIL``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .baseline import SUITE, kind_of
from .rules import Overrides, higher_is_better, tolerance_of

if TYPE_CHECKING:
    import pandas as pd

PASSING = ("ok", "improved", "not gated")


def judge(check: dict[str, Any], new: float | None, tolerance: float, failed: str | None = None) -> str:
    """The verdict on ``new`` (None: not measured): ``not gated``; ``failed`` (why the value cannot be trusted,
    e.g. DIVERGED, MISSING); MISSING (no finite value); REGRESSION (worse by more than ``tolerance``); improved
    (better by more than it); ok."""
    if not check.get("gated", True):
        return "not gated"
    if failed:
        return failed
    if new is None or not math.isfinite(new):
        return "MISSING"
    worse = (check["value"] - new) if higher_is_better(check) else (new - check["value"])
    return "REGRESSION" if worse > tolerance else "improved" if -worse > tolerance else "ok"


@dataclass
class CheckResult:
    """One check of a baseline and what the gate measured for it."""

    check: dict[str, Any]
    new: float | None
    tolerance: float
    verdict: str  # ok | improved | not gated | REGRESSION | MISSING | DIVERGED/FAILED...
    seeds: list[int] = field(default_factory=list)  # the seeds behind ``new`` (training-suite checks)

    @property
    def failed(self) -> bool:
        return self.verdict not in PASSING


def result(check: dict[str, Any], new: float | None, over: Overrides, failed: str | None = None,
           seeds: list[int] | None = None) -> CheckResult:
    """``check`` judged on ``new`` with its tolerance (an override's from ``over``, else the baseline's)."""
    tol = tolerance_of(check, over)
    return CheckResult(check, new, tol, judge(check, new, tol, failed), list(seeds or []))


@dataclass
class Comparison:
    """A gate's outcome: every check's result, and errors that fail the gate whatever the values."""

    baseline: dict[str, Any]
    results: list[CheckResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.failed for r in self.results)

    @property
    def suite(self) -> bool:
        return kind_of(self.baseline) == SUITE

    def frame(self) -> pd.DataFrame:
        """One row per check."""
        import pandas as pd

        return pd.DataFrame([self._row(r) for r in self.results])

    def _row(self, r: CheckResult) -> dict[str, Any]:
        c = r.check
        row: dict[str, Any] = {}
        if self.suite:
            row = {"run": f"{c['model']}-{c['variant']}-{c['preset']}", "seeds": ",".join(map(str, r.seeds)),
                   "kimg": c["images_seen"] / 1000}
        label = c["protocol"] if c["metric"] in c["protocol"] else f"{c['protocol']}:{c['metric']}"
        return {**row, "metric": label, "dir": "↑" if higher_is_better(c) else "↓", "old": c["value"], "new": r.new,
                "delta": None if r.new is None else r.new - c["value"], "tolerance": r.tolerance,
                "verdict": r.verdict}

    def table(self) -> str:
        import pandas as pd

        df = self.frame()
        if not len(df):
            return "no checks"
        f = {"kimg": "{:.2f}".format, "old": "{:.4f}".format, "tolerance": "{:.4f}".format,
             "new": lambda x: "—" if x is None or pd.isna(x) else f"{x:.4f}",
             "delta": lambda x: "—" if x is None or pd.isna(x) else f"{x:+.4f}"}
        return ("means over seeds\n" if self.suite else "") + df.to_string(index=False, formatters=f)

    def verdict(self) -> str:
        b = self.baseline
        bad = [r for r in self.results if r.failed]
        gated = [r for r in self.results if r.verdict != "not gated"]
        lines = [f"regress: {e}" for e in self.errors]
        if self.suite:
            lines.append(f"regress: suite {b.get('suite')} took {self.wall_s:.1f} s (training and evaluation; "
                         f"complete runs are read, not retrained)")
        else:
            lines.append(f"regress: generator {(b.get('generator') or {}).get('spec')} evaluated in "
                         f"{self.wall_s:.1f} s (seed {b.get('eval_seed', 0)}, {b.get('dataset')})")
        checks = "gated checks" if self.suite else "checks"
        if self.ok:
            better = sum(r.verdict == "improved" for r in self.results)
            extra = (f"; {better} improved beyond tolerance (make it the new baseline with --update)"
                     if better else "")
            lines.append(f"regress: PASS ({len(gated)} {checks} within tolerance{extra})")
        else:
            lines.append(f"regress: FAIL ({len(bad)} of {len(gated)} {checks} failed"
                         + (f", {len(self.errors)} error(s)" if self.errors else "") + ")")
        return "\n".join(lines)
