"""The shared training loop. Models supply G, D and their losses (``GAN.d_loss``/``g_loss``); this loop owns the
rest: data sampling, optimisers (TTUR via lr_g/lr_d), n_dis D steps per G step, G weight EMA, images-seen
accounting (real images shown to D), periodic evaluation and sample grids, atomic checkpoints with exact resume,
divergence detection and the progress bar."""
from __future__ import annotations

import copy
import io
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .. import results
from ..config import to_dict
from ..data import ImageData, load_dataset
from ..errors import GanbenchError
from ..io import LockBusy, atomic_write, exclusive_lock, remove_stale_temps, write_yaml
from ..models.base import GAN, StepInfo, create_model, ema_beta, resolve_config, to_float
from ..provenance import device_name, environment, resolve_device
from . import checkpoint
from .preflight import check_output_shape
from .run_options import (backend_state, backward_step, compile_model, configure_backends, make_autocast,
                          make_scalers, resident, set_memory_format, sync)
from .sample_source import SampleSource, check_presets
from .spec import TrainSpec
from .tblog import RunLogger

log = logging.getLogger(__name__)
SAMPLE_GRID = 64
MAX_WEIGHT = 1e6  # |w| above this counts as exploding weights


class RunBusy(GanbenchError):
    """Another process is training this run directory right now."""


@dataclass
class RunResult:
    status: str  # complete | diverged
    images_seen: int
    rows: list[dict[str, Any]]
    run_dir: Path
    wall_s: float
    reason: str = ""


@dataclass
class _State:
    images_seen: int = 0
    step: int = 0
    d_step: int = 0
    wall_s: float = 0.0
    evals: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def train(spec: TrainSpec, progress: bool = True, logger: RunLogger | None = None) -> RunResult:
    """Train (or resume, or return a finished run) as ``spec`` says; results go to ``spec.out_dir``. ``logger``
    (e.g. TensorBoard, see ``tblog``) mirrors losses, metric rows, grids and the config; the CSV stays the truth."""
    if not spec.out_dir:
        raise GanbenchError("TrainSpec.out_dir is empty")
    run_dir = Path(spec.out_dir)
    status = results.read_status(run_dir)
    if status["status"] in ("complete", "diverged"):
        return _finished(run_dir, spec, status)
    device = resolve_device(spec.device)  # bad input fails here, before the run directory exists
    cfg = resolve_config(spec.model, spec.preset, spec.variant, dict(spec.overrides))
    presets = _metric_presets(spec.metrics)
    data = load_dataset(spec.dataset, "train", spec.resolution, spec.channels, spec.data_root)
    check_presets(spec.model, data, presets)  # models that sample from data need a split other than the reference
    results.check_writable(run_dir)
    try:
        with exclusive_lock(run_dir / ".lock"):  # one writer per run directory (two suites started at once)
            status = results.read_status(run_dir)  # it may have finished since
            if status["status"] in ("complete", "diverged"):
                return _finished(run_dir, spec, status)
            return _train_locked(spec, run_dir, progress, device, cfg, presets, data, logger or RunLogger())
    except LockBusy:
        raise RunBusy(f"run {run_dir} is being trained by another process") from None


def _finished(run_dir: Path, spec: TrainSpec, status: dict[str, Any]) -> RunResult:
    _check_same_run(run_dir, spec)
    return RunResult(status["status"], status.get("images_seen", 0), _read_rows(run_dir), run_dir,
                     status.get("wall_s", 0.0), status.get("reason", ""))


def _train_locked(spec: TrainSpec, run_dir: Path, progress: bool, device: str, cfg, presets: list[str],
                  data: ImageData, logger: RunLogger | None = None) -> RunResult:
    removed = remove_stale_temps(run_dir)  # left by a killed process; only this process writes here now
    if removed:
        log.info("removed %d stale temporary file(s) in %s", len(removed), run_dir)
    if (run_dir / "config.yaml").exists():
        _check_same_run(run_dir, spec)

    torch.manual_seed(spec.seed)
    model = create_model(spec.model, spec.preset, spec.variant, data.spec, dict(spec.overrides)).to(device)
    check_output_shape(model, data.spec, data.images)  # resolution vs architecture, before anything is written
    configure_backends(cfg, device)
    set_memory_format(model, cfg)
    source = SampleSource(model, data, spec.data_root)
    source.bind_default(presets)  # samples_from_data models: real images from a split that is not the reference
    g_ema = copy.deepcopy(model.G).eval().requires_grad_(False) if cfg.ema_kimg > 0 else None
    opt_g, opt_d = build_optimizers(model)
    data_rng = torch.Generator().manual_seed(spec.seed)
    st = _State()

    ckpts = checkpoint.list_checkpoints(run_dir)
    if ckpts:
        s = checkpoint.load(ckpts[-1], map_location=device)
        with checkpoint.mismatch_is_error(ckpts[-1]):
            model.load_state_dict(s["model"])
            if g_ema is not None:
                g_ema.load_state_dict(s["g_ema"])
            opt_g.load_state_dict(s["opt_g"])
            opt_d.load_state_dict(s["opt_d"])
            torch.set_rng_state(s["rng"])
            if device.startswith("cuda") and "cuda_rng" in s:
                torch.cuda.set_rng_state(s["cuda_rng"])
            data_rng.set_state(s["data_rng"])
            scalers = s.get("scalers", {})
            st = _State(s["images_seen"], s["step"], s["d_step"], s["wall_s"], s["evals"], list(s["rows"]))
        log.info("resumed %s at %d images", run_dir, st.images_seen)
    else:
        write_yaml(run_dir / "config.yaml", {
            "run": spec.run_id, "spec": spec.to_dict(), "model_config": to_dict(cfg),
            "params": model.param_counts(), "deviations": type(model).deviations.strip(),
            "paper": type(model).paper.title, "dataset": _dataset_info(data), **source.describe(presets),
            "environment": environment(device),
            "backends": backend_state(device)})
    results.write_status(run_dir, "running", images_seen=st.images_seen, wall_s=st.wall_s)

    loop = _Loop(spec, model, g_ema, opt_g, opt_d, data, data_rng, st, run_dir, device, presets, source)
    if ckpts and loop.scalers:
        for name, scaler in loop.scalers.items():
            scaler.load_state_dict(scalers[name])
    if logger is not None:
        loop.logger = logger
        logger.config((run_dir / "config.yaml").read_text())
    return loop.run(progress)


def build_optimizers(model: GAN) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """G and D Adam as the recipe says (G's own betas where it has them)."""
    cfg = model.cfg
    opt_g = torch.optim.Adam(model.g_parameters(), lr=cfg.lr_g, betas=cfg.g_betas or (cfg.beta1, cfg.beta2),
                             eps=cfg.adam_eps)
    opt_d = torch.optim.Adam(model.d_parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps)
    return opt_g, opt_d


class _Loop:
    """One run's mutable state and the loop over it (kept out of ``train`` so the hot path reads plainly)."""

    logger: RunLogger = RunLogger()  # no-op unless train() was given one

    def __init__(self, spec: TrainSpec, model: GAN, g_ema, opt_g, opt_d, data: ImageData, data_rng, st: _State,
                 run_dir: Path, device: str, presets: list[str], source: SampleSource | None = None) -> None:
        self.spec, self.model, self.g_ema, self.opt_g, self.opt_d = spec, model, g_ema, opt_g, opt_d
        self.data, self.data_rng, self.st, self.run_dir, self.device = data, data_rng, st, run_dir, device
        self.presets = presets
        self.source = source or SampleSource(model, data, spec.data_root)
        self.cfg = model.cfg
        self.total = int(round(spec.kimg * 1000))
        self.eval_every = int(round(spec.eval_every_kimg * 1000)) or self.total
        self.ckpt_every = int(round(spec.ckpt_every_kimg * 1000)) or self.eval_every
        self.labels = data.labels if self.cfg.conditional else None
        self.device_label = device_name(device)
        self.d_params = model.d_parameters()  # fixed for a run; toggled off during each G step
        self.g_params = model.g_parameters()
        self.images = resident(data.images, device)  # on the GPU when it fits, else pinned host memory
        self.labels = resident(self.labels, device) if self.labels is not None else None
        self.autocast = make_autocast(self.cfg, device)  # a no-op context in fp32
        self.scalers = make_scalers(self.cfg, device)  # {"d": GradScaler, "g": GradScaler} in fp16, else {}
        compile_model(model, self.cfg)

    # ---- the hot path ---------------------------------------------------------------------------------------
    def batch(self):
        idx = torch.randint(0, len(self.data), (self.cfg.batch_size,), generator=self.data_rng)
        real = to_float(self.images[idx.to(self.images.device)].to(self.device, non_blocking=True))
        if self.cfg.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        y = self.labels[idx.to(self.labels.device)].to(self.device) if self.labels is not None else None
        return real, y

    def iteration(self) -> dict[str, torch.Tensor]:
        m, st, cfg = self.model, self.st, self.cfg
        info = StepInfo(st.step, st.d_step, st.images_seen)
        d_params = self.d_params
        for _ in range(cfg.n_dis):
            real, y = self.batch()
            info.d_step, info.images_seen = st.d_step, st.images_seen
            with self.autocast():
                loss_d, logs = m.d_loss(real, y, info)
            self.opt_d.zero_grad(set_to_none=True)
            backward_step(loss_d, self.opt_d, d_params, cfg.grad_clip, self.scalers.get("d"))
            st.d_step += 1
            st.images_seen += real.shape[0]
        for p in d_params:  # no D weight gradients in the G step
            p.requires_grad_(False)
        info.images_seen = st.images_seen
        with self.autocast():
            loss_g, logs_g = m.g_loss(real, y, info)
        self.opt_g.zero_grad(set_to_none=True)
        backward_step(loss_g, self.opt_g, self.g_params, cfg.grad_clip, self.scalers.get("g"))
        for p in d_params:
            p.requires_grad_(True)
        st.step += 1
        if self.g_ema is not None:
            self.update_ema()
        return {**logs, **logs_g, "loss_d": loss_d.detach(), "loss_g": loss_g.detach()}  # the totals win

    @torch.no_grad()
    def update_ema(self) -> None:
        beta = ema_beta(self.cfg, self.cfg.batch_size, self.st.images_seen)  # 0 (a copy) before ema_start_kimg
        src, dst = list(self.model.G.parameters()), list(self.g_ema.parameters())
        torch._foreach_lerp_(dst, src, 1.0 - beta)
        for b_ema, b in zip(self.g_ema.buffers(), self.model.G.buffers()):
            b_ema.copy_(b)

    # ---- the loop -------------------------------------------------------------------------------------------
    def run(self, progress: bool) -> RunResult:
        st = self.st
        bar = tqdm(total=self.total, initial=min(st.images_seen, self.total), unit="img", unit_scale=True,
                   disable=not progress, desc=self.spec.run_id, dynamic_ncols=True, mininterval=1.0,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]")
        try:
            if st.evals == 0:  # the value at initialisation
                self.evaluate(bar)
                self.save_checkpoint()
            next_eval = (st.images_seen // self.eval_every + 1) * self.eval_every
            next_ckpt = (st.images_seen // self.ckpt_every + 1) * self.ckpt_every
            self.model.train()
            while st.images_seen < self.total:
                t0 = time.perf_counter()
                before = st.images_seen
                logs = self.iteration()
                sync(self.device)  # CUDA runs asynchronously: without this the clock reads launch time
                st.wall_s += time.perf_counter() - t0
                bar.update(min(st.images_seen, self.total) - min(before, self.total))
                if not bool(torch.stack([torch.isfinite(v).all() for v in logs.values()]).all()):  # one sync
                    bad = [k for k, v in logs.items() if not bool(torch.isfinite(v).all())]
                    return self.diverged(bar, f"non-finite {', '.join(bad)}")
                if self.logger.every and st.step % self.logger.every == 0:
                    self.logger.losses(st.images_seen, logs)
                done = st.images_seen >= self.total
                if st.images_seen >= next_eval or done:
                    next_eval = (st.images_seen // self.eval_every + 1) * self.eval_every
                    if self.exploding():
                        return self.diverged(bar, f"weights above {MAX_WEIGHT:g}")
                    self.evaluate(bar, logs)
                if st.images_seen >= next_ckpt or done:
                    next_ckpt = (st.images_seen // self.ckpt_every + 1) * self.ckpt_every
                    self.save_checkpoint()
        finally:
            bar.close()
        results.write_status(self.run_dir, "complete", images_seen=st.images_seen, wall_s=round(st.wall_s, 3))
        return RunResult("complete", st.images_seen, st.rows, self.run_dir, st.wall_s)

    def generator_for_eval(self):
        return self.g_ema if self.g_ema is not None else self.model.G

    @torch.no_grad()
    def evaluate(self, bar, logs: dict[str, torch.Tensor] | None = None) -> None:
        """Metrics and a sample grid at the current images seen; never touches the training RNG."""
        st, spec = self.st, self.spec
        G = self.generator_for_eval()
        was_training = G.training
        G.eval()
        # Building a feature network (or any randomness inside a metric) draws from the global RNG: fork it so that
        # training does not depend on whether an extractor was already built in this process.
        cuda = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        try:
            with torch.random.fork_rng(devices=cuda):
                if self.presets:
                    gen_seed = spec.seed * 1_000_003 + 17  # same sample noise at every evaluation
                    sample = lambda n, g: self.model.sample(n, g, G=G)  # noqa: E731
                    for r in self.source.evaluate(sample, self.presets, seed=gen_seed, device=self.device):
                        st.rows.append(self.row(r))
                        self.logger.metrics(st.images_seen, st.rows[-1:])
                self.save_grid(G)
        finally:
            G.train(was_training)
        st.evals += 1
        results.write_rows(self.run_dir / "metrics.csv", st.rows)
        latest = {r["metric"]: r["value"] for r in st.rows if r["images_seen"] == st.images_seen}
        post = {k: f"{v:.3g}" for k, v in latest.items()}
        if logs:
            post.update({k: f"{float(v):.3g}" for k, v in logs.items() if k in ("loss_d", "loss_g")})
        bar.set_postfix(post, refresh=False)

    def row(self, r: dict[str, Any]) -> dict[str, Any]:
        s = self.spec
        return {"run": s.run_id, "suite": s.suite, "model": s.model, "variant": s.variant, "preset": s.preset,
                "dataset": r.get("dataset", self.data.name), "split": r.get("split"),
                "resolution": r.get("resolution", self.data.resolution), "channels": self.data.channels,
                "seed": s.seed, "images_seen": self.st.images_seen, "wall_s": round(self.st.wall_s, 3),
                "metric": r["metric"], "value": float(r["value"]), "std": r.get("std"),
                "extractor": r.get("extractor"), "n_samples": r.get("n_samples"), "n_ref": r.get("n_ref"),
                "preset_name": r.get("preset"), "device": self.device_label, "sample_split": r.get("sample_split")}

    def save_grid(self, G) -> None:
        from torchvision.utils import save_image

        g = torch.Generator(device="cpu").manual_seed(self.spec.seed + 12345)
        images = self.model.sample(SAMPLE_GRID, g, G=G).cpu()
        self.logger.grid(self.st.images_seen, images)
        buf = io.BytesIO()
        save_image(images * 0.5 + 0.5, buf, format="png", nrow=8)
        atomic_write(self.run_dir / "samples" / f"{self.st.images_seen:09d}.png", lambda f: f.write(buf.getvalue()))

    def save_checkpoint(self) -> None:
        st = self.st
        state = {"model": self.model.state_dict(), "g_ema": self.g_ema.state_dict() if self.g_ema else {},
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "rng": torch.get_rng_state(),
                 "data_rng": self.data_rng.get_state(), "images_seen": st.images_seen, "step": st.step,
                 "d_step": st.d_step, "wall_s": st.wall_s, "evals": st.evals, "rows": st.rows}
        if self.device.startswith("cuda"):
            state["cuda_rng"] = torch.cuda.get_rng_state()
        if self.scalers:
            state["scalers"] = {k: v.state_dict() for k, v in self.scalers.items()}
        checkpoint.save(self.run_dir, state)
        results.write_status(self.run_dir, "running", images_seen=st.images_seen, wall_s=round(st.wall_s, 3))

    def exploding(self) -> bool:
        return any(not math.isfinite(m) or m > MAX_WEIGHT
                   for m in (float(p.detach().abs().max()) for p in self.model.parameters() if p.numel()))

    def diverged(self, bar, reason: str) -> RunResult:
        st = self.st
        bar.close()
        log.warning("run %s diverged at %d images: %s", self.spec.run_id, st.images_seen, reason)
        results.write_rows(self.run_dir / "metrics.csv", st.rows)
        results.write_status(self.run_dir, "diverged", images_seen=st.images_seen, wall_s=round(st.wall_s, 3),
                             reason=reason)
        return RunResult("diverged", st.images_seen, st.rows, self.run_dir, st.wall_s, reason)


def _metric_presets(names) -> list[str]:
    if not names:
        return []
    from ..metrics import PRESETS
    for n in names:
        PRESETS.get(n)  # one-line error for unknown names, before any training
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
    diff = [k for k in new if k not in ("out_dir", "device") and old.get(k) != new[k]]
    if diff:
        raise GanbenchError(f"{run_dir} holds a different run (differs in {', '.join(diff)}); use another --out")


def _read_rows(run_dir: Path) -> list[dict[str, Any]]:
    f = run_dir / "metrics.csv"
    if not f.exists():
        return []
    import pandas as pd

    return pd.read_csv(f).to_dict("records")
