"""``ganbench validate-metric EXTRACTOR``: the disturbance ladder (``ganbench.analysis.ladder``) for one extractor."""
from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("validate-metric")
@click.argument("extractor")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--n", "n", default=2000, show_default=True, help="held-out images per set (the curves' sample count)")
@click.option("--seed", default=0, show_default=True)
@click.option("--data-root", default=None)
@click.option("--device", default="cpu", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="report/validation", show_default=True,
              help="writes <extractor>.md, .csv, .png and .json here")
@click.option("--record", is_flag=True, help="also write the verdict next to the weights (what reports cite)")
def validate_metric_cmd(extractor, dataset, n, seed, data_root, device, out, record):
    """Disturbance ladder: FD of noised/blurred/occluded/swirled/salted/mode-dropped held-out images; PASS/FAIL."""
    from ..analysis.ladder import ladder_for
    from ..report.ladder import write_ladder

    lad = ladder_for(extractor, dataset, n, seed, data_root, device, progress=lambda s: click.echo(s, err=True))
    table = write_ladder(lad, Path(out), record)
    click.echo(table)
    click.echo(f"{extractor}: {'PASS' if lad.passed else 'FAIL'} (worst mild {lad.worst_mild:.3f}; "
               f"written to {out})")
    if not lad.passed:
        raise SystemExit(1)
