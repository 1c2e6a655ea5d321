"""What every executor shares: running one spec safely, the outcome record and the retry policy."""
from __future__ import annotations

import dataclasses
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..errors import GanbenchError
from ..results import Job, RunBusy

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    spec: Job
    status: str  # complete | diverged | failed
    error: str = ""
    retryable: bool = False  # failed for a reason that may not repeat (a bug, OOM, I/O), not bad input
    attempts: int = 1  # how many times the run was started (retries included)


@dataclass(frozen=True)
class RetryPolicy:
    """``retries``: extra attempts for a run that *failed* with an unexpected exception (bad input, i.e.
    ``GanbenchError``, and divergence are deterministic and never retried). ``max_retries``: extra attempts for a
    run whose process died (killed, out of memory, lost node), as Ray's task ``max_retries``. Every retry resumes
    from the run's last checkpoint."""

    retries: int = 1
    max_retries: int = 3

    def __post_init__(self) -> None:
        if self.retries < 0 or self.max_retries < 0:
            raise GanbenchError("retries and max_retries must be >= 0")


def run_one(spec: Job, progress: bool | str = True) -> Outcome:
    """Run one job; a bug or bad input in one run is recorded as ``failed`` and does not stop the suite."""
    try:
        r = spec.execute(progress)
        return Outcome(spec, r.status, r.reason)
    except RunBusy as e:  # another process trains it right now: leave its status alone
        return Outcome(spec, "failed", str(e))
    except GanbenchError as e:
        err, retryable = str(e), False
    except Exception as e:  # noqa: BLE001  (one broken run must not stop the others)
        err, retryable = f"{type(e).__name__}: {e}", True
        log.error("run %s failed:\n%s", spec.run_id, traceback.format_exc())
    mark_failed(spec, err)
    return Outcome(spec, "failed", err, retryable)


def mark_failed(spec: Job, error: str) -> None:
    """Record ``failed`` in the run's status (keeping its images seen), unless the run already finished."""
    from .. import results

    run_dir = Path(spec.out_dir)
    try:
        old = results.read_status(run_dir)
    except GanbenchError:
        old = {}
    if old.get("status") in ("complete", "diverged"):
        return
    extra = {k: old[k] for k in ("images_seen", "wall_s") if k in old}
    try:
        results.write_status(run_dir, "failed", error=error.splitlines()[0][:500] if error else "", **extra)
    except OSError:
        pass


def unique_runs(specs: list[Job]) -> list[Job]:
    """Each run directory once (two writers in one run directory would corrupt it), with an absolute out_dir so
    that workers in another working directory write into the same results tree."""
    seen: set[str] = set()
    out = []
    for s in specs:
        if not s.out_dir:
            raise GanbenchError(f"run {s.run_id} has no out_dir")
        d = str(Path(s.out_dir).resolve())
        if d in seen:
            log.warning("run %s listed twice; running it once", s.run_id)
            continue
        seen.add(d)
        out.append(dataclasses.replace(s, out_dir=d))
    return out


def in_order(outcomes: list[Outcome], specs: list[Job]) -> list[Outcome]:
    order = {s.out_dir: i for i, s in enumerate(specs)}
    return sorted(outcomes, key=lambda o: order[o.spec.out_dir])
