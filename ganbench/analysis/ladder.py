"""Metric validation: the disturbance ladder of Heusel et al. 2017 (the FID paper, Fig. 1 and appendix A1).

A distance between image sets is used by ganbench only after it orders disturbed copies of real data by the
strength of the disturbance. The ladder takes ``n`` held-out images of the reference dataset (the test split when
the reference is train), disturbs them at increasing strength, and measures the Frechet distance of each set to the
reference statistics (the same FD, extractor, layer and reference as the metric protocols use).

Families (level 0 is the clean held-out set, so every family starts at the sampling floor):
  noise     mix with Gaussian noise: (1 - a) x + a n, n ~ N(0, 1) in [-1, 1] pixel units, a = 0.25, 0.5, 0.75
  blur      Gaussian blur, sigma = 1, 2, 4 pixels
  rectangle one black rectangle per image, side 1/4, 1/2, 3/4 of the image, random position
  swirl     swirl about the centre (skimage.transform.swirl's formula, radius = image size), strength 1, 2, 4
  salt      salt-and-pepper, 5%, 15%, 30% of the pixels
  modes     mode dropping: the images of only k = 5, 3, 1 of the 10 classes (same count)
Degenerate sets: uniform, binary and Gaussian noise, one constant grey image, one real image repeated, and (from
``ganbench validate-metric``) the samples of every registered model's untrained generator at the comparison preset
("untrained:<model>"): what a benchmark must never rank above a generator that has learned anything.

Criteria (all must hold for PASS): the distance strictly increases within every family (level 0 included); every
degenerate set scores at least 3x the worst mild disturbance (the first level of each family).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from ..errors import GanbenchError
from ..metrics.disturbances import degenerate, disturb

FAMILIES: dict[str, tuple[float, ...]] = {
    "noise": (0.25, 0.5, 0.75),
    "blur": (1.0, 2.0, 4.0),
    "rectangle": (0.25, 0.5, 0.75),
    "swirl": (1.0, 2.0, 4.0),
    "salt": (0.05, 0.15, 0.30),
    "modes": (5, 3, 1),
}
DEGENERATE = ("uniform", "binary", "gaussian", "constant", "repeated")
DEGENERATE_FACTOR = 3.0
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "metrics" / "weights"  # verdicts live beside the weights


@dataclass
class Ladder:
    """The measured distances and the verdict."""

    extractor: str
    metric: str
    n: int
    reference: str
    held_out: str
    seed: int
    families: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # family -> [(level, distance)]
    degenerate: dict[str, float] = field(default_factory=dict)

    @property
    def worst_mild(self) -> float:
        return max(points[1][1] for points in self.families.values())

    def family_passed(self, family: str) -> bool:
        d = [v for _, v in self.families[family]]
        return all(b > a for a, b in zip(d, d[1:]))

    def degenerate_passed(self, kind: str) -> bool:
        return self.degenerate[kind] >= DEGENERATE_FACTOR * self.worst_mild

    @property
    def passed(self) -> bool:
        return all(map(self.family_passed, self.families)) and all(map(self.degenerate_passed, self.degenerate))

    def to_json(self) -> dict:
        return {"extractor": self.extractor, "metric": self.metric, "n": self.n, "reference": self.reference,
                "held_out": self.held_out, "seed": self.seed, "passed": self.passed,
                "criteria": f"strictly increasing per family (level 0 = clean held-out set); every degenerate set "
                            f">= {DEGENERATE_FACTOR:g}x the worst mild disturbance",
                "worst_mild": self.worst_mild,
                "families": {f: {"passed": self.family_passed(f), "levels": [lv for lv, _ in pts],
                                 "distance": [d for _, d in pts]} for f, pts in self.families.items()},
                "degenerate": {k: {"passed": self.degenerate_passed(k), "distance": v}
                               for k, v in self.degenerate.items()},
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                "command": f"ganbench validate-metric {self.extractor} --n {self.n} --seed {self.seed}"}

    def rows(self) -> list[dict]:
        """Tidy rows: family, level, distance, pass."""
        out = [{"family": f, "level": lv, "distance": d, "family_passed": self.family_passed(f)}
               for f, pts in self.families.items() for lv, d in pts]
        out += [{"family": "degenerate:" + k, "level": float("nan"), "distance": v,
                 "family_passed": self.degenerate_passed(k)} for k, v in self.degenerate.items()]
        return out


def run_ladder(distance: Callable[[Tensor], float], images: Tensor, labels: Tensor | None, *, extractor: str,
               metric: str, reference: str, held_out: str, seed: int = 0,
               families: dict[str, tuple[float, ...]] = FAMILIES, progress: Callable[[str], None] | None = None,
               extra_degenerate: dict[str, Tensor] | None = None) -> Ladder:
    """``distance(uint8 images) -> float`` against the reference; ``images`` are the held-out set (n = len);
    ``extra_degenerate``: more named degenerate sets (uint8, judged like the built-in ones)."""
    lad = Ladder(extractor, metric, len(images), reference, held_out, seed)
    for fam, levels in families.items():
        if fam == "modes" and labels is None:
            continue
        pts = [(0.0, distance(images))] if not lad.families else [(0.0, next(iter(lad.families.values()))[0][1])]
        for lv in levels:
            g = torch.Generator().manual_seed(seed)
            pts.append((float(lv), distance(disturb(images, labels, fam, lv, g))))
            if progress:
                progress(f"{fam} {lv:g}: {pts[-1][1]:.3f}")
        lad.families[fam] = pts
    for kind in DEGENERATE:
        g = torch.Generator().manual_seed(seed)
        lad.degenerate[kind] = distance(degenerate(images, kind, g))
        if progress:
            progress(f"{kind}: {lad.degenerate[kind]:.3f}")
    for kind, x in (extra_degenerate or {}).items():
        lad.degenerate[kind] = distance(x)
        if progress:
            progress(f"{kind}: {lad.degenerate[kind]:.3f}")
    return lad


def validation_path(extractor: str) -> Path:
    return WEIGHTS_DIR / f"{extractor}.validation.json"


def load_validation(extractor: str) -> dict | None:
    """The committed ladder result of an extractor (``ganbench validate-metric --record``), None if it was never
    validated; an unreadable file reads as {"unreadable": reason}."""
    import json

    p = validation_path(extractor)
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        return {"unreadable": f"{p.name}: {str(e).splitlines()[0]}"}
    return data if isinstance(data, dict) else {"unreadable": f"{p.name}: not a JSON object"}


def untrained_samples(n: int, held, seed: int = 0, preset: str = "tiny") -> "dict[str, object]":
    """uint8 samples of every registered model's untrained generator (``preset``, seed ``seed``, as a run's
    evaluation at 0 images draws them); models that sample with real images get the held-out images."""
    import torch

    from ..images import to_uint8
    from ..models import MODELS, create_model

    out = {}
    for name in MODELS.names():
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = create_model(name, preset, img=held.spec).eval()
            if model.samples_from_data:
                model.bind_conditioning(held.images)
            g = torch.Generator().manual_seed(seed)
            out[f"untrained:{name}"] = torch.cat([to_uint8(model.sample(min(500, n - i), g))
                                                  for i in range(0, n, 500)])
    return out


def ladder_for(extractor: str, dataset: str = "fashion-mnist", n: int = 2000, seed: int = 0,
               data_root: str | None = None, device: str = "cpu", progress=None, generators: bool = True):
    """Run the ladder: ``n`` test-split images (disturbed) against the train split's cached statistics."""
    import torch

    from ..data import load_dataset
    from ..metrics.features import FEATURES, get_extractor
    from ..metrics.frechet import feature_stats, frechet_distance
    from ..metrics.real_stats import extract_all, real_stats

    FEATURES.get(extractor)  # unknown name: one-line error with close matches
    ext = get_extractor(extractor, device)
    ref_data = load_dataset(dataset, "train", 32, 1, data_root)
    held = load_dataset(dataset, "test", 32, 1, data_root)
    if n < 100 or n > len(held):
        raise GanbenchError(f"--n {n}: need 100 <= n <= {len(held)} (the held-out split's size)")
    ref = real_stats(ref_data, ext)
    idx = torch.randperm(len(held), generator=torch.Generator().manual_seed(seed))[:n]
    images, labels = held.images[idx], (held.labels[idx] if held.labels is not None else None)

    def distance(x: torch.Tensor) -> float:
        mu, sigma = feature_stats(extract_all(ext, x, layers=(ext.fd_layer,))[ext.fd_layer])
        return frechet_distance(mu, sigma, ref.mu, ref.sigma)

    metric = ext.metric_names.get("fd", "fd")
    return run_ladder(distance, images, labels, extractor=extractor, metric=metric, seed=seed,
                      reference=f"{dataset} train ({ref.n}), 32px 1ch",
                      held_out=f"{dataset} test ({n} of {len(held)}, randperm seed {seed})", progress=progress,
                      extra_degenerate=untrained_samples(n, held, seed) if generators else None)
