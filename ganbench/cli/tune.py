"""``ganbench tune``: one shared grid for every model (same points, seeds and budget), picked on a held-out split
(``analysis.tuning``). The selection goes to ``<results>/<suite>/selection.{json,md}``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import cli
from ..errors import GanbenchError


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
    from ..analysis.tuning import RECORD, selection
    from ..executors import execute_local
    from ..io import write_json, write_text
    from ..report.tuning import selection_markdown
    from ..suites import SuiteOptions, apply_profile, expand, load_suite

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
    payload, table = selection(root, suite, profile)
    md = selection_markdown(suite, payload, table)
    out = root / suite.name
    write_text(out / "selection.md", "\n".join(md) + "\n")
    write_json(out / "selection.json", payload)
    if record:
        write_json(RECORD, payload)
        click.echo(f"recorded: {RECORD}", err=True)
    click.echo("\n".join(md))
    sys.stdout.flush()
