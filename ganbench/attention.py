"""Softmax attention through ``F.scaled_dot_product_attention``, with the explicit form where a second derivative
is needed.

The fused CPU/GPU kernels keep no N x N matrix for backward but have no double backward. WGAN-GP and R1 differentiate
D's gradient, so ``losses.gradient_penalty``/``r1_penalty`` run D inside ``double_backward()``; there ``attention``
computes ``softmax(q k^T * scale + bias) v`` explicitly (the same value up to float rounding).
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch.nn.functional as F
from torch import Tensor

_DOUBLE_BACKWARD = contextvars.ContextVar("ganbench_double_backward", default=False)


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


def attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None = None, scale: float = 1.0) -> Tensor:
    """``softmax(q k^T * scale + bias) v``: fused (SDPA, ``bias`` as the additive mask) unless in ``double_backward``."""
    if _DOUBLE_BACKWARD.get():
        return explicit_attention(q, k, v, bias, scale)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
