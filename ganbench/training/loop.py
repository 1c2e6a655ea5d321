"""The training loop of one run (``TrainingLoop``, built by ``trainer._train_locked``): the hot path (batch sampling,
n_dis D steps per G step, G weight EMA, images-seen accounting), periodic evaluation and sample grids, atomic
checkpoints with exact resume state (``checkpoint.save_training``), divergence detection (non-finite losses flagged
on the device, exploding weights) and the progress bar."""
from __future__ import annotations

import io
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
from .. import rand
from ..data import ImageData
from ..io import atomic_write
from ..images import to_float
from ..models.base import GAN, StepInfo, ema_beta
from ..provenance import device_name
from ..results import Record, RunLabels, RunResult, record, write_records, write_status
from . import checkpoint
from .checkpoint import LoopState
from .progress import make_progress
from .run_options import (backward_step, check_interval, compile_model, make_autocast, make_scalers, mark_step,
                          resident, sync, uses_cuda_graphs)
from .sample_source import CONTROL, SampleSource
from .spec import TrainSpec
from .tblog import RunLogger

log = logging.getLogger(__name__)
SAMPLE_GRID = 64
MAX_WEIGHT = 1e6  # |w| above this counts as exploding weights


def _times_by_segment(device: str) -> bool:
    """CUDA: wall_s is read after a device sync at evaluation/checkpoint boundaries, never per iteration (a sync per
    iteration makes each step wait on Python). CPU: the clock around each iteration, as it always was."""
    return str(device).startswith("cuda")


class _NonFinite:
    """Which log values were non-finite since the run started, accumulated on the device without a host sync;
    ``read`` (one sync) names them."""

    def __init__(self) -> None:
        self.flags: dict[tuple[str, ...], torch.Tensor] = {}  # one bool vector per set of log keys

    def add(self, logs: dict[str, torch.Tensor]) -> None:
        vals = list(logs.values())
        if all(v.dim() == 0 for v in vals):
            bad = torch.stack([v.detach() for v in vals]).isfinite().logical_not_()
        else:
            bad = torch.stack([torch.isfinite(v.detach()).all() for v in vals]).logical_not_()
        keys = tuple(logs)
        self.flags[keys] = self.flags[keys].logical_or_(bad) if keys in self.flags else bad

    def read(self) -> list[str]:
        if not self.flags:
            return []
        flat = torch.cat(list(self.flags.values())).tolist()  # the one host sync
        names = [k for keys in self.flags for k in keys]
        return list(dict.fromkeys(k for k, b in zip(names, flat) if b))


def _copying(protocols: list[str]) -> list[str]:
    from ..metrics import PROTOCOLS
    from ..metrics.protocols import COPYING

    return [p for p in protocols if PROTOCOLS.get(p).kind in COPYING]


def save_pairs(path: Path, pairs: torch.Tensor) -> None:
    """A PNG of (generated, nearest training image) pairs side by side, 4 pairs per row."""
    from torchvision.utils import save_image

    buf = io.BytesIO()
    save_image(pairs * 0.5 + 0.5, buf, format="png", nrow=8, padding=2, pad_value=1.0)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


class TrainingLoop:
    """One run's mutable state and the loop over it (kept out of ``train`` so the hot path reads plainly)."""

    logger: RunLogger = RunLogger()  # no-op unless train() was given one

    def __init__(self, spec: TrainSpec, model: GAN, g_ema, opt_g, opt_d, data: ImageData, data_rng, st: LoopState,
                 run_dir: Path, device: str, protocols: list[str], source: SampleSource | None = None) -> None:
        self.spec, self.model, self.g_ema, self.opt_g, self.opt_d = spec, model, g_ema, opt_g, opt_d
        self.data, self.data_rng, self.st, self.run_dir, self.device = data, data_rng, st, run_dir, device
        self.protocols = protocols
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
        idx = rand.randint(0, len(self.data), (self.cfg.batch_size,), self.data_rng)  # a CPU generator
        # non_blocking: a pageable CPU source is staged at once (safe), and there is no stream sync per batch
        real = to_float(self.images[idx.to(self.images.device, non_blocking=True)].to(self.device, non_blocking=True))
        if self.cfg.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        y = (self.labels[idx.to(self.labels.device, non_blocking=True)].to(self.device, non_blocking=True)
             if self.labels is not None else None)
        return real, y

    def iteration(self) -> dict[str, torch.Tensor]:
        m, st, cfg = self.model, self.st, self.cfg
        if uses_cuda_graphs(cfg):
            mark_step()  # CUDA graph trees: a new iteration (compiled forwards return clones, see run_options)
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
    def run(self, progress: bool | str) -> RunResult:
        """Train to ``total`` images with evaluations and checkpoints. Divergence: a non-finite loss is flagged on
        the device and seen at the next check (every ``check_every`` G steps, see ``run_options.check_interval``;
        auto = every step on CPU, as before), so on CUDA a run may stop up to that many steps after its first
        non-finite loss; the reason names the keys and the images seen at the check. Every evaluation and
        checkpoint checks first, so no non-finite state is ever checkpointed or evaluated."""
        st = self.st
        bar = make_progress(progress, self.spec.run_id, self.total, min(st.images_seen, self.total))
        try:
            if st.evals == 0:  # the value at initialisation
                self.evaluate(bar)
                self.save_checkpoint()
            next_eval = (st.images_seen // self.eval_every + 1) * self.eval_every
            next_ckpt = (st.images_seen // self.ckpt_every + 1) * self.ckpt_every
            self.model.train()
            # No host sync per iteration: non-finite losses are flagged on the device and read every `check_every`
            # G steps and at every evaluation/checkpoint (so a non-finite state is never checkpointed); on CUDA the
            # clock is read after a device sync at those boundaries only (evaluation time excluded, as on CPU).
            check_every, by_segment = check_interval(self.cfg, self.device), _times_by_segment(self.device)
            nonfinite, seg0 = _NonFinite(), time.perf_counter()
            while st.images_seen < self.total:
                t0 = time.perf_counter()
                before = st.images_seen
                logs = self.iteration()
                if not by_segment:  # CPU: the step has finished when iteration() returns
                    st.wall_s += time.perf_counter() - t0
                bar.update(min(st.images_seen, self.total) - min(before, self.total))
                nonfinite.add(logs)
                done = st.images_seen >= self.total
                at_eval, at_ckpt = st.images_seen >= next_eval or done, st.images_seen >= next_ckpt or done
                if by_segment and (at_eval or at_ckpt):
                    sync(self.device)  # CUDA runs asynchronously: the segment's work ends here
                    st.wall_s += time.perf_counter() - seg0
                if at_eval or at_ckpt or st.step % check_every == 0:
                    bad = nonfinite.read()
                    if bad:
                        if by_segment and not (at_eval or at_ckpt):
                            sync(self.device)
                            st.wall_s += time.perf_counter() - seg0
                        within = f" (checked at {st.images_seen} images, every {check_every} G steps)" \
                            if check_every > 1 else ""
                        return self.diverged(bar, f"non-finite {', '.join(bad)}{within}")
                if self.logger.every and st.step % self.logger.every == 0:
                    self.logger.losses(st.images_seen, logs)
                if at_eval:
                    next_eval = (st.images_seen // self.eval_every + 1) * self.eval_every
                    if self.exploding():
                        return self.diverged(bar, f"weights above {MAX_WEIGHT:g}")
                    self.evaluate(bar, logs)
                if at_ckpt:
                    next_ckpt = (st.images_seen // self.ckpt_every + 1) * self.ckpt_every
                    self.save_checkpoint()
                if at_eval or at_ckpt:
                    seg0 = time.perf_counter()
        finally:
            bar.close()
        write_status(self.run_dir, "complete", images_seen=st.images_seen, wall_s=round(st.wall_s, 3))
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
                final = st.images_seen >= self.total
                protocols = self.protocols + (list(spec.final_metrics) if final else [])
                if protocols:
                    gen_seed = spec.seed * 1_000_003 + 17  # same sample noise at every evaluation
                    sample = lambda n, g: self.model.sample(n, g, G=G)  # noqa: E731
                    for r in self.source.evaluate(sample, protocols, seed=gen_seed, device=self.device):
                        st.rows.append(self.row(r).row())
                        self.logger.metrics(st.images_seen, st.rows[-1:])
                self.save_grid(G)
                if final and _copying(protocols):
                    self.save_nearest(G, _copying(protocols)[0])
        finally:
            G.train(was_training)
        st.evals += 1
        write_records(self.run_dir / "metrics.csv", st.rows)
        latest = {r["metric"]: r["value"] for r in st.rows if r["images_seen"] == st.images_seen}
        post = {k: f"{v:.3g}" for k, v in latest.items()}
        if logs:
            post.update({k: f"{float(v):.3g}" for k, v in logs.items() if k in ("loss_d", "loss_g")})
        bar.evaluated(post)

    def row(self, r: dict[str, Any]) -> Record:
        s = self.spec
        return record(r, RunLabels(s.run_id, s.suite, s.model, s.variant, s.preset, s.seed),
                      images_seen=self.st.images_seen, wall_s=round(self.st.wall_s, 3), device=self.device_label)

    def save_grid(self, G) -> None:
        from torchvision.utils import save_image

        g = torch.Generator(device="cpu").manual_seed(self.spec.seed + 12345)
        images = self.model.sample(SAMPLE_GRID, g, G=G).cpu()
        self.logger.grid(self.st.images_seen, images)
        buf = io.BytesIO()
        save_image(images * 0.5 + 0.5, buf, format="png", nrow=8)
        atomic_write(self.run_dir / "samples" / f"{self.st.images_seen:09d}.png", lambda f: f.write(buf.getvalue()))

    def save_nearest(self, G, protocol: str) -> None:
        """``samples/nn-<images>.png``: generated samples next to their nearest training images in the copying
        check's feature space (the 8 of the grid's samples closest to the training set, then 8 more)."""
        from ..metrics.copying import nearest_pairs

        g = torch.Generator(device="cpu").manual_seed(self.spec.seed + 12345)  # the sample grid's latents
        self.source.bind(CONTROL)  # as the copying check sampled (a no-op for models that do not sample data)
        try:
            images = self.model.sample(SAMPLE_GRID, g, G=G).cpu()
        finally:
            self.source.bind_default(self.protocols)
        pairs = nearest_pairs(images, self.data, protocol, device=self.device)
        save_pairs(self.run_dir / "samples" / f"nn-{self.st.images_seen:09d}.png", pairs)

    def save_checkpoint(self) -> None:
        st = self.st
        checkpoint.save_training(self.run_dir, st, self.model, self.g_ema, self.opt_g, self.opt_d, self.data_rng,
                                 self.device, self.scalers)
        write_status(self.run_dir, "running", images_seen=st.images_seen, wall_s=round(st.wall_s, 3))

    def exploding(self) -> bool:
        return any(not math.isfinite(m) or m > MAX_WEIGHT
                   for m in (float(p.detach().abs().max()) for p in self.model.parameters() if p.numel()))

    def diverged(self, bar, reason: str) -> RunResult:
        st = self.st
        bar.close()
        log.warning("run %s diverged at %d images: %s", self.spec.run_id, st.images_seen, reason)
        write_records(self.run_dir / "metrics.csv", st.rows)
        write_status(self.run_dir, "diverged", images_seen=st.images_seen, wall_s=round(st.wall_s, 3),
                             reason=reason)
        return RunResult("diverged", st.images_seen, st.rows, self.run_dir, st.wall_s, reason)
