"""Slow: the CI gate (ci-quick, through ``regress.check``, the code ``ganbench regress`` runs) fails on three planted
regressions of DCGAN - learning rate x0.1, a broken generator layer, the saturating G loss - and passes three
unchanged reruns (the gate's own seeds again; seeds 3-5, which are in the spread; seeds 6-8, which are not).

The baseline is made here, from the code as it is (not the committed file, which may lag behind the metric's
weights), exactly as ``ganbench regress --baseline F --update --spread-seeds 0,1,2,3,4,5`` makes it. Cost: 18 DCGAN
tiny runs of 3 kimg with two fd_domain2k_train evaluations each (one thread)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganbench import regress
from ganbench.losses import LOSSES, Loss
from ganbench.models import MODELS, dcgan

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
    b = regress.update_baseline(base, d / "results", SPREAD, suite="ci-quick", rerun=False)
    assert any(c["gated"] for c in b["checks"])
    return d / "results", base


def _lr_tenth(mp):
    cls = MODELS.get("dcgan")
    t = cls.presets["tiny"]
    mp.setitem(cls.presets, "tiny", dataclasses.replace(t, lr_g=t.lr_g * 0.1, lr_d=t.lr_d * 0.1))


def _broken_layer(mp):
    """G's first transposed conv computes with zero weights (its bias only): every z gives the same image."""
    def forward(self, z, y=None):
        h = self.linear(z).view(z.shape[0], -1, self.bottom, self.bottom)
        conv = self.net[0]
        h = F.conv_transpose2d(h, torch.zeros_like(conv.weight), conv.bias, conv.stride, conv.padding)
        return self.net[1:](h)
    mp.setattr(dcgan.Generator, "forward", forward)


def _saturating_loss(mp):
    """The non-saturating G loss -log D(G(z)) replaced by the saturating log(1 - D(G(z)))."""
    nonsat = LOSSES.get("nonsat")
    mp.setitem(LOSSES._items, "nonsat", Loss(d=nonsat.d, g=lambda f: -F.softplus(f).mean()))


@pytest.mark.slow
@pytest.mark.parametrize("plant", [_lr_tenth, _broken_layer, _saturating_loss], ids=["lr_x0.1", "broken_layer",
                                                                                      "saturating_loss"])
def test_gate_fails_on_planted_regression(gate, plant, monkeypatch, tmp_path):
    _, base = gate
    plant(monkeypatch)
    cmp = regress.check(base, tmp_path / "results")
    print(cmp.table())
    assert not cmp.ok and any(r.verdict == "REGRESSION" for r in cmp.results), cmp.table()


@pytest.mark.slow
@pytest.mark.parametrize("seeds", [None, (3, 4, 5), (6, 7, 8)], ids=["own_seeds", "seeds_3-5", "seeds_6-8"])
def test_gate_passes_unchanged_rerun(gate, seeds, tmp_path):
    made, base = gate
    root = tmp_path / "results" if seeds != (3, 4, 5) else made  # 3-5: the spread runs, read back
    cmp = regress.check(base, root, seeds=seeds, rerun=seeds is None, reuse=seeds == (3, 4, 5))
    print(cmp.table())
    assert cmp.ok, cmp.table()
