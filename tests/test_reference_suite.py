"""The reference suite holds every registered model and every claim arm in one results group, at the standard budget
(10 seeds, 10 kimg, evaluated every kimg; the costly TransGAN ablation arms the first 5 seeds), and the convergence
suite's standard profile is the same budget."""
from __future__ import annotations

from ganbench.analysis.claims import load_claims
from ganbench.models.base import MODELS
from ganbench.suites import SuiteOptions, apply_profile, expand
from ganbench.suites import load_suite


def test_reference_holds_every_model_and_claim_arm(tmp_path):
    specs = expand("reference", SuiteOptions(profile="standard"), tmp_path)
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


def test_max_seeds_takes_the_first_seeds(tmp_path):
    """max_seeds cuts the profile's seeds (smoke: 3 seeds, so 3), and --seeds overrides it (all 7 run)."""
    smoke = [s for s in expand("reference", SuiteOptions(profile="smoke"), tmp_path) if s.variant == "no_diffaug"]
    assert sorted(s.seed for s in smoke) == [0, 1, 2]
    picked = expand("reference", SuiteOptions(profile="standard", seeds=tuple(range(3, 10))), tmp_path)
    assert sorted(s.seed for s in picked if s.variant == "no_diffaug") == list(range(3, 10))


def test_standard_profiles_agree():
    ref = apply_profile(load_suite("reference"), "standard")
    conv = apply_profile(load_suite("convergence"), "standard")
    assert (ref.seeds, ref.kimg, ref.eval_every_kimg, ref.metrics) == (conv.seeds, conv.kimg, conv.eval_every_kimg,
                                                                      conv.metrics)
    assert len(ref.seeds) >= 5 and load_suite("convergence").default_profile == "quick"  # `make run` stays quick


def test_resolve_suite_command(cli, tmp_path):
    import yaml
    r = cli("resolve-suite", "reference", "--profile", "standard", "--out", str(tmp_path / "s.yaml"))
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load((tmp_path / "s.yaml").read_text())
    assert data["profile"] == "standard" and data["suite"]["kimg"] == 10 and len(data["runs"]) == 170
