"""Efficiency of a generator at sampling time: parameter counts, FLOPs per generated image and wall time for a batch.

FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` around ``model.sample(1)``, so everything sampling needs is
counted (mapping networks, posterior/meta-data encoders run on reference images, EMA G if passed). It counts the ops
with FLOP formulas (matmul, conv, attention; a multiply-add = 2 FLOPs); elementwise ops (activations, norms) are
not counted. Time: ``model.sample(n_images)`` after one warm-up call; CUDA events on GPU, ``perf_counter`` on CPU.
The model is put in eval mode for the measurement and restored afterwards.
"""
from __future__ import annotations

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


@torch.no_grad()
def efficiency(model: nn.Module, n_images: int = 100, device: str | torch.device | None = None,
               G: nn.Module | None = None, seed: int = 0) -> dict[str, Any]:
    """Parameter counts, FLOPs per image and seconds to generate ``n_images`` (plus images/s and the device)."""
    device = torch.device(device) if device is not None else model.device
    model.to(device)
    was_training = model.training
    model.eval()
    try:
        gen = torch.Generator(device=device).manual_seed(seed)
        flops = count_flops(model.sample, 1, gen, G)
        model.sample(n_images, gen, G)  # warm-up at the timed shape: allocations, cuDNN algorithm choice
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model.sample(n_images, gen, G)
            end.record()
            torch.cuda.synchronize(device)
            seconds = start.elapsed_time(end) / 1000
        else:
            t0 = time.perf_counter()
            model.sample(n_images, gen, G)
            seconds = time.perf_counter() - t0
    finally:
        model.train(was_training)
    counts = model.param_counts()
    return {**counts, "params_total": sum(counts.values()), "flops_per_image": flops,
            "gflops_per_image": flops / 1e9, "n_images": n_images, "seconds": seconds,
            "images_per_s": n_images / seconds if seconds > 0 else float("inf"), "device": device_name(device),
            "timing": "cuda events" if device.type == "cuda" else "cpu wall clock"}
