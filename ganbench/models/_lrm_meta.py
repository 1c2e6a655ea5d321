"""LRM GAN meta-data: deep features of target (real) images from a frozen ImageNet network, averaged over channels.

The paper uses VGG-16 ("deep output features", layer not stated). Here ``vgg16`` takes ``relu5_3`` (stride 16; the
deepest conv layer) or ``relu4_3`` (stride 8). Offline, where VGG-16 weights cannot be installed, ``lite0``
(EfficientNet-Lite0, ImageNet, ganbench/nets/efficientnet.py) stands in: its stem and blocks up to the last one at
the same stride, so that at 224 px both give a 14 x 14 map. The h x w channel mean is flattened; the generator maps
it to z's size with a learned linear layer (see lrm_gan.py).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import GanbenchError
from ..nets import efficientnet, vgg

NETS = ("vgg16", "lite0", "lite1")


class _LiteTrunk(nn.Module):
    """EfficientNet-Lite stem + blocks up to total stride ``stride`` (the blocks after it are dropped)."""

    def __init__(self, net: nn.Module, stride: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        cum, keep = 2, []  # the stem has stride 2
        for block in net._blocks:
            s = block._depthwise_conv.stride[0]
            if cum * s > stride:
                break
            cum *= s
            keep.append(block)
        if cum != stride:
            raise GanbenchError(f"EfficientNet-Lite has no stride-{stride} level; choose from: 4, 8, 16, 32")
        self.blocks = nn.Sequential(*keep)

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.stem(x))


class MetaNet(nn.Module):
    """Frozen feature network: images in [-1, 1] -> flattened channel-mean feature map (B, h*w)."""

    def __init__(self, name: str, size: int, stride: int = 16, weights: str = "", pretrained: bool = True) -> None:
        super().__init__()
        if name == "vgg16":
            layer = {8: "relu4_3", 16: "relu5_3"}.get(stride)
            if layer is None:
                raise GanbenchError(f"VGG-16 meta-data: stride {stride} not offered; choose from: 8, 16")
            self.net = vgg.build(pretrained, weights or None, layer)
            self._pre = vgg.preprocess
        elif name in ("lite0", "lite1"):
            # static SAME paddings computed for the size fed (TF semantics at any size)
            net = efficientnet.build(name, pretrained, weights or None, image_size=size)
            self.net = _LiteTrunk(net, stride)
            self._pre = efficientnet.preprocess
        else:
            raise GanbenchError(f"unknown meta-data network {name!r}; choose from: {', '.join(NETS)}")
        self.name, self.size, self.stride = name, size, stride
        self.requires_grad_(False).eval()
        with torch.no_grad():
            self.dim = self.net(self._pre(torch.zeros(1, 3, size, size), None)).shape[-2:].numel()

    def train(self, mode: bool = True) -> MetaNet:
        return super().train(False)  # frozen: BN statistics never move

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        f = self.net(self._pre(images, self.size))
        return f.mean(dim=1).flatten(1)  # average over channels, then flatten the h x w map
