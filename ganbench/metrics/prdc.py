"""Precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative
Models"; reference: kynkaat/improved-precision-and-recall-metric, torch-fidelity ``metric_prc``) and density and
coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models"; reference:
clovaai/generative-evaluation-prdc), from k-nearest-neighbour balls with k = 3, in float64.

precision: share of generated samples inside some real sample's k-NN ball (radius = distance to its k-th nearest
real neighbour, itself excluded); recall: the same with the roles swapped. density: mean count of real balls holding
a generated sample, / k; coverage: share of real samples whose ball holds a generated sample. Precision and recall
use <= (torch-fidelity, Kynkaanniemi), density and coverage < (Naeem). Distances are computed in row chunks, so
memory stays O(chunk x N).
"""
from __future__ import annotations

import numpy as np
import torch


def _kth_radius(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row."""
    return torch.cat([torch.cdist(c, x).kthvalue(k + 1, dim=1).values for c in x.split(chunk)])


def prdc(f_gen, f_ref, k: int = 3, chunk: int = 1024) -> dict[str, float]:
    """precision, recall, density, coverage of generated features vs real features ([N, D] each)."""
    fake = torch.as_tensor(np.asarray(f_gen), dtype=torch.float64)
    real = torch.as_tensor(np.asarray(f_ref), dtype=torch.float64)
    if fake.dim() != 2 or real.dim() != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(f"feature shapes do not match: {tuple(fake.shape)} vs {tuple(real.shape)}")
    if min(len(fake), len(real)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples on each side")
    r_real = _kth_radius(real, k, chunk)
    r_fake = _kth_radius(fake, k, chunk)
    in_real = in_count = 0.0
    for c in fake.split(chunk):
        d = torch.cdist(c, real)  # [chunk, n_real]
        in_real += (d <= r_real).any(dim=1).sum().item()
        in_count += (d < r_real).sum().item()
    in_fake = covered = 0.0
    for c, r in zip(real.split(chunk), r_real.split(chunk)):
        d = torch.cdist(c, fake)  # [chunk, n_fake]
        in_fake += (d <= r_fake).any(dim=1).sum().item()
        covered += (d.min(dim=1).values < r).sum().item()
    return {"precision": in_real / len(fake), "recall": in_fake / len(real),
            "density": in_count / (k * len(fake)), "coverage": covered / len(real)}
