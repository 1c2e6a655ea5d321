"""Every registered model learns (fast, in ``make test``): its tiny preset (capacity-matched, at the learning rates
``ganbench tune`` picked) trains on Fashion-MNIST for a small, measured budget, and ``fd_domain`` (the validated
domain-CNN FD, fmnist-cnn v4; here on 500 generated samples vs all train images, a test-only preset that evaluates
4x faster than fd_domain2k_train) ends below RATIO x its value for the untrained G.

Budgets are measured, not guessed: KIMG's comments give fd_domain500_train at 0 / 0.5 / 1 / 1.5 / 2 kimg (seed 0,
1 torch thread, two such runs side by side on the 2-core machine), and the budget is the first evaluation at or
after which the curve stays below RATIO with a margin. A planted non-learning model (learning rates 1e-12) stays at
its initial value (``test_planted_frozen_model_fails``), so the check can fail."""
from __future__ import annotations

import pytest
import torch

from ganbench.metrics.presets import PRESETS, Preset
from ganbench.models import MODELS
from ganbench.training import TrainSpec, train

PRESET = "fd_domain500_train"
RATIO = 0.9  # the final fd_domain must be below RATIO x the untrained G's
# Measured at the tuned tiny presets with fmnist-cnn v4 (2026-12-02). Projected GAN and TransGAN re-measured on
# the 2-core AMD EPYC CI machine after the BatchNorm folding and banded attention (2026-12-02, 0 to 4k / 3k every
# 0.5k): a 1.5-kimg trajectory depends on float rounding, and so on the CPU's kernels. The code before those changes
# gives Projected GAN 43.31 / 56.97 / 51.83 / 40.11 / 37.19 to 2k on this machine against 15.87 at 1.5k on Intel.
KIMG: dict[str, float] = {
    "biggan": 1.0,         # 29.43 / 18.91 / 13.99 / 11.88 / 12.77: 0.48x at 1k
    "dcgan": 1.5,          # 59.60 / 55.56 / 45.76 / 39.03 / 40.10: 0.65x at 1.5k
    "lrm_gan": 1.5,        # 59.65 / 54.44 / 44.28 / 23.60 / 18.23: 0.40x at 1.5k
    "p2gan": 2.0,          # 59.68 / 54.30 / 44.42 / 46.42 / 36.49: 0.61x at 2k (D warm-up until 1k)
    "projected_gan": 4.0,  # 43.31 / 55.62 / 52.51 / 46.91 / 42.23 / 39.37 / 38.08 / 35.55 / 26.80: 0.62x at 4k
                           # (to 4k; on the earlier Intel CI machine 15.87 at 1.5k: see below)
    "sagan": 1.0,          # 45.99 / 36.31 / 14.58 / 12.58 / 13.55: 0.32x at 1k
    "stylegan2": 1.0,      # 49.98 / 26.78 / 13.94 / 11.02 / 10.86: 0.28x at 1k
    "transgan": 2.5,       # 49.31 / 40.21 / 45.59 / 44.77 / 42.62 / 36.47 / 36.02: 0.74x at 2.5k (to 3k; seed 1
                           # 0.58x at 2.5k, 0.99x at 3k: TransGAN tiny learns slowest and noisiest)
}


@pytest.fixture(scope="module", autouse=True)
def small_preset():
    # test-only: must not leak into the registry other modules check (test_presets_are_consistent)
    with PRESETS.temporarily(PRESET, Preset(PRESET, "fd", "fmnist-cnn", 500, "train", None,
                                            "test only: FD on 500 samples")):
        yield


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def fd_curve(model: str, kimg: float, out: str, **overrides) -> list[float]:
    r = train(TrainSpec(model=model, kimg=kimg, eval_every_kimg=0, metrics=(PRESET,), device="cpu", out_dir=out,
                        overrides=tuple(overrides.items())), progress=False)
    assert r.status == "complete", r.reason
    return [row["value"] for row in r.rows if row["preset_name"] == PRESET]


def test_every_model_has_a_budget():
    assert set(KIMG) == set(MODELS.names())


@pytest.mark.parametrize("model", MODELS.names())
def test_model_learns(model, tmp_path):
    fd = fd_curve(model, KIMG[model], str(tmp_path / "run"))
    assert len(fd) == 2 and fd[1] < RATIO * fd[0], fd


def test_planted_frozen_model_fails(tmp_path):
    """The same check on a model that cannot learn (learning rates 1e-12): the FD stays where it started."""
    fd = fd_curve("stylegan2", 0.5, str(tmp_path / "run"), lr_g=1e-12, lr_d=1e-12)
    assert len(fd) == 2 and not fd[1] < RATIO * fd[0], fd
