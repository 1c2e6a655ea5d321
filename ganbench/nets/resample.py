"""Bilinear resizing and adaptive average pooling whose backward is deterministic on CUDA.

Under ``torch.use_deterministic_algorithms(True)`` (``--deterministic``) CUDA has no deterministic backward for
bilinear ``interpolate`` or ``adaptive_avg_pool2d`` (torch raises; see ``torch.use_deterministic_algorithms``). Both
are separable linear maps, ``y = M_h x M_w^T``, so in that mode their backward is taken as two matrix products with
the 1-D maps instead (cuBLAS is deterministic with ``CUBLAS_WORKSPACE_CONFIG``). The forward is torch's own op either
way, bit for bit; without deterministic mode, or without a gradient, these are plain torch calls.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _map_1d(op_1d: Callable[[Tensor], Tensor], n_in: int, ref: Tensor) -> Tensor:
    """The (n_out, n_in) matrix of a 1-D linear op: its response to each basis vector, one per column."""
    eye = torch.eye(n_in, device=ref.device, dtype=torch.float32)[:, None, :]
    return op_1d(eye)[:, 0, :].t()


class _SeparableBackward(torch.autograd.Function):
    """Forward: ``op(x)`` (torch's kernel); backward: ``M_h^T g M_w`` (matrix products, differentiable again)."""

    @staticmethod
    def forward(ctx, x: Tensor, op: Callable[[Tensor], Tensor], m_h: Tensor, m_w: Tensor) -> Tensor:
        ctx.save_for_backward(m_h, m_w)
        return op(x)

    @staticmethod
    def backward(ctx, g: Tensor):
        m_h, m_w = ctx.saved_tensors
        return m_h.t().to(g.dtype) @ g @ m_w.to(g.dtype), None, None, None


def _deterministic_grad(x: Tensor) -> bool:
    return torch.are_deterministic_algorithms_enabled() and x.requires_grad and torch.is_grad_enabled()


def bilinear(x: Tensor, size: int | tuple[int, int] | None = None, scale_factor: float | None = None,
             align_corners: bool = False) -> Tensor:
    """``F.interpolate(x, size, scale_factor, mode="bilinear", align_corners)``; deterministic backward (see above)."""
    def op(t: Tensor) -> Tensor:
        return F.interpolate(t, size=size, scale_factor=scale_factor, mode="bilinear", align_corners=align_corners)
    if not _deterministic_grad(x):
        return op(x)
    hw = (size, size) if isinstance(size, int) else size
    maps = [_map_1d(lambda e, n=(hw[i] if hw else None): F.interpolate(e, size=n, scale_factor=scale_factor,
                                                                         mode="linear", align_corners=align_corners),
                    x.shape[2 + i], x) for i in range(2)]
    return _SeparableBackward.apply(x, op, *maps)


def adaptive_avg_pool(x: Tensor, size: int | tuple[int, int]) -> Tensor:
    """``F.adaptive_avg_pool2d(x, size)`` (also what ``interpolate(mode="area")`` computes); deterministic backward."""
    if not _deterministic_grad(x):
        return F.adaptive_avg_pool2d(x, size)
    hw = (size, size) if isinstance(size, int) else size
    maps = [_map_1d(lambda e, n=hw[i]: F.adaptive_avg_pool1d(e, n), x.shape[2 + i], x) for i in range(2)]
    return _SeparableBackward.apply(x, lambda t: F.adaptive_avg_pool2d(t, size), *maps)


class AdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """``nn.AdaptiveAvgPool2d`` with the deterministic backward of ``adaptive_avg_pool`` (same state dict)."""

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool(x, self.output_size)
