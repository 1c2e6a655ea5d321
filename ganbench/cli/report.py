"""``ganbench report``: tables, plots and sample grids of a results directory."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import GanbenchError
from . import cli


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
              help="convergence thresholds for a metric protocol (default: derived from the results)")
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
