"""LRM GAN — Li & Lukasiewicz, "Lightweight Long-Range Generative Adversarial Networks", arXiv 2209.03793 (2022).

No official code is known; this follows the paper's description (seed 000, model card section 1). Every open
choice is marked [choice].

Mechanisms (as in the paper): the Long-Range Module (LRM, spatial and channel; see ``_lrm.py`` for its maths and
choices) in a multi-stage generator with one discriminator per stage, colour-consistency regularisation between
stages, and "meta-data": channel-averaged deep features of target images from a frozen pretrained network, added to
the noise input.

Architecture [choice: the author's StackGAN++/AttnGAN code lineage, since the paper's widths were not retrievable]:
* code c = z + Linear(meta) [choice: the flattened h x w meta map has no spatial match to z, so a learned linear
  maps it to z_dim; the paper only says "added to the noise input"]. ``no_meta``: c = z.
* stage 1: Linear(c) -> 4x4 x (g_ch * 2^u) with BN1d + GLU, u up-blocks (nearest x2, 3x3 conv, BN, GLU) to the base
  resolution R / 2^(n_stages - 1) with g_ch channels, the attention position, a 3x3 conv + tanh to an image.
* stage k > 1 (StackGAN++ ``NEXT_STAGE_G``): concat(h, c tiled) -> 3x3 joint conv + BN + GLU, r_num residual
  blocks, an up-block (channels halve), the attention position, a to-image conv + tanh.
* attention position [choice: the seed does not say where LRM sits; its ablations "w/ Residual" and "w/ SA" replace
  it, so it is a block at the end of each stage's trunk], used only at resolutions in ``attn_res``: ``lrm`` = spatial
  then channel LRM; ``residual`` = two residual blocks; ``sa`` = two SAGAN attentions; ``none`` (w/o LRM).
* D per stage (StackGAN++ ``D_NET``): 4x4 stride-2 convs (first without BN, then BN + LeakyReLU 0.2, channels
  doubling from d_ch) down to 4x4, then a 4x4 valid conv to one logit. No LRM in D [choice: the paper designs the
  generator]. ``self.D(x)`` picks the stage D by x's resolution.
* loss [choice: lineage]: non-saturating BCE summed over stages; reals are area-downsampled to each stage's size.
  G adds the StackGAN++ colour term between consecutive stages (lower stage detached): lambda * MSE(mu) +
  5 lambda * MSE(Sigma), lambda = 50 (StackGAN++'s unconditional configs), statistics at native resolutions
  as StackGAN++ (``color_downsample`` resizes the upper stage first). Adam 2e-4, betas (0.5, 0.999), N(0, 0.02)
  init of convs/linears (StackGAN++); LRM weights w ~ N(0, 1).
* meta-data at training: features of the current real batch (the "target images"). At sampling: features of random
  real training images (``draw_conditioning``), identical for every variant that uses meta-data.

Deviations: see ``deviations`` (meta-data network, sizes, stages at 32x32).

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): ngf 10 (stage channels 10, 5), ndf 19, z 64; at 1 channel 32x32 G 125,871 / D 72,050
trainable (+700,768 frozen Lite0 meta-data layers, fed to G).

``tiny`` learning rates: G 0.002, D 0.002, 10 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x3 18.1 / x10 7.6 / x30 8.8 / x100 8.4 / x300 17.0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GanbenchError
from ._lrm import GLU, ResBlock, attention_block, color_consistency, conv3x3, joint_block, up_block
from ._lrm_meta import NETS, MetaNet
from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, StepInfo, init_weights, register_model

ATTN = ("lrm", "residual", "sa", "none")


@dataclass(frozen=True)
class LRMGANConfig(GANConfig):
    g_ch: int = 32  # G channels at the first stage's output (halved by each later stage), StackGAN++ "ngf"
    d_ch: int = 64  # channels of each D's first conv, "ndf"
    n_stages: int = 2  # 32x32: 16 -> 32
    r_num: int = 2  # residual blocks in each later stage (StackGAN++ R_NUM)
    attn: str = "lrm"  # lrm | residual | sa | none (the paper's ablations)
    attn_res: tuple[int, ...] = (16, 32)  # stage output resolutions carrying the attention block
    lrm_w_std: float = 1.0  # std of the Gaussian init of the LRM weights w
    color_weight: float = 50.0  # StackGAN++ colour-consistency lambda (0 = off)
    color_downsample: bool = False  # compare the upper stage area-resized to the lower one (StackGAN++: no)
    use_meta: bool = True
    meta_net: str = "lite0"  # vgg16 (paper) | lite0 | lite1 (offline default: lite0)
    meta_weights: str = ""  # local weights file for meta_net ("" = default lookup)
    meta_size: int = 224  # input size of the meta network (images are bilinearly resized)
    meta_stride: int = 16  # feature level: VGG relu5_3 = 16, relu4_3 = 8; Lite: 4, 8, 16, 32
    lrelu: float = 0.2

    def validate(self) -> None:
        if self.attn not in ATTN:
            raise GanbenchError(f"lrm_gan: unknown attn {self.attn!r}; choose from: {', '.join(ATTN)}")
        if self.meta_net not in NETS:
            raise GanbenchError(f"lrm_gan: unknown meta_net {self.meta_net!r}; choose from: {', '.join(NETS)}")
        if self.n_stages < 1 or self.g_ch < 2 ** self.n_stages or self.d_ch < 1 or self.r_num < 0:
            raise GanbenchError("lrm_gan: need n_stages >= 1, g_ch >= 2^n_stages, d_ch >= 1, r_num >= 0")
        if self.gp_weight or self.r1_gamma or self.drift_weight or self.conditional:
            raise GanbenchError("lrm_gan: gp_weight, r1_gamma, drift_weight and conditional are not supported")


class Generator(nn.Module):
    """Multi-stage generator; ``forward`` returns the last stage, ``stages`` all of them (low to high)."""

    def __init__(self, cfg: LRMGANConfig, out_ch: int, resolution: int, meta_dim: int) -> None:
        super().__init__()
        base = resolution // 2 ** (cfg.n_stages - 1)
        if base < 8 or base & (base - 1) or resolution != base * 2 ** (cfg.n_stages - 1):
            raise GanbenchError(f"lrm_gan: resolution {resolution} with {cfg.n_stages} stages needs a power-of-two "
                                f"first stage >= 8")
        self.z_dim = cfg.z_dim
        self.meta_proj = nn.Linear(meta_dim, cfg.z_dim) if meta_dim else None
        ups = int(math.log2(base // 4))
        c0 = cfg.g_ch * 2 ** ups
        self.fc = nn.Sequential(nn.Linear(cfg.z_dim, 16 * 2 * c0, bias=False), nn.BatchNorm1d(16 * 2 * c0), GLU())
        self.init = nn.Sequential(*[up_block(c0 // 2 ** i, c0 // 2 ** (i + 1)) for i in range(ups)])
        self.nexts = nn.ModuleList()
        attn, heads = [], []
        ch, res = cfg.g_ch, base
        for k in range(cfg.n_stages):
            if k > 0:
                self.nexts.append(nn.Sequential(joint_block(ch + cfg.z_dim, ch),
                                                *[ResBlock(ch) for _ in range(cfg.r_num)], up_block(ch, ch // 2)))
                ch, res = ch // 2, res * 2
            kind = cfg.attn if res in cfg.attn_res else "none"
            attn.append(attention_block(kind, ch, res, cfg.lrm_w_std))
            heads.append(nn.Sequential(conv3x3(ch, out_ch), nn.Tanh()))
        self.attn, self.heads = nn.ModuleList(attn), nn.ModuleList(heads)
        self.c0 = c0

    def code(self, z: Tensor, meta: Tensor | None) -> Tensor:
        """z + Linear(meta); ``meta=None`` (shape tests, no_meta) gives z."""
        return z if meta is None or self.meta_proj is None else z + self.meta_proj(meta)

    def stages(self, z: Tensor, meta: Tensor | None = None) -> list[Tensor]:
        c = self.code(z, meta)
        h = self.attn[0](self.init(self.fc(c).view(-1, self.c0, 4, 4)))
        outs = [self.heads[0](h)]
        for k, block in enumerate(self.nexts, start=1):
            tiled = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
            h = self.attn[k](block(torch.cat([h, tiled], dim=1)))
            outs.append(self.heads[k](h))
        return outs

    def forward(self, z: Tensor, y: Tensor | None = None, meta: Tensor | None = None) -> Tensor:
        return self.stages(z, meta)[-1]


class StageD(nn.Module):
    """StackGAN++-style D for one resolution: stride-2 4x4 convs down to 4x4, then a 4x4 conv to a logit."""

    def __init__(self, in_ch: int, ch: int, resolution: int, slope: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ch, 4, 2, 1, bias=False), nn.LeakyReLU(slope, True)]
        res = resolution // 2
        while res > 4:
            layers += [nn.Conv2d(ch, 2 * ch, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ch), nn.LeakyReLU(slope, True)]
            ch, res = 2 * ch, res // 2
        layers.append(nn.Conv2d(ch, 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1).squeeze(1)


class MultiD(nn.Module):
    """One D per generator stage; called on an image, it uses the D of that image's resolution."""

    def __init__(self, in_ch: int, ch: int, resolutions: list[int], slope: float) -> None:
        super().__init__()
        self.resolutions = resolutions
        self.ds = nn.ModuleList(StageD(in_ch, ch, r, slope) for r in resolutions)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if x.shape[-1] not in self.resolutions:
            raise GanbenchError(f"lrm_gan: no discriminator for {x.shape[-1]}px (stages: {self.resolutions})")
        return self.ds[self.resolutions.index(x.shape[-1])](x)


@register_model("lrm_gan")
class LRMGAN(GAN):
    __doc__ = __doc__
    Config = LRMGANConfig
    presets = {
        # author's lineage (StackGAN++ unconditional / AttnGAN): ngf 32, ndf 64, z 100, batch 24, lr 2e-4, BCE
        "paper": LRMGANConfig(z_dim=100, g_ch=32, d_ch=64, batch_size=24, lr_g=2e-4, lr_d=2e-4, beta1=0.5,
                              beta2=0.999, loss="nonsat", attn_res=(16, 32), meta_size=224, meta_stride=16),
        # 2-CPU scale: LRM only at 16x16 (a 32x32 spatial LRM is a 1024x1024 attention per image); meta input 64 px
        # (a 4x4 map, 16 values: Lite0 at 224 px costs ~10x more per batch); capacity-matched widths ngf 10, ndf 19
        "tiny": LRMGANConfig(z_dim=64, g_ch=10, d_ch=19, batch_size=32, lr_g=2e-3, lr_d=2e-3, beta1=0.5,
                             beta2=0.999, loss="nonsat", attn_res=(16,), meta_size=64, meta_stride=16),
    }
    variants = {
        "default": {},
        "no_meta": {"use_meta": False},  # "Ours w/o Meta"
        "no_lrm": {"attn": "none"},  # "Ours w/o LRM"
        "residual": {"attn": "residual"},  # "Ours w/ Residual"
        "sa": {"attn": "sa"},  # "Ours w/ SA"
    }
    paper = PaperRef(
        title="Lightweight Long-Range Generative Adversarial Networks (Li & Lukasiewicz, 2022)",
        url="https://arxiv.org/abs/2209.03793", code="",
        params_g=None, params_d=None,
        params_note="unknown: no official code, and the paper's NoP-G/NoP-D table (ImageNet/FFHQ/CUB, not 32x32) "
                    "could not be retrieved")
    deviations = (
        "meta-data network is ImageNet EfficientNet-Lite0 (stride-16 level), not the paper's VGG-16, unless "
        "meta_net=vgg16 (VGG-16 weights are not installable offline); "
        "no official code: widths, LRM placement, loss and the meta-data fusion (learned linear) follow the author's "
        "StackGAN++/AttnGAN lineage and are documented choices; "
        "32x32 uses 2 stages (16 -> 32) instead of the paper's higher-resolution stages")
    samples_from_data = True

    def __init__(self, cfg: LRMGANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        cfg.validate()
        meta = MetaNet(cfg.meta_net, cfg.meta_size, cfg.meta_stride, cfg.meta_weights) if cfg.use_meta else None
        # Held outside the module tree: kept out of state_dict/checkpoints (rebuilt from its weights file), out of
        # the EMA copy of G, and never switched to train mode; ``_apply`` still moves it with the model.
        object.__setattr__(self, "meta_net", meta)
        self._meta_key: tuple[Tensor, int] | None = None
        self._meta_val: Tensor | None = None
        self.G = Generator(cfg, img.channels, img.resolution, meta.dim if meta else 0)
        res = [img.resolution // 2 ** (cfg.n_stages - 1 - k) for k in range(cfg.n_stages)]
        self.D = MultiD(img.channels, cfg.d_ch, res, cfg.lrelu)
        init_weights(self.G, "normal", 0.02)
        init_weights(self.D, "normal", 0.02)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        if self.meta_net is not None:
            self.meta_net._apply(fn, recurse)
        return self

    # ---- meta-data and sampling -----------------------------------------------------------------------------
    def meta(self, images: Tensor) -> Tensor | None:
        """Channel-averaged deep features of ``images`` (None without meta-data); cached for the last real batch,
        which D's and G's steps share."""
        if self.meta_net is None:
            return None
        key = (images, images._version)  # identity and in-place version: a reused buffer is recomputed
        if self._meta_key is None or key[0] is not self._meta_key[0] or key[1] != self._meta_key[1]:
            self._meta_key, self._meta_val = key, self.meta_net(images)
        return self._meta_val

    def generate(self, z: Tensor, y: Tensor | None = None, G: nn.Module | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        meta = self.meta_net(self.draw_conditioning(z.shape[0], generator)) if self.meta_net is not None else None
        return (G or self.G)(z, None, meta)

    # ---- training ---------------------------------------------------------------------------------------------
    def d_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        n = real.shape[0]
        with torch.no_grad():
            fakes = self.G.stages(self.sample_z(n), self.meta(real))
        loss = real.new_zeros(())
        logs: dict[str, Tensor] = {}
        for k, fake in enumerate(fakes):
            r = real if real.shape[-1] == fake.shape[-1] else F.interpolate(real, size=fake.shape[-2:], mode="area")
            lk = self._loss.d(self.D(self.augment(r)), self.D(self.augment(fake)))
            logs[f"loss_d{k}"] = lk.detach()
            loss = loss + lk
        logs["loss_d"] = loss.detach()
        return loss, logs

    def g_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        c = self.cfg
        fakes = self.G.stages(self.sample_z(real.shape[0]), self.meta(real))
        adv = sum(self._loss.g(self.D(self.augment(f))) for f in fakes)
        logs: dict[str, Tensor] = {"loss_g_adv": adv.detach()}
        loss = adv
        if c.color_weight and len(fakes) > 1:
            color = sum(color_consistency(hi, lo, c.color_weight, c.color_downsample)
                        for lo, hi in zip(fakes[:-1], fakes[1:]))
            logs["color"] = color.detach()
            loss = loss + color
        logs["loss_g"] = loss.detach()
        return loss, logs

    def param_counts(self) -> dict[str, int]:
        """As the base; ``params_g_frozen`` is the frozen meta-data network (it feeds G's input)."""
        out = super().param_counts()
        if self.meta_net is not None:
            out["params_g_frozen"] += sum(p.numel() for p in self.meta_net.parameters())
        return out
