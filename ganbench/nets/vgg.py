"""ImageNet VGG-16 (Simonyan & Zisserman 2015), torchvision architecture and weights file ``vgg16-397923af.pth``.

The weights cannot be installed offline from a package. They are looked up, in this order:
1. an explicit path (a model config field), 2. ``$GANBENCH_VGG16_WEIGHTS``, 3. the torch hub cache
(``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``, where ``torchvision.models.vgg16(weights=...)`` keeps it),
4. a download into that cache when online and ``$GANBENCH_OFFLINE`` is unset. Otherwise a one-line
``GanbenchError`` says which file is missing, where it was looked for, and how to get it.

Only the convolutional trunk up to ``relu5_3`` is kept (the classifier's 124 M parameters are never used), always
frozen and in eval mode. Input convention: RGB in [0, 1] normalised with the ImageNet mean/std (``preprocess``).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import GanbenchError
from ..paths import offline
from .resample import bilinear

FILENAME = "vgg16-397923af.pth"
URL = f"https://download.pytorch.org/models/{FILENAME}"
ENV = "GANBENCH_VGG16_WEIGHTS"
LAYERS = {"relu4_3": 23, "relu5_3": 30}  # name -> length of torchvision's vgg16().features prefix
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def hub_path() -> Path:
    """Where torchvision caches the file: ``torch.hub.get_dir()/checkpoints`` (follows ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / FILENAME


def _how_to() -> str:
    return f"download {URL} into {hub_path().parent}, or set {ENV}=/path/to/{FILENAME}"


def weights_path(weights: str | Path | None = None) -> Path:
    """Resolve the ImageNet weights file (explicit path, env var, hub cache, download); one-line error if absent."""
    explicit = weights or os.environ.get(ENV)
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            src = "given path" if weights else ENV
            raise GanbenchError(f"VGG-16 weights not found at {p} ({src}); {_how_to()}")
        return p
    p = hub_path()
    if p.is_file():
        return p
    if offline():
        raise GanbenchError(f"VGG-16 weights {FILENAME} not found in {p.parent} (GANBENCH_OFFLINE is set); {_how_to()}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL, str(p), hash_prefix=FILENAME.split("-")[1][:8], progress=False)
    except Exception as e:  # noqa: BLE001  (no network, proxy, disk, hash mismatch)
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise GanbenchError(f"VGG-16 weights {FILENAME} not in {p.parent} and download failed ({reason}); "
                            f"{_how_to()}") from None
    return p


def build(pretrained: bool = True, weights: str | Path | None = None, layer: str = "relu5_3",
          seed: int = 0) -> nn.Module:
    """Frozen VGG-16 trunk up to ``layer`` with ImageNet weights (``pretrained``) or a seeded random init."""
    from torchvision.models import vgg16

    if layer not in LAYERS:
        raise GanbenchError(f"unknown VGG-16 layer {layer!r}; choose from: {', '.join(LAYERS)}")
    path = weights_path(weights) if pretrained else None  # resolve first: fail before any slow work
    with torch.device("meta"):  # no time spent initialising the 124 M-parameter classifier that is dropped
        trunk = vgg16(weights=None).features
    trunk = trunk.to_empty(device="cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in trunk.modules():  # torchvision's VGG init (a random-feature control when not pretrained)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    if path is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
            trunk.load_state_dict(feats, strict=True)
        except Exception as e:  # noqa: BLE001  (truncated/tampered/wrong file)
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise GanbenchError(f"bad VGG-16 weights file {path}: {msg}") from None
    net = trunk[: LAYERS[layer]]
    net.eval().requires_grad_(False)
    return net


def preprocess(images: Tensor, size: int | None) -> Tensor:
    """Images in [-1, 1] (1 or 3 channels) -> VGG input at ``size`` (bilinear), ImageNet-normalised."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if size and images.shape[-1] != size:
        images = bilinear(images, size=(size, size), align_corners=False)
    mean = images.new_tensor(MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(STD).view(1, 3, 1, 1)
    return ((images + 1) / 2 - mean) / std
