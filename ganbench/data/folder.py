"""Any folder of images (FFHQ, CUB, AFHQ, LSUN exports, ...), searched recursively, centre-cropped to square and
resized (antialiased) to the run's resolution. Sub-folder names become class labels when there are several."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import GanbenchError
from .base import ImageData, register_dataset

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


def _read(path: Path, resolution: int, channels: int) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert("RGB" if channels == 3 else "L")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            im = im.resize((resolution, resolution), Image.Resampling.BICUBIC, reducing_gap=None)
            a = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise GanbenchError(f"corrupt image {path}: {e}") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


@register_dataset("folder", splits=("train", "all"))
def folder(split: str, resolution: int, channels: int, root: str | None) -> ImageData:
    if not root:
        raise GanbenchError("dataset 'folder' needs --data-root DIR (a folder of images)")
    base = Path(root)
    if not base.is_dir():
        raise GanbenchError(f"image folder {base} does not exist")
    files = sorted(p for p in base.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise GanbenchError(f"no images ({', '.join(sorted(EXTENSIONS))}) found under {base}")
    classes = sorted({p.parent.relative_to(base).as_posix() for p in files})
    images = torch.from_numpy(np.stack([_read(p, resolution, channels) for p in files]))
    labels = None
    if len(classes) > 1:
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[p.parent.relative_to(base).as_posix()] for p in files])
    return ImageData(f"folder:{base.name}", split, images, labels, len(classes) if labels is not None else 0,
                     str(base))
