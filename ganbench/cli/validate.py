"""``ganbench validate-metric EXTRACTOR`` (the disturbance ladder, ``analysis.ladder``) and ``ganbench validate-copying
EXTRACTOR`` (the copy ladder, ``analysis.copy_ladder``): what a metric must pass before it goes into tables."""
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


@cli.command("validate-copying")
@click.argument("extractor")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--n", "n", default=2000, show_default=True, help="images per control set (an evaluation's sample count)")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--cells", default=50, show_default=True, help="C_T's k-means cells")
@click.option("--no-cache", is_flag=True, help="prepare the real sets anew (and time it)")
@click.option("--record", is_flag=True, help="write metrics/weights/<extractor>.copying.json and .md (what reports cite)")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="write the JSON and Markdown here instead")
def validate_copying_cmd(extractor, dataset, n, seed, device, cells, no_cache, record, out):
    """Copy ladder: exact, shifted and noisy copies of training images, 0-100% mixtures of copies and held-out images,
    mode collapse and held-out images alone; each copying metric PASSes when it orders the mixtures and flags exact
    copies but never a perfect generaliser."""
    from ..analysis.copy_ladder import copy_ladder_for
    from ..report.ladder import write_copy_ladder

    lad = copy_ladder_for(extractor, dataset, n, seed, device, cells, not no_cache,
                          progress=lambda s: click.echo(s, err=True))
    click.echo(lad.markdown())
    if record or out:
        click.echo(f"wrote {write_copy_ladder(lad, Path(out) if out else None)}", err=True)
    if not all(lad.passed(m) for m in ("copy_rate", "c_t")):
        raise SystemExit(1)
