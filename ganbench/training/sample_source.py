"""No leakage at sampling: models with ``samples_from_data`` (LRM GAN's meta-data, P2GAN's posterior codes) condition
their samples on real images, and those must not be the images the metrics compare against. They are drawn from the
other split: ``test`` when the metric's real split is ``train``, ``train`` when it is ``test``; metrics without a real split
(IS) and sample grids use ``test`` where the dataset has one. The copying checks compare with the train split *and*
the held-out half of the test split, so their samples condition on the test split's other half (``CONTROL``) only.
A run whose protocols need several sampling splits is scored in one pass per split. Every metric row carries the
``sample_split`` it was made with (empty for other models).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from ..data import ImageData
from ..errors import GanbenchError
from ..metrics.evaluate import dataset_splits
from ..models.base import GAN

OTHER = {"train": "test", "test": "train"}
CONTROL = "test-control"  # the half of the test split that no copying check compares with (copying.heldout_halves)


def sample_split(real_split: str | None, splits: Iterable[str] = ("train", "test"), model: str = "model",
                 copying: bool = False) -> str:
    """The split a ``samples_from_data`` model draws its conditioning images from when the metric compares with
    ``real_split`` (and, for a copying check, with the held-out half of the test split too)."""
    splits = tuple(splits)
    if copying:
        if "test" not in splits:
            raise GanbenchError(f"{model} conditions its samples on real images, and a copying check needs a test "
                                f"split the model never sees (splits: {', '.join(splits)})")
        return CONTROL
    if real_split is None:  # no real images compared with: the held-out split where there is one
        return "test" if "test" in splits else "train"
    other = OTHER.get(real_split)
    if other is None or other not in splits:
        raise GanbenchError(f"{model} conditions its samples on real images, which must not come from the metric "
                            f"real split {real_split!r}; the dataset has no other split (splits: "
                            f"{', '.join(splits)})")
    return other


def _protocol(protocol: Any):
    from ..metrics import PROTOCOLS

    return PROTOCOLS.get(protocol) if isinstance(protocol, str) else protocol


def _sample_split(protocol: Any, splits: Iterable[str] = ("train", "test"), model: str = "model") -> str:
    from ..metrics.protocols import COPYING

    p = _protocol(protocol)
    return sample_split(p.split, splits, model, copying=p.kind in COPYING)


def protocol_splits(protocols: Iterable[Any]) -> dict[str, list[Any]]:
    """sampling split -> the protocols (names or MetricProtocol objects) scored with it, in the given order."""
    groups: dict[str, list[Any]] = {}
    for p in protocols:
        groups.setdefault(_sample_split(p), []).append(p)
    return groups


def check_protocols(model: str, data: ImageData, protocols: Iterable[Any]) -> None:
    """One-line error before training when a ``samples_from_data`` model has no split to sample from."""
    from ..models.base import MODELS

    if MODELS.get(model).samples_from_data:
        for p in protocols:
            _sample_split(p, dataset_splits(data), model)


class SampleSource:
    """Binds a ``samples_from_data`` model to the right split's images; a no-op for every other model."""

    def __init__(self, model: GAN, data: ImageData, root: str | None = None) -> None:
        self.model, self.data, self.root = model, data, root
        self.active = bool(type(model).samples_from_data)
        self.splits = dataset_splits(data)
        self._cache: dict[str, ImageData] = {data.split: data}
        self.model_split: str | None = None  # the split whose images the model holds now

    def split_data(self, split: str) -> ImageData:
        if split not in self._cache:
            from ..metrics.evaluate import real_split_data

            if split == CONTROL:
                import dataclasses

                from ..metrics.copying import heldout_halves

                test = self.split_data("test")
                _, control = heldout_halves(len(test))
                self._cache[split] = dataclasses.replace(
                    test, split=CONTROL, images=test.images[control],
                    labels=test.labels[control] if test.labels is not None else None)
            else:
                self._cache[split] = real_split_data(self.data, split, self.root)
        return self._cache[split]

    def bind(self, split: str) -> str | None:
        """Give the model ``split``'s images; returns the split bound (None for models that do not sample data)."""
        if not self.active:
            return None
        self.model.bind_conditioning(self.split_data(split).images)
        self.model_split = split
        return split

    def bind_default(self, protocols: Iterable[Any] = ()) -> str | None:
        """Bind the split for the first preset (the run's primary metric), else the held-out split: sample grids."""
        protocols = list(protocols)
        if not self.active:
            return None
        groups = protocol_splits(protocols) if protocols else {}
        return self.bind(next(iter(groups)) if groups else sample_split(None, self.splits))

    def describe(self, protocols: Iterable[Any]) -> dict[str, Any]:
        """For config.yaml: the split bound for sample grids and the one each metric protocol samples from."""
        if not self.active:
            return {"sample_split": None}
        by = {p if isinstance(p, str) else p.name: s for s, g in protocol_splits(protocols).items() for p in g}
        return {"sample_split": self.model_split, "sample_split_by_metric": by}

    def evaluate(self, sample_fn: Callable[[int, torch.Generator], torch.Tensor], protocols: Iterable[Any],
                 **kwargs: Any) -> list[dict[str, Any]]:
        """``metrics.evaluate`` with each row's ``sample_split``; ``samples_from_data`` models are bound per group
        (and re-bound to the default split afterwards)."""
        from ..metrics import evaluate

        protocols = list(protocols)
        if not self.active:
            return [{**r, "sample_split": None} for r in evaluate(sample_fn, self.data, protocols, **kwargs)]
        rows: list[dict[str, Any]] = []
        try:
            for split, group in protocol_splits(protocols).items():
                self.bind(split)
                rows += [{**r, "sample_split": split} for r in evaluate(sample_fn, self.data, group, **kwargs)]
        finally:
            self.bind_default(protocols)
        order = {p if isinstance(p, str) else p.name: i for i, p in enumerate(protocols)}
        return sorted(rows, key=lambda r: order.get(r["protocol"], len(order)))  # stable: the protocols' order
