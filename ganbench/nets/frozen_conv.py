"""Frozen conv + ReLU6 as one oneDNN call on the CPU, for the Projected GAN's feature network.

After its BatchNorms are folded (``efficientnet.fold_batchnorm``), every stem, expansion and depthwise conv of
EfficientNet-Lite is followed by a ReLU6. A frozen conv needs no weight gradient, so the pair can run as oneDNN's
conv with a ``hardtanh(0, 6)`` post-op (``torch.ops.mkldnn._convolution_pointwise``, what Inductor emits on the CPU)
and, when the input needs a gradient, a backward of ``hardtanh_backward`` and the input half of
``convolution_backward``. The mask of ``hardtanh_backward`` is taken on the output: ``0 < relu6(a) < 6`` exactly
when ``0 < a < 6``, so the gradients are the plain pair's. A symmetric TF "SAME" padding becomes the conv's own
padding (no padded copy of the input); an asymmetric one (stride 2 at even sizes) stays an explicit ``F.pad``.
Outputs equal ``F.hardtanh(F.conv2d(...), 0, 6)`` bit for bit in the cases tested (tests/test_frozen_conv.py); on
CUDA, under autocast or in another dtype the module runs that plain pair.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _fused_available() -> bool:
    return bool(getattr(torch.backends, "mkldnn", None) and torch.backends.mkldnn.is_available()
                and hasattr(torch.ops.mkldnn, "_convolution_pointwise"))


FUSED = _fused_available()

if FUSED:  # FlopCounterMode counts aten convs; the fused op is the same conv (the post-op is elementwise, uncounted)
    from torch.utils.flop_counter import conv_flop_count, flop_registry, register_flop_formula

    if torch.ops.mkldnn._convolution_pointwise not in flop_registry:
        @register_flop_formula(torch.ops.mkldnn._convolution_pointwise)
        def _fused_conv_flop(x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
            return conv_flop_count(x_shape, w_shape, out_shape)


def _conv_relu6(x: Tensor, w: Tensor, b: Tensor | None, stride: list[int], padding: list[int],
                groups: int) -> Tensor:
    return torch.ops.mkldnn._convolution_pointwise(x, w, b, padding, stride, [1, 1], groups, "hardtanh", [0.0, 6.0],
                                                   "")


class _ConvReLU6(torch.autograd.Function):
    """relu6(conv(x, w, b)) with a gradient for ``x`` only (``w`` and ``b`` are frozen)."""

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, b: Tensor | None, stride: list[int], padding: list[int],
                groups: int) -> Tensor:
        y = _conv_relu6(x, w, b, stride, padding, groups)
        ctx.save_for_backward(x, w, y)
        ctx.conf = stride, padding, groups
        return y

    @staticmethod
    def backward(ctx, gy: Tensor):
        x, w, y = ctx.saved_tensors
        stride, padding, groups = ctx.conf
        g = torch.ops.aten.hardtanh_backward(gy, y, 0.0, 6.0)
        gx = torch.ops.aten.convolution_backward(g, x, w, None, stride, padding, [1, 1], False, [0, 0], groups,
                                                 [True, False, False])[0]
        return gx, None, None, None, None, None


class FrozenConvReLU6(nn.Module):
    """``relu6(conv(x))`` of a frozen conv; ``weight``/``bias`` keep the conv's state-dict names."""

    def __init__(self, conv: nn.Conv2d, pad: tuple[int, int, int, int]) -> None:
        super().__init__()
        if conv.dilation != (1, 1) or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("FrozenConvReLU6: dilation 1, numeric zero padding only")
        left, right, top, bottom = pad
        extra_h, extra_w = conv.padding
        if left == right and top == bottom:  # symmetric: the conv's own padding
            self.pad, self.padding = None, [top + extra_h, left + extra_w]
        else:
            self.pad, self.padding = pad, [extra_h, extra_w]
        self.stride, self.groups = list(conv.stride), conv.groups
        self.weight = nn.Parameter(conv.weight.detach().clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.pad is not None:
            x = F.pad(x, self.pad)
        if (not FUSED or x.device.type != "cpu" or x.dtype != torch.float32 or self.weight.requires_grad
                or torch.is_autocast_enabled("cpu")):
            return F.hardtanh(F.conv2d(x, self.weight, self.bias, self.stride, self.padding, 1, self.groups), 0., 6.)
        if torch.is_grad_enabled() and x.requires_grad:
            return _ConvReLU6.apply(x, self.weight, self.bias, self.stride, self.padding, self.groups)
        return _conv_relu6(x, self.weight, self.bias, self.stride, self.padding, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.weight.shape[1] * self.groups}, {self.weight.shape[0]}, kernel={tuple(self.weight.shape[2:])}, "
                f"stride={self.stride}, padding={self.padding}, pad={self.pad}, groups={self.groups}")
