"""Report and regression-gate commands: ``report``, ``regress``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import GanbenchError
from . import cli
from ._generator import generator_options, pop_generator_options, regress_generator


def _thresholds(items: tuple[str, ...]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for it in items:
        name, sep, vals = it.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name.strip()] = [float(v) for v in vals.split(",") if v.strip()]
        except ValueError:
            raise GanbenchError(f"bad --threshold {it!r}; expected METRIC=V1[,V2...], e.g. "
                                f"fd_domain2k_train=50,20") from None
    return out


@cli.command("report")
@click.argument("results_dir", type=click.Path())
@click.option("--format", "formats", default="md,latex,html", show_default=True,
              help="comma-separated: md, latex, html")
@click.option("--out", default=None, help="report folder [default: report/<name of RESULTS_DIR>]")
@click.option("--published", default=None, type=click.Path(dir_okay=False),
              help="published numbers [default: baselines/published.yaml of this checkout, if present]")
@click.option("--efficiency", "efficiency", multiple=True, type=click.Path(file_okay=False),
              help="efficiency results folder(s) to read as well [default: an 'efficiency' folder next to "
                   "RESULTS_DIR]")
@click.option("--threshold", "thresholds", multiple=True, metavar="METRIC=V1,V2",
              help="convergence thresholds for a metric preset (default: derived from the results)")
@click.option("--no-plots", is_flag=True, help="tables only (no figures or sample grids)")
@click.option("--claims", "claims_file", default=None, type=click.Path(dir_okay=False),
              help="claims to test [default: ganbench/claims.yaml]")
@click.option("--samples", type=click.Choice(["run", "arm"]), default="run", show_default=True,
              help="one sample grid per run, or per arm (suite, model, variant: its first complete seed)")
def report_cmd(results_dir, formats, out, published, efficiency, thresholds, no_plots, claims_file,
               samples) -> None:
    """Render tables, plots and sample grids of RESULTS_DIR as Markdown, LaTeX and self-contained HTML."""
    from ..analysis.claims import load_claims
    from ..report import build_report

    root = Path(results_dir)
    if not root.is_dir():
        raise GanbenchError(f"results directory {root} does not exist")
    out = Path(out) if out else Path("report") / root.resolve().name
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    written = build_report(root, out, fmts, published or "default", [Path(e) for e in efficiency] or None,
                           _thresholds(thresholds), plots=not no_plots,
                           claims=load_claims(claims_file) if claims_file else None, samples=samples)
    for f, path in written.items():
        click.echo(f"{f}: {path}")


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
@click.option("--metrics", default=None, help="with --generator --update: comma-separated metric presets "
                                              "[default fd_domain2k_train]")
@click.option("--seed", type=int, default=None, help="with --generator --update: the gate's evaluation seed [0]")
@generator_options
def regress_cmd(baseline, results_root, rerun, reuse, tolerances, update, spread_seeds, suite, device, quiet,
                metrics, seed, **gen) -> None:
    """Rerun (or read) the baseline's suite and compare every metric with the committed baseline; exit 1 when a
    metric worsens beyond its tolerance. With --generator SPEC: evaluate that generator instead (no training; the
    tolerance comes from the spread over evaluation seeds)."""
    from .. import regress, results

    g = pop_generator_options(gen)
    if g["generator"] is None and not update and Path(baseline).is_file():
        g["generator"] = None if regress.load_baseline(Path(baseline)).get("kind") != "generator" else ""
    if g["generator"] is not None:
        if rerun or reuse or suite or results_root:
            raise GanbenchError("--rerun, --reuse, --suite and --results are for training-suite baselines, not "
                                "--generator")
        return regress_generator({**g, "generator": g["generator"] or None}, baseline, metrics, seed, tolerances,
                                 update, spread_seeds, device)
    if metrics is not None or seed is not None:
        raise GanbenchError("--metrics and --seed only make sense with --generator")

    root = Path(results_root) if results_root else results.default_root()
    seeds = None
    if spread_seeds:
        try:
            seeds = tuple(int(s) for s in spread_seeds.split(",") if s.strip())
        except ValueError:
            raise GanbenchError(f"bad --spread-seeds {spread_seeds!r}; expected e.g. 0,1,2") from None
    if (seeds or suite) and not update:
        raise GanbenchError("--spread-seeds and --suite only make sense with --update")
    if rerun and reuse:
        raise GanbenchError("--rerun and --reuse exclude each other")
    over = regress.parse_tolerances(tolerances)
    if update:
        b = regress.update_baseline(Path(baseline), root, seeds, over, suite=suite, device=device, rerun=rerun,
                                    reuse=reuse, progress=not quiet, log=lambda s: click.echo(s, err=True))
        click.echo(regress.format_baseline(b))
        click.echo(f"wrote {baseline}")
        return
    cmp = regress.check(Path(baseline), root, over, device=device, rerun=rerun, reuse=reuse, progress=not quiet,
                        log=lambda s: click.echo(s, err=True))
    click.echo(cmp.table())
    click.echo(cmp.verdict())
    if not cmp.ok:
        sys.exit(1)
