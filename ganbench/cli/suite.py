"""``ganbench resolve-suite``: a suite with its profile applied and every run it expands to, as YAML (kept next to
committed results, so they say exactly what was run)."""
from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("resolve-suite")
@click.argument("suite")
@click.option("--profile", default=None, help="a named profile of the suite")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="write here (default: print)")
def resolve_suite_cmd(suite, profile, out) -> None:
    """Print (or write) SUITE with its profile applied and the runs it expands to."""
    import yaml

    from ..io import write_text
    from ..suites import resolved

    text = yaml.safe_dump(resolved(suite, profile, Path("results")), sort_keys=False)
    if out:
        write_text(Path(out), text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
