"""The disturbance ladder: each disturbance does what it says, the verdict logic, and every extractor that a shipped
suite uses passes it (on the real Fashion-MNIST test split against the train split, as committed)."""
from __future__ import annotations

import json

import pytest
import torch

from ganbench.analysis import ladder as V
from ganbench.metrics import disturbances as D

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _images(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(n, 1, 32, 32, dtype=torch.uint8)
    x[:, :, 8:24, 10:22] = torch.randint(100, 255, (n, 1, 1, 1), generator=g, dtype=torch.uint8)
    return x, torch.arange(n) % 10


@pytest.mark.parametrize("family", [f for f in V.FAMILIES if f != "modes"])
def test_disturbance_grows_with_level(family):
    """The mean absolute pixel change grows strictly with the level, from more than zero at the mildest."""
    x, y = _images()
    changes = []
    for lv in V.FAMILIES[family]:
        d = D.disturb(x, y, family, lv, torch.Generator().manual_seed(0))
        assert d.dtype == torch.uint8 and d.shape == x.shape
        changes.append((d.float() - x.float()).abs().mean().item())
    assert changes[0] > 0 and all(b > a for a, b in zip(changes, changes[1:])), changes


@pytest.mark.parametrize("k", V.FAMILIES["modes"])
def test_modes_keeps_only_k_classes(k):
    """Images tagged with their class in a pixel: a mode-dropped set holds exactly k classes, same count."""
    y = torch.arange(200) % 10
    x = y.to(torch.uint8).view(-1, 1, 1, 1).expand(200, 1, 32, 32).contiguous()
    d = D.disturb(x, y, "modes", k, torch.Generator().manual_seed(0))
    assert d.shape == x.shape and len(torch.unique(d[:, 0, 0, 0])) == k


@pytest.mark.parametrize("kind", V.DEGENERATE)
def test_degenerate_sets(kind):
    x, _ = _images()
    d = D.degenerate(x, kind, torch.Generator().manual_seed(0))
    assert d.shape == x.shape and d.dtype == torch.uint8
    distinct = len(torch.unique(d.view(len(d), -1), dim=0))
    assert distinct == (1 if kind in ("constant", "repeated") else len(d))


def _ladder(dist) -> V.Ladder:
    x, y = _images()
    return V.run_ladder(dist, x, y, extractor="toy", metric="toy", reference="r", held_out="h")


def test_verdict_logic():
    """A distance that is the mean pixel change passes the monotonicity part; plant a dip and a weak degenerate."""
    x0, _ = _images()

    def change(d):
        return (d.float() - x0.float()).abs().mean().item()

    lad = _ladder(change)
    assert all(lad.family_passed(f) for f in lad.families if f != "modes")
    lad.families["blur"][2] = (2.0, lad.families["blur"][1][1] - 1e-6)  # a dip
    assert not lad.family_passed("blur") and not lad.passed
    lad = _ladder(change)
    lad.degenerate["constant"] = 2.9 * lad.worst_mild
    assert not lad.degenerate_passed("constant") and not lad.passed


def _suite_extractors() -> set[str]:
    from ganbench.metrics import PROTOCOLS
    from ganbench.suites import load_suite, names

    out = set()
    for name in names():
        suite = load_suite(name)
        for m in suite.metrics or []:
            out.add(PROTOCOLS.get(m).extractor)
        for prof in (suite.profiles or {}).values():
            for m in prof.get("metrics", []) or []:
                out.add(PROTOCOLS.get(m).extractor)
    return out


@pytest.mark.parametrize("extractor", sorted(_suite_extractors()))
def test_shipped_suite_extractors_pass_the_ladder(extractor):
    """The ladder on the real data, recomputed here: PASS, and equal to the recorded verdict reports cite."""
    from ganbench.analysis.ladder import ladder_for

    lad = ladder_for(extractor)
    assert lad.passed, V.Ladder.to_json(lad)
    recorded = V.load_validation(extractor)
    assert recorded is not None and recorded["passed"], f"no recorded PASS for {extractor}"
    for fam, info in recorded["families"].items():
        assert info["distance"] == pytest.approx([d for _, d in lad.families[fam]], rel=0.05, abs=0.02), fam
    assert json.dumps(recorded["families"]["noise"]["levels"]) == json.dumps([0.0, 0.25, 0.5, 0.75])
    from ganbench.models import MODELS
    assert {f"untrained:{m}" for m in MODELS.names()} <= set(lad.degenerate)  # every model's untrained G is judged
    for kind, info in recorded["degenerate"].items():
        assert info["distance"] == pytest.approx(lad.degenerate[kind], rel=0.05, abs=0.02), kind


def test_fmnist_cnn_tells_synthetic_noise_from_garments():
    """The committed weights put held-out synthetic non-garments (a fresh draw) in their 11th class and real test
    garments in the other ten (weights without that class, e.g. version 2, fail)."""
    from ganbench.data import load_dataset
    from ganbench.metrics import fmnist_cnn

    net = fmnist_cnn.load()
    fakes = fmnist_cnn._fakes(300, torch.Generator().manual_seed(123))
    real = fmnist_cnn.preprocess(load_dataset("fashion-mnist", "test", 32, 1).images[:300])
    with torch.no_grad():
        fake_cls, real_cls = net(fakes)[1].argmax(1), net(real)[1].argmax(1)
    assert (fake_cls == 10).float().mean() > 0.95 and (real_cls == 10).float().mean() < 0.02
