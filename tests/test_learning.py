"""Every registered model learns (fast, in ``make test``): its tiny preset trains on Fashion-MNIST for a small,
measured budget and ``fd_domain`` (the validated domain-CNN FD; here on 500 generated samples vs all train images, a
test-only preset that evaluates 4x faster than fd_domain2k_train) ends below RATIO x its value for the untrained G.

Budgets are measured, not guessed (numbers in KIMG's comments; 1 torch thread, the machine under load). A model that
has no entry in KIMG cannot pass within a CI budget (it first rises, or learns too slowly): it is skipped with its
measured numbers, and tests/test_convergence.py (slow) covers it at a longer budget. At a7dd791 (capacity-matched
tiny presets, v2 fmnist-cnn weights) no model is measured to pass within <= 3 kimg, so every case skips with its
numbers: the per-model CI learning check is not in place yet (see TOO_SLOW)."""
from __future__ import annotations

import pytest
import torch

from ganbench.metrics.presets import PRESETS, Preset
from ganbench.models import MODELS
from ganbench.training import TrainSpec, train

PRESET = "fd_domain500_train"
RATIO = 0.9  # the final fd_domain must be below RATIO x the untrained G's
# fd_domain500_train at 0 -> 1 -> 2 kimg, seed 0, measured with the capacity-matched tiny presets and the
# corruption-robust fmnist-cnn weights (a7dd791)
KIMG: dict[str, float] = {}  # none measured to pass yet within <= 3 kimg (see TOO_SLOW)
TOO_SLOW: dict[str, str] = {  # measured (load average 6-12 on 2 cores, so wall times are pessimistic)
    "p2gan": "40.55 -> 44.88 at 1.02k (after its 1-kimg D warm-up), 37.42 at 2.02k: 0.92x (40.45 -> 15.35 at 2k "
             "before the capacity-matched preset); planted lr 1e-12: 40.55 -> 40.53 at 1k",
    "dcgan": "40.42 -> 39.42 (1k) -> 37.09 (2k); at 3k (fd_domain2k_train, 4 runs of seeds 0-1) 38.04, 39.99, "
             "37.52, 35.40 vs 40.4 at 0: 0.88-0.99x, not reliably below 0.9x within 3 kimg",
    "projected_gan": "init 15.05; had not reached 1 kimg after 8 min (EfficientNet projector, loaded machine)",
    "transgan": "init 24.06; had not reached 1 kimg after 8 min (loaded machine)",
    "sagan": "not yet measured with the capacity-matched preset and the v2 fmnist-cnn weights",
    "lrm_gan": "not yet measured with the capacity-matched preset and the v2 fmnist-cnn weights",
    "biggan": "not yet measured here; slow test: needs 16 kimg to fall below 0.8x (first rises: 19.2 -> 42.3 at 2k)",
    "stylegan2": "not yet measured here; slow test: swings 14-23 up to 12 kimg, needs 16 kimg",
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


def test_every_model_has_a_verdict():
    assert set(KIMG) | set(TOO_SLOW) == set(MODELS.names()) and not set(KIMG) & set(TOO_SLOW)


@pytest.mark.parametrize("model", MODELS.names())
def test_model_learns(model, tmp_path):
    if model in TOO_SLOW:
        pytest.skip(f"{model} does not reach {RATIO}x its untrained fd_domain within a CI budget: {TOO_SLOW[model]}")
    fd = fd_curve(model, KIMG[model], str(tmp_path / "run"))
    assert len(fd) == 2 and fd[1] < RATIO * fd[0], fd
