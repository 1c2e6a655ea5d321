"""The copy ladder (ganbench.analysis.copy_ladder): its image controls, its verdict logic on a small synthetic ladder,
and the committed fmnist-cnn record (the numbers the reports cite) against its own criteria."""
from __future__ import annotations

import json
import math

import pytest
import torch

from ganbench.analysis import copy_ladder as L
from ganbench.metrics import copying as C


def test_shift_moves_every_image_by_px_in_one_of_eight_directions():
    img = torch.zeros(64, 1, 9, 9, dtype=torch.uint8)
    img[:, 0, 4, 4] = 255
    for px in (1, 2):
        out = L.shift(img, px, torch.Generator().manual_seed(0))
        pos = torch.nonzero(out[:, 0] == 255)[:, 1:]
        assert len(pos) == 64  # nothing lost, nothing added
        d = pos - 4
        assert ((d.abs() == px) | (d == 0)).all() and (d.abs().sum(1) > 0).all()
        assert len({tuple(v) for v in d.tolist()}) == 8  # all 8 directions drawn over 64 images


def test_noise_is_small_and_seeded():
    img = torch.full((200, 1, 8, 8), 128, dtype=torch.uint8)
    a = L.add_noise(img, 0.05, torch.Generator().manual_seed(0))
    b = L.add_noise(img, 0.05, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    sd = (a.float() - 128).std().item() / 127.5  # sigma in [-1, 1] units, within 5% (12,800 pixels)
    assert abs(sd - 0.05) < 0.05 * 0.05


def _synthetic(n_train=4000, n_test=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n_train, 1, 6, 6), generator=g, dtype=torch.int64).to(torch.uint8),
            torch.randint(0, 256, (n_test, 1, 6, 6), generator=g, dtype=torch.int64).to(torch.uint8))


def test_control_sets_are_what_they_claim():
    train, ctrl = _synthetic(n_test=1000)
    sets = L.control_sets(train, ctrl, 300, seed=0)
    n = 300
    assert all(len(v) == n for v in sets.values())
    flat = {tuple(x.flatten().tolist()) for x in train}
    in_train = {k: sum(tuple(x.flatten().tolist()) in flat for x in v) for k, v in sets.items()}
    assert in_train["copies"] == n and in_train["mix100"] == n and in_train["mix0"] == 0
    assert [in_train[f"mix{p}"] for p in L.MIXTURE] == [round(p / 100 * n) for p in L.MIXTURE]
    assert in_train["perfect1"] == 0 and in_train["collapse"] == 0
    assert len({tuple(x.flatten().tolist()) for x in sets["collapse"]}) == L.COLLAPSE_IMAGES
    # nested mixtures: each step only replaces control images by copies
    for a, b in zip(L.MIXTURE, L.MIXTURE[1:]):
        k = round(b / 100 * n)
        assert torch.equal(sets[f"mix{a}"][k:], sets[f"mix{b}"][k:])


@pytest.fixture(scope="module")
def small_ladder():
    train, test = _synthetic()
    ref_idx, ctrl_idx = C.heldout_halves(len(test))
    feat = lambda x: x.flatten(1).double()
    ref = C.prepare_sets(feat(train), feat(test[ref_idx]), extractor="pixels", cells=5, seed=0)
    sets = L.control_sets(train, test[ctrl_idx], 500, seed=0)
    return L.run_copy_ladder(sets, ref, feat, dataset="synthetic", seed=0, metrics=("copy_rate", "c_t", "nn_gap"))


def test_small_ladder_verdicts(small_ladder):
    lad = small_ladder
    for m in ("copy_rate", "c_t"):
        assert lad.monotone(m) and lad.perfect_flagged(m) == [] and lad.copies_flagged(m) and lad.passed(m), m
    rates = [lad.results[f"mix{p}"]["copy_rate"].value for p in L.MIXTURE]
    assert rates[-1] == 1.0
    sd = math.sqrt(0.05 * 0.95 / 500 + 0.05 * 0.95 / 1000)
    assert abs(rates[0] - 0.05) < 4 * sd
    # direction: C_T falls with copying, the copying score rises
    assert lad.results["mix100"]["c_t"].value < lad.results["mix0"]["c_t"].value
    assert lad.copying_score("c_t", "mix100") > lad.copying_score("c_t", "mix0")


def test_verdict_fails_a_metric_that_does_not_order_the_mixtures(small_ladder):
    lad = small_ladder
    saved = lad.results["mix50"]["copy_rate"].value
    try:
        lad.results["mix50"]["copy_rate"].value = lad.results["mix25"]["copy_rate"].value  # a tie is not strict
        assert not lad.monotone("copy_rate") and not lad.passed("copy_rate")
    finally:
        lad.results["mix50"]["copy_rate"].value = saved
    saved = lad.results["perfect2"]["c_t"].flagged
    try:
        lad.results["perfect2"]["c_t"].flagged = True
        assert lad.perfect_flagged("c_t") == ["perfect2"] and not lad.passed("c_t")
    finally:
        lad.results["perfect2"]["c_t"].flagged = saved


def test_small_ladder_json_and_markdown(small_ladder):
    j = small_ladder.to_json()
    assert j["n"] == 500 and j["seed"] == 0 and j["extractor"] == "pixels" and j["criteria"] == L.CRITERIA
    assert j["command"].startswith("ganbench validate-copying pixels")
    assert set(j["verdicts"]) == {"copy_rate", "c_t", "nn_gap"}
    r = j["sets"]["mix25"]["copy_rate"]
    assert r["n_gen"] == 500 and r["quantile"] == C.COPY_Q and r["extractor"] == "pixels"
    assert j["sets"]["mix25"]["c_t"]["cells"] == 5
    json.dumps(j, allow_nan=False)  # every number finite or null
    md = small_ladder.markdown()
    assert "| copy_rate | yes | no | yes | PASS |" in md


def test_committed_fmnist_record_meets_its_own_criteria():
    rec = json.loads((L.WEIGHTS_DIR / "fmnist-cnn.copying.json").read_text())
    assert rec["extractor"] == "fmnist-cnn" and rec["n"] == 2000 and rec["n_train"] == 60000
    assert rec["n_held_out"] == 5000 and rec["criteria"] == L.CRITERIA
    sets = rec["sets"]
    assert set(sets) >= {f"mix{p}" for p in L.MIXTURE} | {"copies", "shift1", "shift2", "collapse"}
    for m, v in rec["verdicts"].items():
        sign = 1 if C.HIGHER_MEANS_COPYING[m] else -1
        s = [sign * sets[f"mix{p}"][m]["value"] for p in L.MIXTURE]
        assert v["monotone"] == all(b > a for a, b in zip(s, s[1:])), m
        perfect = [k for k in ["mix0"] + [f"perfect{j}" for j in range(1, L.PERFECT_DRAWS + 1)] if sets[k][m]["flagged"]]
        assert v["perfect_flagged"] == perfect, m
        assert v["passed"] == (v["monotone"] and not perfect and sets["mix100"][m]["flagged"]), m
        assert all(sets[k][m]["n_gen"] == 2000 for k in sets)
    assert rec["verdicts"]["copy_rate"]["passed"] and rec["verdicts"]["c_t"]["passed"]
    assert (L.WEIGHTS_DIR / "fmnist-cnn.copying.md").read_text().startswith("# Copy ladder: fmnist-cnn")
