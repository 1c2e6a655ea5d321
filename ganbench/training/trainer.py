"""Training a run: ``train`` (or resume, or return a finished run) under the run directory's lock, setting up the
model, G EMA copy, optimisers (TTUR via lr_g/lr_d, ``build_optimizers``), RNGs (``paired_seed``) and the run's
config.yaml, restoring the latest checkpoint for an exact resume (``checkpoint.resume_training``), then handing over
to ``loop.TrainingLoop`` (the hot path, evaluations, checkpoints, divergence detection, progress). Models supply G, D
and their losses (``GAN.d_loss``/``g_loss``)."""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import torch
from .. import results
from ..config import to_dict
from ..data import ImageData, load_dataset
from ..errors import GanbenchError
from ..io import LockBusy, exclusive_lock, remove_stale_temps, write_yaml
from ..models.base import GAN, create_model, resolve_config
from ..provenance import resolve_device, run_environment
from ..results import RunBusy, RunResult
from . import checkpoint
from .checkpoint import LoopState
from .loop import TrainingLoop
from .preflight import check_output_shape
from .run_options import backend_state, configure_backends, nondeterministic_op_error, set_memory_format
from .sample_source import SampleSource, check_protocols
from .spec import OPTIONAL, TrainSpec
from .tblog import RunLogger

log = logging.getLogger(__name__)


def train(spec: TrainSpec, progress: bool | str = True, logger: RunLogger | None = None) -> RunResult:
    """Train (or resume, or return a finished run) as ``spec`` says; results go to ``spec.out_dir``. ``progress``:
    see ``progress.resolve``. ``logger`` (e.g. TensorBoard, see ``tblog``) mirrors losses, metric rows, grids and the
    config; the CSV stays the truth."""
    if not spec.out_dir:
        raise GanbenchError("TrainSpec.out_dir is empty")
    run_dir = Path(spec.out_dir)
    status = results.read_status(run_dir)
    if status["status"] in ("complete", "diverged"):
        return _finished(run_dir, spec, status)
    device = resolve_device(spec.device)  # bad input fails here, before the run directory exists
    cfg = resolve_config(spec.model, spec.preset, spec.variant, dict(spec.overrides))
    protocols = _metric_protocols(spec.metrics)
    final = _metric_protocols(spec.final_metrics)
    data = load_dataset(spec.dataset, "train", spec.resolution, spec.channels, spec.data_root)
    check_protocols(spec.model, data, protocols + final)  # models that sample from data need a split other than the real one
    results.check_writable(run_dir)
    try:
        with exclusive_lock(run_dir / ".lock"):  # one writer per run directory (two suites started at once)
            status = results.read_status(run_dir)  # it may have finished since
            if status["status"] in ("complete", "diverged"):
                return _finished(run_dir, spec, status)
            return _train_locked(spec, run_dir, progress, device, cfg, protocols, data, logger or RunLogger())
    except LockBusy:
        raise RunBusy(f"run {run_dir} is being trained by another process") from None


def _finished(run_dir: Path, spec: TrainSpec, status: dict[str, Any]) -> RunResult:
    _check_same_run(run_dir, spec)
    return RunResult(status["status"], status.get("images_seen", 0), _read_rows(run_dir), run_dir,
                     status.get("wall_s", 0.0), status.get("reason", ""))


def _train_locked(spec: TrainSpec, run_dir: Path, progress: bool, device: str, cfg, protocols: list[str],
                  data: ImageData, logger: RunLogger | None = None) -> RunResult:
    removed = remove_stale_temps(run_dir)  # left by a killed process; only this process writes here now
    if removed:
        log.info("removed %d stale temporary file(s) in %s", len(removed), run_dir)
    if (run_dir / "config.yaml").exists():
        _check_same_run(run_dir, spec)

    configure_backends(cfg, device)  # before any CUDA work: cuBLAS reads CUBLAS_WORKSPACE_CONFIG (--deterministic) once
    torch.manual_seed(spec.seed)
    model = create_model(spec.model, spec.preset, spec.variant, data.spec, dict(spec.overrides)).to(device)
    check_output_shape(model, data.spec, data.images)  # resolution vs architecture, before anything is written
    set_memory_format(model, cfg)
    source = SampleSource(model, data, spec.data_root)
    source.bind_default(protocols)  # samples_from_data models: conditioning images from a split the metric does not compare with
    g_ema = copy.deepcopy(model.G).eval().requires_grad_(False) if cfg.ema_kimg > 0 else None
    opt_g, opt_d = build_optimizers(model)
    data_rng = torch.Generator().manual_seed(spec.seed)
    # Paired designs: construction drew a variant-dependent number of values from the global RNG (weight init), so
    # reseed it here; every variant of a model then trains on the same latent draws (and data order, data_rng) for a
    # given seed wherever shapes allow. A resumed run restores the checkpointed state below instead.
    torch.manual_seed(paired_seed(spec.seed))
    st, scalers = LoopState(), {}

    ckpts = checkpoint.list_checkpoints(run_dir)
    if ckpts:
        st, scalers = checkpoint.resume_training(ckpts[-1], model, g_ema, opt_g, opt_d, data_rng, device)
        log.info("resumed %s at %d images", run_dir, st.images_seen)
    else:
        write_yaml(run_dir / "config.yaml", {
            "run": spec.run_id, "spec": spec.to_dict(), "model_config": to_dict(cfg),
            "params": model.param_counts(), "deviations": type(model).deviations.strip(),
            "paper": type(model).paper.title, "dataset": _dataset_info(data), **source.describe(list(protocols) + list(spec.final_metrics)),
            "environment": run_environment(device, run_dir),
            "backends": backend_state(device)})
    results.write_status(run_dir, "running", images_seen=st.images_seen, wall_s=st.wall_s)

    loop = TrainingLoop(spec, model, g_ema, opt_g, opt_d, data, data_rng, st, run_dir, device, protocols, source)
    if ckpts and loop.scalers:
        for name, scaler in loop.scalers.items():
            scaler.load_state_dict(scalers[name])
    if logger is not None:
        loop.logger = logger
        logger.config((run_dir / "config.yaml").read_text())
    try:
        return loop.run(progress)
    except RuntimeError as e:  # --deterministic: an op without a deterministic kernel
        err = nondeterministic_op_error(e, device)
        if err is None:
            raise
        raise err from None


def paired_seed(seed: int) -> int:
    """The global-RNG seed training starts from (after model construction): a function of the run's seed only."""
    return seed * 1_000_003 + 1


def build_optimizers(model: GAN) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """G and D Adam as the recipe says (G's own betas where it has them)."""
    cfg = model.cfg
    opt_g = torch.optim.Adam(model.g_parameters(), lr=cfg.lr_g, betas=cfg.g_betas or (cfg.beta1, cfg.beta2),
                             eps=cfg.adam_eps)
    opt_d = torch.optim.Adam(model.d_parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps)
    return opt_g, opt_d


def _metric_protocols(names) -> list[str]:
    if not names:
        return []
    from ..metrics import PROTOCOLS
    for n in names:
        PROTOCOLS.get(n)  # one-line error for unknown names, before any training
    return list(names)


def _dataset_info(data: ImageData) -> dict[str, Any]:
    return {"name": data.name, "split": data.split, "resolution": data.resolution, "channels": data.channels,
            "n": len(data), "fingerprint": data.fingerprint, "source": data.source}


def _check_same_run(run_dir: Path, spec: TrainSpec) -> None:
    import yaml

    try:
        old = yaml.safe_load((run_dir / "config.yaml").read_text())["spec"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise GanbenchError(f"corrupt run config {run_dir / 'config.yaml'}: {checkpoint.one_line(e)}") from None
    new = spec.to_dict()
    diff = [k for k in new if k not in ("out_dir", "device") and old.get(k, OPTIONAL.get(k)) != new[k]]
    if diff:
        raise GanbenchError(f"{run_dir} holds a different run (differs in {', '.join(diff)}); use another --out")


def _read_rows(run_dir: Path) -> list[dict[str, Any]]:
    f = run_dir / "metrics.csv"
    if not f.exists():
        return []
    import pandas as pd

    return pd.read_csv(f).to_dict("records")
