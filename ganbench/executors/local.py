"""The local executor: runs one after another in this process, or over a process pool (``workers`` > 1).

In a pool each worker process gets cores / workers torch threads. A worker that dies (killed, out of memory) breaks
Python's pool and takes the runs then in progress down with it; the executor then starts a fresh pool and resubmits
every unfinished run (each resumes from its last checkpoint), at most ``policy.max_retries`` times per run.
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from ..results import Job
from ..training.progress import for_workers
from . import base
from .base import Outcome, RetryPolicy, in_order, mark_failed, unique_runs

log = logging.getLogger(__name__)


def execute_local(specs: list[Job], workers: int = 1, progress: bool | str = True,
                  on_done: Callable[[Outcome], Any] | None = None,
                  policy: RetryPolicy = RetryPolicy()) -> list[Outcome]:
    """Run every spec; returns their outcomes in the order of ``specs``. ``progress``: see
    ``training.progress.resolve`` (pool workers print plain lines, never bars)."""
    specs = unique_runs(specs)
    if workers <= 1:
        outcomes = []
        for s in specs:
            attempt = 0
            while True:
                attempt += 1
                o = base.run_one(s, progress)
                if not _retry(o, attempt, policy):
                    break
            o.attempts = attempt
            outcomes.append(o)
            if on_done:
                on_done(o)
        return outcomes
    return _pool(specs, workers, on_done, policy, for_workers(progress))


def _retry(o: Outcome, attempt: int, policy: RetryPolicy) -> bool:
    if o.status == "failed" and o.retryable and attempt <= policy.retries:
        log.warning("run %s failed (%s); retrying from its last checkpoint (%d/%d)", o.spec.run_id, o.error,
                    attempt, policy.retries)
        return True
    return False


def _pool(specs: list[Job], workers: int, on_done, policy: RetryPolicy, progress: str) -> list[Outcome]:
    outcomes: list[Outcome] = []
    attempts: Counter[str] = Counter()  # starts per run (failures and crashes)
    crashes: Counter[str] = Counter()  # pool breakdowns per run
    todo = list(specs)
    while todo:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), initializer=_worker_init,
                                 initargs=(workers,)) as pool:
            futures = {pool.submit(_pool_task, s, progress): s for s in todo}
            todo = []
            for f in as_completed(futures):
                s = futures[f]
                attempts[s.out_dir] += 1
                try:
                    o = f.result()
                except BrokenProcessPool:
                    # We cannot tell which worker died: every unfinished run counts one crash and is resubmitted.
                    crashes[s.out_dir] += 1
                    if crashes[s.out_dir] <= policy.max_retries:
                        todo.append(s)
                        continue
                    err = f"worker process died {crashes[s.out_dir]} times (killed or out of memory)"
                    mark_failed(s, err)
                    o = Outcome(s, "failed", err)
                if _retry(o, attempts[s.out_dir] - crashes[s.out_dir], policy):
                    todo.append(s)
                    continue
                o.attempts = attempts[s.out_dir]
                outcomes.append(o)
                if on_done:
                    on_done(o)
        if todo:
            log.warning("resubmitting %d run(s): %s", len(todo), ", ".join(s.run_id for s in todo))
    return in_order(outcomes, specs)


def _pool_task(spec: Job, progress: str) -> Outcome:
    return base.run_one(spec, progress)


def _worker_init(workers: int) -> None:
    import torch
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
