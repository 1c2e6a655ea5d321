"""Dataset registry. Every dataset loads once into memory as uint8 NCHW tensors at the run's resolution."""
from .base import DATASETS, ImageData, load_dataset, register_dataset

from . import cifar10, fashion_mnist, folder, synthetic  # noqa: F401,E402  (register themselves)

__all__ = ["DATASETS", "ImageData", "load_dataset", "register_dataset"]
