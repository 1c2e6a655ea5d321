"""Checks run before any training: the generator must produce the dataset's image shape (resolution vs architecture)."""
from __future__ import annotations

import copy

import torch

from ..errors import GanbenchError
from ..images import ImageSpec
from ..models.base import GAN


def check_output_shape(model: GAN, img: ImageSpec, conditioning: torch.Tensor | None = None) -> None:
    """Sample two images from a copy of ``model`` (global RNG and the model untouched) and compare their shape to
    ``img``; an architecture that cannot make this resolution fails here, not at the first evaluation."""
    with torch.random.fork_rng(devices=[]):  # whatever the probe draws, training's RNG stream is unchanged
        _probe(model, img, conditioning)


def _probe(model: GAN, img: ImageSpec, conditioning: torch.Tensor | None) -> None:
    probe = copy.deepcopy(model).eval()
    if probe.samples_from_data and conditioning is not None:
        probe.bind_conditioning(conditioning[:4])
    want = [2, img.channels, img.resolution, img.resolution]
    try:
        x = probe.sample(2, generator=torch.Generator(probe.device.type).manual_seed(0))
    except (RuntimeError, ValueError) as e:
        raise GanbenchError(f"{type(model).__name__} cannot generate {img.resolution}x{img.resolution} images "
                            f"(resolution {img.resolution} does not fit the architecture): {str(e).splitlines()[0]}"
                            ) from None
    if list(x.shape) != want:
        raise GanbenchError(f"{type(model).__name__} generates {list(x.shape)[1:]} images but the data is "
                            f"{want[1:]}: resolution {img.resolution} does not fit the architecture")
