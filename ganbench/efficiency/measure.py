"""Efficiency of a generator at sampling time: parameter counts, FLOPs per generated image and wall time for a batch.

FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` around ``model.sample(1)``, so everything sampling needs is
counted (mapping networks, posterior/meta-data encoders run on conditioning images, EMA G if passed). It counts the ops
with FLOP formulas (matmul, conv, attention; a multiply-add = 2 FLOPs); elementwise ops (activations, norms) are
not counted. Time (the LRM paper's "GPU inference time", IT: seconds to generate n images): ``model.sample(n_images)``
after one warm-up call per precision, as the median of ``repeats`` timed calls (10 on CUDA, 3 on CPU), in fp32 and
in bf16 (``torch.autocast``); CUDA events around each call (synchronised after it) on GPU, ``perf_counter`` on CPU.
The model is put in eval mode for the measurement and restored afterwards.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..provenance import device_name


def count_flops(fn, *args, **kwargs) -> int:
    """Total FLOPs of ``fn(*args, **kwargs)`` as FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


DEFAULT_REPEATS = {"cuda": 10, "cpu": 3}  # timed calls per precision (the median is reported)
PRECISIONS = ("fp32", "bf16")


def default_repeats(device: str | torch.device) -> int:
    return DEFAULT_REPEATS["cuda" if torch.device(device).type == "cuda" else "cpu"]


def timing_label(device: str | torch.device, repeats: int) -> str:
    kind = "cuda events" if torch.device(device).type == "cuda" else "cpu wall clock (perf_counter)"
    return f"{kind}, median of {repeats} calls after one warm-up call, fp32 and bf16 autocast"


def _autocast(precision: str, device: torch.device):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[precision])


def time_sampling(model: nn.Module, n_images: int, device: torch.device, gen: torch.Generator,
                  G: nn.Module | None = None, precision: str = "fp32", repeats: int = 10) -> list[float]:
    """Seconds of each of ``repeats`` calls ``model.sample(n_images)`` in ``precision``, after one warm-up call."""
    cuda = device.type == "cuda"
    out = []
    with _autocast(precision, device):
        model.sample(n_images, gen, G)  # warm-up at the timed shape: allocations, cuDNN algorithm choice
        if cuda:
            torch.cuda.synchronize(device)
        for _ in range(repeats):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model.sample(n_images, gen, G)
                end.record()
                end.synchronize()
                out.append(start.elapsed_time(end) / 1000)
            else:
                t0 = time.perf_counter()
                model.sample(n_images, gen, G)
                out.append(time.perf_counter() - t0)
    return out


@torch.no_grad()
def efficiency(model: nn.Module, n_images: int = 100, device: str | torch.device | None = None,
               G: nn.Module | None = None, seed: int = 0, repeats: int | None = None,
               precisions: tuple[str, ...] = PRECISIONS) -> dict[str, Any]:
    """Parameter counts, FLOPs per image and seconds to generate ``n_images``. Keys: ``params_*``, ``params_total``,
    ``flops_per_image``, ``gflops_per_image``, ``n_images``, per precision P (fp32, bf16): ``seconds_P`` (median),
    ``seconds_P_min``, ``seconds_P_max``, ``seconds_P_runs``; ``seconds`` (= ``seconds_fp32``), ``images_per_s``
    (fp32), ``repeats``, ``precisions``, ``device``, ``timing``."""
    device = torch.device(device) if device is not None else model.device
    repeats = repeats or default_repeats(device)
    model.to(device)
    was_training = model.training
    model.eval()
    times: dict[str, list[float]] = {}
    try:
        gen = torch.Generator(device=device).manual_seed(seed)
        flops = count_flops(model.sample, 1, gen, G)
        for p in precisions:
            times[p] = time_sampling(model, n_images, device, gen, G, p, repeats)
    finally:
        model.train(was_training)
    counts = model.param_counts()
    r: dict[str, Any] = {**counts, "params_total": sum(counts.values()), "flops_per_image": flops,
                         "gflops_per_image": flops / 1e9, "n_images": n_images}
    for p, runs in times.items():
        r.update({f"seconds_{p}": statistics.median(runs), f"seconds_{p}_min": min(runs),
                  f"seconds_{p}_max": max(runs), f"seconds_{p}_runs": runs})
    seconds = r.get("seconds_fp32", float("nan"))
    return {**r, "seconds": seconds, "images_per_s": n_images / seconds if seconds > 0 else float("inf"),
            "repeats": repeats, "precisions": list(precisions), "device": device_name(device),
            "timing": timing_label(device, repeats)}


def measure_model(model: str, preset: str = "paper", variant: str = "default", resolution: int = 32,
                  channels: int = 3, n_images: int = 100, device: str = "cpu",
                  repeats: int | None = None) -> dict[str, Any]:
    """``efficiency`` of a freshly built model (randomly initialised weights) with its labels (``ganbench
    efficiency``); models that sample from real images get uniform-noise images, which do not change cost."""
    from ..images import ImageSpec
    from ..models import create_model

    m = create_model(model, preset, variant, ImageSpec(channels, resolution, 0)).to(device)
    if m.samples_from_data:
        g = torch.Generator().manual_seed(0)
        m.bind_conditioning(torch.randint(0, 256, (max(n_images, 256), channels, resolution, resolution),
                                       generator=g, dtype=torch.uint8))
    return {"model": model, "preset": preset, "variant": variant, "resolution": resolution, "channels": channels,
            **efficiency(m, n_images, device, repeats=repeats)}
