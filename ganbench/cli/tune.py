"""``ganbench tune``: one shared grid for every model (same points, seeds and budget), picked on a held-out split.

Lucic et al. 2018 ("Are GANs Created Equal?") showed that unequal tuning budgets decide GAN comparisons. The tune
suite (``ganbench/suites/tune.yaml``) runs every model at every grid point; each model's point is the one with the
lowest mean of ``select_by`` (a validated metric against the split the comparison does not use as its reference)
over seeds at the last evaluation. The selection goes to ``<results>/<suite>/selection.{json,md}``.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from . import cli
from ..errors import GanbenchError


def _same(a, b) -> bool:
    return a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9))


def select(root: Path, suite) -> "tuple[object, dict]":
    """(table of mean/std per model and grid point, {model: chosen point}) from the suite's finished runs."""
    import pandas as pd
    import yaml

    from .. import results
    from ..runner import resolve_point

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
        m = m[m.preset_name == suite.select_by]
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


@cli.command("tune")
@click.option("--suite", "suite_name", default="tune", show_default=True, help="a suite with 'grid' and 'select_by'")
@click.option("--profile", default=None, help="a profile of the suite (standard: 10 kimg, 2 seeds, wide grid)")
@click.option("--models", default=None, help="only these models (comma-separated)")
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--results-root", default=None, type=click.Path(file_okay=False))
@click.option("--data-root", default=None)
@click.option("--device", default="auto", show_default=True)
@click.option("--select-only", is_flag=True, help="do not train; select from the runs already there")
@click.option("--record", is_flag=True,
              help="also write the selection to ganbench/suites/tune.selection.json (what presets and reports cite)")
def tune_cmd(suite_name, profile, models, workers, results_root, data_root, device, select_only, record) -> None:
    """Run the shared tuning grid for every model and pick each model's grid point on the held-out metric."""
    import dataclasses

    from .. import results
    from ..io import write_json, write_text
    from ..runner import SuiteOptions, apply_profile, execute_local, expand
    from ..suites import load_suite

    suite = apply_profile(load_suite(suite_name), profile)
    suite = dataclasses.replace(suite, profiles={}, default_profile=None)  # applied once, here
    if not suite.grid:
        raise GanbenchError(f"suite {suite.name} has no 'grid': not a tuning suite")
    if suite.select_by not in suite.metrics:
        raise GanbenchError(f"suite {suite.name}: select_by {suite.select_by} is not one of its metrics")
    root = Path(results_root) if results_root else results.default_root()
    if not select_only:
        specs = expand(suite, SuiteOptions(data_root=data_root, device=device,
                                           models=tuple(models.split(",")) if models else None), root)
        results.check_writable(root)
        outcomes = execute_local(specs, workers=workers, progress=False,
                                 on_done=lambda o: click.echo(f"[{o.status}] {o.spec.run_id}", err=True))
        if any(o.status == "failed" for o in outcomes):
            click.echo("some tuning runs failed; selecting from the rest", err=True)
    table, chosen = select(root, suite)
    from ..metrics.presets import PRESETS
    from ..tuning import on_edge

    grid = {k: dict(v) for k, v in suite.grid.items()}
    windows = {m: list(w) for m, w in suite.windows.items() if m in chosen}
    payload = {"suite": suite.name, "profile": profile or "", "select_by": suite.select_by, "grid": grid,
               "points": list(grid), **({"windows": windows} if windows else {}),
               "seeds": list(suite.seeds),
               "kimg": suite.kimg, "preset": suite.preset, "dataset": suite.dataset,
               "chosen": {m: {"point": p, **grid[p]} for m, p in chosen.items()},
               "table": table.to_dict("records"), **_provenance(root / suite.name)}
    payload["edge"] = on_edge(payload)
    md = [f"# Tuning: suite {suite.name}", "",
          f"Grid (same seeds {list(suite.seeds)} and {suite.kimg:g} kimg for every model, {suite.preset} preset, "
          f"{suite.dataset}): " + "; ".join(f"{k} = {v}" for k, v in grid.items()) + "."
          + (" Each model runs its window of the grid (— outside it)." if windows else ""),
          f"Selected by the lowest mean {suite.select_by} at the last evaluation; (edge): the pick is the first or "
          f"last point the model ran.",
          f"Metric: {suite.select_by} = {PRESETS.get(suite.select_by).description}; {suite.dataset}, "
          f"{suite.resolution}x{suite.resolution}; images seen at the last evaluation: "
          f"{int(table.images_seen.min())}-{int(table.images_seen.max())}; cells: mean ± SD over seeds. "
          f"Measured at {', '.join(payload['git_commits'])} on {'; '.join(payload['devices'])}.", "",
          "| model | " + " | ".join(grid) + " | chosen |", "|---|" + "---|" * (len(grid) + 1)]
    for m, g in table.groupby("model"):
        cells = {r.point: f"{r.mean:.3f}" + (f" ± {r.std:.3f}" if r.seeds > 1 else "") for r in g.itertuples()}
        md.append(f"| {m} | " + " | ".join(cells.get(p, "—") for p in grid) + f" | {chosen[m]}"
                  + (" (edge)" if m in payload["edge"] else "") + " |")
    out = root / suite.name
    write_text(out / "selection.md", "\n".join(md) + "\n")
    write_json(out / "selection.json", payload)
    if record:
        from ..tuning import RECORD
        write_json(RECORD, payload)
        click.echo(f"recorded: {RECORD}", err=True)
    click.echo("\n".join(md))
    sys.stdout.flush()
