"""The Ray executor: one Ray task per training run (``ganbench run --suite S --executor ray [--address ADDR]``).

Without ``address`` a single-node cluster is started in-process (``ray.init(address="local")``, no dashboard, all
of this machine's CPUs and GPUs, a 256 MiB object store) and shut down at the end; Ray 2.x binds it to the node's
own IP even when asked for 127.0.0.1, and guards it with its default token authentication. With an address
(``ray://host:10001``, ``host:6379`` or ``auto``) the runs go to that cluster. Each task asks for ``cpus_per_run``
CPUs (and sets torch's thread count to it) and, when the run's device is ``cuda``/``cuda:N`` or ``auto`` on a
cluster with GPUs, for one GPU: Ray then picks the GPU and exposes only it (``CUDA_VISIBLE_DEVICES``), so ``cuda:N``
becomes ``cuda`` inside the task. On a cluster without GPUs ``auto`` means ``cpu``. Results go straight from the
workers to each run's absolute ``out_dir``, so on a multi-node cluster the results directory (and ``--data-root``,
and the ganbench cache ``$GANBENCH_CACHE``) must be on storage every node sees, and every node needs the same
ganbench installation; ``GANBENCH_*`` variables of the driver are passed to the tasks.

Failures (``base.RetryPolicy``): a worker process or node that dies is Ray's business (task ``max_retries``; the
retried task resumes from the run's last checkpoint); a run that fails with an unexpected exception is resubmitted
up to ``retries`` times; bad input and divergence are final. A run that still fails is reported as ``failed`` and
the other runs go on.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import socket
import sys
import time
from typing import Any, Callable

from ..errors import GanbenchError
from ..results import Job
from ..training.progress import for_workers
from .base import Outcome, RetryPolicy, in_order, mark_failed, unique_runs

log = logging.getLogger(__name__)
PROGRESS_ENV = "GANBENCH_PROGRESS"  # the tasks' progress mode, sent with their environment
LOG_GRACE_S = 1.0  # before shutting a cluster down: Ray's log monitor polls worker output every 0.1 s
LOCAL_OBJECT_STORE = 256 * 2**20  # tasks exchange only specs and outcomes: the object store stays nearly empty


def execute_ray(specs: list[Job], address: str | None = None,
                on_done: Callable[[Outcome], Any] | None = None, policy: RetryPolicy = RetryPolicy(),
                cpus_per_run: int = 1, init_kwargs: dict[str, Any] | None = None,
                progress: bool | str = False) -> list[Outcome]:
    """Run every spec as a Ray task; returns their outcomes in the order of ``specs``. With ``progress`` (see
    ``training.progress.resolve``) each task prints plain lines, which Ray forwards to the driver.

    Uses the current Ray connection when ``ray.is_initialized()`` (and leaves it open); otherwise connects to
    ``address`` or starts a local cluster, and disconnects (shutting a local cluster down) at the end.
    """
    try:
        import ray
    except ImportError:
        raise GanbenchError("the ray executor needs Ray: pip install 'ganbench[ray]'") from None
    if cpus_per_run < 1:
        raise GanbenchError(f"cpus_per_run must be >= 1, got {cpus_per_run}")
    specs = unique_runs(specs)
    if not specs:
        return []
    started = not ray.is_initialized()
    if started:
        _connect(ray, address, init_kwargs or {})
    mode = for_workers(progress)
    if mode != "quiet" and not sys.stderr.isatty():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # Ray's forwarded lines: no colour codes in a log file
    try:
        outcomes = _run_all(ray, specs, on_done, policy, cpus_per_run, mode)
        if started and mode != "quiet":
            time.sleep(LOG_GRACE_S)  # Ray forwards task output asynchronously: let the last lines arrive
        return outcomes
    finally:
        if started:
            ray.shutdown()


def _connect(ray, address: str | None, extra: dict[str, Any]) -> None:
    if address:
        _probe(address)
        kwargs = {"address": address, **extra}
    else:
        kwargs = {"address": "local", "num_cpus": os.cpu_count() or 1, "include_dashboard": False,
                  "object_store_memory": LOCAL_OBJECT_STORE, **extra}
    try:
        ray.init(**kwargs)
    except Exception as e:  # noqa: BLE001  (connection and start-up errors come in many types)
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise GanbenchError(f"cannot {'connect to the Ray cluster at ' + address if address else 'start Ray'}: "
                            f"{msg[:300]}") from None


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds when nothing listens at ``host:port`` (``ray.init`` would retry for minutes)."""
    m = re.fullmatch(r"(?:ray://)?\[?([^\]]+?)\]?:(\d+)", address.strip())
    if not m:
        if address.strip() == "auto":
            return
        raise GanbenchError(f"bad Ray address {address!r}; expected host:port, ray://host:port or auto")
    try:
        socket.create_connection((m[1], int(m[2])), timeout=timeout).close()
    except (OSError, ValueError) as e:
        raise GanbenchError(f"cannot connect to the Ray cluster at {address}: {e.strerror or e}") from None


def _placement(spec: Job, cluster_gpus: float, cpus: int) -> tuple[Job, dict[str, Any]]:
    """The spec as the task runs it and the task's resource request."""
    dev = spec.device
    if dev.startswith("cuda") or (dev == "auto" and cluster_gpus >= 1):
        if cluster_gpus < 1:
            raise GanbenchError(f"run {spec.run_id} asks for device {dev!r} but the Ray cluster has no GPU")
        return dataclasses.replace(spec, device="cuda"), {"num_cpus": cpus, "num_gpus": 1}
    if dev == "auto":
        dev = "cpu"
    return dataclasses.replace(spec, device=dev), {"num_cpus": cpus, "num_gpus": 0}


def _run_all(ray, specs: list[Job], on_done, policy: RetryPolicy, cpus: int,
             progress: str = "quiet") -> list[Outcome]:
    resources = ray.cluster_resources()
    if cpus > resources.get("CPU", 0):
        raise GanbenchError(f"each run asks for {cpus} CPUs but the Ray cluster has {resources.get('CPU', 0):g}")
    placed = [_placement(s, resources.get("GPU", 0), cpus) for s in specs]
    env = {k: v for k, v in os.environ.items() if k.startswith("GANBENCH_")}
    env[PROGRESS_ENV] = progress
    task = ray.remote(_train_task)

    def submit(spec: Job, res: dict[str, Any]):
        return task.options(**res, max_retries=policy.max_retries, retry_exceptions=False,
                            name=f"ganbench:{spec.run_id}").remote(spec, env, res["num_cpus"])

    pending = {submit(s, r): (s, r, 1) for s, r in placed}
    outcomes: list[Outcome] = []
    try:
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            spec, res, attempt = pending.pop(ref)
            try:
                o = ray.get(ref)
            except ray.exceptions.RayError as e:  # its process or node died more than max_retries times, or Ray failed
                err = f"Ray task failed after {policy.max_retries} system retries: {_describe(e)}"
                mark_failed(spec, err)
                o = Outcome(spec, "failed", err)
            if o.status == "failed" and o.retryable and attempt <= policy.retries:
                log.warning("run %s failed (%s); retrying from its last checkpoint (%d/%d)", spec.run_id, o.error,
                            attempt, policy.retries)
                pending[submit(spec, res)] = (spec, res, attempt + 1)
                continue
            o.attempts = attempt
            outcomes.append(o)
            if on_done:
                on_done(o)
    except BaseException:
        for ref in pending:  # interrupted: stop the runs still going (each resumes next time)
            ray.cancel(ref, force=True)
        raise
    return in_order(outcomes, [s for s, _ in placed])


def _describe(e: BaseException) -> str:
    """One line for a Ray error: the underlying exception of a task error, without Ray's colour codes."""
    cause = getattr(e, "cause", None) or e
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(cause)).strip()
    return f"{type(cause).__name__}: {(text.splitlines() or [''])[-1][:300]}"


def _train_task(spec: Job, env: dict[str, str], threads: int) -> Outcome:
    """Body of one Ray task (runs in a Ray worker process)."""
    os.environ.update(env)
    import torch

    torch.set_num_threads(threads)
    from .base import run_one
    return run_one(spec, progress=env.get(PROGRESS_ENV, "quiet"))
