"""Efficiency runs (suites with ``task: efficiency``, e.g. ``ganbench run --suite efficiency``): the second kind of
``results.Job`` beside training runs.

One run per (model, preset, variant): build the model with randomly initialised weights at the suite's image shape
(default 3x32x32, the shape the published parameter counts describe), then measure with
``measure.efficiency``: trainable and frozen parameter counts of G and D, FLOPs per generated
image (``FlopCounterMode`` around ``model.sample(1)``) and the seconds to generate ``n_images`` images (after one
warm-up call). Models that sample from real images (posterior codes, meta-data) draw them from the suite's dataset;
the cost does not depend on which images they are.

A run writes the same layout as a training run (``config.yaml``, ``metrics.csv`` rows made by ``results.record``
with ``extractor`` "-", ``status.json``) so that ``ganbench results`` and ``ganbench report`` read it; a complete run
is skipped when the suite runs again. Metric names: ``params_g``, ``params_d``, ``params_g_frozen``,
``params_d_frozen``, ``flops_per_image``, ``it<n>_s`` (seconds for n images in fp32; ``it100_s`` by default) and
``it<n>_s_bf16`` (bf16 autocast): each the median of repeated timed calls (10 on CUDA, 3 on CPU; ``std`` over them).
"""
from __future__ import annotations

import hashlib
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .. import results
from ..errors import GanbenchError
from ..results import Job, RunLabels, RunResult, record, write_records

PARAM_METRICS = ("params_g", "params_d", "params_g_frozen", "params_d_frozen")


def time_metric(n_images: int) -> str:
    """Name of the timing metric: seconds to generate ``n_images`` images."""
    return f"it{n_images}_s"


@dataclass(frozen=True)
class EfficiencySpec(Job):
    """One efficiency measurement (a ``results.Job``)."""

    model: str
    preset: str = "paper"
    variant: str = "default"
    resolution: int = 32
    channels: int = 3
    n_images: int = 100
    dataset: str = "fashion-mnist"  # source of real images for models with ``samples_from_data``
    data_root: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    seed: int = 0
    device: str = "auto"
    suite: str = "efficiency"
    out_dir: str = field(default="", compare=False)
    task: ClassVar[str] = "efficiency"

    def __post_init__(self) -> None:
        if self.n_images < 1:
            raise GanbenchError(f"n_images must be >= 1, got {self.n_images}")
        if isinstance(self.overrides, dict):
            object.__setattr__(self, "overrides", tuple(sorted(self.overrides.items())))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["overrides"] = dict(self.overrides)
        d["task"] = self.task
        return d

    @property
    def run_id(self) -> str:
        key = {k: v for k, v in self.to_dict().items() if k not in ("out_dir", "device", "data_root")}
        h = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{self.model}-{self.variant}-{self.preset}-eff-{h}"

    def execute(self, progress: bool | str = True) -> RunResult:
        """Measure (or read back the finished measurement)."""
        return run_efficiency(self)


def run_efficiency(spec: EfficiencySpec) -> RunResult:
    """Measure one (model, preset, variant); a complete run directory is read back, not measured again."""
    import pandas as pd
    import torch
    import yaml

    from ..config import to_dict
    from ..images import ImageSpec
    from ..io import write_yaml
    from ..models import create_model
    from ..models.base import MODELS, resolve_config
    from ..provenance import resolve_device, run_environment
    from .measure import default_repeats, efficiency, timing_label

    if not spec.out_dir:
        raise GanbenchError("EfficiencySpec.out_dir is empty")
    run_dir = Path(spec.out_dir)
    status = results.read_status(run_dir)
    if status["status"] == "complete":
        try:
            old = yaml.safe_load((run_dir / "config.yaml").read_text()).get("spec", {})
        except (OSError, AttributeError, yaml.YAMLError) as e:
            raise GanbenchError(f"corrupt run config {run_dir / 'config.yaml'}: {e}") from None
        new = spec.to_dict()
        diff = [k for k in new if k not in ("out_dir", "device", "data_root") and old.get(k) != new[k]]
        if diff:
            raise GanbenchError(f"{run_dir} holds a different run (differs in {', '.join(diff)}); use another --out")
        return RunResult("complete", 0, pd.read_csv(run_dir / "metrics.csv").to_dict("records"), run_dir,
                         status.get("wall_s", 0.0))
    device = resolve_device(spec.device)
    cfg = resolve_config(spec.model, spec.preset, spec.variant, dict(spec.overrides))
    results.check_writable(run_dir)
    torch.manual_seed(spec.seed)
    model = create_model(spec.model, spec.preset, spec.variant, ImageSpec(spec.channels, spec.resolution, 0),
                         dict(spec.overrides))
    conditioning = None
    if model.samples_from_data:
        from ..data import load_dataset
        data = load_dataset(spec.dataset, "train", spec.resolution, spec.channels, spec.data_root)
        model.bind_conditioning(data.images)
        conditioning = {"name": data.name, "split": data.split, "n": len(data), "fingerprint": data.fingerprint}
    paper = MODELS.get(spec.model).paper
    repeats = default_repeats(device)
    write_yaml(run_dir / "config.yaml", {
        "run": spec.run_id, "task": "efficiency", "spec": spec.to_dict(), "model_config": to_dict(cfg),
        "params": model.param_counts(), "deviations": type(model).deviations.strip(),
        "paper": {"title": paper.title, "params_g": paper.params_g, "params_d": paper.params_d,
                  "params_note": paper.params_note},
        "conditioning_images": conditioning, "n_images": spec.n_images,
        "timing": timing_label(device, repeats), "repeats": repeats,
        "flops": "torch.utils.flop_counter.FlopCounterMode around model.sample(1); multiply-add = 2 FLOPs; "
                 "element-wise ops not counted",
        "environment": run_environment(device, run_dir)})
    results.write_status(run_dir, "running")
    t0 = time.perf_counter()
    r = efficiency(model, spec.n_images, device, seed=spec.seed, repeats=repeats)
    wall = time.perf_counter() - t0
    it = time_metric(spec.n_images)
    values = {**{k: r[k] for k in PARAM_METRICS}, "flops_per_image": r["flops_per_image"],
              it: r["seconds_fp32"], f"{it}_bf16": r["seconds_bf16"]}
    spread = {it: r["seconds_fp32_runs"], f"{it}_bf16": r["seconds_bf16_runs"]}  # std over the repeats
    labels = RunLabels(spec.run_id, spec.suite, spec.model, spec.variant, spec.preset, spec.seed)
    rows = [record({"metric": name, "value": float(v), "dataset": "-", "split": "-", "resolution": spec.resolution,
                    "channels": spec.channels, "extractor": "-", "protocol": "efficiency", "higher_is_better": False,
                    "std": statistics.stdev(spread[name]) if len(spread.get(name, ())) > 1 else None,
                    "n_samples": spec.n_images if name.startswith("it") else (1 if name == "flops_per_image" else None),
                    "n_real": None}, labels, images_seen=0, wall_s=round(wall, 3), device=r["device"]).row()
            for name, v in values.items()]  # parameters, FLOPs and seconds: lower is better
    write_records(run_dir / "metrics.csv", rows)
    results.write_status(run_dir, "complete", images_seen=0, wall_s=round(wall, 3))
    return RunResult("complete", 0, rows, run_dir, wall)
