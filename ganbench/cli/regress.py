"""``ganbench regress``: the regression gate (``ganbench.gate``) for a training suite or an external generator."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import GanbenchError
from . import cli
from ._generator import generator_options, pop_generator_options


def _ints(option: str, value: str | None) -> tuple[int, ...] | None:
    try:
        return None if not value else tuple(int(s) for s in value.split(",") if s.strip())
    except ValueError:
        raise GanbenchError(f"bad {option} {value!r}; expected e.g. 0,1,2") from None


@cli.command("regress")
@click.option("--baseline", required=True, type=click.Path(dir_okay=False),
              help="baseline JSON (e.g. baselines/ci-quick.json)")
@click.option("--results", "results_root", default=None, type=click.Path(file_okay=False),
              help="results directory: complete runs there are read, missing ones are trained "
                   "[default: $GANBENCH_RESULTS or ./results]")
@click.option("--rerun", is_flag=True, help="train afresh in a temporary directory (ignore existing runs)")
@click.option("--reuse", is_flag=True, help="read complete runs even when they were made by other code (default: "
                                            "only runs made at the current commit of a clean checkout are read)")
@click.option("--tolerance", "tolerances", multiple=True, metavar="[METRIC=]VALUE[%]",
              help="override the baseline's tolerance (absolute, or % of the baseline value), for one metric "
                   "or all")
@click.option("--update", is_flag=True, help="rewrite the baseline from this run (deliberately)")
@click.option("--spread-seeds", default=None,
              help="with --update: also run these seeds (e.g. 0,1,2) and derive each tolerance from their spread")
@click.option("--suite", default=None, help="with --update: the suite to baseline [default: the baseline's, or the "
                                            "baseline file's name]")
@click.option("--device", default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="no progress bars")
@click.option("--metrics", default=None, help="with --generator --update: comma-separated metric protocols "
                                              "[default fd_domain2k_train]")
@click.option("--seed", type=int, default=None, help="with --generator --update: the gate's evaluation seed [0]")
@generator_options
def regress_cmd(baseline, results_root, rerun, reuse, tolerances, update, spread_seeds, suite, device, quiet,
                metrics, seed, **gen) -> None:
    """Rerun (or read) the baseline's suite and compare every metric with the committed baseline; exit 1 when a
    metric worsens beyond its tolerance. With --generator SPEC: evaluate that generator instead (no training; the
    tolerance comes from the spread over evaluation seeds)."""
    from .. import gate

    g = pop_generator_options(gen)
    req = gate.Request(Path(baseline), update=update, tolerances=tuple(tolerances),
                       spread_seeds=_ints("--spread-seeds", spread_seeds), device=device, progress=not quiet,
                       results=Path(results_root) if results_root else None, rerun=rerun, reuse=reuse, suite=suite,
                       generator=g if g["generator"] is not None else None, seed=seed,
                       metrics=None if metrics is None else tuple(m.strip() for m in metrics.split(",") if m.strip()))
    out = gate.run(req, log=lambda s: click.echo(s, err=True))
    if update:
        click.echo(gate.format_baseline(out))
        click.echo(f"wrote {baseline}")
        return
    click.echo(out.table())
    click.echo(out.verdict())
    if not out.ok:
        sys.exit(1)
