"""Command-line interface: ``ganbench COMMAND``. Each file in this package adds its commands to ``main``.

Bad input raises ``GanbenchError``; ``main`` prints it as one line and exits with code 2.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from ..errors import GanbenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """ganbench: reproducible training and evaluation of GAN architectures."""


def _load_commands() -> None:
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI, turning GanbenchError (and usage errors) into one line and exit code 2."""
    _load_commands()
    try:
        cli.main(args=argv, prog_name="ganbench", standalone_mode=False)
    except GanbenchError as e:
        click.echo(f"ganbench: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("ganbench: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        click.echo(f"ganbench: error: {e.format_message()}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("ganbench: interrupted (the run resumes from its last checkpoint)", err=True)
        sys.exit(130)
