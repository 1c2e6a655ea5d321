"""The training-suite gate (``ganbench regress --baseline baselines/ci-quick.json``): a baseline names a suite (the
CI's is ``ci-quick``, defined in ``ganbench/suites/ci-quick.yaml``) and holds, for each (model, variant, preset),
evaluation and metric, the mean over the suite's seeds with its tolerance from the spread over the spread seeds
(``rules.MEAN_RULE``).

``check`` trains the suite with the baseline's thread count (or reads it, when its runs are complete in the results
directory and were made by the current clean commit) and fails when a gated mean worsens by more than its tolerance;
improvements never fail. A run that diverges or fails, a missing value, or a suite that no longer expands to the
baseline's runs also fail. ``update_baseline`` trains the suite and its spread seeds and writes a new baseline.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import GanbenchError
from .baseline import FORMAT, GATE, SUITE, Log, kind_of, load_baseline, torch_threads, write_baseline
from .compare import Comparison, result
from .rules import MAX_GAIN, MEAN_RULE, Overrides, given_tolerance, mean_tolerance, why_not_gated

Values = dict[tuple, dict[str, Any]]  # by (run, images_seen, protocol, metric): one measured value with labels
Group = tuple  # (model, variant, preset, images_seen, protocol, metric)


# ---- running and reading the suite ----------------------------------------------------------------------------
def run_suite(suite: str, root: Path, seeds: tuple[int, ...] | None = None, device: str = "cpu",
              progress: bool = False, log: Log | None = None) -> tuple[list[Any], float, int]:
    """Expand and execute (complete runs are read back, not retrained); returns (specs, seconds, runs trained)."""
    from .. import results
    from ..executors import execute_local
    from ..suites import SuiteOptions, expand

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
    from .. import results
    from ..provenance import git_commit
    from ..suites import SuiteOptions, expand

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


def _where(suite: str, root: Path, tmp: str, rerun: bool, reuse: bool, seeds: tuple[int, ...] | None,
           log: Log | None) -> Path:
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


def measured(specs: list[Any]) -> tuple[Values, dict[str, dict[str, Any]]]:
    """Values by (run, images_seen, protocol, metric), and each run's status."""
    import pandas as pd

    from .. import results

    values: Values = {}
    status: dict[str, dict[str, Any]] = {}
    for s in specs:
        d = Path(s.out_dir)
        status[s.run_id] = {**results.read_status(d), "model": s.model, "variant": s.variant, "preset": s.preset,
                            "seed": s.seed}
        f = d / "metrics.csv"
        if not f.exists():
            continue
        for r in results.read_metrics(f).to_dict("records"):
            values[(s.run_id, int(r["images_seen"]), str(r["protocol"]), str(r["metric"]))] = {
                "run": s.run_id, "model": s.model, "variant": s.variant, "preset": s.preset, "seed": s.seed,
                "images_seen": int(r["images_seen"]), "metric": str(r["metric"]),
                "protocol": str(r["protocol"]), "extractor": str(r["extractor"]),
                "n_samples": None if pd.isna(r["n_samples"]) else int(r["n_samples"]),
                "value": float(r["value"]), "wall_s": None if pd.isna(r["wall_s"]) else float(r["wall_s"]),
                "higher_is_better": bool(r["higher_is_better"])}
    return values, status


def grouped(values: Values) -> dict[Group, dict[int, dict[str, Any]]]:
    """Per-run values regrouped over seeds: {(model, variant, preset, images_seen, protocol, metric): {seed: v}}."""
    out: dict[Group, dict[int, dict[str, Any]]] = {}
    for v in values.values():
        key = (v["model"], v["variant"], v["preset"], v["images_seen"], v["protocol"], v["metric"])
        out.setdefault(key, {})[int(v["seed"])] = v
    return out


def _group_of(c: dict[str, Any]) -> Group:
    return (c["model"], c["variant"], c["preset"], int(c["images_seen"]), c["protocol"], c["metric"])


# ---- gating -----------------------------------------------------------------------------------------------------
def compare(baseline: dict[str, Any], values: Values, status: dict[str, dict[str, Any]],
            over: Overrides | None = None, runs: list[str] | None = None) -> Comparison:
    """Compare the seed means of ``values`` with the baseline's. ``status``: each measured run's status (with its
    model/variant/preset); ``runs``: the run ids the suite expands to now with its own seeds (default: ``status``'s)."""
    cmp = Comparison(baseline)
    want, have = set(baseline.get("runs", [])), set(runs if runs is not None else status)
    if want != have:
        cmp.errors.append(f"suite {baseline['suite']} now expands to runs {sorted(have)}, the baseline holds "
                          f"{sorted(want)}: the suite or its defaults changed; regenerate the baseline with --update")
    groups = grouped(values)
    for c in baseline["checks"]:
        mine = [st for st in status.values() if (st.get("model"), st.get("variant"), st.get("preset")) ==
                (c["model"], c["variant"], c["preset"])]
        got = groups.get(_group_of(c), {})
        seeds = sorted(got)
        xs = [got[s]["value"] for s in seeds]
        sts = [st.get("status", "missing") for st in mine] or ["missing"]
        failed = next((st.upper() for st in sts if st != "complete"), None) or (
            "MISSING" if len(xs) != len(mine) else None)
        cmp.results.append(result(c, float(sum(xs) / len(xs)) if xs else None, over or {}, failed, seeds))
    return cmp


def check(path: Path, root: Path, over: Overrides | None = None, device: str = "cpu", rerun: bool = False,
          progress: bool = False, log: Log | None = None, reuse: bool = False,
          seeds: tuple[int, ...] | None = None) -> Comparison:
    """Run the baseline's suite under ``root`` (complete runs made by the current clean commit are read; with
    ``reuse`` any complete run is read; with ``rerun`` none) and compare its seed means with the baseline at
    ``path``. ``seeds``: gate other seeds than the suite's (a fresh draw, as another machine's rounding makes)."""
    from ..suites import SuiteOptions, expand

    b = load_baseline(path)
    if b.get("gate") != GATE:
        raise GanbenchError(f"{path} is an old-style baseline (per-seed checks); regenerate it with: ganbench regress "
                            f"--baseline {path} --update --spread-seeds 0,1,2,3,4,5")
    with torch_threads(b.get("torch_threads")), tempfile.TemporaryDirectory(prefix="ganbench-regress-") as tmp:
        where = _where(b["suite"], root, tmp, rerun, reuse, seeds, log)
        specs, spent, _ = run_suite(b["suite"], where, seeds, device, progress, log)
        values, status = measured(specs)
    runs = sorted(s.run_id for s in expand(b["suite"], SuiteOptions(device=device), Path(root)))
    cmp = compare(b, values, status, over, runs)
    cmp.wall_s = spent
    return cmp


# ---- making the baseline --------------------------------------------------------------------------------------
def make_checks(values: Values, spread: dict[Group, dict[int, dict[str, Any]]], spread_seeds: tuple[int, ...] | None,
                over: Overrides) -> list[dict[str, Any]]:
    """The baseline's checks: the seed mean of each (run, evaluation, metric) in ``values``, its tolerance (``over``
    if given, else from ``spread``, the spread runs' values grouped) and whether it gates (``why_not_gated``)."""
    checks = []
    for key, by_seed in sorted(grouped(values).items()):
        seeds = sorted(by_seed)
        xs = [by_seed[s]["value"] for s in seeds]
        v0 = by_seed[seeds[0]]
        c: dict[str, Any] = {k: v0[k] for k in ("model", "variant", "preset", "images_seen", "metric", "protocol",
                                                "extractor", "n_samples")}
        c.update(seeds=seeds, values=xs, value=float(sum(xs) / len(xs)),
                 higher_is_better=bool(v0["higher_is_better"]))
        t = given_tolerance(over, c)
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
        why = why_not_gated(c, inits.get(_group_of(c)[:3] + _group_of(c)[4:]))
        c["gated"] = why is None
        if why:
            c["not_gated_because"] = why
    if not any(c["gated"] for c in checks):
        raise GanbenchError("no check of this suite can gate (every evaluation is at 0 images, before the first "
                            f"fall, or its seeds disagree by more than {MAX_GAIN:g} of its gain over the untrained "
                            "G): train longer or add seeds\n" + _describe(checks))
    return checks


def _describe(checks: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {c['model']} {c['images_seen'] / 1000:g} kimg {c['protocol']}: mean {c['value']:.4g}, "
                     f"tolerance {c['tolerance']:.4g}" + (f" (not gated: {c['not_gated_because']})"
                                                          if c.get("not_gated_because") else "") for c in checks)


def _complete(specs: list[Any], what: str) -> tuple[Values, dict[str, dict[str, Any]]]:
    values, status = measured(specs)
    bad = {k: v["status"] for k, v in status.items() if v["status"] != "complete"}
    if bad:
        raise GanbenchError(f"cannot make a baseline from {what} that did not complete: {bad}")
    return values, status


def update_baseline(path: Path, root: Path, spread_seeds: tuple[int, ...] | None = None,
                    over: Overrides | None = None, suite: str | None = None, device: str = "cpu",
                    rerun: bool = False, progress: bool = False, log: Log | None = None,
                    threads: int | None = None, reuse: bool = False) -> dict[str, Any]:
    """Run the suite (its own seeds) and write the seed means as the new baseline. Tolerances: from the spread over
    ``spread_seeds`` (default: the old baseline's spread seeds), else ``over`` (given); see MEAN_RULE."""
    import torch

    from .. import provenance

    path = Path(path)
    old = load_baseline(path) if path.exists() else None
    if old is not None and kind_of(old) != SUITE:
        raise GanbenchError(f"{path} is a {old.get('kind')} baseline, not a training-suite one")
    suite = suite or (old["suite"] if old else path.stem)
    threads = threads or (old or {}).get("torch_threads") or 1  # 1: deterministic and immune to oversubscription
    over = over or {}
    if spread_seeds is None and old and old.get("gate") == GATE and not over:
        spread_seeds = tuple(old.get("spread_seeds") or ()) or None
    if spread_seeds is not None and len(spread_seeds) < 2:
        raise GanbenchError("--spread-seeds needs at least 2 seeds (e.g. 0,1,2,3,4,5)")
    with torch_threads(threads), tempfile.TemporaryDirectory(prefix="ganbench-regress-") as tmp:
        where = _where(suite, root, tmp, rerun, reuse, spread_seeds, log)
        made_on = provenance.device_name(provenance.resolve_device(device))  # with the gate's thread count
        specs, spent, trained = run_suite(suite, where, None, device, progress, log)
        values, status = _complete(specs, "runs")
        spread: dict[Group, dict[int, dict[str, Any]]] = {}
        if spread_seeds:
            sspecs, _, _ = run_suite(suite, where, tuple(spread_seeds), device, progress, log)
            spread = grouped(_complete(sspecs, "spread runs")[0])
    checks = make_checks(values, spread, spread_seeds, over)
    cmd = f"ganbench regress --baseline {path} --update" + (
        f" --spread-seeds {','.join(map(str, spread_seeds))}" if spread_seeds else "")
    b = {"format": FORMAT, "kind": SUITE, "gate": GATE, "suite": suite, "device": device, "torch_threads": threads,
         "description": "regression gate baseline: `ganbench regress --baseline THIS` reruns the suite and fails "
                        "when a gated seed mean worsens by more than its tolerance",
         "regenerate": f"{cmd}   (from a clean, committed tree; see docs/reliability.md, 'The CI gate')",
         "tolerance_rule": MEAN_RULE if spread_seeds else "given on the command line (--tolerance)",
         "spread_seeds": list(spread_seeds or ()),
         "runs": sorted(status),
         "made_with": {"git_commit": provenance.git_commit(), "torch": torch.__version__,
                       "device": made_on,
                       "train_wall_s": {k: v.get("wall_s") for k, v in sorted(status.items())},
                       "suite_wall_s": round(spent, 1) if trained == len(specs) else None,
                       "note": "suite_wall_s: seconds to train and evaluate the gate's suite (null when read back)"},
         "checks": checks}
    write_baseline(path, b)
    return b
