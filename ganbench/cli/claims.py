"""``ganbench claims`` (the seed papers' claims tested on a results directory) and ``ganbench budget`` (seed spread,
rank groups and detectable difference at every evaluation budget, and the budget they pick)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import cli
from ..errors import GanbenchError


def _load(results_dir: str):
    from ..results import load

    root = Path(results_dir)
    if not root.is_dir():
        raise GanbenchError(f"results directory {root} does not exist")
    rs = load(root)
    if not len(rs.runs):
        raise GanbenchError(f"no runs found under {root}")
    return rs


@cli.command("claims")
@click.argument("results_dir", type=click.Path())
@click.option("--claims", "claims_file", default=None, type=click.Path(dir_okay=False),
              help="claims file [default: ganbench/claims.yaml]")
@click.option("--plan", "plan_file", default=None, type=click.Path(dir_okay=False),
              help="the frozen plan the results were run under [default: RESULTS_DIR/plan.yaml, if any; without "
                   "one the results are exploratory]")
def claims_cmd(results_dir, claims_file, plan_file) -> None:
    """Test every claim of the claims file on RESULTS_DIR (paired t / Welch, time to threshold with censoring, Holm),
    under its plan when it has one, and print the plan's deviations and the verdicts."""
    from ..analysis.claims import DEFAULT_CLAIMS, load_claims
    from ..report.claims import claims_markdown

    rs, claims = _load(results_dir), load_claims(claims_file or DEFAULT_CLAIMS)
    click.echo(claims_markdown(rs, Path(results_dir), claims, plan_file))
    sys.stdout.flush()


@cli.command("budget")
@click.argument("results_dir", type=click.Path())
def budget_cmd(results_dir) -> None:
    """Per evaluation budget of RESULTS_DIR: seeds, pooled seed SD, MDE and the model pairs separated after Holm
    (exploratory: it chooses no budget; a confirmatory run's budget is fixed in its plan before the runs)."""
    from ..analysis.groups import groups
    from ..report.markdown import table
    from ..report.power import budget_table, power_line

    gs = groups(_load(results_dir))
    tables = [(g, t) for g in gs if (t := budget_table(g))]
    if not tables:
        raise GanbenchError(f"no group under {results_dir} has two or more models with complete runs")
    for i, (g, t) in enumerate(tables):
        click.echo("\n".join(table(t, i + 1) + [power_line(g) or "", ""]))
