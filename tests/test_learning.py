"""Every registered model learns (fast, in ``make test``): its tiny preset (capacity-matched, at the learning rates
``ganbench tune`` picked) trains on Fashion-MNIST for a small, measured budget, and ``fd_domain`` (the validated
domain-CNN FD, fmnist-cnn v4; here on 500 generated samples vs all train images, a test-only preset that evaluates
4x faster than fd_domain2k_train) ends below RATIO x its value for the untrained G.

Budgets are measured, not guessed: KIMG's comments give each model's measured curve (its ratio to the untrained G
by images seen), and the budget is the first evaluation at which the curve is below RATIO with a margin. A planted non-learning model (learning rates 1e-12) stays at
its initial value (``test_planted_frozen_model_fails``), so the check can fail."""
from __future__ import annotations

import pytest
import torch

from ganbench.metrics.protocols import PROTOCOLS, MetricProtocol
from ganbench.models import MODELS
from ganbench.training import TrainSpec, train

PRESET = "fd_domain500_train"
RATIO = 0.9  # the final fd_domain must be below RATIO x the untrained G's
# Re-chosen on 2026-12-05 when the tiny presets switched to the standard tuning (10 kimg, 2 seeds): from the reference
# run's 1-kimg evaluations (fd_domain2k_train, 2-core AMD EPYC, seeds 0-4; the test trains seed 0 and scores 500
# samples), each budget is the first kimg at which seed 0 is well below RATIO and most seeds are. The ratios to the
# untrained G are given as seed 0 [range over seeds 0-4]. A few-kimg trajectory depends on float rounding, so on the
# CPU's kernels: another CPU draws another trajectory, as another seed would.
KIMG: dict[str, float] = {
    "biggan": 2.0,         # 1k 0.93 [0.47-1.08], 2k 0.45 [0.35-0.51] (at 1k it failed the CI: 26.97 vs 29.43)
    "dcgan": 4.0,          # 2k 0.73 [0.40-0.77], 3k 0.61 [0.24-0.72], 4k 0.44 [0.20-0.50]
    "lrm_gan": 2.0,        # 1k 0.91 [0.89-0.93], 2k 0.74 [0.55-0.74], 3k 0.30 [0.30-0.41] (1.5k passed once; 2k
                           # leaves a margin on every seed)
    "p2gan": 2.0,          # rates unchanged by the switch: 59.68 / 54.30 / 44.37 / 48.39 / 39.79 / 27.87 / 21.31
                           # (fd_domain500, every 0.5k): 0.67x at 2k (D warm-up until 1k)
    "projected_gan": 4.0,  # 2k 1.03 [0.27-1.03], 3k 0.66 [0.24-1.03], 4k 0.28 [0.24-0.34] (seeds cross 1 and back
                           # before 4k: the projected D's warm-up)
    "sagan": 2.0,          # 1k 0.48 [0.35-1.16], 2k 0.29 [0.22-0.45]
    "stylegan2": 3.0,      # 1k 0.89 [0.82-0.92], 2k 0.84 [0.53-0.84], 3k 0.50 [0.32-0.50]
    "transgan": 3.0,       # 2k 0.79 [0.79-1.07], 3k 0.48 [0.48-1.26]: seed 1 stays above 1 until 6k and seed 4 at
                           # 0.8 throughout (TransGAN tiny at x30 learns slowest and noisiest)
}


@pytest.fixture(scope="module", autouse=True)
def small_preset():
    # test-only: must not leak into the registry other modules check (test_presets_are_consistent)
    with PROTOCOLS.temporarily(PRESET, MetricProtocol(PRESET, "fd", "fmnist-cnn", 500, "train", None,
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
    return [row["value"] for row in r.rows if row["protocol"] == PRESET]


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
