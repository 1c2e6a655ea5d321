"""Projected GAN's discriminator (Sauer et al., NeurIPS 2021; autonomousvision/projected_gan ``pg_modules``).

A frozen feature network (ImageNet EfficientNet-Lite, four levels at strides 4/8/16/32), frozen random projections
(CCM: a 1x1 conv per level; CSM: a top-down U-Net-like path of bilinear x2 upsampling + 1x1 conv), and one small
trainable discriminator per level (spectrally normalised 4x4 stride-2 conv + BatchNorm + LeakyReLU(0.2) down-blocks,
then an SN 4x4 conv to one channel). The logits of all levels are concatenated; the hinge loss averages over them.

Facts carried over from the official code (``projector.py``, ``discriminator.py``, ``blocks.py``):
- images smaller than 224 are bilinearly resized to 224 (``interp224``) after DiffAugment, before the backbone;
- CCM widths ``cout * (1, 2, 4, 8)`` (expand), CSM widths ``cout * (1, 1, 2, 4)``, each CSM output at twice its
  level's resolution, bilinear upsampling with ``align_corners=True``, PyTorch default (Kaiming-uniform) init, biases;
- mini-D ``i`` gets as many down-blocks as halvings from its input down to the coarsest backbone map (4, 3, 2, 1
  with CSM; 3, 2, 1, 0 without), channels by nominal size {8: 512, 16: 256, 32: 128, 64: 64} (the first layer takes
  the projection's width), a bias-free SN 4x4 head; ``num_discs`` uses the finest levels first;
- the feature network (and CCM/CSM) stay in eval mode and get no gradients (only the mini-Ds are optimised). Here
  its BatchNorms are folded into the convs (frozen statistics: the same function up to float rounding; training
  iterations 72 -> 100 img/s on a 2-core AMD EPYC) and each ReLU6 is fused into its conv (``nets.frozen_conv``: the
  same outputs and input gradients; 100 -> 114 img/s on a 2-core Intel Xeon, same-process A/B); parameter counts are
  reported as published, unfolded.

Deviations (see ``projected_gan.py`` for the full list): the head gets zero padding ``ceil((7 - m) / 2)`` where ``m``
is the coarsest backbone map, so that a backbone input smaller than 224 still gives 4x4 logits (``m = 7`` at 224:
padding 0, the official head; ``m = 3`` at 96: padding 2). ``feat_res`` must be a multiple of 32 so that every
level halves exactly (the CSM adds a x2-upsampled coarser map to the finer one).
``backbone="none"`` (ablation ``no_pretrained``) is this re-implementation's plain pixel discriminator.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .. import rand
from ..errors import GanbenchError
from ..nets import efficientnet
from ..nets.resample import bilinear
from .layers import snconv

# Official mini-D channels by nominal feature size (``SingleDisc.channel_dict``).
D_CHANNELS = {4: 512, 8: 512, 16: 256, 32: 128, 64: 64, 128: 64, 256: 32}
LOGIT_KERNEL = 4
PROJECTIONS = ("none", "ccm", "csm")  # official proj_type 0, 1, 2


def init_untrained(net: nn.Module, seed: int) -> None:
    """Initialise as an untrained TF/timm EfficientNet (conv N(0, 2/fan_out), BN 1/0), the control for pretraining.

    PyTorch's default init with eval-mode BatchNorm makes the deeper levels vanish (std ~1e-5), which would make the
    ``random_features`` control meaningless; timm's ``_init_weight_goog`` (what ``tf_efficientnet_lite0`` uses when not
    pretrained) keeps every level at unit-ish scale."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            with torch.no_grad():
                m.weight.copy_(rand.randn(m.weight.shape, g, m.weight.device) * math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.reset_running_stats()


class Fusion(nn.Module):
    """One CSM step: add the coarser CSM output (if any), upsample bilinearly (align_corners), 1x1 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=True)  # official: 1x1 (the paper says 3x3)

    def forward(self, x: Tensor, coarser: Tensor | None = None) -> Tensor:
        if coarser is not None:
            x = x + coarser
        x = bilinear(x, scale_factor=2, align_corners=True)
        return self.conv(x)


class Projector(nn.Module):
    """Frozen: EfficientNet-Lite levels -> CCM -> CSM. ``forward`` returns the four projected levels, finest first."""

    def __init__(self, backbone: str, pretrained: bool, feat_res: int, projection: str, cout: int,
                 seed: int = 0) -> None:
        super().__init__()
        self.feat_res, self.projection = feat_res, projection
        net = efficientnet.build(backbone, pretrained, seed=seed, image_size=feat_res)
        if not pretrained:
            init_untrained(net, seed)
        for head in ("_conv_head", "_bn1", "_fc"):  # unused by Projected GAN (the official keeps stem + blocks)
            delattr(net, head)
        # BatchNorm folded into the convs (frozen statistics), each ReLU6 fused into its conv (one oneDNN call on the
        # CPU); depthwise convs run ~1.5x faster on CPU in NHWC
        self.backbone_params = sum(p.numel() for p in net.parameters())  # as published (BatchNorm unfolded)
        self.net = efficientnet.fuse_relu6(efficientnet.fold_batchnorm(net)).to(memory_format=torch.channels_last)
        with torch.no_grad():
            levels = efficientnet.stages(net, torch.zeros(1, 3, feat_res, feat_res))
        ch = [f.shape[1] for f in levels]
        self.backbone_sizes = [f.shape[-1] for f in levels]
        self.ccm = self.csm = None
        if projection in ("ccm", "csm"):
            widths = [cout, 2 * cout, 4 * cout, 8 * cout]
            self.ccm = nn.ModuleList(nn.Conv2d(c, w, 1, bias=True) for c, w in zip(ch, widths))
            ch = widths
        if projection == "csm":
            outs = [ch[0], ch[0], ch[1], ch[2]]  # each step halves the width, the finest keeps it
            self.csm = nn.ModuleList(Fusion(c, o) for c, o in zip(ch, outs))
            ch = outs
        self.channels = ch
        self.sizes = [s * (2 if projection == "csm" else 1) for s in self.backbone_sizes]
        self.requires_grad_(False)
        self.eval()

    @property
    def frozen_params(self) -> int:
        """Frozen parameters as the architecture has them: the backbone before BatchNorm folding, CCM and CSM."""
        folded = sum(p.numel() for p in self.net.parameters())
        return sum(p.numel() for p in self.parameters()) - folded + self.backbone_params

    def train(self, mode: bool = True) -> Projector:
        return super().train(False)  # always eval: frozen BatchNorm statistics

    def forward(self, x: Tensor) -> list[Tensor]:
        """Images in [-1, 1] at any size (1 or 3 channels) -> four projected levels."""
        size = self.feat_res if x.shape[-1] < self.feat_res else None  # official: resize only smaller images
        x = efficientnet.preprocess(x, size).contiguous(memory_format=torch.channels_last)
        f = efficientnet.stages(self.net, x)
        if self.ccm is not None:
            f = [m(t) for m, t in zip(self.ccm, f)]
        if self.csm is not None:
            out: list[Tensor] = [None] * 4  # type: ignore[list-item]
            out[3] = self.csm[3](f[3])
            for i in (2, 1, 0):
                out[i] = self.csm[i](f[i], out[i + 1])
            f = out
        return f


def head_padding(pre_head: int) -> int:
    """Zero padding of the 4x4 logit conv so that a map of ``pre_head`` gives >= 4x4 logits (0 at the official 7)."""
    return max(0, math.ceil((LOGIT_KERNEL + 3 - pre_head) / 2))


def _width(nominal: int, width: float) -> int:
    return max(1, round(D_CHANNELS[nominal] * width))


class MiniD(nn.Module):
    """One level's discriminator: ``n_down`` SN 4x4/2 conv + BN + LeakyReLU(0.2) blocks, SN 4x4 head to 1 channel."""

    def __init__(self, cin: int, n_down: int, width: float, pad: int, stem: bool = False) -> None:
        super().__init__()
        nominal = 8 * 2 ** n_down
        layers: list[nn.Module] = []
        if stem:  # pixel input: the official ``SingleDisc(head=True)`` 3x3 conv + LeakyReLU
            layers += [snconv(cin, _width(nominal, width), 3, 1, 1, bias=False), nn.LeakyReLU(0.2, True)]
            cin = _width(nominal, width)
        for _ in range(n_down):
            nominal //= 2
            c = _width(nominal, width)
            layers += [snconv(cin, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            cin = c
        layers.append(snconv(cin, 1, LOGIT_KERNEL, 1, pad, bias=False))
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x)


class ProjectedDiscriminator(nn.Module):
    """``D(x) -> [N, sum of logits]``; ``logits(x)`` gives the per-level maps. ``backbone='none'``: pixel D."""

    def __init__(self, in_ch: int, resolution: int, backbone: str, pretrained: bool, feat_res: int,
                 projection: str, cout: int, num_discs: int, width: float) -> None:
        super().__init__()
        if projection not in PROJECTIONS:
            raise GanbenchError(f"unknown projection {projection!r}; choose from: {', '.join(PROJECTIONS)}")
        if not 1 <= num_discs <= 4:
            raise GanbenchError(f"num_discs must be 1..4, got {num_discs}")
        self.projector: Projector | None = None
        if backbone == "none":  # ablation: no pretrained features, one mini-D on pixels down to 8x8
            n_down = int(math.log2(resolution // 8))
            self.discs = nn.ModuleList([MiniD(in_ch, n_down, width, head_padding(8), stem=True)])
            return
        self.projector = Projector(backbone, pretrained, feat_res, projection, cout)
        coarsest = self.projector.backbone_sizes[-1]
        discs = []
        for c, s in list(zip(self.projector.channels, self.projector.sizes))[:num_discs]:
            n_down = math.log2(s / coarsest)
            if n_down != int(n_down):
                raise GanbenchError(f"feat_res {feat_res}: level sizes {self.projector.sizes} do not halve exactly; "
                                    "use a multiple of 32")
            discs.append(MiniD(c, int(n_down), width, head_padding(coarsest)))
        self.discs = nn.ModuleList(discs)

    def logits(self, x: Tensor) -> list[Tensor]:
        """Per-level logit maps ``[N, 1, h, w]``, finest level first."""
        feats = self.projector(x) if self.projector is not None else [x]
        return [d(f) for d, f in zip(self.discs, feats)]

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return torch.cat([t.flatten(1) for t in self.logits(x)], dim=1)
