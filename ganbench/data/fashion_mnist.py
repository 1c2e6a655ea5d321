"""Fashion-MNIST (Xiao et al. 2017): 60k train / 10k test 28x28 grey images, 10 classes.

Read from the IDX .gz files of Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``),
``--data-root`` or ``$GANBENCH_DATA_ROOT``; downloaded from the official mirror into the ganbench cache when missing
and the network is up. At 32x32 the 28x28 images are zero-padded by 2 pixels (the LeNet convention; no
resampling: the background is black); other resolutions pad to 32 and then resize.
"""
from __future__ import annotations

import gzip
import os
import struct
import urllib.request
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import GanbenchError
from ..paths import cache_dir, offline
from .base import ImageData, fit, register_dataset

SYSTEM_ROOT = "/usr/share/datasets/fashion-mnist"
MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
COUNTS = {"train": 60000, "test": 10000}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (gzip or raw); raises GanbenchError naming the file when it is corrupt."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype != 0x08 or not 1 <= ndim <= 3:
            raise ValueError("bad IDX magic")
        dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
        body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        if body.size != int(np.prod(dims)):
            raise ValueError(f"expected {int(np.prod(dims))} bytes of data, found {body.size}")
        return body.reshape(dims)
    except (OSError, EOFError, ValueError, struct.error, gzip.BadGzipFile) as e:
        raise GanbenchError(f"corrupt Fashion-MNIST file {path}: {e}") from None


def _find(split: str, root: str | None) -> Path:
    names = FILES[split]
    candidates = [Path(root)] if root else [Path(p) for p in (os.environ.get("GANBENCH_DATA_ROOT"),) if p]
    if not root:
        candidates += [Path(SYSTEM_ROOT), cache_dir() / "fashion-mnist"]
    for c in candidates:
        if all((c / n).exists() for n in names):
            return c
    target = Path(root) if root else cache_dir() / "fashion-mnist"
    try:
        if offline():
            raise OSError("offline")
        target.mkdir(parents=True, exist_ok=True)
        for n in names:
            if not (target / n).exists():
                tmp = target / f".{n}.part"
                with urllib.request.urlopen(MIRROR + n, timeout=10) as r, open(tmp, "wb") as f:
                    f.write(r.read())
                os.replace(tmp, target / n)
        return target
    except OSError:
        where = root or SYSTEM_ROOT
        raise GanbenchError(f"Fashion-MNIST {split} files not found in {where} and download failed; install them "
                            f"with 'apt-get install dataset-fashion-mnist' or pass --data-root DIR") from None


@register_dataset("fashion-mnist", default_channels=1)
def fashion_mnist(split: str, resolution: int, channels: int, root: str | None) -> ImageData:
    folder = _find(split, root)
    img_file, lbl_file = (folder / n for n in FILES[split])
    images, labels = read_idx(img_file), read_idx(lbl_file)
    if images.shape != (COUNTS[split], 28, 28) or labels.shape != (COUNTS[split],) or labels.max() > 9:
        raise GanbenchError(f"corrupt Fashion-MNIST {split} files in {folder}: shapes {images.shape}, {labels.shape}")
    x = F.pad(torch.from_numpy(images.copy()).unsqueeze(1), (2, 2, 2, 2))  # 28 -> 32, zero background
    return ImageData("fashion-mnist", split, fit(x, resolution, channels), torch.from_numpy(labels.astype(np.int64)),
                     10, str(folder))
