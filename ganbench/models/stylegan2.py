"""StyleGAN2 — Karras et al., "Analyzing and Improving the Image Quality of StyleGAN" (CVPR 2020), in the CIFAR-10
configuration of stylegan2-ada-pytorch (Karras et al., "Training GANs with Limited Data", NeurIPS 2020,
``--cfg=cifar``).

G: mapping MLP (2 layers, z = w = 512, lr multiplier 0.01, 2nd-moment-normalised z) -> w broadcast to every layer;
synthesis from a learned 4x4 constant through blocks at 4, 8, 16, 32 with 512 channels each (channel_base 32768,
channel_max 512): modulated 3x3 convs with weight demodulation, per-pixel noise inputs with learned strength, bias +
lrelu*sqrt(2), FIR [1,3,3,1] up-sampling, and the "skip" output: a modulated 1x1 toRGB per block summed over
up-sampled images. D ("orig", no residual skips): fromRGB 1x1, per resolution conv3x3 + conv3x3-down, epilogue at
4x4 with minibatch standard deviation (group 32, 1 channel), conv3x3, FC, FC -> 1. Equalised learning rate
everywhere. Non-saturating logistic loss, R1 gamma = 0.01 applied lazily every 16 D steps (scaled by 16), G EMA with
half-life 500 kimg and ramp-up 0.05, Adam lr 0.0025 betas (0, 0.99) with the lazy-regularisation correction
lr * k/(k+1), beta ** (k/(k+1)) (k = 16 for D, 4 for G), batch 64. Path-length regularisation and style mixing
exist as options (``pl_weight``, ``style_mixing``) and are off, as in the cifar config.

Class-conditional (``conditional=True``, as StyleGAN2-ADA): the one-hot label is embedded (FC -> w_dim),
2nd-moment-normalised and concatenated to z in the mapping; D maps the label through its own 8-layer mapping MLP to a
512-d vector and projects: logit = <out(x), cmap> / sqrt(512).

Official code: https://github.com/NVlabs/stylegan2-ada-pytorch (training/networks.py, loss.py, train.py cifar spec).
Checked once against it: with copied weights (noise strengths 0), G and D outputs, unconditional and conditional,
equal its Generator/Discriminator (fused modconv, reference upfirdn2d) to 4e-6; the resampling ops match exactly.

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): channel_max 32, z = w = 96; at 1 channel 32x32 G 118,155 / D 81,537 trainable.

``tiny`` learning rates: G 0.0006, D 0.000705882, 0.3 x the paper recipe's, picked by
``ganbench tune --profile standard`` (one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x0.1 17.5 / x0.3 10.7 / x1 12.1 / x3 13.7 / x10 32.5 / x30 47.8.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import rand
from ..errors import GanbenchError
from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, StepInfo, register_model
from ._stylegan2_ops import (EqualConv2d, EqualLinear, fir_filter, lrelu, minibatch_std, modulated_conv2d,
                             normalize_2nd_moment, upsample2d)

G_REG_INTERVAL, D_REG_INTERVAL = 4, 16
_G_RATIO, _D_RATIO = G_REG_INTERVAL / (G_REG_INTERVAL + 1), D_REG_INTERVAL / (D_REG_INTERVAL + 1)


@dataclass(frozen=True)
class StyleGAN2Config(GANConfig):
    w_dim: int = 512
    map_layers: int = 2  # cifar config (8 in the paper's FFHQ/LSUN configs)
    map_lr_mult: float = 0.01
    channel_base: int = 32768  # channels at resolution r: min(channel_base // r, channel_max)
    channel_max: int = 512
    noise: bool = True  # per-pixel noise inputs
    mbstd_group: int = 32
    mbstd_channels: int = 1
    d_map_layers: int = 8  # label-mapping MLP of the conditional D (ADA default)
    style_mixing: float = 0.0  # probability of mixing two w's at a random layer (paper configs 0.9; cifar 0)
    pl_weight: float = 0.0  # path-length regularisation weight (paper configs 2; cifar 0)
    pl_interval: int = G_REG_INTERVAL  # lazy PL: every k G steps, scaled by k
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    # The official mixed precision (train.py without --fp32: 4 and 256): G and D blocks at resolutions >=
    # max(2^(log2 r + 1 - num_fp16_res), 8) run in fp16; activations clamped to +-conv_clamp (0: off).
    num_fp16_res: int = 0
    conv_clamp: float = 0.0

    def validate(self) -> None:
        if not 0 <= self.style_mixing <= 1 or self.pl_weight < 0 or self.pl_interval < 1:
            raise GanbenchError("stylegan2: need 0 <= style_mixing <= 1, pl_weight >= 0, pl_interval >= 1")
        if self.num_fp16_res < 0 or self.conv_clamp < 0:
            raise GanbenchError("stylegan2: need num_fp16_res >= 0 and conv_clamp >= 0")
        if self.num_fp16_res and self.precision != "fp32":
            raise GanbenchError("stylegan2: num_fp16_res is StyleGAN2's own mixed precision; use it with "
                                f"precision fp32, not {self.precision}")


def fp16_resolution(cfg: StyleGAN2Config, resolution: int) -> float:
    """The lowest resolution whose blocks run in fp16 (official: max(2^(log2 r + 1 - num_fp16_res), 8)); inf: none."""
    if not cfg.num_fp16_res:
        return math.inf
    return max(2 ** (int(math.log2(resolution)) + 1 - cfg.num_fp16_res), 8)


def _channels(cfg: StyleGAN2Config, res: int) -> int:
    return min(cfg.channel_base // res, cfg.channel_max)


class MappingNetwork(nn.Module):
    """z (and embedded label) -> w, broadcast to ``num_ws`` layers; tracks the mean w for truncation."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, layers: int, lr_mult: float,
                 w_avg_beta: float | None = 0.995) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.num_ws, self.w_avg_beta = z_dim, c_dim, num_ws, w_avg_beta
        self.embed = EqualLinear(c_dim, w_dim) if c_dim else None
        feats = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * layers
        self.fcs = nn.Sequential(*[EqualLinear(feats[i], feats[i + 1], act=True, lr_mult=lr_mult)
                                   for i in range(layers)])
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor | None, c: Tensor | None = None, update_w_avg: bool = True,
                truncation_psi: float = 1.0) -> Tensor:
        parts = []
        if self.z_dim:
            parts.append(normalize_2nd_moment(z))
        if self.c_dim:
            parts.append(normalize_2nd_moment(self.embed(c)))
        x = self.fcs(torch.cat(parts, dim=1))
        if self.num_ws is None:
            return x
        if self.w_avg_beta is not None and self.training and update_w_avg:
            # the fp32 buffer tracks the fp32 mean (x is bf16/fp16 under autocast)
            self.w_avg.copy_(x.detach().float().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x[:, None].repeat(1, self.num_ws, 1)
        return self.w_avg.to(x.dtype).lerp(x, truncation_psi) if truncation_psi != 1 else x


class SynthesisLayer(nn.Module):
    """Modulated (demodulated) 3x3 conv, optional 2x up-sampling, noise, bias, lrelu."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, up: bool = False, noise: bool = True,
                 clamp: float = 0.0):
        super().__init__()
        self.resolution, self.up, self.clamp = resolution, up, clamp
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.noise_strength = nn.Parameter(torch.zeros(())) if noise else None
        self.register_buffer("fir", fir_filter(), persistent=False)

    def forward(self, x: Tensor, w: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = modulated_conv2d(x, self.weight, self.affine(w), demodulate=True, up=self.up, f=self.fir)
        if self.noise_strength is not None:
            r = self.resolution
            noise = rand.randn((x.shape[0], 1, r, r), generator, x.device) * self.noise_strength
            x = x + noise.to(x.dtype)
        return lrelu(x + self.bias.to(x.dtype)[None, :, None, None], self.clamp)


class ToRGB(nn.Module):
    def __init__(self, cin: int, out_ch: int, w_dim: int, clamp: float = 0.0) -> None:
        super().__init__()
        self.clamp = clamp
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.gain = 1 / math.sqrt(cin)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        x = modulated_conv2d(x, self.weight, self.affine(w) * self.gain, demodulate=False)
        x = x + self.bias.to(x.dtype)[None, :, None, None]
        return x.clamp(-self.clamp, self.clamp) if self.clamp > 0 else x


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: [const | up-conv], conv, toRGB added to the up-sampled image."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, out_ch: int, noise: bool,
                 fp16: bool = False, clamp: float = 0.0) -> None:
        super().__init__()
        self.first, self.dtype = cin == 0, torch.float16 if fp16 else torch.float32
        if self.first:
            self.const = nn.Parameter(torch.randn(cout, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(cin, cout, w_dim, resolution, up=True, noise=noise, clamp=clamp)
        self.conv1 = SynthesisLayer(cout, cout, w_dim, resolution, noise=noise, clamp=clamp)
        self.torgb = ToRGB(cout, out_ch, w_dim, clamp)
        self.num_conv = 1 if self.first else 2
        self.register_buffer("fir", fir_filter(), persistent=False)

    def forward(self, x: Tensor | None, img: Tensor | None, ws: Tensor, generator=None) -> tuple[Tensor, Tensor]:
        if self.first:
            x = self.const.to(self.dtype)[None].repeat(ws.shape[0], 1, 1, 1)
        else:
            x = self.conv0(x.to(self.dtype), ws[:, 0], generator)
        x = self.conv1(x, ws[:, self.num_conv - 1], generator)
        y = self.torgb(x, ws[:, self.num_conv]).float()  # shares its w with the next block's first conv
        return x, (upsample2d(img, self.fir) + y if img is not None else y)  # the image is summed in fp32


class SynthesisNetwork(nn.Module):
    def __init__(self, cfg: StyleGAN2Config, out_ch: int, resolution: int) -> None:
        super().__init__()
        lg = int(math.log2(resolution))
        if resolution < 8 or 2 ** lg != resolution:
            raise GanbenchError(f"stylegan2: resolution must be a power of two >= 8, got {resolution}")
        res = [2 ** i for i in range(2, lg + 1)]
        fp16 = fp16_resolution(cfg, resolution)
        self.blocks = nn.ModuleList(
            SynthesisBlock(_channels(cfg, r // 2) if r > 4 else 0, _channels(cfg, r), cfg.w_dim, r, out_ch, cfg.noise,
                           r >= fp16, cfg.conv_clamp)
            for r in res)
        self.num_ws = sum(b.num_conv for b in self.blocks) + 1

    def forward(self, ws: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = img = None
        i = 0
        for b in self.blocks:
            x, img = b(x, img, ws[:, i:i + b.num_conv + 1], generator)
            i += b.num_conv
        return img


class Generator(nn.Module):
    def __init__(self, cfg: StyleGAN2Config, out_ch: int, resolution: int, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.synthesis = SynthesisNetwork(cfg, out_ch, resolution)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, num_classes, cfg.w_dim, self.num_ws, cfg.map_layers,
                                      cfg.map_lr_mult)

    def label(self, y: Tensor | None) -> Tensor | None:
        if not self.num_classes:
            return None
        if y is None:
            raise GanbenchError("conditional StyleGAN2 generator called without labels")
        return F.one_hot(y, self.num_classes).float()

    def forward(self, z: Tensor, y: Tensor | None = None, generator: torch.Generator | None = None,
                truncation_psi: float = 1.0) -> Tensor:
        return self.synthesis(self.mapping(z, self.label(y), truncation_psi=truncation_psi), generator)


class DBlock(nn.Module):
    """'orig' D block: [fromRGB 1x1 if first], conv3x3, conv3x3 with FIR down-sampling; all lrelu."""

    def __init__(self, cin: int, tmp: int, cout: int, img_ch: int, fp16: bool = False, clamp: float = 0.0) -> None:
        super().__init__()
        self.dtype = torch.float16 if fp16 else torch.float32
        self.fromrgb = EqualConv2d(img_ch, tmp, 1, clamp=clamp) if cin == 0 else None
        self.conv0 = EqualConv2d(tmp, tmp, 3, clamp=clamp)
        self.conv1 = EqualConv2d(tmp, cout, 3, down=True, clamp=clamp)

    def forward(self, x: Tensor) -> Tensor:
        x = x.to(self.dtype)
        if self.fromrgb is not None:
            x = self.fromrgb(x)
        return self.conv1(self.conv0(x))


class Discriminator(nn.Module):
    def __init__(self, cfg: StyleGAN2Config, img_ch: int, resolution: int, num_classes: int) -> None:
        super().__init__()
        lg = int(math.log2(resolution))
        res = [2 ** i for i in range(lg, 2, -1)]
        fp16 = fp16_resolution(cfg, resolution)
        self.blocks = nn.Sequential(*[
            DBlock(_channels(cfg, r) if r < resolution else 0, _channels(cfg, r), _channels(cfg, r // 2), img_ch,
                   r >= fp16, cfg.conv_clamp)
            for r in res])
        c4 = _channels(cfg, 4)
        self.cmap_dim = c4 if num_classes else 0
        self.mapping = (MappingNetwork(0, num_classes, c4, None, cfg.d_map_layers, cfg.map_lr_mult, None)
                        if num_classes else None)
        self.num_classes, self.mbstd_group, self.mbstd_channels = num_classes, cfg.mbstd_group, cfg.mbstd_channels
        self.conv = EqualConv2d(c4 + cfg.mbstd_channels, c4, 3, clamp=cfg.conv_clamp)  # the epilogue stays fp32
        self.fc = EqualLinear(c4 * 16, c4, act=True)
        self.out = EqualLinear(c4, self.cmap_dim or 1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        x = self.blocks(x).float()
        if self.mbstd_channels:
            x = minibatch_std(x, self.mbstd_group, self.mbstd_channels)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.mapping is None:
            return x.squeeze(1)
        if y is None:
            raise GanbenchError("conditional StyleGAN2 discriminator called without labels")
        cmap = self.mapping(None, F.one_hot(y, self.num_classes).float())
        return (x * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)


@register_model("stylegan2")
class StyleGAN2(GAN):
    __doc__ = __doc__
    Config = StyleGAN2Config
    presets = {
        # lr and betas carry the lazy-regularisation correction: lr_g = 0.0025 * 4/5, lr_d = 0.0025 * 16/17,
        # beta2 = 0.99 ** (4/5) for G and 0.99 ** (16/17) for D
        "paper": StyleGAN2Config(z_dim=512, batch_size=64, lr_g=0.0025 * _G_RATIO, lr_d=0.0025 * _D_RATIO,
                                 beta1=0.0, beta2=0.99 ** _D_RATIO, g_betas=(0.0, 0.99 ** _G_RATIO),
                                 loss="nonsat", r1_gamma=0.01,
                                 reg_interval=D_REG_INTERVAL, ema_kimg=500.0, ema_rampup=0.05),
        # same mechanisms (mapping, modulation/demodulation, noise, skip G, mbstd, lazy R1, EMA), capacity-matched:
        # 32 channels, z = w = 96, minibatch-std group 4
        "tiny": StyleGAN2Config(z_dim=96, w_dim=96, channel_max=32, mbstd_group=4, batch_size=32,
                                lr_g=0.3 * 0.0025 * _G_RATIO, lr_d=0.3 * 0.0025 * _D_RATIO, beta1=0.0,
                                beta2=0.99 ** _D_RATIO, g_betas=(0.0, 0.99 ** _G_RATIO), loss="nonsat", r1_gamma=0.01,
                                reg_interval=D_REG_INTERVAL, ema_kimg=500.0, ema_rampup=0.05),
    }
    variants = {
        "default": {},
        "style_mixing": {"style_mixing": 0.9},  # the paper configs' value
        "pl_reg": {"pl_weight": 2.0},
        "no_noise": {"noise": False},
        "no_r1": {"r1_gamma": 0.0},
        "map8": {"map_layers": 8},
    }
    paper = PaperRef(
        title="Analyzing and Improving the Image Quality of StyleGAN (Karras et al., CVPR 2020); CIFAR-10 config of "
              "Training GANs with Limited Data (Karras et al., NeurIPS 2020)",
        url="https://arxiv.org/abs/1912.04958", code="https://github.com/NVlabs/stylegan2-ada-pytorch",
        params_g=19_947_539, params_d=20_720_641,
        params_note="stylegan2-ada-pytorch --cfg=cifar, unconditional (computed; the conditional model logged by "
                    "PyTorch-StudioGAN has G 20,215,315 / D 23,089,664, reproduced here with conditional=True)")
    deviations = """\
- fp32 by default. The official mixed precision is an option: ``--set num_fp16_res=4 --set conv_clamp=256``
  puts the blocks at >= 8 px (32x32) in fp16 and clamps activations at 256, as train.py does without --fp32 (tested
  against fp32 in tests/test_stylegan2_fp16.py). There are no custom CUDA ops, and gradients are not
  nan_to_num-scrubbed as in the official training loop. Up/down-sampling convs are plain-PyTorch equivalents of
  conv2d_resample; modulated convs use the unfused form.
- Lazy regularisation is added to the regular D (G) loss on every 16th D (4th G) step, scaled by the interval, not
  taken as a separate optimiser step (learning rates and betas carry the official correction exactly).
- Minibatch-std group = min(32, batch), lowered to a divisor of the batch; the official run splits batch 64 over 2
  GPUs (32 per forward).
- No ADA (the official train.py defaults to --aug=ada); this is the StyleGAN2 baseline. DiffAugment via `diffaug`.
"""

    def __init__(self, cfg: StyleGAN2Config, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        cfg.validate()
        k = img.num_classes if cfg.conditional else 0
        self.G = Generator(cfg, img.channels, img.resolution, k)
        self.D = Discriminator(cfg, img.channels, img.resolution, k)
        self.register_buffer("pl_mean", torch.zeros(()))

    def generate(self, z: Tensor, y: Tensor | None = None, G: nn.Module | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        return (G or self.G)(z, y, generator=generator)  # noise inputs drawn from ``generator``

    def run_g(self, z: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
        """Training-time G: images and the ws they came from, with style mixing at probability cfg.style_mixing."""
        G = self.G
        c = G.label(y)
        ws = G.mapping(z, c)
        p = self.cfg.style_mixing
        if p > 0 and torch.rand(()) < p:  # one cutoff for the batch, as the official loss
            cutoff = int(torch.randint(1, ws.shape[1], ()))
            ws2 = G.mapping(torch.randn_like(z), c, update_w_avg=False)
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return G.synthesis(ws), ws

    def d_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        c = self.cfg
        n = real.shape[0]
        yf = self.sample_y(n) if y is not None else None
        with torch.no_grad():
            fake, _ = self.run_g(self.sample_z(n), yf)
        do_r1 = c.r1_gamma > 0 and info.d_step % c.reg_interval == 0
        x = real.detach().requires_grad_(do_r1)
        lr, lf = self.D(self.augment(x), y), self.D(self.augment(fake), yf)
        loss = self._loss.d(lr, lf)
        logs = {"loss_d": loss.detach()}
        if do_r1:
            (g,) = torch.autograd.grad(lr.sum(), x, create_graph=True)
            r1 = g.square().sum(dim=(1, 2, 3)).mean()
            loss = loss + r1 * (c.r1_gamma / 2) * c.reg_interval
            logs["r1"] = r1.detach()
        return loss, logs

    def g_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        c = self.cfg
        n = real.shape[0]
        yf = self.sample_y(n) if y is not None else None
        z = self.sample_z(n)
        fake, _ = self.run_g(z, yf)
        loss = self._loss.g(self.D(self.augment(fake), yf))
        logs = {"loss_g": loss.detach()}
        if c.pl_weight > 0 and info.step % c.pl_interval == 0:
            pl = self.path_length_penalty(z[:max(n // c.pl_batch_shrink, 1)],
                                          yf[:max(n // c.pl_batch_shrink, 1)] if yf is not None else None)
            loss = loss + pl * c.pl_weight * c.pl_interval
            logs["pl"] = pl.detach()
        return loss, logs

    def path_length_penalty(self, z: Tensor, y: Tensor | None) -> Tensor:
        """E[(|J_w^T u| - a)^2], u ~ N(0, I)/sqrt(HW), a the running mean of the lengths (decay pl_decay)."""
        img, ws = self.run_g(z, y)
        noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (g,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = g.square().sum(dim=2).mean(dim=1).sqrt()
        mean = self.pl_mean.lerp(lengths.mean(), self.cfg.pl_decay)
        self.pl_mean.copy_(mean.detach())
        return (lengths - mean).square().mean()

