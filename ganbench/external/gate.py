"""The regression gate for a generator ganbench did not train: ``ganbench regress --generator SPEC --baseline F``.

There is no training, so the only randomness is the evaluation's own sample noise (which z are drawn). The baseline
holds each metric's value at the gate's evaluation seed and a tolerance measured from that noise: with ``--update``
the generator is also evaluated at the spread seeds (default 0, 1, 2) and the tolerance is the one ganbench's
training gate uses, ``max(t(0.99, n-1) * sqrt(2) * s, 2% of |value|)`` with ``s`` the sample std over the seeds
(see ``ganbench.gate``): a changed generator is a new draw from the sampling distribution, so a worsening that
sample noise explains does not fail, anything beyond it does. The tolerance does not include training noise: a
repository whose CI retrains the generator before gating it should widen it with ``--tolerance``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..errors import GanbenchError
from ..gate import FORMAT, Tolerance, _override, load_baseline, spread_tolerance
from .evaluate import prepare, rows_for

KIND = "generator"
RULE = ("tolerance = max(t(0.99, n-1) * sqrt(2) * s, 0.02 * |value|): s = sample std (ddof 1) of the metric over the "
        "n evaluation (sampling) seeds of the same generator, i.e. sample noise only (no training noise); sqrt(2) "
        "because the baseline and the gated value are two draws. A check fails when the value worsens (direction of "
        "the metric preset) by more than its tolerance")
CALL_KEYS = ("z_dim", "num_classes", "output_range", "clamp")
Log = Callable[[str], Any]


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


def _threads(n: int | None) -> int:
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    return old


def _evaluate(o: GateOptions, seeds: list[int]) -> tuple[dict[int, list[dict[str, Any]]], dict[str, Any], float]:
    from ..provenance import device_name

    g, data, dev = prepare(o.spec, o.dataset, o.z_dim, o.num_classes, o.output_range, o.resolution, o.channels,
                           o.clamp, o.device, o.data_root)
    t0 = time.perf_counter()
    out = {s: rows_for(g, data, o.metrics, s, dev, data_root=o.data_root) for s in seeds}
    info = {**g.info(), "dataset": data.name, "device": device_name(dev)}
    return out, info, time.perf_counter() - t0


def _key(r: dict[str, Any]) -> tuple[str, str]:
    return str(r["preset_name"]), str(r["metric"])


def options_from_baseline(b: dict[str, Any], spec: str | None, **given: Any) -> GateOptions:
    """The gate's options: what was given on the command line, else what the baseline recorded."""
    gen = b.get("generator") or {}
    kw = {k: gen.get(k) for k in CALL_KEYS if gen.get(k) is not None}
    kw.update({k: v for k, v in given.items() if v is not None})
    return GateOptions(spec=spec or gen.get("spec"), dataset=b.get("dataset", "fashion-mnist"),
                       metrics=tuple(b.get("metrics") or ()), resolution=gen.get("resolution"),
                       channels=gen.get("channels"), seed=int(b.get("eval_seed", 0)), **kw)


@dataclass
class GeneratorComparison:
    baseline: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(r["verdict"] in ("ok", "improved") for r in self.rows)

    def table(self) -> str:
        if not self.rows:
            return "no checks"
        df = pd.DataFrame(self.rows)
        f = {"old": "{:.4f}".format, "tolerance": "{:.4f}".format,
             "new": lambda x: "—" if x is None or pd.isna(x) else f"{x:.4f}",
             "delta": lambda x: "—" if x is None or pd.isna(x) else f"{x:+.4f}"}
        return df.to_string(index=False, formatters=f)

    def verdict(self) -> str:
        lines = [f"regress: {e}" for e in self.errors]
        gen = self.baseline.get("generator", {})
        lines.append(f"regress: generator {gen.get('spec')} evaluated in {self.wall_s:.1f} s "
                     f"(seed {self.baseline.get('eval_seed', 0)}, {self.baseline.get('dataset')})")
        bad = sum(r["verdict"] not in ("ok", "improved") for r in self.rows)
        if self.ok:
            better = sum(r["verdict"] == "improved" for r in self.rows)
            extra = f"; {better} improved beyond tolerance (make it the new baseline with --update)" if better else ""
            lines.append(f"regress: PASS ({len(self.rows)} checks within tolerance{extra})")
        else:
            lines.append(f"regress: FAIL ({bad} of {len(self.rows)} checks failed"
                         + (f", {len(self.errors)} error(s)" if self.errors else "") + ")")
        return "\n".join(lines)


def check(path: Path, o: GateOptions, over: dict[str | None, Tolerance] | None = None,
          log: Log | None = None) -> GeneratorComparison:
    """Evaluate the generator at the baseline's seed and compare each metric with the baseline."""
    b = load_baseline(path)
    if b.get("kind") != KIND:
        raise GanbenchError(f"{path} is a training-suite baseline (suite {b.get('suite')}), not a generator "
                            f"baseline; drop --generator, or make one with --generator SPEC --update")
    over = over or {}
    cmp = GeneratorComparison(b)
    old_sha = (b.get("generator") or {}).get("sha256")
    old = _threads(b.get("torch_threads"))
    try:
        got, info, cmp.wall_s = _evaluate(o, [o.seed])
    finally:
        _threads(old)
    if log and old_sha and info.get("sha256") and info["sha256"] != old_sha:
        log(f"regress: the generator's file changed since the baseline (sha256 {old_sha[:12]} -> "
            f"{info['sha256'][:12]})")
    values = {_key(r): r["value"] for r in got[o.seed]}
    shas = {_key(r): r.get("weights_sha256") for r in got[o.seed]}
    for c in b["checks"]:
        t = _override(over, c)
        tol = t.absolute(c["value"]) if t else float(c["tolerance"])
        new = values.get((c["preset_name"], c["metric"]))
        was, now = c.get("weights_sha256"), shas.get((c["preset_name"], c["metric"]))
        if was and now and was != now:
            cmp.errors.append(f"{c['preset_name']}: the {c['extractor']} weights changed since the baseline (sha256 "
                              f"{was} -> {now}), so the values are not comparable; re-baseline with --update")
        if new is None or not math.isfinite(new):
            verdict = "MISSING"
        else:
            worse = (c["value"] - new) if c["higher_is_better"] else (new - c["value"])
            verdict = "REGRESSION" if worse > tol else "improved" if -worse > tol else "ok"
        cmp.rows.append({"metric": c["preset_name"] if c["metric"] in c["preset_name"] else
                         f"{c['preset_name']}:{c['metric']}", "dir": "↑" if c["higher_is_better"] else "↓",
                         "old": c["value"], "new": new, "delta": None if new is None else new - c["value"],
                         "tolerance": tol, "verdict": verdict})
    return cmp


def update(path: Path, o: GateOptions, spread_seeds: tuple[int, ...] = (0, 1, 2),
           over: dict[str | None, Tolerance] | None = None, threads: int = 1) -> dict[str, Any]:
    """Evaluate at the gate's seed and the spread seeds and write the baseline (atomically)."""
    import torch

    from .. import provenance
    from ..io import write_text
    from ..report.groups import higher_is_better

    if not o.metrics:
        raise GanbenchError("no metric presets given (e.g. --metrics fd_domain2k_train)")
    over = over or {}
    seeds = sorted({o.seed, *spread_seeds})
    if len(set(spread_seeds)) < 2 and not over:
        raise GanbenchError("--spread-seeds needs at least two seeds (e.g. 0,1,2), or give --tolerance")
    old = _threads(threads)
    try:
        got, info, spent = _evaluate(o, seeds)
    finally:
        _threads(old)
    checks = []
    for r in got[o.seed]:
        c = {k: r[k] for k in ("metric", "preset_name", "extractor", "weights_sha256", "n_samples", "n_ref", "split",
                               "value")}
        c["higher_is_better"] = higher_is_better(r["metric"], r["preset_name"])
        c["seed"] = o.seed
        xs = {s: next(x["value"] for x in got[s] if _key(x) == _key(r)) for s in spread_seeds}
        t = _override(over, c)
        if t is not None:
            c["tolerance"] = t.absolute(r["value"])
            c["spread"] = {"given": str(t), "seeds": sorted(xs), "values": [xs[s] for s in sorted(xs)]}
        else:
            tol, s, factor = spread_tolerance([xs[s] for s in sorted(xs)], r["value"])
            c["tolerance"] = tol
            c["spread"] = {"seeds": sorted(xs), "values": [xs[s] for s in sorted(xs)], "std": s, "factor": factor}
        checks.append(c)
    b = {"format": FORMAT, "kind": KIND, "dataset": o.dataset, "metrics": list(o.metrics), "eval_seed": o.seed,
         "device": o.device, "torch_threads": threads,
         "description": "generator gate baseline: `ganbench regress --generator SPEC --baseline THIS` evaluates the "
                        "generator and fails when a value worsens by more than its tolerance; `--update` rewrites it",
         "tolerance_rule": RULE if not over else "given on the command line (spread over seeds recorded)",
         "generator": {k: v for k, v in info.items() if k not in ("dataset", "device")},
         "made_with": {"git_commit": provenance.git_commit(), "torch": torch.__version__, "device": info["device"],
                       "eval_wall_s": round(spent, 1)},
         "checks": checks}
    write_text(Path(path), json.dumps(b, indent=2) + "\n")
    return b


def format_baseline(b: dict[str, Any]) -> str:
    rows = [{"metric": c["preset_name"], "seed": c["seed"], "value": c["value"], "tolerance": c["tolerance"],
             "spread": json.dumps([round(v, 4) for v in c.get("spread", {}).get("values", [])])}
            for c in b["checks"]]
    return pd.DataFrame(rows).to_string(index=False)
