"""Suites are data: YAML files in this folder (one per suite), parsed into ``Suite`` (expanded by ``expand``).

Keys: ``name``, ``description``, ``dataset``, ``preset``, ``kimg``, ``eval_every_kimg``, ``metrics``, ``final_metrics``
(evaluated at each run's last evaluation only: the copying checks), ``seeds``,
``runs`` (a list of ``{model, variants, overrides, max_seeds}``, or ``all`` for every registered model; ``max_seeds: n``
runs only the first n of the suite's seeds, for arms too costly for all of them), optional
``resolution``/``channels``, ``include`` (other suites whose runs are added, e.g. ``ablations``) and ``profiles``
(named override sets such as ``quick``/``full``; ``default_profile`` picks one). ``grid`` (name -> config overrides)
runs every entry once per grid point, with the same seeds and budget: the shared tuning grid of ``ganbench tune``.

``reuses_tuning_seeds: "<why>"`` lets a suite (or a profile) evaluate a tuned model on a seed its tuning runs used;
without it such a suite is a one-line error (``expand``), because a run that reproduces a tuning run favours the
tuned arm. Only suites that rank nothing (a wiring check, the CI gate, an exploratory record) carry it.

``task: efficiency`` makes a suite measure instead of train (``ganbench.efficiency``): parameter counts, FLOPs
per image and the time to generate ``n_images`` images, for every run entry and every preset in ``presets`` (a run
entry may narrow ``presets`` and list ``variants``); training keys (kimg, metrics, seeds) are then unused.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


from ..errors import GanbenchError
from ..io import read_yaml
from ..registry import unknown

HERE = Path(__file__).parent  # the suite YAML files


@dataclass(frozen=True)
class RunEntry:
    model: str
    variants: tuple[str, ...] = ("default",)
    overrides: tuple[tuple[str, Any], ...] = ()
    presets: tuple[str, ...] = ()  # empty: the suite's preset(s)
    max_seeds: int | None = None  # only the first n of the suite's (or profile's) seeds


TASKS = ("train", "efficiency")


@dataclass(frozen=True)
class Suite:
    name: str
    description: str = ""
    dataset: str = "fashion-mnist"
    resolution: int = 32
    channels: int | None = None
    preset: str = "tiny"
    kimg: float = 10.0
    eval_every_kimg: float = 0.0
    metrics: tuple[str, ...] = ("fd_domain2k_train",)
    final_metrics: tuple[str, ...] = ()  # protocols evaluated at each run's last evaluation only (copying checks)
    seeds: tuple[int, ...] = (0,)
    runs: tuple[RunEntry, ...] | str = ()
    include: tuple[str, ...] = ()
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_profile: str | None = None
    task: str = "train"  # train | efficiency
    presets: tuple[str, ...] = ()  # several presets (else ``preset``)
    n_images: int = 100  # efficiency: images generated for the timing
    grid: dict[str, dict[str, Any]] = field(default_factory=dict)  # tuning: point name -> config overrides
    select_by: str | None = None  # tuning: the held-out metric protocol that picks a grid point
    windows: dict[str, list[str]] = field(default_factory=dict)  # tuning: model -> the grid points it runs (all)
    reuses_tuning_seeds: str = ""  # why this suite may evaluate tuned models on tuning seeds (it ranks nothing)


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def _parse(data: dict[str, Any], where: str) -> Suite:
    known = {f.name for f in fields(Suite)}
    for k in data:
        if k not in known:
            raise GanbenchError(f"{where}: {unknown('suite key', k, known)}")
    d = dict(data)
    if d.get("task", "train") not in TASKS:
        raise GanbenchError(f"{where}: {unknown('task', d['task'], TASKS)}")
    for k in ("metrics", "final_metrics", "seeds", "include", "presets"):
        if k in d:
            if not isinstance(d[k], list):
                raise GanbenchError(f"{where}: {k} must be a list")
            d[k] = tuple(d[k])
    runs = d.get("runs", ())
    if runs != "all":
        if not isinstance(runs, list):
            raise GanbenchError(f"{where}: runs must be a list or 'all'")
        entries = []
        for r in runs:
            if not isinstance(r, dict) or "model" not in r or set(r) - {"model", "variants", "overrides", "presets",
                                                                         "max_seeds"}:
                raise GanbenchError(f"{where}: each run needs 'model' (and optional 'variants', 'overrides', "
                                    f"'presets', 'max_seeds'): {r!r}")
            n = r.get("max_seeds")
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
                raise GanbenchError(f"{where}: max_seeds must be a positive integer: {r!r}")
            entries.append(RunEntry(r["model"], tuple(r.get("variants", ["default"])),
                                    tuple(sorted((r.get("overrides") or {}).items())), tuple(r.get("presets", ())),
                                    n))
        d["runs"] = tuple(entries)
        if d.get("task") == "efficiency" and any(e.max_seeds for e in entries):
            raise GanbenchError(f"{where}: per-run 'max_seeds' needs a training suite (an efficiency suite measures "
                                f"one seed)")
        if d.get("task", "train") == "train" and any(e.presets for e in entries):
            raise GanbenchError(f"{where}: per-run 'presets' need 'task: efficiency' (a training suite has one preset)")
    grid = d.get("grid", {})
    if not isinstance(grid, dict) or not all(isinstance(v, dict) and v for v in grid.values()):
        raise GanbenchError(f"{where}: grid must map point names to non-empty override mappings")
    if bool(grid) != bool(d.get("select_by")):
        raise GanbenchError(f"{where}: 'grid' and 'select_by' go together (the metric that picks a grid point)")
    check_windows(d.get("windows", {}), grid, where)
    if d.get("task", "train") == "train" and ({"presets", "n_images"} & set(d)):
        raise GanbenchError(f"{where}: 'presets' and 'n_images' need 'task: efficiency' (a training suite has one "
                            f"'preset')")
    return Suite(**d)


def check_windows(windows: Any, grid: dict[str, Any], where: str) -> None:
    """``windows`` maps a model to a non-empty list of the grid's point names (the points it runs)."""
    if not isinstance(windows, dict) or not all(isinstance(v, list) and v for v in windows.values()):
        raise GanbenchError(f"{where}: windows must map model names to non-empty lists of grid points")
    for model, points in windows.items():
        for p in points:
            if p not in grid:
                raise GanbenchError(f"{where}: window of {model}: {unknown('grid point', p, grid)}")


def load_suite(name_or_path: str) -> Suite:
    """A suite by name (a YAML file here) or by path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        path = p
    else:
        path = HERE / f"{name_or_path}.yaml"
        if not path.exists():
            raise GanbenchError(unknown("suite", name_or_path, names()))
    data = read_yaml(path, "suite")
    if not isinstance(data, dict) or "name" not in data:
        raise GanbenchError(f"{path}: a suite is a mapping with at least 'name'")
    return _parse(data, str(path))
