"""Equal tuning (``ganbench tune``): each model's grid point picked on a held-out metric (``select``, ``selection``)
and the committed tuning record of which point was picked for each model's comparison preset.

Lucic et al. 2018 ("Are GANs Created Equal?") showed that unequal tuning budgets decide GAN comparisons. The tune
suite (``ganbench/suites/tune.yaml``) runs every model at every grid point; each model's point is the one with the
lowest mean of ``select_by`` (a validated metric against the split the comparison does not use as its reference)
over seeds at the last evaluation.

``ganbench tune --record`` writes ``ganbench/suites/tune.selection.json`` (grid, seeds, budget, selection metric,
the measured table and the chosen point per model, with the commit and device it was measured on). The ``tiny``
presets carry the chosen learning rates as literal values; ``tests/test_tune.py`` checks that they equal the paper
rates times the recorded multiplier (no hand-picked values), and reports print the record (``Tuning`` section).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import GanbenchError

from ..suites.tuning_record import load_record


def tuned_rates(model: str, record: dict[str, Any] | None = None) -> dict[str, float] | None:
    """{lr_g, lr_d} the record picked for ``model`` (paper rates times the chosen multiplier), or None."""
    from ..suites import resolve_point

    record = load_record() if record is None else record
    if not record or model not in record.get("chosen", {}):
        return None
    point = record["grid"][record["chosen"][model]["point"]]
    return {k: float(v) for k, v in resolve_point(model, point).items() if k in ("lr_g", "lr_d")}


def tested_points(record: dict[str, Any], model: str) -> list[str]:
    """The grid points ``model`` ran, in grid order: its window where the record has windows, else the whole grid."""
    points = list(record.get("points") or record["grid"])
    window = (record.get("windows") or {}).get(model)
    return [p for p in points if p in window] if window else points


def on_edge(record: dict[str, Any]) -> list[str]:
    """Models whose chosen point is the first or last point they ran: a wider grid might pick another value."""
    ends = {m: tested_points(record, m) for m in record["chosen"]}
    return sorted(m for m, c in record["chosen"].items() if c["point"] in (ends[m][0], ends[m][-1]))


def _same(a, b) -> bool:
    return a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9))


def select(root: Path, suite) -> "tuple[object, dict]":
    """(table of mean/std per model and grid point, {model: chosen point}) from the suite's finished runs."""
    import pandas as pd
    import yaml

    from .. import results
    from ..suites import resolve_point

    rows = []
    for run_dir in sorted((root / suite.name).glob("*/")):
        if not (run_dir / "config.yaml").exists() or results.read_status(run_dir).get("status") != "complete":
            continue
        spec = yaml.safe_load((run_dir / "config.yaml").read_text())["spec"]
        if not _same(spec.get("kimg"), suite.kimg) or spec.get("seed") not in suite.seeds:
            continue  # another profile's run (e.g. the 2-kimg grid next to the standard one)
        over = dict(spec.get("overrides") or [])
        point = next((n for n, p in suite.grid.items()
                      if all(_same(over.get(k), v) for k, v in resolve_point(spec["model"], p).items())), None)
        m = pd.read_csv(run_dir / "metrics.csv")
        m = m[m.protocol == suite.select_by]
        if point is None or m.empty:
            continue
        last = m[m.images_seen == m.images_seen.max()]
        rows.append({"model": spec["model"], "point": point, "seed": spec["seed"], "value": float(last.value.iloc[0]),
                     "images_seen": int(last.images_seen.iloc[0])})
    if not rows:
        raise GanbenchError(f"no complete runs of suite {suite.name} with {suite.select_by} under {root}")
    df = pd.DataFrame(rows)
    table = df.groupby(["model", "point"]).agg(mean=("value", "mean"), std=("value", "std"), seeds=("seed", "count"),
                                               images_seen=("images_seen", "max")).reset_index()
    chosen = {m: g.sort_values("mean").iloc[0]["point"] for m, g in table.groupby("model")}
    return table, chosen


def _provenance(suite_dir: Path) -> dict:
    """Commit(s), device(s) and date of the tuning runs (from their config.yaml)."""
    import datetime

    import yaml

    commits, devices = set(), set()
    for cfg in suite_dir.glob("*/config.yaml"):
        c = yaml.safe_load(cfg.read_text()) or {}
        env = c.get("environment") or {}
        commits.add(str(env.get("git_commit", "unknown")))
        devices.add(str(env.get("device", "unknown")))
    return {"git_commits": sorted(commits), "devices": sorted(devices),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")}


def selection(root: Path, suite, profile: str | None = None) -> tuple[dict[str, Any], Any]:
    """The selection record of a tuning suite's finished runs under ``root`` (grid, windows, seeds, budget, the
    measured table, the chosen point per model, where it sits in its window, commits and devices) and the table."""
    table, chosen = select(root, suite)
    grid = {k: dict(v) for k, v in suite.grid.items()}
    windows = {m: list(w) for m, w in suite.windows.items() if m in chosen}
    payload = {"suite": suite.name, "profile": profile or "", "select_by": suite.select_by, "grid": grid,
               "points": list(grid), **({"windows": windows} if windows else {}),
               "seeds": list(suite.seeds),
               "kimg": suite.kimg, "preset": suite.preset, "dataset": suite.dataset,
               "chosen": {m: {"point": p, **grid[p]} for m, p in chosen.items()},
               "table": table.to_dict("records"), **_provenance(root / suite.name)}
    payload["edge"] = on_edge(payload)
    return payload, table


def run_tuning(suite_name: str, profile: str | None, root: Path, models: tuple[str, ...] | None = None,
               workers: int = 1, data_root: str | None = None, device: str = "auto", select_only: bool = False,
               log=None) -> tuple[Any, dict[str, Any], Any]:
    """Train the tuning suite's grid (unless ``select_only``; complete runs are read back) and select each model's
    point: (the profiled suite, the selection record, its table)."""
    import dataclasses

    from .. import results
    from ..executors import execute_local
    from ..suites import SuiteOptions, apply_profile, expand, load_suite

    suite = apply_profile(load_suite(suite_name), profile)
    suite = dataclasses.replace(suite, profiles={}, default_profile=None)  # applied once, here
    if not suite.grid:
        raise GanbenchError(f"suite {suite.name} has no 'grid': not a tuning suite")
    if suite.select_by not in suite.metrics:
        raise GanbenchError(f"suite {suite.name}: select_by {suite.select_by} is not one of its metrics")
    if not select_only:
        specs = expand(suite, SuiteOptions(data_root=data_root, device=device, models=models), root)
        results.check_writable(root)
        outcomes = execute_local(specs, workers=workers, progress=False,
                                 on_done=(lambda o: log(f"[{o.status}] {o.spec.run_id}")) if log else None)
        if any(o.status == "failed" for o in outcomes) and log:
            log("some tuning runs failed; selecting from the rest")
    payload, table = selection(root, suite, profile)
    return suite, payload, table
