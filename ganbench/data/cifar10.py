"""CIFAR-10 (Krizhevsky 2009) in torchvision's format (``cifar-10-batches-py``) under ``--data-root``;
downloaded there when missing and the network is up."""
from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import GanbenchError
from ..paths import cache_dir, offline
from .base import ImageData, fit, register_dataset


@register_dataset("cifar10")
def cifar10(split: str, resolution: int, channels: int, root: str | None) -> ImageData:
    from torchvision.datasets import CIFAR10

    root = root or os.environ.get("GANBENCH_DATA_ROOT") or str(cache_dir() / "cifar10")
    try:
        ds = CIFAR10(root, train=split == "train", download=False)
    except RuntimeError:
        if offline():
            ds = None
        else:
            try:
                ds = CIFAR10(root, train=split == "train", download=True)
            except Exception:  # noqa: BLE001  (network errors come in many types)
                ds = None
        if ds is None:
            raise GanbenchError(f"CIFAR-10 not found under {root} (expected cifar-10-batches-py/) and download "
                                f"failed; download it there or pass --data-root DIR") from None
    except Exception as e:  # noqa: BLE001  (corrupt pickles)
        raise GanbenchError(f"corrupt CIFAR-10 files under {root}: {e}") from None
    x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2)
    return ImageData("cifar10", split, fit(x, resolution, channels), torch.tensor(ds.targets, dtype=torch.int64),
                     10, root)
