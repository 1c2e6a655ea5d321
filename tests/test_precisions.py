"""Every registered model takes a training step through the shared loop in every ``--precision`` on the CPU (fp32,
bf16 autocast, fp16 autocast with its two GradScalers): the losses are finite and the step reached the weights."""
from __future__ import annotations

import pytest
import torch

from ganbench.models import MODELS
from ganbench.training.throughput import make_loop

PRECISIONS = ("fp32", "bf16", "fp16")
# P2GAN's tiny preset starts with a D-only warm-up (G gets no gradient); the second case steps G too
CASES = [(m, {}) for m in sorted(MODELS.names())] + [("p2gan", {"pretrain_kimg": 0.0})]


pytestmark = pytest.mark.usefixtures("one_thread")


def _weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters() if p.requires_grad]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("model,extra", CASES, ids=[m + ("-no-warmup" if e else "") for m, e in CASES])
def test_one_training_step_in_every_precision(model, extra, precision):
    loop = make_loop(model, "tiny", overrides={"batch_size": 8, "precision": precision, **extra}, seed=1)
    assert loop.cfg.precision == precision
    g0, d0 = _weights(loop.model.G), _weights(loop.model.D)
    scale0 = {k: s.get_scale() for k, s in loop.scalers.items()}
    logs = loop.iteration()
    bad = [k for k, v in logs.items() if not torch.isfinite(v).all()]
    assert not bad, f"non-finite {bad}"
    g_moved = any(not torch.equal(a, b) for a, b in zip(g0, _weights(loop.model.G)))
    d_moved = any(not torch.equal(a, b) for a, b in zip(d0, _weights(loop.model.D)))
    g_trains = not (model == "p2gan" and not extra)  # D-only warm-up
    if precision == "fp16":  # a scaler skips a step whose gradients overflowed, and then lowers its scale
        assert set(loop.scalers) == {"d", "g"}
        skipped = {k: s.get_scale() < scale0[k] for k, s in loop.scalers.items()}
        assert d_moved or skipped["d"]
        assert not g_trains or g_moved or skipped["g"]
    else:
        assert loop.scalers == {}
        assert d_moved and g_moved == g_trains
