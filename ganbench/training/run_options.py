"""How a training step runs, as the config's run options say (``precision``, ``channels_last``, ``tf32``,
``cudnn_benchmark``, ``compile``): none of them changes what is computed beyond float rounding.

- ``precision``: ``torch.autocast`` around each loss (bf16 or fp16; weights, optimiser state and EMA stay fp32).
  fp16 scales each loss with its own ``GradScaler`` (G and D); regulariser gradients inside a loss (WGAN-GP, R1) are
  taken unscaled.
- ``tf32``: the explicit TF32 policy for fp32 matmuls and convolutions on CUDA (``off`` = IEEE fp32, the default).
- ``cudnn_benchmark``: cuDNN autotuning on CUDA (faster; the algorithm choice may differ between processes).
- ``channels_last``: NHWC weights and real batches (convolutions; every other op is layout-independent).
- ``compile``: ``nn.Module.compile`` on G, and on D unless a regulariser needs D's second derivative (WGAN-GP, R1;
  compiled graphs have no double backward).
"""
from __future__ import annotations

import contextlib
import logging

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
RESIDENT_FRACTION = 0.25  # keep the uint8 dataset on the GPU when it takes at most this share of free memory


def _cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def configure_backends(cfg, device: str) -> None:
    """TF32 policy and cuDNN autotuning (process-wide switches; they only act on CUDA)."""
    if not _cuda(device):
        return
    precision = "tf32" if cfg.tf32 == "on" else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision
    torch.backends.cudnn.benchmark = bool(cfg.cudnn_benchmark)


def backend_state(device: str) -> dict[str, object]:
    """The process's matmul/conv precision switches on CUDA (for provenance); on CPU they do not apply."""
    if not _cuda(device):
        return {"cuda_switches": "not applicable (CPU run)"}
    return {"matmul_fp32_precision": torch.backends.cuda.matmul.fp32_precision,
            "cudnn_conv_fp32_precision": torch.backends.cudnn.conv.fp32_precision,
            "cudnn_benchmark": torch.backends.cudnn.benchmark}


def set_memory_format(model: nn.Module, cfg) -> None:
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)


def compile_model(model, cfg) -> None:
    if not cfg.compile:
        return
    model.G.compile()
    if cfg.gp_weight or cfg.r1_gamma:
        log.info("compile: D left eager (its regulariser needs a second derivative)")
    else:
        model.D.compile()


def make_autocast(cfg, device: str):
    """A context factory: autocast to the config's precision, or a no-op in fp32."""
    if cfg.precision == "fp32":
        return contextlib.nullcontext
    dtype, kind = DTYPES[cfg.precision], torch.device(device).type
    return lambda: torch.autocast(device_type=kind, dtype=dtype)


def make_scalers(cfg, device: str) -> dict[str, torch.amp.GradScaler]:
    if cfg.precision != "fp16":
        return {}
    kind = torch.device(device).type
    return {"d": torch.amp.GradScaler(kind), "g": torch.amp.GradScaler(kind)}


def backward_step(loss: Tensor, opt: torch.optim.Optimizer, params, clip: float,
                  scaler: torch.amp.GradScaler | None = None) -> None:
    """backward, optional gradient-norm clipping, optimiser step (through ``scaler`` when given)."""
    if scaler is None:
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        return
    scaler.scale(loss).backward()
    if clip:
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, clip)
    scaler.step(opt)
    scaler.update()


def resident(t: Tensor, device: str) -> Tensor:
    """Where the training set lives: unchanged on CPU; on CUDA on the GPU when it fits, else in pinned host memory."""
    if not _cuda(device):
        return t
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    if t.numel() * t.element_size() <= RESIDENT_FRACTION * free:
        return t.to(device)
    return t.pin_memory()


def sync(device: str) -> None:
    """Wait for the device's queued work (CUDA); nothing on CPU."""
    if _cuda(device):
        torch.cuda.synchronize(torch.device(device))
