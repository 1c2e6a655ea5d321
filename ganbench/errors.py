"""User-facing errors: the CLI prints these as one line and exits with code 2."""
from __future__ import annotations


class GanbenchError(Exception):
    """An error caused by bad input (names, data, configs, files); never a bug."""
