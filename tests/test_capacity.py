"""The ``tiny`` presets are capacity-matched: a ranking of tiny runs compares methods, not sizes.

Trainable parameters of G and of D (frozen feature/meta-data networks and random projections excluded) of every
registered model's tiny preset lie within a factor ``MAX_RATIO`` (max / min across models), at the training shape
(1 channel, 32x32: Fashion-MNIST) and at 3 channels.
"""
from __future__ import annotations

import pytest
import torch

from ganbench.models import MODELS, ImageSpec, create_model

MAX_RATIO = 1.5


def tiny_counts(channels: int) -> dict[str, dict[str, int]]:
    """model -> param_counts() of its tiny preset at ``channels`` x 32 x 32."""
    out = {}
    for name in MODELS:
        torch.manual_seed(0)
        m = create_model(name, "tiny", img=ImageSpec(channels, 32))
        counts = m.param_counts()
        # what the optimisers get is what counts as trainable
        assert sum(p.numel() for p in m.g_parameters()) == counts["params_g"], name
        assert sum(p.numel() for p in m.d_parameters()) == counts["params_d"], name
        out[name] = counts
    return out


@pytest.fixture(scope="module", params=[1, 3], ids=["1ch", "3ch"])
def counts(request) -> dict[str, dict[str, int]]:
    return tiny_counts(request.param)


def test_all_models_are_counted(counts):
    assert len(counts) == 8 and {"dcgan", "transgan", "projected_gan", "lrm_gan"} <= set(counts)


@pytest.mark.parametrize("key", ["params_g", "params_d"])
def test_trainable_counts_within_factor(counts, key):
    sizes = {name: c[key] for name, c in counts.items()}
    hi, lo = max(sizes, key=sizes.get), min(sizes, key=sizes.get)
    ratio = sizes[hi] / sizes[lo]
    assert ratio <= MAX_RATIO, f"{key}: {hi} {sizes[hi]:,} / {lo} {sizes[lo]:,} = {ratio:.2f} > {MAX_RATIO}"


def test_frozen_parts_are_reported_not_counted(counts):
    """Projected GAN's frozen EfficientNet + CCM/CSM and LRM GAN's frozen meta-data network sit outside the band."""
    assert counts["projected_gan"]["params_d_frozen"] > 10 * counts["projected_gan"]["params_d"]
    assert counts["lrm_gan"]["params_g_frozen"] > counts["lrm_gan"]["params_g"]
    others = set(counts) - {"projected_gan", "lrm_gan"}
    assert all(counts[n]["params_g_frozen"] == counts[n]["params_d_frozen"] == 0 for n in others)
