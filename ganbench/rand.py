"""Seeded random draws on any device: every draw that takes a ``torch.Generator`` goes through here.

A generator fills tensors on its own device only (``Expected a 'cuda' device type for generator but found 'cpu'``).
These functions draw where the generator lives and then move the result to ``device``, so a CPU generator (sample
grids, the data order) can seed a CUDA model and a CUDA generator (evaluation) a CPU tensor. With the generator on
the target device, or with no generator (the global RNG of ``device``), they are ``torch``'s own call: a CPU run
draws exactly the values it drew before.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

Device = torch.device | str | None


def _devices(generator: torch.Generator | None, device: Device) -> tuple[torch.device, torch.device]:
    """(where to draw, where the result goes)."""
    dst = torch.device(device) if device is not None else torch.get_default_device()
    return (generator.device if generator is not None else dst), dst


def randn(size: Sequence[int], generator: torch.Generator | None = None, device: Device = None,
          dtype: torch.dtype | None = None) -> Tensor:
    """``torch.randn(size)`` from ``generator``, on ``device``."""
    src, dst = _devices(generator, device)
    return torch.randn(tuple(size), generator=generator, device=src, dtype=dtype).to(dst)


def rand(size: Sequence[int], generator: torch.Generator | None = None, device: Device = None,
         dtype: torch.dtype | None = None) -> Tensor:
    """``torch.rand(size)`` (uniform on [0, 1)) from ``generator``, on ``device``."""
    src, dst = _devices(generator, device)
    return torch.rand(tuple(size), generator=generator, device=src, dtype=dtype).to(dst)


def randint(low: int, high: int, size: Sequence[int], generator: torch.Generator | None = None,
            device: Device = None, dtype: torch.dtype | None = None) -> Tensor:
    """``torch.randint(low, high, size)`` from ``generator``, on ``device``."""
    src, dst = _devices(generator, device)
    kw = {"dtype": dtype} if dtype is not None else {}
    return torch.randint(low, high, tuple(size), generator=generator, device=src, **kw).to(dst)


def randperm(n: int, generator: torch.Generator | None = None, device: Device = None) -> Tensor:
    """``torch.randperm(n)`` from ``generator``, on ``device``."""
    src, dst = _devices(generator, device)
    return torch.randperm(n, generator=generator, device=src).to(dst)
