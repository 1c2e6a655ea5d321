"""``evaluate_generator``: score a generator ganbench did not train with the same metric protocols, rows and labels
as a ganbench run (``images_seen`` is null: ganbench does not know how long it trained)."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import pandas as pd
import torch
from torch import nn

from ..errors import GanbenchError
from .generator import Generator, GeneratorOptions, load_generator

# a ganbench run's metrics.csv columns, then what identifies the external generator
COLUMNS_EXTRA = ["generator", "generator_kind", "z_dim", "num_classes", "output_range", "generator_sha256",
                 "weights_sha256"]


def prepare(gen: str | nn.Module | Callable, dataset: str = "fashion-mnist", z_dim: int = 128, num_classes: int = 0,
            output_range: str = "-1,1", resolution: int | None = None, channels: int | None = None,
            clamp: bool = False, device: str = "auto", data_root: str | None = None):
    """(Generator, train-split ImageData, resolved device) for ``gen`` against ``dataset``."""
    from ..data import load_dataset
    from ..provenance import resolve_device

    dev = resolve_device(device)
    data = load_dataset(dataset, "train", resolution, channels, data_root)
    g = load_generator(gen, GeneratorOptions(z_dim, num_classes, output_range, clamp), data.channels,
                       data.resolution, dev)
    return g, data, dev


def rows_for(g: Generator, data, metrics: Iterable[str], seed: int, device: str, batch_size: int = 250,
             data_root: str | None = None) -> list[dict[str, Any]]:
    """One labelled row per metric value (the columns of a run's metrics.csv plus ``COLUMNS_EXTRA``)."""
    from ..metrics import PROTOCOLS, evaluate
    from ..provenance import device_name
    from ..results import RunLabels, record

    names = list(metrics)
    if not names:
        raise GanbenchError("no metric protocols given (e.g. --metrics fd_domain2k_train)")
    for n in names:
        PROTOCOLS.get(n)  # one-line error with "did you mean"
    if not isinstance(seed, int) or seed < 0:
        raise GanbenchError(f"seed must be a non-negative integer, got {seed!r}")
    with torch.random.fork_rng(devices=[]):  # the user's generator may draw from the global RNG
        torch.manual_seed(seed)
        out = evaluate(g.sample, data, names, seed=seed, device=device, batch_size=batch_size, root=data_root)
    labels = RunLabels(g.label, None, "external", None, None, seed)
    who = {"generator": g.spec, "generator_kind": g.kind, "z_dim": g.opts.z_dim, "num_classes": g.opts.num_classes,
           "output_range": g.opts.output_range, "generator_sha256": (g.sha256 or "")[:16] or None}
    return [{**record(r, labels, images_seen=None, wall_s=None, device=device_name(device)).row(), **who,
             "weights_sha256": r.get("weights_sha256")}  # of the feature extractor
            for r in out]


def evaluate_generator(gen: str | nn.Module | Callable, dataset: str = "fashion-mnist",
                       metrics: Iterable[str] = ("fd_domain10k_train",), seed: int = 0, z_dim: int = 128,
                       num_classes: int = 0, output_range: str = "-1,1", resolution: int | None = None,
                       channels: int | None = None, clamp: bool = False, device: str = "auto",
                       data_root: str | None = None, batch_size: int = 250,
                       copy_check: bool = False) -> pd.DataFrame:
    """Score ``gen`` (an ``nn.Module``, a function ``z -> images``, or a SPEC string: ``torch.export`` file
    ``FILE.pt2``, ``module:callable``, ONNX file, or a TorchScript file - deprecated upstream) on metric protocols
    against ``dataset``'s train split. z ~ N(0, I) of ``z_dim``; images ``[N, C, R, R]`` in ``output_range``
    (``-1,1``, ``0,1`` float or ``uint8``). Returns one row per value. ``copy_check``: also the copying check (copy
    rate and C_T in the first metric's feature space, ``copying_check.copy_protocols_for``), so that a generator that
    returns training images is caught (``ganbench eval --generator`` asks for it)."""
    from ..results import COLUMNS

    g, data, dev = prepare(gen, dataset, z_dim, num_classes, output_range, resolution, channels, clamp, device,
                           data_root)
    from ..metrics.evaluate import dataset_splits
    from .copying_check import copy_protocols_for

    metrics = list(metrics)
    extra = copy_protocols_for(metrics, dataset_splits(data)) if copy_check and metrics else []
    rows = rows_for(g, data, metrics + extra, seed, dev, batch_size, data_root)
    return pd.DataFrame(rows, columns=COLUMNS + COLUMNS_EXTRA)
