"""``ganbench tune``: one shared grid for every model (same points, seeds and budget), picked on a held-out split
(``analysis.tuning``). The selection goes to ``<results>/<suite>/selection.{json,md}``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import cli


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
    from .. import results
    from ..analysis.tuning import run_tuning
    from ..report.tuning import write_selection

    root = Path(results_root) if results_root else results.default_root()
    suite, payload, table = run_tuning(suite_name, profile, root, tuple(models.split(",")) if models else None,
                                       workers, data_root, device, select_only,
                                       log=lambda s: click.echo(s, err=True))
    md = write_selection(suite, payload, table, root / suite.name, record, log=lambda s: click.echo(s, err=True))
    click.echo("\n".join(md))
    sys.stdout.flush()
