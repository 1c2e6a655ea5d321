"""Training throughput: the cost of one training iteration (n_dis D steps + one G step) of a model, through the
shared trainer's hot path (``ganbench throughput``).

``make_loop`` builds the trainer's ``TrainingLoop`` for a model without a run directory; ``iteration_flops`` counts the
FLOPs of one iteration (forward and backward of G and D, ``FlopCounterMode``: matmul/conv/attention, a multiply-add =
2 FLOPs; elementwise ops not counted); ``matmul_gflops`` measures the device's fp32 (or given dtype) matmul rate, the
reference the achieved rate is put against; ``model_throughput`` returns img/s, achieved GFLOP/s and the top operators
of ``torch.profiler``; ``ceiling_img_per_s`` is the roofline bound: img/s if every counted FLOP ran at the measured
matmul rate and the uncounted elementwise ops were free (the same computation beats it only by running faster than a
large matmul does); ``throughput_table`` times several models in interleaved rounds of one process (docs/speed.md's
table: the same load for every model, DCGAN's rate from the same rounds). Images per iteration = real images shown
to D = n_dis x batch_size (the trainer's count).
"""
from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..data import load_dataset
from ..models.base import create_model
from ..provenance import device_name, resolve_device
from .spec import TrainSpec
from .run_options import configure_backends, set_memory_format
from .checkpoint import LoopState
from .loop import TrainingLoop
from .trainer import build_optimizers


def make_loop(model: str, preset: str = "tiny", variant: str = "default", dataset: str = "synthetic",
              device: str = "cpu", overrides: dict[str, Any] | None = None, seed: int = 0,
              data_root: str | None = None) -> TrainingLoop:
    """The trainer's loop for ``model`` at its preset, ready for ``iteration()`` (no run directory, no metrics)."""
    device = resolve_device(device)
    overrides = dict(overrides or {})
    spec = TrainSpec(model=model, preset=preset, variant=variant, dataset=dataset, data_root=data_root, kimg=1.0,
                     seed=seed, metrics=(), overrides=overrides, device=device)
    data = load_dataset(dataset, "train", spec.resolution, spec.channels, data_root)
    torch.manual_seed(seed)
    m = create_model(model, preset, variant, data.spec, overrides).to(device)
    configure_backends(m.cfg, device)
    set_memory_format(m, m.cfg)
    if m.samples_from_data:
        m.bind_conditioning(data.images)
    opt_g, opt_d = build_optimizers(m)
    loop = TrainingLoop(spec, m, None, opt_g, opt_d, data, torch.Generator().manual_seed(seed), LoopState(), None,
                        device, [])
    loop.model.train()
    return loop


def images_per_iteration(loop: TrainingLoop) -> int:
    return loop.cfg.n_dis * loop.cfg.batch_size


def iteration_flops(loop: TrainingLoop) -> int:
    """FLOPs of one training iteration (forward + backward of G and D) as FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        loop.iteration()
    return int(counter.get_total_flops())


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def matmul_gflops(device: str = "cpu", n: int = 1024, seconds: float = 0.5,
                  dtype: torch.dtype = torch.float32) -> float:
    """Measured square-matmul rate of the device in GFLOP/s (best of repeated n x n @ n x n products)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = max(best, 2 * n ** 3 / max(time.perf_counter() - t0, 1e-9) / 1e9)
    return best


def time_iterations(loop: TrainingLoop, iters: int) -> float:
    """Seconds for ``iters`` iterations (device synchronised before the clock is read)."""
    _sync(loop.device)
    t0 = time.perf_counter()
    for _ in range(iters):
        loop.iteration()
    _sync(loop.device)
    return time.perf_counter() - t0


def top_operators(loop: TrainingLoop, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` operators with the most self time over one iteration (``torch.profiler``)."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if str(loop.device).startswith("cuda") else [])
    with profile(activities=acts) as prof:
        loop.iteration()
        _sync(loop.device)
    cuda = str(loop.device).startswith("cuda")
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)[:k]
    total = sum(getattr(e, key) for e in prof.key_averages()) or 1.0
    return [{"op": e.key, "self_ms": getattr(e, key) / 1000, "share": getattr(e, key) / total, "calls": e.count}
            for e in events]


def _result(loop: TrainingLoop, model: str, preset: str, variant: str, dataset: str, iters: int, flops: int,
            img_per_s: float, peak: float) -> dict[str, Any]:
    """One model's throughput row: labels, img/s, FLOPs per iteration and the achieved rate against ``peak``."""
    achieved = flops * img_per_s / images_per_iteration(loop) / 1e9
    ceiling = images_per_iteration(loop) * peak * 1e9 / flops if flops else float("inf")
    return {"model": model, "preset": preset, "variant": variant, "dataset": dataset,
            "resolution": loop.spec.resolution, "seed": loop.spec.seed, "device": device_name(loop.device),
            "precision": loop.cfg.precision, "batch_size": loop.cfg.batch_size,
            "n_dis": loop.cfg.n_dis, "iters": iters, "img_per_s": img_per_s, "gflop_per_iter": flops / 1e9,
            "gflop_per_s": achieved, "matmul_gflop_per_s": peak,
            "fraction_of_matmul": achieved / peak if peak else float("nan"), "ceiling_img_per_s": ceiling}


def throughput_table(models: list[str], preset: str = "tiny", variant: str = "default", dataset: str = "synthetic",
                   device: str = "cpu", iters: int = 3, rounds: int = 3, overrides: dict[str, Any] | None = None,
                   data_root: str | None = None, base_model: str | None = "dcgan",
                   goal: float = 0.25) -> list[dict[str, Any]]:
    """img/s of several models measured in one process: each model's loop is built and warmed up once, then
    ``rounds`` rounds time ``iters`` iterations of every model in turn, so a change of machine load hits all models
    alike; img/s is the median over rounds (``img_per_s_rounds`` keeps them all), the matmul rate the best of the
    rounds'. ``vs_base``: the ratio to the ``base_model``'s median from the same rounds (it is added to the
    list if missing). ``ceiling_vs_base``: the model's ceiling (``ceiling_img_per_s``) over the base model's
    measured img/s; ``goal_needs_fraction``: the fraction of the matmul rate the model's counted FLOPs would have to
    run at for ``goal`` x the base model's img/s (> 1: out of reach on this device without computing less)."""
    names = list(dict.fromkeys(models + ([base_model] if base_model and base_model not in models else [])))
    loops = {m: make_loop(m, preset, variant, dataset, device, overrides, data_root=data_root) for m in names}
    flops = {}
    for m, loop in loops.items():
        loop.iteration()  # warm-up
        flops[m] = iteration_flops(loop)
    rates: dict[str, list[float]] = {m: [] for m in names}
    peaks = []
    for _ in range(rounds):
        for m, loop in loops.items():
            rates[m].append(images_per_iteration(loop) * iters / time_iterations(loop, iters))
        peaks.append(matmul_gflops(device))
    peak = max(peaks)  # the best rate seen: a machine slowed by its neighbours for a round lowers no ceiling
    out = [{**_result(loop, m, preset, variant, dataset, iters, flops[m], statistics.median(rates[m]), peak),
            "rounds": rounds, "img_per_s_rounds": rates[m]} for m, loop in loops.items()]
    if base_model:
        ref = next(r["img_per_s"] for r in out if r["model"] == base_model)
        for r in out:
            r["vs_base"] = r["img_per_s"] / ref
            r["ceiling_vs_base"] = r["ceiling_img_per_s"] / ref
            r["goal"], r["goal_needs_fraction"] = goal, goal * ref / r["ceiling_img_per_s"]
    return out


def model_throughput(model: str, preset: str = "tiny", variant: str = "default", dataset: str = "synthetic",
                  device: str = "cpu", iters: int = 3, overrides: dict[str, Any] | None = None,
                  data_root: str | None = None, top: int = 10) -> dict[str, Any]:
    """img/s, achieved GFLOP/s of the training step against the measured matmul rate, and the top operators."""
    loop = make_loop(model, preset, variant, dataset, device, overrides, data_root=data_root)
    loop.iteration()  # warm-up: allocations, lazy inits, cuDNN algorithm choice
    flops = iteration_flops(loop)
    img_per_s = images_per_iteration(loop) * iters / time_iterations(loop, iters)
    return {**_result(loop, model, preset, variant, dataset, iters, flops, img_per_s, matmul_gflops(loop.device)),
            "top_ops": top_operators(loop, top) if top else []}
