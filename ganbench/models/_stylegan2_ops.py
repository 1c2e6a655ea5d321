"""Plain-PyTorch versions of the StyleGAN2-ADA operators (stylegan2-ada-pytorch, torch_utils/ops and
training/networks.py): equalised-learning-rate layers, FIR up/down-sampling (upfirdn2d), resampling convolutions,
modulated convolution with demodulation, minibatch standard deviation. No custom CUDA kernels. The official mixed
precision is an option: layers run in the dtype of their input (fp16 in the high-resolution blocks, weights cast per
call, demodulated weights and styles pre-normalised as the official ``modulated_conv2d`` does for fp16), and
``clamp`` bounds activations after the gain (official ``conv_clamp``). The formulas follow the reference ops; see
stylegan2.py for the model.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SQRT2 = math.sqrt(2)  # gain of lrelu(0.2) in bias_act (keeps activations at unit variance)


def lrelu(x: Tensor, clamp: float = 0.0) -> Tensor:
    """bias_act's lrelu: leaky ReLU(0.2) times sqrt(2), then clamped to [-clamp, clamp] when ``clamp`` > 0."""
    x = F.leaky_relu(x, 0.2) * SQRT2
    return x.clamp(-clamp, clamp) if clamp > 0 else x


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def fir_filter(taps: tuple[float, ...] = (1, 3, 3, 1)) -> Tensor:
    """Separable low-pass filter as a 2-D kernel normalised to unit DC gain (upfirdn2d.setup_filter)."""
    f = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x: Tensor, f: Tensor, up: int = 1, down: int = 1, pad: tuple[int, int, int, int] = (0, 0, 0, 0),
              gain: float = 1.0) -> Tensor:
    """Zero-insertion up-sampling by ``up``, padding (x0, x1, y0, y1), depthwise FIR ``f`` (times ``gain``),
    down-sampling by taking every ``down``-th sample."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, list(pad))
    k = (f * gain).flip([0, 1]).to(x.dtype)[None, None].expand(c, 1, *f.shape)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def upsample2d(x: Tensor, f: Tensor) -> Tensor:
    """2x up-sampling with the FIR filter (the skip generator's image path)."""
    fw = f.shape[-1]
    p0, p1 = (fw + 1) // 2, (fw - 2) // 2
    return upfirdn2d(x, f, up=2, pad=(p0, p1, p0, p1), gain=4.0)


def conv2d_up2(x: Tensor, w: Tensor, f: Tensor) -> Tensor:
    """Convolution at twice the input resolution (conv2d_resample, up=2): stride-2 transposed conv, then FIR."""
    k, fw = w.shape[-1], f.shape[-1]
    p0 = k // 2 + (fw + 1) // 2 - (k - 1)
    p1 = k // 2 + (fw - 2) // 2 - (k - 2)
    x = F.conv_transpose2d(x, w.transpose(0, 1), stride=2)
    return upfirdn2d(x, f, pad=(p0, p1, p0, p1), gain=4.0)


def conv2d_down2(x: Tensor, w: Tensor, f: Tensor) -> Tensor:
    """Convolution to half the resolution (conv2d_resample, down=2): FIR on the padded input, stride-2 conv."""
    k, fw = w.shape[-1], f.shape[-1]
    p0, p1 = k // 2 + (fw - 1) // 2, k // 2 + (fw - 2) // 2
    return F.conv2d(upfirdn2d(x, f, pad=(p0, p1, p0, p1)), w, stride=2)


class EqualLinear(nn.Module):
    """FullyConnectedLayer: N(0, 1/lr_mult^2) weights scaled at run time by lr_mult/sqrt(fan_in) (equalised lr)."""

    def __init__(self, cin: int, cout: int, act: bool = False, lr_mult: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mult)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)))
        self.w_gain, self.b_gain, self.act = lr_mult / math.sqrt(cin), lr_mult, act

    def forward(self, x: Tensor) -> Tensor:
        x = F.linear(x, self.weight * self.w_gain, self.bias * self.b_gain)
        return lrelu(x) if self.act else x


class EqualConv2d(nn.Module):
    """Conv2dLayer: N(0, 1) weights scaled by 1/sqrt(fan_in), zero bias, lrelu*sqrt(2), optional FIR down-sampling."""

    def __init__(self, cin: int, cout: int, k: int, act: bool = True, down: bool = False,
                 clamp: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.gain, self.act, self.down, self.clamp = 1 / math.sqrt(cin * k * k), act, down, clamp
        if down:
            self.register_buffer("fir", fir_filter(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        w = (self.weight * self.gain).to(x.dtype)
        x = conv2d_down2(x, w, self.fir) if self.down else F.conv2d(x, w, padding=w.shape[-1] // 2)
        x = x + self.bias.to(x.dtype)[None, :, None, None]
        if self.act:
            return lrelu(x, self.clamp)
        return x.clamp(-self.clamp, self.clamp) if self.clamp > 0 else x


def demod_coefficients(weight: Tensor, styles: Tensor, eps: float = 1e-8) -> Tensor:
    """[N, O] factors 1/sqrt(sum_{i,k} (w_oik s_ni)^2 + eps) that give each output channel's modulated weight unit
    norm; computed as (s^2) @ (sum_k w^2)^T without forming the per-sample weights."""
    return (styles.square() @ weight.square().sum(dim=(2, 3)).t() + eps).rsqrt()


def modulated_weight(weight: Tensor, styles: Tensor, demodulate: bool = True) -> Tensor:
    """Per-sample weights [N, O, I, k, k] = w * s (* demodulation) — the fused form, used to check the unfused one."""
    w = weight[None] * styles[:, None, :, None, None]
    return w * demod_coefficients(weight, styles)[:, :, None, None, None] if demodulate else w


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool = True, up: bool = False,
                     f: Tensor | None = None) -> Tensor:
    """StyleGAN2 modulated convolution, unfused form: scale input channels by the styles, convolve with the shared
    weight, scale output channels by the demodulation factors (equal to convolving with ``modulated_weight``).

    An fp16 ``x`` runs the convolution in fp16. The official code then pre-normalises the weight (by
    1/sqrt(fan_in) / its max-norm per output channel) and the styles (by their max-norm per sample) so that fp16 does
    not overflow. Demodulation cancels both scalings, so the function is unchanged."""
    if x.dtype == torch.float16 and demodulate:
        weight = weight * (1 / math.sqrt(weight[0].numel()) / weight.norm(float("inf"), dim=(1, 2, 3), keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    dcoefs = demod_coefficients(weight, styles) if demodulate else None
    x = x * styles.to(x.dtype)[:, :, None, None]
    w = weight.to(x.dtype)
    x = conv2d_up2(x, w, f) if up else F.conv2d(x, w, padding=w.shape[-1] // 2)
    return x * dcoefs.to(x.dtype)[:, :, None, None] if demodulate else x


def minibatch_std(x: Tensor, group_size: int, num_channels: int = 1) -> Tensor:
    """Append the mean over (channels, pixels) of the per-group standard deviation as ``num_channels`` features.
    The group is min(group_size, N), lowered to a divisor of N when N is not a multiple of it."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    while n % g:
        g -= 1
    y = x.reshape(g, -1, num_channels, c // num_channels, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()
    y = y.mean(dim=(2, 3, 4)).reshape(-1, num_channels, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)
