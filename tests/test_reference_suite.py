"""The reference suite holds every registered model and every claim arm in one results group, at 10 kimg evaluated
every kimg: profile ``confirmatory`` on seeds no tuning or exploratory run used (the plan picks arms and seeds),
profile ``exploratory`` as the first reference was run (seeds 0-9; the costly TransGAN ablation arms the first 5);
and evaluation suites refuse the seeds the tuning runs used."""
from __future__ import annotations

import pytest

from conftest import one_line_error
from ganbench.analysis.claims import load_claims
from ganbench.errors import GanbenchError
from ganbench.models.base import MODELS
from ganbench.suites import SuiteOptions, apply_profile, expand, load_suite
from ganbench.suites.tuning_record import load_record


def test_reference_holds_every_model_and_claim_arm(tmp_path):
    specs = expand("reference", SuiteOptions(profile="exploratory"), tmp_path)
    arms = {(s.model, s.variant) for s in specs}
    assert {m for m, _ in arms} == set(MODELS.names())
    for c in load_claims():
        assert {(c.a.model, c.a.variant), (c.b.model, c.b.variant)} <= arms, c.id
    assert {s.suite for s in specs} == {"reference"}  # one group: same-model arms pair by seed
    few = {("transgan", "no_diffaug"), ("transgan", "no_local_init")}  # max_seeds: 5
    for arm in arms:  # every arm on the same seeds (or their first 5) and budget
        mine = [s for s in specs if (s.model, s.variant) == arm]
        assert sorted(s.seed for s in mine) == list(range(5 if arm in few else 10)) and {s.kimg for s in mine} == {10}
        assert {s.eval_every_kimg for s in mine} == {1}
    assert len(specs) == 10 * len(arms) - 5 * len(few)


def test_confirmatory_seeds_are_fresh():
    """No confirmatory seed was used by the tuning runs or by the exploratory reference."""
    conf = apply_profile(load_suite("reference"), "confirmatory")
    explo = apply_profile(load_suite("reference"), "exploratory")
    assert not set(conf.seeds) & (set(load_record()["seeds"]) | set(explo.seeds))
    assert conf.final_metrics == ("copy_domain2k_train", "ct_domain2k_train") and not conf.reuses_tuning_seeds


def test_max_seeds_takes_the_first_seeds(tmp_path):
    """max_seeds cuts the profile's seeds (smoke: 3 seeds, so 3), and --seeds overrides it (all 7 run)."""
    smoke = [s for s in expand("reference", SuiteOptions(profile="smoke"), tmp_path) if s.variant == "no_diffaug"]
    assert sorted(s.seed for s in smoke) == [100, 101, 102]
    picked = expand("reference", SuiteOptions(profile="exploratory", seeds=tuple(range(3, 10))), tmp_path)
    assert sorted(s.seed for s in picked if s.variant == "no_diffaug") == list(range(3, 10))


def test_evaluation_suites_refuse_tuning_seeds(tmp_path):
    """A suite that would evaluate a tuned model on a seed its tuning runs used is a one-line error (planted: without
    the check, the convergence suite on seed 0 expands); a suite that says why it may (the gate) expands."""
    with pytest.raises(GanbenchError, match="which its tuning runs used"):
        expand("convergence", SuiteOptions(seeds=(0,)), tmp_path)
    assert expand("convergence", SuiteOptions(seeds=(10,)), tmp_path)
    assert expand("ci-quick", SuiteOptions(), tmp_path)  # reuses_tuning_seeds: the gate ranks nothing


def test_tuning_seed_reuse_is_a_one_line_error_from_the_cli(cli):
    msg = one_line_error(cli("run", "--suite", "convergence", "--seeds", "1", "--dry-run"))
    assert "seed 1, which its tuning runs used" in msg


def test_resolve_suite_command(cli, tmp_path):
    import yaml
    r = cli("resolve-suite", "reference", "--profile", "exploratory", "--out", str(tmp_path / "s.yaml"))
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load((tmp_path / "s.yaml").read_text())
    assert data["profile"] == "exploratory" and data["suite"]["kimg"] == 10 and len(data["runs"]) == 170
