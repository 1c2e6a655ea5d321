"""How a training step runs, as the config's run options say (``precision``, ``channels_last``, ``tf32``,
``cudnn_benchmark``, ``compile``): none of them changes what is computed beyond float rounding.

- ``precision``: ``torch.autocast`` around each loss (bf16 or fp16; weights, optimiser state and EMA stay fp32).
  fp16 scales each loss with its own ``GradScaler`` (G and D); regulariser gradients inside a loss (WGAN-GP, R1) are
  taken unscaled.
- ``tf32``: the explicit TF32 policy for fp32 matmuls and convolutions on CUDA (``off`` = IEEE fp32, the default).
- ``cudnn_benchmark``: cuDNN autotuning on CUDA (faster; the algorithm choice may differ between processes).
- ``deterministic``: ``torch.use_deterministic_algorithms``, ``cudnn.deterministic`` (benchmark off) and
  ``CUBLAS_WORKSPACE_CONFIG=:4096:8``: a killed CUDA run then resumes bit-identically. An op without a deterministic
  kernel stops the run with a one-line error. The CPU kernels are deterministic already.
- ``channels_last``: NHWC weights and real batches (convolutions; every other op is layout-independent).
- ``compile``: ``nn.Module.compile`` on G, and on D unless a regulariser needs D's second derivative (WGAN-GP, R1;
  compiled graphs have no double backward). ``compile_mode`` picks torch.compile's mode: ``reduce-overhead`` records
  CUDA graphs, which removes the per-kernel launch cost that dominates small presets on a GPU. A CUDA graph's outputs
  live in memory its next replay overwrites, so in the graph modes each compiled forward returns clones and the loop
  marks each iteration's start (``torch.compiler.cudagraph_mark_step_begin``). On CPU there are no CUDA graphs: the
  mode falls back to plain inductor code.
- ``check_every``: G steps between checks for non-finite losses. The loop keeps a flag on the device and reads it
  only at a check, an evaluation, a checkpoint and the end (``0`` = auto: every step on CPU, where reading costs no
  device sync, every ``CUDA_CHECK_EVERY`` steps on CUDA). On CUDA a diverged run therefore stops up to that many steps
  after its first non-finite loss, never later than the next checkpoint, and no non-finite state is checkpointed.

On a GPU the recommended precision is ``bf16``: tensor-core speed without fp16's loss scaling (GradScaler reads its
inf check back to the host at every step), and its first-step losses track fp32's (``scripts/gpu_check.py``). The
default stays ``fp32`` so that numbers do not change with the device; ``tf32 on`` is the fp32 alternative for fp32
runs that tolerate TF32's 10-bit mantissa in matmuls and convolutions.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re

import torch
from torch import Tensor, nn
from torch.nn.utils.spectral_norm import SpectralNorm

from ..errors import GanbenchError

log = logging.getLogger(__name__)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
RESIDENT_FRACTION = 0.25  # keep the uint8 dataset on the GPU when it takes at most this share of free memory


def _cuda(device: str) -> bool:
    return str(device).startswith("cuda")


CUBLAS_WORKSPACE = ":4096:8"  # cuBLAS's deterministic workspace setting (CUDA docs, "Results reproducibility")


def configure_backends(cfg, device: str) -> None:
    """Deterministic algorithms (every device), TF32 policy and cuDNN switches (CUDA); process-wide switches."""
    deterministic = bool(cfg.deterministic)
    if deterministic:  # cuBLAS reads it once, at its first call in the process: set before any CUDA work
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(deterministic)
    if not _cuda(device):
        return
    precision = "tf32" if cfg.tf32 == "on" else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision
    torch.backends.cudnn.benchmark = bool(cfg.cudnn_benchmark)
    torch.backends.cudnn.deterministic = deterministic


def backend_state(device: str) -> dict[str, object]:
    """The process's determinism switch, and its matmul/conv switches on CUDA (for provenance; on CPU they do not
    apply)."""
    det = {"deterministic_algorithms": torch.are_deterministic_algorithms_enabled()}
    if not _cuda(device):
        return {"cuda_switches": "not applicable (CPU run)", **det}
    return {"matmul_fp32_precision": torch.backends.cuda.matmul.fp32_precision,
            "cudnn_conv_fp32_precision": torch.backends.cudnn.conv.fp32_precision,
            "cudnn_benchmark": torch.backends.cudnn.benchmark, **det,
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG")}


_NONDETERMINISTIC = re.compile(r"(\S+) does not have a deterministic implementation")


def nondeterministic_op_error(e: BaseException, device: str) -> GanbenchError | None:
    """A one-line ``GanbenchError`` for torch's error about an op without a deterministic kernel; None otherwise."""
    m = _NONDETERMINISTIC.search(str(e))
    if m is None:
        return None
    return GanbenchError(f"--deterministic: {m[1]} has no deterministic implementation on {device}; run without "
                         f"--deterministic (the run then resumes from the same state, not bit-identically on a GPU)")


def set_memory_format(model: nn.Module, cfg) -> None:
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)


CUDA_CHECK_EVERY = 50  # auto check_every on CUDA: G steps between reads of the non-finite flag
GRAPH_MODES = ("reduce-overhead", "max-autotune")  # torch.compile modes that record CUDA graphs


def check_interval(cfg, device: str) -> int:
    """G steps between non-finite checks: the config's ``check_every``, or auto (1 on CPU, 50 on CUDA)."""
    return cfg.check_every or (CUDA_CHECK_EVERY if _cuda(device) else 1)


def uses_cuda_graphs(cfg) -> bool:
    """Whether the compiled modules record CUDA graphs (the loop then marks each iteration's start)."""
    return bool(cfg.compile) and cfg.compile_mode in GRAPH_MODES


def _clone_tensors(out):
    if isinstance(out, Tensor):
        return out.clone()
    if isinstance(out, (tuple, list)):
        return type(out)(_clone_tensors(o) for o in out)
    if isinstance(out, dict):
        return {k: _clone_tensors(v) for k, v in out.items()}
    return out


def _compile(module: nn.Module, mode: str) -> None:
    """Compile ``module`` in place (state_dict keys unchanged). Graph modes: forward returns clones of the graph's
    outputs, which the next replay would overwrite (outputs kept across calls: sample batches, D's real and fake
    logits)."""
    if mode not in GRAPH_MODES:
        module.compile(mode=None if mode == "default" else mode)
        return
    compiled = torch.compile(module.forward, mode=mode)

    def forward(*args, **kwargs):
        return _clone_tensors(compiled(*args, **kwargs))
    module.forward = forward  # an instance attribute: not in state_dict, and nn.Module.__call__ still runs hooks


def compile_model(model, cfg) -> None:
    if not cfg.compile:
        return
    _compile(model.G, cfg.compile_mode)
    if cfg.gp_weight or cfg.r1_gamma:
        log.info("compile: D left eager (its regulariser needs a second derivative)")
    elif has_spectral_norm(model.D):
        log.info("compile: D left eager (spectral norm: a compiled D updates its power-iteration vector in place, "
                 "so its second call, on the fakes, breaks the first call's backward)")
    else:
        _compile(model.D, cfg.compile_mode)


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether any submodule carries ``torch.nn.utils.spectral_norm``'s hook."""
    return any(isinstance(h, SpectralNorm) for m in module.modules() for h in m._forward_pre_hooks.values())


def mark_step() -> None:
    """Start of a training iteration for CUDA graph trees (earlier graph outputs may be overwritten from here)."""
    torch.compiler.cudagraph_mark_step_begin()


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
    if all(p.grad is None for p in params):  # nothing reached the weights (P2GAN's D-only warm-up): Adam would skip
        return  # every weight, and GradScaler refuses a step without gradients to check
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
