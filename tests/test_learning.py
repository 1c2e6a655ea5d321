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
# Measured at the tuned tiny presets with fmnist-cnn v4, re-measured on 2026-12-02 on the 2-core Intel Xeon CI
# machine after channels_last became the default (0 to the budget + 0.5k, every 0.5k). A few-kimg trajectory
# depends on float rounding, so on the memory layout and the CPU's kernels: DCGAN in NCHW reproduces its old curve
# here exactly (59.60 / 55.56 / 45.76 / 39.03 / 40.10: 0.65x at 1.5k), in NHWC it starts slower, so its budget went
# from 1.5 to 2 kimg, where both layouts pass (0.66x / 0.67x).
KIMG: dict[str, float] = {
    "biggan": 1.0,         # 29.43 / 19.42 / 14.06 / 11.80 / 11.56: 0.48x at 1k
    "dcgan": 2.0,          # 59.60 / 57.35 / 56.32 / 55.82 / 39.40 / 28.96 / 17.28: 0.66x at 2k
    "lrm_gan": 1.5,        # 59.65 / 52.71 / 36.27 / 14.12 / 12.40 / 17.14: 0.24x at 1.5k
    "p2gan": 2.0,          # 59.68 / 54.30 / 44.37 / 48.39 / 39.79 / 27.87 / 21.31: 0.67x at 2k (D warm-up until 1k)
    "projected_gan": 4.0,  # 43.31 / 54.59 / 30.42 / 16.22 / 29.28 / 40.45 / 41.13 / 12.56 / 11.48 / 11.74: 0.27x at 4k
                           # (below 0.9x from 3.5k on; it leaves the bar once at 2.5-3k)
    "sagan": 1.0,          # 45.99 / 36.06 / 14.63 / 15.03 / 16.28: 0.32x at 1k
    "stylegan2": 1.0,      # 49.98 / 26.53 / 17.74 / 12.16 / 12.17: 0.35x at 1k
    "transgan": 2.5,       # 49.31 / 40.27 / 44.13 / 42.51 / 30.17 / 27.00 / 34.41: 0.61x at 2.5k (TransGAN tiny
                           # learns slowest and noisiest: on the AMD machine seed 1 was at 0.99x by 3k)
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
