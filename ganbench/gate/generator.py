"""The generator gate (``ganbench regress --generator SPEC --baseline F``): a generator ganbench did not train.

There is no training, so the only randomness is the evaluation's own sample noise (which z are drawn). The baseline
holds each metric's value at the gate's evaluation seed and a tolerance from that noise: ``update`` also evaluates
the spread seeds (default 0, 1, 2) and applies the training gate's formula to one draw (``rules.SPREAD_RULE``), so a
worsening that sample noise explains does not fail and anything beyond it does. The tolerance holds no training
noise: a repository whose CI retrains the generator before gating it should widen it with ``--tolerance``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GanbenchError
from .baseline import FORMAT, GENERATOR, Log, kind_of, load_baseline, torch_threads, write_baseline
from .compare import Comparison, result
from .rules import SPREAD_RULE, Overrides, given_tolerance, mean_tolerance

CALL_KEYS = ("z_dim", "num_classes", "output_range", "clamp")  # how the generator is called
SPREAD_SEEDS = (0, 1, 2)


@dataclass
class GateOptions:
    """What to evaluate: the generator SPEC, how to call it, and against what."""

    spec: str
    dataset: str = "fashion-mnist"
    metrics: tuple[str, ...] = ("fd_domain2k_train",)
    z_dim: int = 128
    num_classes: int = 0
    output_range: str = "-1,1"
    clamp: bool = False
    resolution: int | None = None
    channels: int | None = None
    seed: int = 0  # the gate's evaluation seed
    device: str = "cpu"
    data_root: str | None = None


def resolve_options(b: dict[str, Any], given: dict[str, Any], device: str = "cpu", update: bool = False,
                    metrics: tuple[str, ...] | None = None, seed: int | None = None) -> GateOptions:
    """The options a gate runs with: ``given`` (the ``--generator`` options; None: not given) over what the baseline
    ``b`` recorded. Gating, the dataset, resolution and channels must be the baseline's; ``update`` may change them
    and ``metrics`` (default: the baseline's, else fd_domain2k_train) and the evaluation ``seed``."""
    gen = b.get("generator") or {}
    kw = {k: gen.get(k) for k in CALL_KEYS if gen.get(k) is not None}
    kw.update({k: given[k] for k in CALL_KEYS if given.get(k) is not None})
    o = GateOptions(spec=given.get("generator") or gen.get("spec"), dataset=b.get("dataset", "fashion-mnist"),
                    metrics=tuple(b.get("metrics") or ()), resolution=gen.get("resolution"),
                    channels=gen.get("channels"), seed=int(b.get("eval_seed", 0)), device=device,
                    data_root=given.get("data_root"), **kw)
    if not update:
        for k in ("dataset", "resolution", "channels"):
            if given.get(k) is not None and given[k] != getattr(o, k):
                raise GanbenchError(f"--{k} {given[k]} differs from the baseline's {getattr(o, k)}; re-baseline "
                                    f"with --update")
        return o
    o.dataset = given.get("dataset") or o.dataset
    o.resolution = given.get("resolution") or o.resolution
    o.channels = given.get("channels") or o.channels
    o.metrics = (o.metrics if metrics is None else metrics) or ("fd_domain2k_train",)
    o.seed = o.seed if seed is None else seed
    return o


def _evaluate(o: GateOptions, seeds: list[int], log: Log | None = None
              ) -> tuple[dict[int, list[dict[str, Any]]], dict[str, Any], float]:
    """The gated metrics at each seed; with ``log``, the copying check at the gate's seed is printed too (reported,
    never gated: it says whether the generator returns training images)."""
    from ..external.copying_check import copy_protocols_for, describe_copying
    from ..external.evaluate import prepare, rows_for
    from ..metrics.evaluate import dataset_splits
    from ..provenance import device_name

    g, data, dev = prepare(o.spec, o.dataset, o.z_dim, o.num_classes, o.output_range, o.resolution, o.channels,
                           o.clamp, o.device, o.data_root)
    t0 = time.perf_counter()
    out = {s: rows_for(g, data, o.metrics, s, dev, data_root=o.data_root) for s in seeds}
    spent = time.perf_counter() - t0
    copying = copy_protocols_for(list(o.metrics), dataset_splits(data)) if log else []
    if copying:
        for line in describe_copying(rows_for(g, data, copying, o.seed, dev, data_root=o.data_root)):
            log(f"regress: {line}")
    info = {**g.info(), "dataset": data.name, "device": device_name(dev)}
    return out, info, spent


def _key(r: dict[str, Any]) -> tuple[str, str]:
    return str(r["protocol"]), str(r["metric"])


def check(path: Path, o: GateOptions, over: Overrides | None = None, log: Log | None = None) -> Comparison:
    """Evaluate the generator at the baseline's seed and compare each metric with the baseline."""
    b = load_baseline(path)
    if kind_of(b) != GENERATOR:
        raise GanbenchError(f"{path} is a training-suite baseline (suite {b.get('suite')}), not a generator "
                            f"baseline; drop --generator, or make one with --generator SPEC --update")
    cmp = Comparison(b)
    old_sha = (b.get("generator") or {}).get("sha256")
    with torch_threads(b.get("torch_threads")):
        got, info, cmp.wall_s = _evaluate(o, [o.seed], log)
    if log and old_sha and info.get("sha256") and info["sha256"] != old_sha:
        log(f"regress: the generator's file changed since the baseline (sha256 {old_sha[:12]} -> "
            f"{info['sha256'][:12]})")
    values = {_key(r): r["value"] for r in got[o.seed]}
    shas = {_key(r): r.get("weights_sha256") for r in got[o.seed]}
    for c in b["checks"]:
        was, now = c.get("weights_sha256"), shas.get((c["protocol"], c["metric"]))
        if was and now and was != now:
            cmp.errors.append(f"{c['protocol']}: the {c['extractor']} weights changed since the baseline (sha256 "
                              f"{was} -> {now}), so the values are not comparable; re-baseline with --update")
        cmp.results.append(result(c, values.get((c["protocol"], c["metric"])), over or {}, seeds=[o.seed]))
    return cmp


def update(path: Path, o: GateOptions, spread_seeds: tuple[int, ...] = SPREAD_SEEDS, over: Overrides | None = None,
           threads: int = 1) -> dict[str, Any]:
    """Evaluate at the gate's seed and the spread seeds and write the baseline (atomically)."""
    import torch

    from .. import provenance

    if not o.metrics:
        raise GanbenchError("no metric protocols given (e.g. --metrics fd_domain2k_train)")
    over = over or {}
    seeds = sorted({o.seed, *spread_seeds})
    if len(set(spread_seeds)) < 2 and not over:
        raise GanbenchError("--spread-seeds needs at least two seeds (e.g. 0,1,2), or give --tolerance")
    with torch_threads(threads):
        got, info, spent = _evaluate(o, seeds)
    checks = []
    for r in got[o.seed]:
        c = {k: r[k] for k in ("metric", "protocol", "extractor", "weights_sha256", "n_samples", "n_real", "split",
                               "value")}
        c["higher_is_better"] = bool(r["higher_is_better"])
        c["seed"] = o.seed
        xs = {s: next(x["value"] for x in got[s] if _key(x) == _key(r)) for s in spread_seeds}
        spread = {"seeds": sorted(xs), "values": [xs[s] for s in sorted(xs)]}
        t = given_tolerance(over, c)
        if t is not None:
            c["tolerance"] = t.absolute(r["value"])
            c["spread"] = {"given": str(t), **spread}
        else:
            c["tolerance"], s, factor = mean_tolerance(spread["values"], 1, r["value"])
            c["spread"] = {**spread, "std": s, "factor": factor}
        checks.append(c)
    b = {"format": FORMAT, "kind": GENERATOR, "dataset": o.dataset, "metrics": list(o.metrics), "eval_seed": o.seed,
         "device": o.device, "torch_threads": threads,
         "description": "generator gate baseline: `ganbench regress --generator SPEC --baseline THIS` evaluates the "
                        "generator and fails when a value worsens by more than its tolerance; `--update` rewrites it",
         "tolerance_rule": SPREAD_RULE if not over else "given on the command line (spread over seeds recorded)",
         "generator": {k: v for k, v in info.items() if k not in ("dataset", "device")},
         "made_with": {"git_commit": provenance.git_commit(), "torch": torch.__version__, "device": info["device"],
                       "eval_wall_s": round(spent, 1)},
         "checks": checks}
    write_baseline(Path(path), b)
    return b
