"""Executors: how the training runs of a suite are scheduled.

- ``local``: one after another in this process, or over a process pool (``--workers N``);
- ``ray``: one Ray task per run on a Ray cluster (``--executor ray [--address ADDR]``), see ``ray_executor``.

Every executor takes the validated ``results.Job`` list of ``suites.expand``, writes each run into its own
``spec.out_dir`` under the shared results directory (runs are independent: a complete run is skipped, an interrupted
one resumes from its last checkpoint), and returns one ``Outcome`` per run in the order of the specs. A run that fails
or whose process dies does not stop the others; it is retried (see ``RetryPolicy``) and reported.
"""
from .base import Outcome, RetryPolicy, run_one
from .local import execute_local

EXECUTORS = ("local", "ray")

__all__ = ["EXECUTORS", "Outcome", "RetryPolicy", "execute_local", "run_one"]
