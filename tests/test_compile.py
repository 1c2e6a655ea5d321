"""``--compile`` for real (inductor compiles on the CPU as on CUDA): a discriminator with spectral norm stays eager,
because a compiled one updates its power-iteration vector in place and its second call (the fakes) breaks the first
call's backward (the real images): every BigGAN, SAGAN and Projected GAN run with ``--compile`` crashed so."""
from __future__ import annotations

import pytest
import torch

from ganbench.models import MODELS
from ganbench.training.run_options import has_spectral_norm
from ganbench.training.throughput import make_loop

pytestmark = pytest.mark.usefixtures("one_thread")


def test_spectral_norm_is_found_where_the_models_use_it():
    found = {m for m in MODELS.names() if has_spectral_norm(make_loop(m, overrides={"batch_size": 2}).model.D)}
    assert {"biggan", "sagan", "projected_gan"} <= found
    assert "dcgan" not in found


def test_compiled_training_with_a_spectral_norm_discriminator():
    """A real ``torch.compile`` (about a minute on one thread): G compiled, D (spectral norm) eager, and three
    iterations train to finite losses (planted: D compiled too -> 'modified by an inplace operation')."""
    torch._dynamo.reset()
    loop = make_loop("sagan", overrides={"batch_size": 2, "compile": True}, seed=1)
    assert hasattr(loop.model.G, "_compiled_call_impl") and loop.model.G._compiled_call_impl is not None
    for _ in range(3):
        logs = loop.iteration()
    assert all(torch.isfinite(v).all() for v in logs.values())
