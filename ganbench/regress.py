"""The regression gate: ``ganbench regress --baseline baselines/ci-quick.json``, the running of its suite.

A baseline JSON names a suite (``ci-quick``: StyleGAN2 tiny on Fashion-MNIST, 1.5 kimg, seeds 0-2, one thread,
``fd_domain2k_train``). ``check`` trains the suite (or reads it, when its runs are complete in the results directory
and were made by the current clean commit) and compares its seed means with the baseline; ``update_baseline`` trains
it (and its spread seeds) and writes a new one. The gate's logic - tolerances, which checks gate, the comparison and
the baseline format - is in ``ganbench.gate`` (its names are re-exported here).
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import GanbenchError
from .gate import (CONFIDENCE, FLOOR, FORMAT, GATE, MAX_GAIN, MAX_REL, MEAN_RULE, RULE, CheckResult,  # noqa: F401
                   Comparison, Group, Log, Tolerance, _gate_or_why, _group_of, _higher, _override, compare,
                   format_baseline, grouped, load_baseline, make_checks, mean_tolerance, parse_tolerances,
                   spread_tolerance)


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
        status[s.run_id] = {**results.read_status(d), "model": s.model, "variant": s.variant, "preset": s.preset,
                            "seed": s.seed}
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


def check(path: Path, root: Path, over: dict[str | None, Tolerance] | None = None, device: str = "cpu",
          rerun: bool = False, progress: bool = False, log: Log | None = None, reuse: bool = False,
          seeds: tuple[int, ...] | None = None) -> Comparison:
    """Run the baseline's suite under ``root`` (complete runs made by the current clean commit are read; with
    ``reuse`` any complete run is read; with ``rerun`` none) and compare its seed means with the baseline at
    ``path``. ``seeds``: gate other seeds than the suite's (a fresh draw, as another machine's rounding makes)."""
    from .runner import SuiteOptions, expand

    b = load_baseline(path)
    if b.get("gate") != GATE:
        raise GanbenchError(f"{path} is an old-style baseline (per-seed checks); regenerate it with: ganbench regress "
                            f"--baseline {path} --update --spread-seeds 0,1,2,3,4,5")
    old = _threads(b.get("torch_threads"))
    try:
        with tempfile.TemporaryDirectory(prefix="ganbench-regress-") as tmp:
            where = _where(b["suite"], root, tmp, rerun, reuse, seeds, log)
            specs, spent, _ = run_suite(b["suite"], where, seeds, device, progress, log)
            values, status = measured(specs)
    finally:
        _threads(old)
    runs = sorted(s.run_id for s in expand(b["suite"], SuiteOptions(device=device), Path(root)))
    cmp = compare(b, values, status, over, runs)
    cmp.wall_s = spent
    return cmp


# ---- making the baseline --------------------------------------------------------------------------------------
def _complete(specs: list[Any], what: str) -> tuple[dict[tuple, dict[str, Any]], dict[str, dict[str, Any]]]:
    values, status = measured(specs)
    bad = {k: v["status"] for k, v in status.items() if v["status"] != "complete"}
    if bad:
        raise GanbenchError(f"cannot make a baseline from {what} that did not complete: {bad}")
    return values, status


def update_baseline(path: Path, root: Path, spread_seeds: tuple[int, ...] | None = None,
                    over: dict[str | None, Tolerance] | None = None, suite: str | None = None, device: str = "cpu",
                    rerun: bool = False, progress: bool = False, log: Log | None = None,
                    threads: int | None = None, reuse: bool = False) -> dict[str, Any]:
    """Run the suite (its own seeds) and write the seed means as the new baseline. Tolerances: from the spread over
    ``spread_seeds`` (default: the old baseline's spread seeds), else ``over`` (given); see MEAN_RULE."""
    import torch

    from . import provenance

    path = Path(path)
    old = load_baseline(path) if path.exists() else None
    if old is not None and old.get("kind") not in (None, "suite"):
        raise GanbenchError(f"{path} is a {old.get('kind')} baseline, not a training-suite one")
    suite = suite or (old["suite"] if old else path.stem)
    threads = threads or (old or {}).get("torch_threads") or 1  # 1: deterministic and immune to oversubscription
    over = over or {}
    if spread_seeds is None and old and old.get("gate") == GATE and not over:
        spread_seeds = tuple(old.get("spread_seeds") or ()) or None
    if spread_seeds is not None and len(spread_seeds) < 2:
        raise GanbenchError("--spread-seeds needs at least 2 seeds (e.g. 0,1,2,3,4,5)")
    prev_threads = _threads(threads)
    try:
        with tempfile.TemporaryDirectory(prefix="ganbench-regress-") as tmp:
            where = _where(suite, root, tmp, rerun, reuse, spread_seeds, log)
            made_on = provenance.device_name(provenance.resolve_device(device))  # with the gate's thread count
            specs, spent, trained = run_suite(suite, where, None, device, progress, log)
            values, status = _complete(specs, "runs")
            spread: dict[Group, dict[int, dict[str, Any]]] = {}
            if spread_seeds:
                sspecs, _, _ = run_suite(suite, where, tuple(spread_seeds), device, progress, log)
                spread = grouped(_complete(sspecs, "spread runs")[0])
    finally:
        _threads(prev_threads)
    checks = make_checks(values, spread, spread_seeds, over)
    cmd = f"ganbench regress --baseline {path} --update" + (
        f" --spread-seeds {','.join(map(str, spread_seeds))}" if spread_seeds else "")
    b = {"format": FORMAT, "kind": "suite", "gate": GATE, "suite": suite, "device": device, "torch_threads": threads,
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
    from .io import write_text
    write_text(path, json.dumps(b, indent=2, sort_keys=False) + "\n")
    return b
