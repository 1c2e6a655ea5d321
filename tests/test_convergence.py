"""Slow: every model (and every ablation variant of the models that have them) trains its tiny preset on
Fashion-MNIST for a short budget, and fd_domain falls below its value at initialisation."""
from __future__ import annotations

import pytest

from ganbench.models import MODELS
from ganbench.training import TrainSpec, train

# Measured: these first rise, then fall. StyleGAN2 tiny swings between 14 and 23 up to 12 kimg, differently on 1 and
# 2 threads (2: 19.8 at 10k, 12.8 at 12k; 1: 16.6 at 10k, 19.0 at 12k), and is at 12.1-13.5 from 14 to 16 kimg on both.
KIMG = {"sagan": 10.0, "biggan": 16.0, "stylegan2": 16.0, "transgan": 10.0}
DEFAULT_KIMG = 3.0
CASES = [(m, "default") for m in MODELS.names()] + [
    (m, v) for m in ("lrm_gan",) if m in MODELS for v in MODELS.get(m).variants if v != "default"]


@pytest.mark.slow
@pytest.mark.parametrize("model, variant", CASES)
def test_fd_domain_falls(model, variant, tmp_path):
    r = train(TrainSpec(model=model, variant=variant, kimg=KIMG.get(model, DEFAULT_KIMG), eval_every_kimg=0,
                        metrics=("fd_domain2k_train",), device="cpu", out_dir=str(tmp_path / "run")), progress=False)
    assert r.status == "complete", r.reason
    fd = [row["value"] for row in r.rows if row["metric"] == "fd_domain"]
    assert len(fd) == 2 and fd[1] < 0.8 * fd[0], fd
