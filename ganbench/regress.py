"""The regression gate: ``ganbench regress --baseline baselines/ci-quick.json``.

A baseline JSON names a deterministic suite (``ci-quick``: DCGAN tiny on Fashion-MNIST, 2 kimg, seed 0,
``fd_domain2k_train``) and holds, for every evaluation of every run, the metric value measured when the baseline
was made and a tolerance. The gate runs the suite (or reads it, when its runs are already complete in the results
directory), compares each value with the baseline and fails (exit 1) when one *worsens* by more than its tolerance
(direction from the metric preset); improvements never fail, they are reported. A run that diverges or fails, a
missing value or a suite that no longer expands to the baseline's runs also fail.

Tolerances come from measured seed-to-seed spread (``--update --spread-seeds 0,1,2``): the same suite is run with
those seeds, and each value's tolerance is ``max(t(0.99, n-1) * sqrt(2) * s, FLOOR * |value|)`` with ``s`` the sample
standard deviation (ddof 1) of that metric at that evaluation over the n seeds. Why seed spread: on the machine that
made the baseline a rerun is bit-identical (fixed seeds, fixed torch thread count), but another CPU, BLAS build or
thread count changes rounding, and GAN training amplifies rounding differences into differences of the size of a
seed change. The gate then compares two such draws (baseline and rerun), whose difference has standard deviation
sqrt(2) sigma; the one-sided 99% Student-t factor accounts for sigma being estimated from only n seeds (n = 3:
t = 6.96, so the tolerance is 9.85 s). The floor guards against a spuriously small ``s``. The seeds, their values,
``s`` and the rule are stored next to each tolerance.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
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


# ---- running the suite ----------------------------------------------------------------------------------------
def _threads(n: int | None):
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    return old


def run_suite(suite: str, root: Path, seeds: tuple[int, ...] | None = None, device: str = "cpu",
              progress: bool = False, log: Log | None = None) -> tuple[list[Any], float, int]:
    """Expand and execute (complete runs are read back, not retrained); returns (specs, seconds, runs trained)."""
    from . import results
    from .runner import SuiteOptions, execute_local, expand

    specs = expand(suite, SuiteOptions(seeds=seeds, device=device), Path(root))
    if not specs:
        raise GanbenchError(f"suite {suite} has no runs")
    results.check_writable(Path(root))
    trained = 0
    for s in specs:
        if results.read_status(Path(s.out_dir))["status"] == "complete":
            if log:
                log(f"regress: reading complete run {s.out_dir}")
        else:
            trained += 1
    t0 = time.perf_counter()
    outcomes = execute_local(specs, workers=1, progress=progress)
    spent = time.perf_counter() - t0
    for o in outcomes:
        if o.status != "complete" and log:
            log(f"regress: run {o.spec.run_id} {o.status}: {o.error}")
    return specs, spent, trained


def stale_reason(suite: str, root: Path, seeds: tuple[int, ...] | None = None) -> str | None:
    """Why complete runs of ``suite`` under ``root`` cannot stand for the code checked out now (None: they can).
    Only runs made at the current commit of a clean working tree are trusted; anything else is retrained."""
    from . import results
    from .provenance import git_commit
    from .runner import SuiteOptions, expand

    now = git_commit()
    for s in expand(suite, SuiteOptions(seeds=seeds), Path(root)):
        if results.read_status(Path(s.out_dir))["status"] != "complete":
            continue
        made = _config_commit(Path(s.out_dir))
        if now == "unknown" or now.endswith("-dirty"):
            return f"the code has uncommitted changes ({now}), so complete runs in {root} may come from other code"
        if made != now:
            return f"complete run {s.out_dir} was made at commit {made}, the checkout is at {now}"
    return None


def _where(suite: str, root: Path, tmp: str, rerun: bool, reuse: bool, seeds, log: Log | None) -> Path:
    if rerun:
        return Path(tmp)
    if not reuse:
        why = next((w for w in (stale_reason(suite, root, sd) for sd in (None, seeds)) if w), None)
        if why:
            if log:
                log(f"regress: {why}; training afresh in a temporary directory (--reuse reads them anyway)")
            return Path(tmp)
    return Path(root)


def _config_commit(run_dir: Path) -> str:
    import yaml

    try:
        return str(yaml.safe_load((run_dir / "config.yaml").read_text())["environment"]["git_commit"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return "unknown"


def measured(specs: list[Any]) -> tuple[dict[tuple, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Values by (run, images_seen, preset_name, metric), and each run's status."""
    from . import results

    values: dict[tuple, dict[str, Any]] = {}
    status: dict[str, dict[str, Any]] = {}
    for s in specs:
        d = Path(s.out_dir)
        status[s.run_id] = results.read_status(d)
        f = d / "metrics.csv"
        if not f.exists():
            continue
        for r in pd.read_csv(f).to_dict("records"):
            values[(s.run_id, int(r["images_seen"]), str(r["preset_name"]), str(r["metric"]))] = {
                "run": s.run_id, "model": s.model, "variant": s.variant, "preset": s.preset, "seed": s.seed,
                "images_seen": int(r["images_seen"]), "metric": str(r["metric"]),
                "preset_name": str(r["preset_name"]), "extractor": str(r["extractor"]),
                "n_samples": None if pd.isna(r["n_samples"]) else int(r["n_samples"]),
                "value": float(r["value"]), "wall_s": None if pd.isna(r["wall_s"]) else float(r["wall_s"])}
    return values, status


def _higher(preset_name: str, metric: str) -> bool:
    from .report.groups import higher_is_better
    return higher_is_better(metric, preset_name)


# ---- comparing ------------------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    check: dict[str, Any]
    new: float | None
    tolerance: float
    verdict: str  # ok | improved | REGRESSION | MISSING | DIVERGED/FAILED...

    @property
    def failed(self) -> bool:
        return self.verdict not in ("ok", "improved")


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
            rows.append({"run": f"{c['model']}-{c['variant']}-{c['preset']}-s{c['seed']}",
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
        return df.to_string(index=False, formatters=f)

    def verdict(self) -> str:
        bad = [r for r in self.results if r.failed]
        lines = [f"regress: {e}" for e in self.errors]
        lines.append(f"regress: suite {self.baseline.get('suite')} took {self.wall_s:.1f} s (training and evaluation; "
                     f"complete runs are read, not retrained)")
        if self.ok:
            better = sum(r.verdict == "improved" for r in self.results)
            extra = (f"; {better} improved beyond tolerance (make it the new baseline with --update)"
                     if better else "")
            lines.append(f"regress: PASS ({len(self.results)} checks within tolerance{extra})")
        else:
            lines.append(f"regress: FAIL ({len(bad)} of {len(self.results)} checks failed"
                         + (f", {len(self.errors)} error(s)" if self.errors else "") + ")")
        return "\n".join(lines)


def compare(baseline: dict[str, Any], values: dict[tuple, dict[str, Any]], status: dict[str, dict[str, Any]],
            over: dict[str | None, Tolerance] | None = None) -> Comparison:
    cmp = Comparison(baseline)
    over = over or {}
    want = set(baseline.get("runs", []))
    have = set(status)
    if want != have:
        cmp.errors.append(f"suite {baseline['suite']} now expands to runs {sorted(have)}, the baseline holds "
                          f"{sorted(want)}: the suite or its defaults changed; regenerate the baseline with --update")
    for c in baseline["checks"]:
        t = _override(over, c)
        tol = t.absolute(c["value"]) if t else float(c["tolerance"])
        st = status.get(c["run"], {}).get("status", "missing")
        got = values.get((c["run"], int(c["images_seen"]), c["preset_name"], c["metric"]))
        new = got["value"] if got else None
        if st != "complete":
            verdict = st.upper()
        elif new is None or not math.isfinite(new):
            verdict = "MISSING"
        else:
            worse = (c["value"] - new) if c["higher_is_better"] else (new - c["value"])
            verdict = "REGRESSION" if worse > tol else "improved" if -worse > tol else "ok"
        cmp.results.append(CheckResult(c, new, tol, verdict))
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


def check(path: Path, root: Path, over: dict[str | None, Tolerance] | None = None, device: str = "cpu",
          rerun: bool = False, progress: bool = False, log: Log | None = None, reuse: bool = False) -> Comparison:
    """Run the baseline's suite under ``root`` (complete runs made by the current clean commit are read; with
    ``reuse`` any complete run is read; with ``rerun`` none) and compare it with the baseline at ``path``."""
    b = load_baseline(path)
    old = _threads(b.get("torch_threads"))
    try:
        with tempfile.TemporaryDirectory(prefix="ganbench-regress-") as tmp:
            where = _where(b["suite"], root, tmp, rerun, reuse, None, log)  # seeds None: the suite's
            specs, spent, _ = run_suite(b["suite"], where, None, device, progress, log)
            values, status = measured(specs)
    finally:
        _threads(old)
    cmp = compare(b, values, status, over)
    cmp.wall_s = spent
    return cmp


# ---- making the baseline --------------------------------------------------------------------------------------
def update_baseline(path: Path, root: Path, spread_seeds: tuple[int, ...] | None = None,
                    over: dict[str | None, Tolerance] | None = None, suite: str | None = None, device: str = "cpu",
                    rerun: bool = False, progress: bool = False, log: Log | None = None,
                    threads: int | None = None, reuse: bool = False) -> dict[str, Any]:
    """Run the suite and write its values as the new baseline. Tolerances: from ``spread_seeds`` (measured), else
    ``over`` (given), else kept from the old baseline for checks it already had."""
    import torch

    from . import provenance

    path = Path(path)
    old = load_baseline(path) if path.exists() else None
    suite = suite or (old["suite"] if old else path.stem)
    threads = threads or (old or {}).get("torch_threads") or 1  # 1: deterministic and immune to oversubscription
    over = over or {}
    prev_threads = _threads(threads)
    try:
        with tempfile.TemporaryDirectory(prefix="ganbench-regress-") as tmp:
            where = _where(suite, root, tmp, rerun, reuse, spread_seeds, log)
            made_on = provenance.device_name(provenance.resolve_device(device))  # with the gate's thread count
            specs, spent, trained = run_suite(suite, where, None, device, progress, log)
            values, status = measured(specs)
            bad = {k: v["status"] for k, v in status.items() if v["status"] != "complete"}
            if bad:
                raise GanbenchError(f"cannot make a baseline from runs that did not complete: {bad}")
            spread_vals: dict[tuple, dict[int, float]] = {}
            if spread_seeds:
                sspecs, _, _ = run_suite(suite, where, tuple(spread_seeds), device, progress, log)
                svalues, sstatus = measured(sspecs)
                bad = {k: v["status"] for k, v in sstatus.items() if v["status"] != "complete"}
                if bad:
                    raise GanbenchError(f"spread runs did not complete: {bad}")
                for v in svalues.values():
                    key = (v["model"], v["variant"], v["preset"], v["images_seen"], v["preset_name"], v["metric"])
                    spread_vals.setdefault(key, {})[v["seed"]] = v["value"]
    finally:
        _threads(prev_threads)
    old_checks = {(c["run"], c["images_seen"], c["preset_name"], c["metric"]): c
                  for c in (old or {}).get("checks", [])}
    checks = []
    for key in sorted(values, key=lambda k: (k[0], k[1], k[2], k[3])):
        v = values[key]
        c = {k: v[k] for k in ("run", "model", "variant", "preset", "seed", "images_seen", "metric", "preset_name",
                               "extractor", "n_samples", "value")}
        c["higher_is_better"] = _higher(v["preset_name"], v["metric"])
        skey = (v["model"], v["variant"], v["preset"], v["images_seen"], v["preset_name"], v["metric"])
        t = _override(over, c)
        if spread_seeds and len(spread_vals.get(skey, {})) >= 2:
            seeds = sorted(spread_vals[skey])
            xs = [spread_vals[skey][s] for s in seeds]
            tol, s, factor = spread_tolerance(xs, v["value"])
            c["tolerance"] = tol
            c["spread"] = {"seeds": seeds, "values": xs, "std": s, "factor": factor}
        elif t is not None:
            c["tolerance"] = t.absolute(v["value"])
            c["spread"] = {"given": str(t)}
        elif key in old_checks:
            c["tolerance"] = old_checks[key]["tolerance"]
            c["spread"] = old_checks[key].get("spread", {})
        else:
            raise GanbenchError(f"no tolerance for {key}: pass --spread-seeds 0,1,2 (measured) or --tolerance")
        checks.append(c)
    b = {"format": FORMAT, "suite": suite, "device": device, "torch_threads": threads,
         "description": "regression gate baseline: `ganbench regress --baseline THIS` reruns the suite and fails "
                        "when a value worsens by more than its tolerance; `--update` rewrites it",
         "tolerance_rule": RULE if spread_seeds else "given on the command line or kept from the previous baseline",
         "runs": sorted(status),
         "made_with": {"git_commit": provenance.git_commit(), "torch": torch.__version__,
                       "device": made_on,
                       "train_wall_s": {k: v.get("wall_s") for k, v in sorted(status.items())},
                       "suite_wall_s": round(spent, 1) if trained == len(specs) else None,
                       "note": "suite_wall_s: seconds to train and evaluate the gate's suite (null when read back)"},
         "checks": checks}
    from .io import write_text
    write_text(path, json.dumps(b, indent=2, sort_keys=False) + "\n")
    return b


def format_baseline(b: dict[str, Any]) -> str:
    rows = [{"run": c["run"], "kimg": c["images_seen"] / 1000, "metric": c["preset_name"], "value": c["value"],
             "tolerance": c["tolerance"], "spread": json.dumps(c.get("spread", {}).get("values"))}
            for c in b["checks"]]
    return pd.DataFrame(rows).to_string(index=False)
