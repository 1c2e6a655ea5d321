"""Executors: how the training runs of a suite are scheduled.

- ``local``: one after another in this process, or over a process pool (``--workers N``);
- ``ray``: one Ray task per run on a Ray cluster (``--executor ray [--address ADDR]``), see ``ray_executor``.

Every executor takes the validated ``results.Job`` list of ``suites.expand``, writes each run into its own
``spec.out_dir`` under the shared results directory (runs are independent: a complete run is skipped, an interrupted
one resumes from its last checkpoint), and returns one ``Outcome`` per run in the order of the specs. A run that fails
or whose process dies does not stop the others; it is retried (see ``RetryPolicy``) and reported.
"""
from __future__ import annotations

from typing import Any, Callable

from ..errors import GanbenchError
from ..results import Job
from .base import Outcome, RetryPolicy, run_one
from .local import execute_local

EXECUTORS = ("local", "ray")

__all__ = ["EXECUTORS", "Outcome", "RetryPolicy", "execute", "execute_local", "run_one"]


def execute(specs: list[Job], executor: str = "local", workers: int = 1, address: str | None = None,
            progress: bool | str = True, on_done: Callable[[Outcome], Any] | None = None) -> list[Outcome]:
    """Run the jobs with the named executor (``local``: ``workers`` processes; ``ray``: a cluster at ``address``,
    or a local one); returns their outcomes in the order of ``specs``."""
    if executor == "ray":
        from .ray_executor import execute_ray
        return execute_ray(specs, address=address, on_done=on_done, progress=progress)
    if executor != "local":
        from ..registry import unknown
        raise GanbenchError(unknown("executor", executor, EXECUTORS))
    if workers < 1:
        raise GanbenchError("--workers must be >= 1")
    return execute_local(specs, workers=workers, progress=progress, on_done=on_done)
