"""Every seeded random draw asks for its values on the device of the generator that makes them.

A generator fills tensors on its own device only: on CUDA, ``torch.randn(..., generator=cpu_gen, device=x.device)``
fails (``Expected a 'cuda' device type for generator but found 'cpu'``). A CPU-only machine cannot see that bug
directly, since every device is the CPU. The harness below makes it visible: every ``torch.Generator`` created during
a test claims to live on another device (``meta``) while it really draws on the CPU, and torch's random functions are
wrapped to fail unless a draw with a generator is requested on ``generator.device``. Code that takes the device from a
tensor, from the model, or from the default device instead fails here as it would on a GPU.

Covered for every model: a training step through ``train``, the evaluation with its metrics (generated and reference
side), the sample grid, the pre-flight probe, ``model.sample`` and ``efficiency``.
"""
from __future__ import annotations

import contextlib
import functools

import pytest
import torch

from ganbench.efficiency.measure import efficiency
from ganbench.metrics.protocols import PROTOCOLS, MetricProtocol
from ganbench.models import MODELS
from ganbench.training import TrainSpec, train
from ganbench.training.checkpoint import restore

ELSEWHERE = torch.device("meta")  # where every generator says it lives; no tensor in these tests is there
FD, KID = "fd_domain_devcheck_train", "kid_domain_devcheck_train"
FACTORIES = ("randn", "rand", "randint", "randperm")  # device from ``device=`` (else the default device)
FROM_INPUT = ("normal", "bernoulli", "multinomial", "poisson", "randn_like", "rand_like", "randint_like")
IN_PLACE = ("normal_", "uniform_", "random_", "bernoulli_", "exponential_", "geometric_", "log_normal_", "cauchy_",
            "bernoulli", "multinomial")


class DeviceMismatch(AssertionError):
    """A draw asked a generator for values on a device it does not live on."""


class _Elsewhere(torch.Generator):
    """A real CPU generator that reports ``ELSEWHERE`` as its device."""

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return ELSEWHERE


def _check(name: str, gen: torch.Generator, requested: torch.device, errors: list[str]) -> None:
    if requested != gen.device:
        errors.append(f"{name}: generator on {gen.device}, values asked for on {requested}")
        raise DeviceMismatch(errors[-1])


def _requested(kwargs: dict, args: tuple) -> torch.device:
    if kwargs.get("device") is not None:
        return torch.device(kwargs["device"])
    t = next((a for a in args if isinstance(a, torch.Tensor)), None)
    return t.device if t is not None else torch.get_default_device()


@pytest.fixture
def strict_rng(monkeypatch) -> list[str]:
    """Generators that live 'elsewhere'; torch's random draws fail unless asked for on the generator's device."""
    errors: list[str] = []
    monkeypatch.setattr(torch, "Generator", _Elsewhere)

    def wrap_function(name: str):
        real = getattr(torch, name)

        @functools.wraps(real)
        def draw(*args, **kwargs):
            gen = kwargs.get("generator")
            if gen is not None:
                _check(f"torch.{name}", gen, _requested(kwargs, args), errors)
                if isinstance(gen, _Elsewhere) and "device" in kwargs:
                    kwargs["device"] = "cpu"  # where it really draws
            return real(*args, **kwargs)
        monkeypatch.setattr(torch, name, draw)

    def wrap_method(name: str):
        real = getattr(torch.Tensor, name)

        @functools.wraps(real)
        def draw(self, *args, **kwargs):
            gen = kwargs.get("generator")
            if gen is not None:
                _check(f"Tensor.{name}", gen, self.device, errors)
            return real(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, draw)

    for name in FACTORIES + FROM_INPUT:
        wrap_function(name)
    for name in IN_PLACE:
        wrap_method(name)
    yield errors
    assert not errors, errors  # also when the code under test swallowed the exception


@pytest.fixture(scope="module", autouse=True)
def _presets():
    """Small FD and KID presets (KID draws its reference subset with a seeded generator)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(PROTOCOLS.temporarily(FD, MetricProtocol(FD, "fd", "fmnist-cnn", 16, "train", None, "test only")))
        stack.enter_context(PROTOCOLS.temporarily(KID, MetricProtocol(KID, "kid", "fmnist-cnn", 16, "train", 16, "test only")))
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(n)


def test_the_harness_catches_a_draw_on_the_tensors_device(strict_rng):
    """The bug of issue 23, on a CPU: a generator asked for values on the device of the tensor they go with."""
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.zeros(2)
    with pytest.raises(DeviceMismatch):
        torch.randn(2, generator=g, device=x.device)
    with pytest.raises(DeviceMismatch):
        torch.randint(0, 5, (3,), generator=g)  # the default device
    with pytest.raises(DeviceMismatch):
        x.normal_(generator=g)
    strict_rng.clear()
    ok = torch.randn(2, generator=g, device=g.device)
    assert ok.device.type == "cpu" and torch.equal(ok, torch.randn(2, generator=torch.Generator().manual_seed(0),
                                                                  device=ELSEWHERE))


@pytest.mark.parametrize("model", sorted(MODELS.names()))
def test_every_seeded_draw_is_made_on_its_generators_device(model, strict_rng, tmp_path):
    spec = TrainSpec(model=model, preset="tiny", dataset="synthetic", kimg=0.001, eval_every_kimg=0,
                     metrics=(FD, KID), seed=3, overrides={"batch_size": 8}, device="cpu", out_dir=str(tmp_path))
    r = train(spec, progress=False)  # pre-flight probe, evaluation + grid at 0 and at the end, one iteration
    assert r.status == "complete" and r.images_seen > 0
    assert {row["protocol"] for row in r.rows} == {FD, KID}
    assert len(list((tmp_path / "samples").glob("*.png"))) == 2

    m, G, *_ = restore(tmp_path)
    x = m.sample(4, torch.Generator().manual_seed(0), G=G)
    assert x.shape[0] == 4 and x.device.type == "cpu"
    assert efficiency(m, n_images=2, device="cpu", G=G)["seconds"] >= 0
