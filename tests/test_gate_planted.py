"""Slow: the CI gate (ci-quick, through ``ganbench.gate.suite.check``, the code ``ganbench regress`` runs) fails on
three planted regressions of its model (DCGAN tiny) - learning rate x0.1, a broken discriminator layer (its dense
layer's input zeroed), the G loss's sign flipped - and passes three unchanged reruns (the gate's own seeds again;
seeds 3-5, which are in the spread; seeds 6-8, which are not).

The baseline is made here, from the code as it is (not the committed file, which may lag behind the metric's
weights), exactly as ``ganbench regress --baseline F --update --spread-seeds 0,1,2,3,4,5`` makes it. Cost: 21
DCGAN tiny runs of 10 kimg with two fd_domain2k_train evaluations each (one thread, ~25 s each)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch.nn.functional as F

from ganbench.gate import suite as suite_gate
from ganbench.losses import LOSSES, Loss
from ganbench.models import MODELS, dcgan

MODEL = "dcgan"  # the ci-quick suite's model

SPREAD = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    """A baseline made here, or (GANBENCH_GATE_BASELINE=F GANBENCH_GATE_RESULTS=D) one made by
    ``ganbench regress --baseline F --update --spread-seeds 0,1,2,3,4,5 --results D`` (its runs in D are read)."""
    made = os.environ.get("GANBENCH_GATE_BASELINE")
    if made:
        return Path(os.environ["GANBENCH_GATE_RESULTS"]), Path(made)
    d = tmp_path_factory.mktemp("gate")
    base = d / "ci-quick.json"
    b = suite_gate.update_baseline(base, d / "results", SPREAD, suite="ci-quick", rerun=False)
    assert any(c["gated"] for c in b["checks"])
    return d / "results", base


def test_plants_target_the_suite_the_ci_gates():
    """The plants patch DCGAN: the ci-quick suite must run it (and only it), or they would test nothing."""
    from ganbench.suites import expand

    assert {s.model for s in expand("ci-quick")} == {MODEL}


def _lr_tenth(mp):
    cls = MODELS.get(MODEL)
    t = cls.presets["tiny"]
    mp.setitem(cls.presets, "tiny", dataclasses.replace(t, lr_g=t.lr_g * 0.1, lr_d=t.lr_d * 0.1))


def _broken_layer(mp):
    """D's dense layer gets a zeroed input (a wiring bug): D's output no longer depends on the image, so G gets no
    signal."""
    def forward(self, x, y=None):
        return self.linear(self.net(x).sum(dim=(2, 3)) * 0).squeeze(1)  # (* 0 keeps the graph)
    mp.setattr(dcgan.Discriminator, "forward", forward)


def _flipped_g_loss(mp):
    """The non-saturating G loss with its sign flipped: G minimises softplus(D(G(z))), pushing its samples away from
    what D accepts."""
    assert MODELS.get(MODEL).presets["tiny"].loss == "nonsat"
    nonsat = LOSSES.get("nonsat")
    mp.setitem(LOSSES._items, "nonsat", Loss(d=nonsat.d, g=lambda f: F.softplus(f).mean()))


@pytest.mark.slow
@pytest.mark.parametrize("plant", [_lr_tenth, _broken_layer, _flipped_g_loss],
                         ids=["lr_x0.1", "broken_layer", "flipped_g_loss"])
def test_gate_fails_on_planted_regression(gate, plant, monkeypatch, tmp_path):
    _, base = gate
    plant(monkeypatch)
    cmp = suite_gate.check(base, tmp_path / "results")
    print(cmp.table())
    assert not cmp.ok and any(r.verdict == "REGRESSION" for r in cmp.results), cmp.table()


@pytest.mark.slow
@pytest.mark.parametrize("seeds", [None, (3, 4, 5), (6, 7, 8)], ids=["own_seeds", "seeds_3-5", "seeds_6-8"])
def test_gate_passes_unchanged_rerun(gate, seeds, tmp_path):
    made, base = gate
    root = tmp_path / "results" if seeds != (3, 4, 5) else made  # 3-5: the spread runs, read back
    cmp = suite_gate.check(base, root, seeds=seeds, rerun=seeds is None, reuse=seeds == (3, 4, 5))
    print(cmp.table())
    assert cmp.ok, cmp.table()
