"""Every registered model, automatically: shapes, a training step, determinism, output range, parameter counts,
and (slow) a short Fashion-MNIST run whose fd_domain falls below its value at initialisation."""
from __future__ import annotations

import pytest
import torch

from ganbench.data import load_dataset
from ganbench.models import MODELS, ImageSpec, StepInfo, create_model

NAMES = MODELS.names()
IMG = ImageSpec(channels=1, resolution=32, num_classes=10)


def build(name: str, seed: int = 0, preset: str = "tiny", img: ImageSpec = IMG, **over):
    torch.manual_seed(seed)
    m = create_model(name, preset, img=img, overrides={"batch_size": 8, **over})
    if m.needs_reference:
        m.bind_reference(load_dataset("fashion-mnist", "test", channels=img.channels).images[:256])
    return m


def real_batch(n: int = 8) -> torch.Tensor:
    return load_dataset("fashion-mnist", "test").images[:n].float() / 127.5 - 1


@pytest.mark.parametrize("name", NAMES)
def test_sample_shape_and_range(name):
    m = build(name).eval()
    x = m.sample(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 1, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and torch.isfinite(x).all()
    assert x.std() > 0  # not a constant image


@pytest.mark.parametrize("name", NAMES)
def test_one_training_step(name):
    m = build(name).train()
    real = real_batch()
    opt_d = torch.optim.Adam(m.d_parameters(), 1e-3)
    opt_g = torch.optim.Adam(m.g_parameters(), 1e-3)
    g_before = [p.detach().clone() for p in m.g_parameters()]
    d_before = [p.detach().clone() for p in m.d_parameters()]
    info = StepInfo(step=0, d_step=0, images_seen=10**9)  # past any warm-up phase
    loss_d, _ = m.d_loss(real, None, info)
    opt_d.zero_grad(); loss_d.backward(); opt_d.step()  # noqa: E702
    loss_g, _ = m.g_loss(real, None, info)
    opt_g.zero_grad(); loss_g.backward(); opt_g.step()  # noqa: E702
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    assert any(not torch.equal(a, b) for a, b in zip(d_before, m.d_parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, m.g_parameters()))


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_with_seed(name):
    a = build(name, seed=1).eval().sample(3, torch.Generator().manual_seed(5))
    b = build(name, seed=1).eval().sample(3, torch.Generator().manual_seed(5))
    c = build(name, seed=1).eval().sample(3, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_three_channels_and_conditional(name):
    m = build(name, img=ImageSpec(3, 32, 10)).eval()
    assert m.sample(2, torch.Generator().manual_seed(0)).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("name", NAMES)
def test_presets_and_docs(name):
    cls = MODELS.get(name)
    assert {"paper", "tiny"} <= set(cls.presets) and "default" in cls.variants
    assert cls.__doc__ and len(cls.__doc__) > 200, "docstring names paper, code and deviations"
    assert cls.paper.url.startswith("http")


@pytest.mark.parametrize("name", [n for n in NAMES if MODELS.get(n).paper.params_g is not None])
def test_paper_preset_parameter_counts_match_published(name):
    cls = MODELS.get(name)
    try:  # counting needs no memory: build on the meta device where the model allows it
        with torch.device("meta"):
            m = cls(cls.presets["paper"], ImageSpec(3, 32, 0))
    except Exception:  # noqa: BLE001  (models that load pretrained weights at construction)
        m = cls(cls.presets["paper"], ImageSpec(3, 32, 0))
    counts = m.param_counts()
    assert abs(counts["params_g"] - cls.paper.params_g) <= 0.02 * cls.paper.params_g, counts
    if cls.paper.params_d is not None:
        assert abs(counts["params_d"] - cls.paper.params_d) <= 0.02 * cls.paper.params_d, counts
