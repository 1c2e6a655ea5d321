"""Expand a suite into its jobs (validated before anything runs); ``ganbench.executors`` runs them.

Each kind of suite (``task`` in its YAML) has its own expander in ``EXPANDERS``: training runs (``expand_training``,
``training.TrainSpec``) and efficiency measurements (``expand_efficiency``, ``efficiency.EfficiencySpec``). ``expand``
does what they share: includes and profiles."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..efficiency import EfficiencySpec
from ..errors import GanbenchError
from ..models.base import MODELS, resolve_config
from ..results import Job
from ..training import TrainSpec
from .suite import RunEntry, Suite, check_windows, load_suite
from .tuning_record import load_record, tuning_seed_conflicts

__all__ = ["SuiteOptions", "apply_profile", "expand", "expand_training", "expand_efficiency", "EXPANDERS",
           "resolve_point"]


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
    deterministic: bool = False  # every run with deterministic kernels (a config field, in config.yaml)


def apply_profile(suite: Suite, profile: str | None) -> Suite:
    profile = profile or suite.default_profile
    if not profile:
        return suite
    if profile not in suite.profiles:
        from ..registry import unknown
        raise GanbenchError(unknown(f"profile of suite {suite.name}", profile, suite.profiles))
    over = dict(suite.profiles[profile])
    for k in ("seeds", "metrics", "final_metrics"):
        if k in over:
            over[k] = tuple(over[k])
    try:
        out = dataclasses.replace(suite, **over)
    except TypeError as e:
        raise GanbenchError(f"suite {suite.name} profile {profile}: {e}") from None
    check_windows(out.windows, out.grid, f"suite {suite.name} profile {profile}")
    return out


def resolve_point(model: str, point: dict) -> dict:
    """A grid point's overrides for one model: ``"x3"`` means 3 times the model's ``paper`` preset value."""
    out = {}
    for k, v in point.items():
        if isinstance(v, str) and v.startswith("x"):
            try:
                factor = float(v[1:])
            except ValueError:
                raise GanbenchError(f"grid value {k}={v!r}: a multiplier is 'x<number>', e.g. 'x3'") from None
            base = getattr(resolve_config(model, "paper"), k, None)
            if not isinstance(base, (int, float)):
                raise GanbenchError(f"grid value {k}={v!r}: {model}'s paper preset has no number {k}")
            v = float(f"{base * factor:.6g}")
        out[k] = v
    return out


def expand(suite: Suite | str, opts: SuiteOptions = SuiteOptions(), results_root: Path = Path("results"),
           _seen: frozenset[str] = frozenset()) -> list[Job]:
    """All runs of a suite (and the suites it includes), validated before anything runs: ``TrainSpec`` for a
    training suite, ``EfficiencySpec`` for an efficiency one (each kind by its expander in ``EXPANDERS``)."""
    if isinstance(suite, str):
        suite = load_suite(suite)
    if suite.name in _seen:
        raise GanbenchError(f"suite {suite.name} includes itself")
    suite = apply_profile(suite, opts.profile)
    specs: list[Job] = []
    for inc in suite.include:
        specs += expand(inc, dataclasses.replace(opts, profile=None), results_root, _seen | {suite.name})
    return specs + EXPANDERS[suite.task](suite, opts, results_root)


def expand_training(suite: Suite, opts: SuiteOptions, results_root: Path) -> list[TrainSpec]:
    """The training runs of one suite (its includes aside): run entry x variant x grid point x seed."""
    specs: list[TrainSpec] = []
    det = {"deterministic": True} if opts.deterministic else {}  # absent otherwise: run ids and specs unchanged
    entries = suite.runs
    if entries == "all":
        entries = tuple(RunEntry(m) for m in MODELS.names())
    for m in suite.windows:
        MODELS.get(m)  # a misspelt model's window would silently give that model the whole grid
    for e in entries:
        MODELS.get(e.model)
        if opts.models and e.model not in opts.models:
            continue
        names = suite.windows.get(e.model) or list(suite.grid)  # a tuning window: some of the grid's points
        points = [resolve_point(e.model, suite.grid[p]) for p in names] or [{}]
        seeds = opts.seeds if opts.seeds is not None else suite.seeds[:e.max_seeds]  # --seeds: exactly those
        for variant, point, seed in ((v, p, s) for v in e.variants for p in points for s in seeds):
            spec = TrainSpec(
                model=e.model, preset=opts.preset or suite.preset, variant=variant,
                dataset=opts.dataset or suite.dataset, data_root=opts.data_root, resolution=suite.resolution,
                channels=suite.channels, kimg=opts.kimg if opts.kimg is not None else suite.kimg,
                eval_every_kimg=opts.eval_every_kimg if opts.eval_every_kimg is not None else suite.eval_every_kimg,
                metrics=opts.metrics if opts.metrics is not None else suite.metrics,
                final_metrics=suite.final_metrics if opts.metrics is None else (), seed=int(seed),
                overrides=tuple(sorted({**dict(e.overrides), **point, **det}.items())), device=opts.device,
                suite=suite.name)
            resolve_config(spec.model, spec.preset, spec.variant, dict(spec.overrides))  # fail early
            out = results_root / suite.name / spec.run_id
            specs.append(dataclasses.replace(spec, out_dir=str(out)))
    if opts.models:
        for m in opts.models:
            MODELS.get(m)
    check_tuning_seeds(suite, specs)
    return specs


def check_tuning_seeds(suite: Suite, specs: list[TrainSpec]) -> None:
    """A one-line error when the suite would evaluate a tuned model on a seed its tuning runs used (a tuning suite
    itself, and a suite that says why it may, ``reuses_tuning_seeds``, are exempt)."""
    if suite.grid or suite.reuses_tuning_seeds:
        return
    record = load_record()
    bad = tuning_seed_conflicts(specs, record)
    if bad:
        s = bad[0]
        raise GanbenchError(f"suite {suite.name} would evaluate {s.model} ({s.preset}) on seed {s.seed}, which its "
                            f"tuning runs used (suites/tune.selection.json: seeds "
                            f"{', '.join(map(str, record['seeds']))}); evaluate on other seeds, or give the suite "
                            f"'reuses_tuning_seeds: <why>' if it ranks nothing")


def expand_efficiency(suite: Suite, opts: SuiteOptions, results_root: Path) -> list[EfficiencySpec]:
    """The runs of an efficiency suite: run entry x preset x variant."""
    entries = suite.runs
    if entries == "all":
        entries = tuple(RunEntry(m) for m in MODELS.names())
    specs = []
    for e in entries:
        MODELS.get(e.model)
        if opts.models and e.model not in opts.models:
            continue
        presets = (opts.preset,) if opts.preset else (e.presets or suite.presets or (suite.preset,))
        for preset in presets:
            for variant in e.variants:
                spec = EfficiencySpec(
                    model=e.model, preset=preset, variant=variant, resolution=suite.resolution,
                    channels=suite.channels or 3, n_images=suite.n_images, dataset=opts.dataset or suite.dataset,
                    data_root=opts.data_root, overrides=e.overrides,
                    seed=int((opts.seeds or suite.seeds or (0,))[0]), device=opts.device, suite=suite.name)
                resolve_config(spec.model, spec.preset, spec.variant, dict(spec.overrides))  # fail early
                specs.append(dataclasses.replace(spec, out_dir=str(results_root / suite.name / spec.run_id)))
    return specs


EXPANDERS: dict[str, Callable[[Suite, SuiteOptions, Path], list]] = {
    "train": expand_training, "efficiency": expand_efficiency}  # suites.TASKS
