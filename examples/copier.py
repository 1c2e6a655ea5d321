"""A generator that copies: it returns random Fashion-MNIST training images (FD to the train split near 0). The copying
check of `ganbench eval --generator examples/copier.py:copier` flags it."""
import torch
from ganbench.data import load_dataset
from ganbench.images import to_float

_TRAIN = load_dataset("fashion-mnist", "train", 32, 1).images


def copier(z: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(z.abs().sum().item() * 1000) % (2**31))
    return to_float(_TRAIN[torch.randint(0, len(_TRAIN), (len(z),), generator=g)])
