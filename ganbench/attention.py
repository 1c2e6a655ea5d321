"""Softmax attention through ``F.scaled_dot_product_attention``, with the explicit form where a second derivative
is needed.

The fused CPU/GPU kernels keep no N x N matrix for backward but have no double backward. WGAN-GP and R1 differentiate
D's gradient, so ``losses.gradient_penalty``/``r1_penalty`` run D inside ``double_backward()``; there ``attention``
computes ``softmax(q k^T * scale + bias) v`` explicitly (the same value up to float rounding).

On the CPU, a bias that needs a gradient (TransGAN's learned relative-position table) sends SDPA to its math
fallback; there the explicit form runs instead, in batch chunks whose N x N temporaries stay below glibc's 32 MB mmap
threshold, so they are reused from the heap instead of being page-faulted in afresh (fwd + bwd of TransGAN's
1024-token stage, 16 x 2 heads, head dim 2: 332 -> 183 ms on 2 cores).
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

_DOUBLE_BACKWARD = contextvars.ContextVar("ganbench_double_backward", default=False)


def _register_cpu_sdpa_flops() -> None:
    """``FlopCounterMode`` (torch 2.14) has formulas for the CUDA SDPA kernels but not for the CPU flash kernel that
    ``F.scaled_dot_product_attention`` dispatches to here, so every fused attention on the CPU counted 0 FLOPs. The
    CPU kernel computes what the CUDA flash kernel does: the same formulas."""
    from torch.utils.flop_counter import (flop_registry, register_flop_formula, sdpa_backward_flop_count,
                                          sdpa_flop_count)

    fwd = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    bwd = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu_backward", None)
    if fwd is not None and fwd not in flop_registry:
        register_flop_formula(fwd)(lambda q, k, v, *args, out_shape=None, **kw: sdpa_flop_count(q, k, v))
    if bwd is not None and bwd not in flop_registry:
        register_flop_formula(bwd)(
            lambda g, q, k, v, *args, out_shape=None, **kw: sdpa_backward_flop_count(g, q, k, v))


_register_cpu_sdpa_flops()


@contextlib.contextmanager
def double_backward() -> Iterator[None]:
    """Within this block, ``attention`` uses the explicit (twice differentiable) form."""
    token = _DOUBLE_BACKWARD.set(True)
    try:
        yield
    finally:
        _DOUBLE_BACKWARD.reset(token)


def explicit_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None = None, scale: float = 1.0) -> Tensor:
    """``softmax(q k^T * scale + bias) v`` over the last two dims (the reference math)."""
    logits = (q @ k.transpose(-2, -1)) * scale
    return (logits if bias is None else logits + bias).softmax(dim=-1) @ v


CHUNK_BYTES = 8 * 2 ** 20  # N x N logits per chunk of batch rows: well under glibc's mmap threshold (32 MB)


def chunked_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None = None, scale: float = 1.0) -> Tensor:
    """``explicit_attention`` over (B, heads, N, d) in chunks of batch rows (``baddbmm``: bias + scale q k^T)."""
    b, h, n, d = q.shape
    rows = max(1, CHUNK_BYTES // (h * n * n * q.element_size()))
    if bias is not None:
        bias = bias.expand(-1, h, n, n)
    outs = []
    for i in range(0, b, rows):
        qi, ki, vi = (t[i:i + rows].reshape(-1, n, d) for t in (q, k, v))
        kt = ki.transpose(1, 2)
        if bias is not None:  # a shared bias is expanded per chunk: slicing its batch expansion would make
            bi = bias.expand(qi.shape[0] // h, h, n, n) if bias.shape[0] == 1 else bias[i:i + rows]  # full-size grads
        logits = (torch.bmm(qi, kt) * scale if bias is None
                  else torch.baddbmm(bi.reshape(-1, n, n), qi, kt, alpha=scale))
        outs.append(torch.bmm(logits.softmax(dim=-1), vi).view(-1, h, n, d))
    return torch.cat(outs) if len(outs) > 1 else outs[0]


def attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None = None, scale: float = 1.0) -> Tensor:
    """``softmax(q k^T * scale + bias) v``: fused (SDPA, ``bias`` as the additive mask) unless in ``double_backward``
    or, on the CPU, when ``bias`` needs a gradient (SDPA's math fallback): then ``chunked_attention``."""
    if _DOUBLE_BACKWARD.get():
        return explicit_attention(q, k, v, bias, scale)
    if (q.device.type == "cpu" and bias is not None and bias.requires_grad and torch.is_grad_enabled()
            and q.dim() == 4):
        return chunked_attention(q, k, v, bias, scale)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
