"""Expand a suite into training runs and execute them (resuming; skipping complete runs)."""
from __future__ import annotations

import dataclasses
import logging
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import GanbenchError
from .models.base import MODELS, resolve_config
from .suites import Suite, load_suite
from .training import TrainSpec, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuiteOptions:
    """Command-line overrides of a suite (None = keep the suite's value)."""

    profile: str | None = None
    preset: str | None = None
    dataset: str | None = None
    data_root: str | None = None
    seeds: tuple[int, ...] | None = None
    kimg: float | None = None
    eval_every_kimg: float | None = None
    metrics: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    device: str = "auto"


def apply_profile(suite: Suite, profile: str | None) -> Suite:
    profile = profile or suite.default_profile
    if not profile:
        return suite
    if profile not in suite.profiles:
        from .registry import unknown
        raise GanbenchError(unknown(f"profile of suite {suite.name}", profile, suite.profiles))
    over = dict(suite.profiles[profile])
    for k in ("seeds", "metrics"):
        if k in over:
            over[k] = tuple(over[k])
    try:
        return dataclasses.replace(suite, **over)
    except TypeError as e:
        raise GanbenchError(f"suite {suite.name} profile {profile}: {e}") from None


def expand(suite: Suite | str, opts: SuiteOptions = SuiteOptions(), results_root: Path = Path("results"),
           _seen: frozenset[str] = frozenset()) -> list[TrainSpec]:
    """All runs of a suite (and the suites it includes) as TrainSpecs, validated before anything runs."""
    if isinstance(suite, str):
        suite = load_suite(suite)
    if suite.name in _seen:
        raise GanbenchError(f"suite {suite.name} includes itself")
    suite = apply_profile(suite, opts.profile)
    specs: list[TrainSpec] = []
    for inc in suite.include:
        specs += expand(inc, dataclasses.replace(opts, profile=None), results_root, _seen | {suite.name})
    entries = suite.runs
    if entries == "all":
        from .suites import RunEntry
        entries = tuple(RunEntry(m) for m in MODELS.names())
    for e in entries:
        MODELS.get(e.model)
        if opts.models and e.model not in opts.models:
            continue
        for variant in e.variants:
            for seed in (opts.seeds if opts.seeds is not None else suite.seeds):
                spec = TrainSpec(
                    model=e.model, preset=opts.preset or suite.preset, variant=variant,
                    dataset=opts.dataset or suite.dataset, data_root=opts.data_root, resolution=suite.resolution,
                    channels=suite.channels, kimg=opts.kimg or suite.kimg,
                    eval_every_kimg=opts.eval_every_kimg if opts.eval_every_kimg is not None else suite.eval_every_kimg,
                    metrics=opts.metrics or suite.metrics, seed=int(seed), overrides=e.overrides,
                    device=opts.device, suite=suite.name)
                resolve_config(spec.model, spec.preset, spec.variant, dict(spec.overrides))  # fail early
                out = results_root / suite.name / spec.run_id
                specs.append(dataclasses.replace(spec, out_dir=str(out)))
    if opts.models:
        for m in opts.models:
            MODELS.get(m)
    return specs


@dataclass
class Outcome:
    spec: TrainSpec
    status: str  # complete | diverged | failed
    error: str = ""


def run_one(spec: TrainSpec, progress: bool = True) -> Outcome:
    """Run one spec; a bug or bad input in one run is recorded as ``failed`` and does not stop the suite."""
    from . import results
    try:
        r = train(spec, progress=progress)
        return Outcome(spec, r.status, r.reason)
    except GanbenchError as e:
        err = str(e)
    except Exception as e:  # noqa: BLE001  (one broken run must not stop the others)
        err = f"{type(e).__name__}: {e}"
        log.error("run %s failed:\n%s", spec.run_id, traceback.format_exc())
    try:
        results.write_status(Path(spec.out_dir), "failed", error=err)
    except OSError:
        pass
    return Outcome(spec, "failed", err)


def execute_local(specs: list[TrainSpec], workers: int = 1, progress: bool = True,
                  on_done: Callable[[Outcome], Any] | None = None) -> list[Outcome]:
    """Sequentially, or over a process pool (``workers`` > 1; each process gets cores / workers threads)."""
    outcomes: list[Outcome] = []
    if workers <= 1:
        for s in specs:
            o = run_one(s, progress)
            outcomes.append(o)
            if on_done:
                on_done(o)
        return outcomes
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, initargs=(workers,)) as pool:
        futures = {pool.submit(run_one, s, False): s for s in specs}
        for f in as_completed(futures):
            o = f.result()
            outcomes.append(o)
            if on_done:
                on_done(o)
    order = {s.run_id: i for i, s in enumerate(specs)}
    return sorted(outcomes, key=lambda o: order[o.spec.run_id])


def _worker_init(workers: int) -> None:
    import os

    import torch
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
