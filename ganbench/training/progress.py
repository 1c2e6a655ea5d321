"""A run's progress, chosen once per process: a tqdm bar on a terminal, one plain line per evaluation and per finished
run elsewhere (logs, CI: no carriage returns), or nothing (``--quiet``: errors and the final summary only).

``progress`` arguments across ganbench (``train``, ``run_one``, ``execute_local``...) take a mode name or a bool:
``True`` picks by ``sys.stderr.isatty()``, ``False`` is ``quiet``."""
from __future__ import annotations

import sys
import time
from typing import Any

from ..errors import GanbenchError

FORMATS = ("auto", "bar", "plain")
MODES = ("bar", "plain", "quiet")


def choose(log_format: str = "auto", quiet: bool = False) -> str:
    """The mode for ``--log-format`` and ``--quiet``: ``auto`` is the bar on a terminal, plain lines elsewhere."""
    if log_format not in FORMATS:
        raise GanbenchError(f"unknown --log-format {log_format!r}; choose from: {', '.join(FORMATS)}")
    if quiet:
        return "quiet"
    if log_format == "auto":
        return "bar" if sys.stderr.isatty() else "plain"
    return log_format


def resolve(progress: bool | str) -> str:
    """A mode from a ``progress`` argument (a mode name, or True: chosen here; False: quiet)."""
    if isinstance(progress, str):
        if progress not in MODES:
            raise GanbenchError(f"unknown progress mode {progress!r}; choose from: {', '.join(MODES)}")
        return progress
    return choose() if progress else "quiet"


def for_workers(progress: bool | str) -> str:
    """The mode of runs in worker processes (a pool, Ray): lines interleave, bars do not."""
    return "quiet" if resolve(progress) == "quiet" else "plain"


class Plain:
    """One line to stderr per evaluation and per finished run; nothing in between."""

    def __init__(self, run_id: str, total: int, initial: int = 0, quiet: bool = False) -> None:
        self.run_id, self.total, self.n, self.quiet = run_id, total, initial, quiet
        self.start_n, self.t0 = initial, time.perf_counter()
        self.values: dict[str, Any] = {}
        self.closed = False

    def update(self, n: int) -> None:
        self.n += n

    def rate(self) -> str:
        dt = time.perf_counter() - self.t0
        return f"{(self.n - self.start_n) / dt:.1f} img/s" if self.n > self.start_n and dt > 0 else "- img/s"

    def line(self, what: str) -> str:
        vals = "  ".join(f"{k} {v}" for k, v in self.values.items())
        return f"{self.run_id}  {what} {self.n}/{self.total} img" + (f"  {vals}" if vals else "") + f"  {self.rate()}"

    def evaluated(self, values: dict[str, Any]) -> None:
        """Metric values (and losses) just measured, as strings."""
        self.values = dict(values)
        if not self.quiet:
            print(self.line("eval at"), file=sys.stderr, flush=True)

    def close(self) -> None:
        """The run's last line (``done``, or ``stopped`` short of its budget: diverged or interrupted); once."""
        if self.closed:
            return
        self.closed = True
        if not self.quiet:
            print(self.line("done" if self.n >= self.total else "stopped at"), file=sys.stderr, flush=True)


class Bar:
    """The tqdm bar (on a terminal)."""

    def __init__(self, run_id: str, total: int, initial: int = 0) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=initial, unit="img", unit_scale=True, desc=run_id, dynamic_ncols=True,
                        mininterval=1.0,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    def update(self, n: int) -> None:
        self.bar.update(n)

    def evaluated(self, values: dict[str, Any]) -> None:
        self.bar.set_postfix(values, refresh=False)

    def close(self) -> None:
        self.bar.close()


def make_progress(progress: bool | str, run_id: str, total: int, initial: int = 0) -> Bar | Plain:
    """The progress object of one run for a ``progress`` argument (see the module docstring)."""
    mode = resolve(progress)
    if mode == "bar":
        return Bar(run_id, total, initial)
    return Plain(run_id, total, initial, quiet=mode == "quiet")
