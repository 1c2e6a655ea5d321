"""``ganbench plan freeze`` (size and freeze a confirmatory run's analysis plan from exploratory results) and
``ganbench plan show`` (what a frozen plan says)."""
from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.group("plan")
def plan_group() -> None:
    """Pre-registered analysis plans of confirmatory runs."""


@plan_group.command("freeze")
@click.option("--suite", required=True, help="the suite the confirmatory runs come from")
@click.option("--profile", required=True, help="its profile (the seeds no tuning or exploratory run used)")
@click.option("--exploratory", required=True, type=click.Path(file_okay=False),
              help="exploratory results folder the power analysis reads")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="the plan file to write (commit it)")
@click.option("--claims", "claims_file", default=None, type=click.Path(dir_okay=False),
              help="claims file [default: ganbench/claims.yaml]")
@click.option("--secondary", default="", help="comma-separated metric protocols reported beside the primary one")
@click.option("--n-main", default=10, show_default=True, help="seeds of every model's default arm (main table)")
@click.option("--n-min", default=5, show_default=True, help="fewest seeds of any arm a confirmatory claim uses")
@click.option("--n-max", default=30, show_default=True, help="more seeds than this: not affordable at this budget")
@click.option("--workers", default=2, show_default=True, help="for the compute estimate")
def freeze_cmd(suite, profile, exploratory, out, claims_file, secondary, n_main, n_min, n_max, workers) -> None:
    """Size every claim on the exploratory results (tuning seeds left out) and write the frozen plan."""
    from ..analysis.claims import DEFAULT_CLAIMS, load_claims
    from ..analysis.plan import freeze, write_plan
    from ..report.plan import plan_summary
    from ..suites.tuning_record import load_record

    record = load_record() or {}
    plan = freeze(Path(exploratory), suite, profile, load_claims(claims_file or DEFAULT_CLAIMS),
                  secondary=tuple(s.strip() for s in secondary.split(",") if s.strip()),
                  tuning_seeds=record.get("seeds", ()), n_main=n_main, n_min=n_min, n_max=n_max, workers=workers)
    write_plan(plan, Path(out))
    click.echo(plan_summary(plan))
    click.echo(f"wrote {out}: commit it before running (`ganbench run --plan {out}`)")


@plan_group.command("show")
@click.argument("plan_file", type=click.Path(dir_okay=False))
def show_cmd(plan_file) -> None:
    """Print a frozen plan's arms, seeds, claims and expected compute (and check its hash)."""
    from ..analysis.plan import frozen_by, load_plan
    from ..report.plan import plan_summary

    plan = load_plan(plan_file)
    click.echo(plan_summary(plan))
    click.echo(f"hash {plan.hash}; frozen by commit {frozen_by(Path(plan_file))}")
