"""What ``ganbench regress`` was asked (``Request``) and ``run``, which checks the options against the kind of
baseline and gates (or re-baselines) with the training-suite gate or the generator gate."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GanbenchError
from . import generator, suite
from .baseline import GENERATOR, Log, kind_of, load_baseline
from .compare import Comparison
from .rules import parse_tolerances


@dataclass
class Request:
    """The command's options (None/False/empty: not given)."""

    baseline: Path
    update: bool = False
    tolerances: tuple[str, ...] = ()  # --tolerance [METRIC=]VALUE[%]
    spread_seeds: tuple[int, ...] | None = None
    device: str = "cpu"
    progress: bool = True
    # training-suite baselines
    results: Path | None = None
    rerun: bool = False
    reuse: bool = False
    suite: str | None = None
    # generator baselines: the --generator options (SPEC under "generator"), the metrics and evaluation seed
    generator: dict[str, Any] | None = None
    metrics: tuple[str, ...] | None = None
    seed: int | None = None


def run(req: Request, log: Log | None = None) -> Comparison | dict[str, Any]:
    """Gate: a Comparison; with ``update``: the new baseline, written. A baseline of generator kind is gated as a
    generator even without ``--generator`` (the SPEC it records)."""
    path = Path(req.baseline)
    given = req.generator
    if given is None and not req.update and path.is_file() and kind_of(load_baseline(path)) == GENERATOR:
        given = {}
    if given is not None:
        return _generator(req, path, given, log)
    return _suite(req, path, log)


def _suite(req: Request, path: Path, log: Log | None) -> Comparison | dict[str, Any]:
    from ..results import default_root

    if req.metrics is not None or req.seed is not None:
        raise GanbenchError("--metrics and --seed only make sense with --generator")
    if (req.spread_seeds or req.suite) and not req.update:
        raise GanbenchError("--spread-seeds and --suite only make sense with --update")
    if req.rerun and req.reuse:
        raise GanbenchError("--rerun and --reuse exclude each other")
    over = parse_tolerances(req.tolerances)
    root = Path(req.results) if req.results else default_root()
    if req.update:
        return suite.update_baseline(path, root, req.spread_seeds, over, suite=req.suite, device=req.device,
                                     rerun=req.rerun, reuse=req.reuse, progress=req.progress, log=log)
    return suite.check(path, root, over, device=req.device, rerun=req.rerun, reuse=req.reuse,
                       progress=req.progress, log=log)


def _generator(req: Request, path: Path, given: dict[str, Any], log: Log | None) -> Comparison | dict[str, Any]:
    if req.rerun or req.reuse or req.suite or req.results:
        raise GanbenchError("--rerun, --reuse, --suite and --results are for training-suite baselines, not "
                            "--generator")
    over = parse_tolerances(req.tolerances)
    if req.update:
        old = load_baseline(path) if path.exists() else {}
        if old and kind_of(old) != GENERATOR:
            raise GanbenchError(f"{path} is a training-suite baseline; write the generator's baseline to another file")
        o = generator.resolve_options(old, given, req.device, update=True, metrics=req.metrics, seed=req.seed)
        seeds = generator.SPREAD_SEEDS if req.spread_seeds is None else req.spread_seeds
        return generator.update(path, o, seeds, over)
    if req.metrics is not None or req.seed is not None or req.spread_seeds is not None:
        raise GanbenchError("--metrics, --seed and --spread-seeds only make sense with --update (the gate uses the "
                            "baseline's)")
    if not path.exists():
        raise GanbenchError(f"baseline {path} not found (create it with: ganbench regress --generator SPEC "
                            f"--baseline {path} --update [--z-dim N] [--metrics ...])")
    o = generator.resolve_options(load_baseline(path), given, req.device)
    return generator.check(path, o, over, log)
