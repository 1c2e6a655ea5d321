"""Claims as data and their verdicts: planted effects on synthetic results trees (known answers), the tests
against scipy, Holm against a hand computation, and the claims file's validation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import stats

from claims_fixture import write_run
from ganbench.analysis import claims as C
from ganbench.analysis import inference as I
from ganbench.analysis.plan import value_at
from ganbench.analysis.sample_size import detectable_effect, paired_sd, pooled_sd
from ganbench.errors import GanbenchError

IMAGES = [0, 1000, 2000, 3000, 4000]
SEEDS = [0, 1, 2, 3, 4]


def _claim(cid, a, b, kind="final", threshold=None) -> C.Claim:
    return C.Claim(cid, f"{a} beats {b}", "test", C.Arm(*a.split("/")), C.Arm(*b.split("/")), "fd_domain2k_train",
                   kind, threshold)


def _curve(final: float) -> list[float]:
    return [200.0, 120.0, 80.0, 60.0, final]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Per seed s a large shared seed effect (so only a paired test can see the planted effects):
    lrm_gan default beats no_meta by 5 (planted), sagan default ~ no_attn (null), transgan default is worse than
    no_diffaug by 5 (opposite), p2gan with one seed, biggan default beats no_ema by 50 on two seeds only."""
    root = tmp_path_factory.mktemp("claims") / "results"
    rng = np.random.default_rng(1)
    base = {s: 30.0 + 8.0 * rng.standard_normal() for s in SEEDS}
    jit = lambda: 0.5 * rng.standard_normal()  # noqa: E731
    for s in SEEDS:
        write_run(root, "ref", "lrm_gan", "default", s, IMAGES, _curve(base[s] + jit()))
        write_run(root, "ref", "lrm_gan", "no_meta", s, IMAGES, _curve(base[s] + 5 + jit()))
        write_run(root, "ref", "sagan", "default", s, IMAGES, _curve(base[s] + jit()))
        write_run(root, "ref", "sagan", "no_attn", s, IMAGES, _curve(base[s] + jit()))
        write_run(root, "ref", "transgan", "default", s, IMAGES, _curve(base[s] + 5 + jit()))
        write_run(root, "ref", "transgan", "no_diffaug", s, IMAGES, _curve(base[s] + jit()))
    write_run(root, "ref", "p2gan", "default", 0, IMAGES, _curve(10.0))
    write_run(root, "ref", "p2gan", "no_lz", 0, IMAGES, _curve(90.0))
    for s in (0, 1):
        write_run(root, "ref", "biggan", "default", s, IMAGES, _curve(10.0 + s))
        write_run(root, "ref", "biggan", "no_ema", s, IMAGES, _curve(60.0 + s + 0.1 * s))
    return root


CLAIMS = [_claim("planted", "lrm_gan/default", "lrm_gan/no_meta"), _claim("null", "sagan/default", "sagan/no_attn"),
          _claim("opposite", "transgan/default", "transgan/no_diffaug"),
          _claim("one-seed", "p2gan/default", "p2gan/no_lz"), _claim("two-seeds", "biggan/default", "biggan/no_ema"),
          _claim("absent", "projected_gan/default", "projected_gan/random_features")]


def test_verdicts_on_known_answers(tree):
    out = {o.claim.id: o for o in C.evaluate(tree, CLAIMS)}
    assert out["planted"].verdict == C.REPRODUCED
    assert out["planted"].test.kind == "paired t" and out["planted"].test.n == (5,)
    assert out["planted"].test.ci[0] < -5 + 1.5 and out["planted"].test.ci[1] > -5 - 1.5
    assert out["null"].verdict == C.INCONCLUSIVE
    assert out["opposite"].verdict == C.CONTRADICTED
    assert out["one-seed"].verdict == C.INCONCLUSIVE and out["one-seed"].test is None
    assert out["two-seeds"].verdict == C.INCONCLUSIVE and "fewer than 3" in out["two-seeds"].reason
    assert out["absent"].verdict == C.NOT_TESTED and out["absent"].p_adj is None
    # the seed effect (sd 8) swamps the planted 5 for an unpaired test: pairing is what finds it
    o = out["planted"]
    a = [value_at(c, o.budget) for c in C._arm_runs(_group(tree), C.Arm("lrm_gan"),
                                                    "fd_domain2k_train").curves.values()]
    b = [value_at(c, o.budget) for c in C._arm_runs(_group(tree), C.Arm("lrm_gan", "no_meta"),
                                                    "fd_domain2k_train").curves.values()]
    assert stats.ttest_ind(a, b, equal_var=False).pvalue > 0.05


def _group(root):
    from ganbench.analysis.groups import groups
    from ganbench.results import load
    return groups(load(root))[0]


def test_holm_over_all_claims_by_hand(tree):
    """Holm (statsmodels multipletests) against the step-down computation by hand."""
    out = [o for o in C.evaluate(tree, CLAIMS) if o.test is not None]
    assert len(out) == 4  # planted, null, opposite, two-seeds (one-seed and absent have no test)
    assert all(o.m == 4 for o in out)
    p = [o.test.p for o in out]
    order = np.argsort(p)
    hand, running = [0.0] * 4, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (4 - rank) * p[i]))
        hand[i] = running
    assert [o.p_adj for o in out] == pytest.approx(hand)
    assert all(o.p_adj >= o.test.p for o in out)


def test_paired_and_welch_match_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 2, 6), rng.normal(11, 2, 6)
    t = I.paired_test(a, b)
    assert t.p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    d = a - b
    half = stats.t.ppf(0.975, 5) * d.std(ddof=1) / math.sqrt(6)
    assert t.ci == pytest.approx((d.mean() - half, d.mean() + half))
    assert t.boot_ci[0] < d.mean() < t.boot_ci[1]
    w = I.welch_test(a, b[:4])
    assert w.p == pytest.approx(stats.ttest_ind(a, b[:4], equal_var=False).pvalue)
    assert w.diff == pytest.approx(a.mean() - b[:4].mean())


def _threshold_tree(root):
    """projected_gan (A) reaches FD 50 at 1 kimg on seeds 0-4 and seed 5 diverged at 2 kimg above it; stylegan2 (B)
    reaches it at 3 kimg on seeds 0-2 and never on seeds 3-4 (censored at the 4-kimg budget)."""
    for s in SEEDS:
        write_run(root, "ref", "projected_gan", "default", s, IMAGES, [200, 45 - s, 30, 25, 20])
        sg = [200, 150, 100, 48, 40] if s < 3 else [200, 150, 100, 90, 80]
        write_run(root, "ref", "stylegan2", "default", s, IMAGES, sg)
    write_run(root, "ref", "projected_gan", "default", 5, IMAGES[:3], [200, 60, 55], status="diverged")
    return root


FASTER = _claim("faster", "projected_gan/default", "stylegan2/default", "images_to_threshold", 50.0)


def test_images_to_threshold_and_censoring(tmp_path):
    root = _threshold_tree(tmp_path / "results")
    (o,) = C.evaluate(root, [FASTER])
    r = o.reach
    assert o.test is None and o.threshold == 50.0 and o.budget == 4000 and r.tau == 4.0 and o.unit == "kimg"
    # B: the runs that never get there are censored, not counted as reaching T at their last evaluation
    # (planted: last evaluation counted as reached -> events all True -> fails)
    assert r.b.time == (3.0, 3.0, 3.0, 4.0, 4.0) and r.b.event == (True, True, True, False, False)
    assert o.censored == (1, 2) and o.incomplete == (1, 0)
    # Kaplan-Meier: B is 1 until 3 kimg, then 2/5 up to the budget -> RMST 3 + 0.4 = 3.4
    assert r.b.rmst == pytest.approx(3.4, abs=1e-12)
    # A: the diverged seed 5 is censored at 2 kimg, above T: S = 1/6 from 1 kimg on -> RMST 1 + 3/6 = 1.5
    # (planted: diverged runs left out -> 1.0; counted as reaching T at their last evaluation -> 1 + 1/6 -> fails)
    assert r.a.n == 6 and r.a.events == 5 and r.a.rmst == pytest.approx(1.5, abs=1e-12)
    assert o.effect == pytest.approx(1.5 - 3.4, abs=1e-12) and o.p == r.p_perm
    assert r.p_perm < 0.05 and o.p_adj == pytest.approx(r.p_perm) and o.verdict == C.REPRODUCED
    assert r.perm.startswith("exact, all 462")  # C(11, 6) relabellings: the arms are different models
    # the MDE: one definition, on the restricted times, pooled SD (two-sample) for different models
    want = detectable_effect(pooled_sd(r.a.restricted, r.b.restricted), 6, paired=False, n2=5, m=1)
    assert o.mde.mde == pytest.approx(want.mde, rel=1e-12) and o.mde.df == 9


def test_threshold_rules_at_the_budget(tmp_path):
    root = _threshold_tree(tmp_path / "results")
    claim = lambda rule: _claim(rule, "projected_gan/default", "stylegan2/default", "images_to_threshold", rule)  # noqa
    med, mean = C.evaluate(root, [claim("pooled_median"), claim("b_final_mean")])
    # complete runs' values at the budget: A 20 x5, B 40 x3 and 80 x2 (the diverged run has no value there)
    assert med.threshold == pytest.approx(float(np.median([20] * 5 + [40] * 3 + [80] * 2)), abs=1e-12)
    assert mean.threshold == pytest.approx((3 * 40 + 2 * 80) / 5, abs=1e-12)
    assert "median, over every complete run of both arms, of its value at the budget" in med.threshold_rule
    assert "arm B's mean value at the budget" in mean.threshold_rule


def test_arms_on_other_batch_sizes_meet_at_the_budget(tmp_path):
    """Evaluations every kimg land a batch past it (1024, 2048, ... with batch 64; 1008, 2016, ... with 48): each is
    placed on the schedule, so both arms' last evaluations are the budget (planted: the recorded images -> budget
    4032, A's value there its 3072-image one, 30 -> the pooled median 27 -> fails)."""
    root = tmp_path / "results"
    for s in SEEDS:
        write_run(root, "ref", "projected_gan", "default", s, [0, 1024, 2048, 3072, 4096], [100, 60, 40, 30, 10 + s])
        write_run(root, "ref", "stylegan2", "default", s, [0, 1008, 2016, 3024, 4032], [100, 50, 40, 35, 20 + s])
    (o,) = C.evaluate(root, [_claim("m", "projected_gan/default", "stylegan2/default", "images_to_threshold",
                                    "pooled_median")])
    assert o.budget == 4000 and o.reach.tau == 4.0
    assert o.threshold == pytest.approx((14 + 20) / 2, abs=1e-12)
    assert o.reach.a.time == (4.0,) * 5 and o.reach.a.event == (True,) * 5


IMAGES6 = [0, 1000, 2000, 3000, 4000, 5000, 6000]
SEEDS6 = range(6)


def test_a_dip_and_bounce_does_not_reach(tmp_path):
    """The reviewer's Projected GAN seeds: A touches T at 1 kimg and jumps back above it until 4 kimg; B gets there
    at 2 kimg and stays (planted: the first-reach rule -> A at 1 kimg, A sooner, 'reproduced' -> fails)."""
    root = tmp_path / "results"
    for s in SEEDS6:
        write_run(root, "ref", "projected_gan", "default", s, IMAGES6, [200, 45, 70, 60, 40, 38, 36 + 0.1 * s])
        write_run(root, "ref", "projected_gan", "no_pretrained", s, IMAGES6,
                  [200, 120, 48, 45, 42, 40, 38 + 0.1 * s])
    (o,) = C.evaluate(root, [_claim("pg", "projected_gan/default", "projected_gan/no_pretrained",
                                    "images_to_threshold", 50.0)])
    assert o.reach.paired and o.reach.a.time == (4.0,) * 6 and o.reach.b.time == (2.0,) * 6
    assert o.effect == pytest.approx(2.0, abs=1e-12)
    assert o.p == pytest.approx(2 / 2 ** 6, abs=1e-15)  # exact sign flips, every pair the same sign
    assert o.verdict == C.CONTRADICTED
    # the MDE of a paired threshold claim: the SD of the per-seed differences of the restricted times (here 0)
    assert o.mde.sd == 0 and o.mde.paired and o.mde.n == 6


def test_threshold_sweep_shows_a_verdict_that_depends_on_it(tmp_path):
    """A is fast early and stalls at 10.4; B is slow and ends lower: A sooner at high thresholds, B at low ones."""
    from ganbench.report.claims import sensitivity_text

    root = tmp_path / "results"
    for s in SEEDS6:
        write_run(root, "ref", "sagan", "default", s, IMAGES6, [v + 0.01 * s for v in (50, 20, 15, 12, 11, 10.5, 10.4)])
        write_run(root, "ref", "sagan", "no_attn", s, IMAGES6, [v + 0.01 * s for v in (50, 40, 30, 20, 12, 9, 8)])
    (o,) = C.evaluate(root, [_claim("sw", "sagan/default", "sagan/no_attn", "images_to_threshold", 25.0)])
    sw = o.sensitivity
    assert len(sw.thresholds) == C.N_SWEEP
    # from the best value any run reached (8.00) to the lowest value at 0 images (50.00), evenly on a log scale
    assert sw.thresholds[0] == pytest.approx(8.0) and sw.thresholds[-1] == pytest.approx(50.0)
    assert np.diff(np.log(sw.thresholds)) == pytest.approx([np.log(50 / 8) / 14] * 14)
    assert all(c.tau == 6.0 for c in sw.comparisons)
    a_sooner = [t for t, e, p in zip(sw.thresholds, sw.effects, sw.p_perm) if e < 0 and p < 0.05]
    b_sooner = [t for t, e, p in zip(sw.thresholds, sw.effects, sw.p_perm) if e > 0 and p < 0.05]
    assert a_sooner and min(a_sooner) > 10.4 and b_sooner and max(b_sooner) < 10.4
    assert sw.sign_flips and "The verdict depends on the threshold" in sensitivity_text(o)
    assert o.effect == pytest.approx(-2.0, abs=1e-12)  # at 25: A at 1 kimg, B at 3


def test_plan_thresholds_seeds_alpha_and_family(tmp_path, tree):
    """Under a plan: its threshold replaces the claim's rule (planted: the plan ignored -> the pooled median 30 ->
    fails), each arm is read on its planned seeds only, alpha and the Holm family are the plan's, a claim the plan
    found not affordable gets no test, and one it does not list is not tested."""
    from claims_fixture import claim_plan, make_plan

    root = _threshold_tree(tmp_path / "results")
    rule = _claim("faster", "projected_gan/default", "stylegan2/default", "images_to_threshold", "pooled_median")
    absent = _claim("absent", "p2gan/default", "p2gan/no_lz")
    costly = _claim("costly", "sagan/default", "sagan/no_attn")
    wrong = _claim("wrong", "transgan/default", "transgan/no_diffaug")
    extra = _claim("extra", "lrm_gan/default", "lrm_gan/no_meta")
    wrong_plan = claim_plan(wrong, "not affordable", n_needed=float("inf"))
    wrong_plan.exploratory["effect"] = 0.604
    plan = make_plan([claim_plan(rule, threshold=50.0), claim_plan(absent), claim_plan(costly, "not affordable",
                                                                                       n_needed=45.0), wrong_plan],
                     seeds=range(6), arms={"projected_gan": 6, "stylegan2": 6, "p2gan": 5, "p2gan/no_lz": 5},
                     alpha=0.01)
    out = {o.claim.id: o for o in C.evaluate(root, [rule, absent, costly, wrong, extra], plan)}
    o = out["faster"]
    assert o.threshold == 50.0 and o.threshold_rule.startswith("the plan's") and o.status == C.CONFIRMATORY
    assert o.effect == pytest.approx(1.5 - 3.4, abs=1e-12)  # as at T = 50 without a plan
    assert o.alpha == 0.01 and o.m == 2  # the family: the plan's two confirmatory claims, the untested one at p = 1
    assert o.p_adj == pytest.approx(min(1.0, 2 * o.p), abs=1e-15)
    assert out["absent"].verdict == C.NOT_TESTED and "p = 1" in out["absent"].reason
    assert out["costly"].verdict == "not affordable at this budget (needs n = 45 pairs)"
    assert out["costly"].p_adj is None and out["costly"].status == "not affordable"
    assert out["wrong"].verdict == ("not affordable at this budget (the exploratory effect A - B = +0.604 had the sign "
                                    "opposite to the paper's: no number of pairs gives power)")
    assert out["extra"].verdict == C.NOT_TESTED and out["extra"].status == C.NOT_PLANNED
    # planned seeds only: the tree has seeds 0-4 of each arm, the plan runs 3 (planted: seeds ignored -> n 5 -> fails)
    planted = _claim("planted", "lrm_gan/default", "lrm_gan/no_meta")
    p3 = make_plan([claim_plan(planted, n=3)], seeds=range(3), arms={"lrm_gan": 3, "lrm_gan/no_meta": 3})
    (o3,) = C.evaluate(tree, [planted], p3)
    assert o3.test.n == (3,) and o3.seeds == (0, 1, 2)


def test_plan_and_claims_file_must_agree(tmp_path):
    from claims_fixture import claim_plan, make_plan

    root = _threshold_tree(tmp_path / "results")
    plan = make_plan([claim_plan(_claim("faster", "projected_gan/default", "stylegan2/default"))], seeds=range(5),
                     arms={"projected_gan": 5, "stylegan2": 5})
    with pytest.raises(GanbenchError, match="the plan test-plan projected_gan vs stylegan2 \\(final\\)"):
        C.evaluate(root, [FASTER], plan)


def test_mde_is_the_one_definition(tree):
    """Paired: the SD of the per-seed differences, df n - 1, at alpha / m (planted: the old Welch-df, observed-SE
    formula -> fails)."""
    out = {o.claim.id: o for o in C.evaluate(tree, CLAIMS)}
    o = out["planted"]
    a, b = o.values
    want = detectable_effect(paired_sd(a, b), 5, paired=True, m=4)
    assert o.mde.mde == pytest.approx(want.mde, rel=1e-12) and o.mde.df == 4 and o.mde.alpha == pytest.approx(0.05 / 4)
    assert o.mde.sd == pytest.approx(float(np.std(np.subtract(a, b), ddof=1)), rel=1e-12)


def test_committed_claims_cover_the_issue():
    cs = {c.id: c for c in C.load_claims()}
    arms = {(c.a.model, c.a.variant, c.b.model, c.b.variant, c.kind) for c in cs.values()}
    want = {("projected_gan", "default", "projected_gan", "no_pretrained", "images_to_threshold"),
            ("projected_gan", "default", "stylegan2", "default", "images_to_threshold"),
            ("projected_gan", "default", "projected_gan", "random_features", "final"),
            ("projected_gan", "default", "projected_gan", "no_pretrained", "final"),
            ("transgan", "default", "transgan", "no_diffaug", "final"),
            ("transgan", "default", "transgan", "no_local_init", "final"),
            ("p2gan", "default", "p2gan", "no_lz", "final"), ("sagan", "default", "sagan", "no_attn", "final")}
    want |= {("lrm_gan", "default", "lrm_gan", v, "final") for v in ("no_meta", "no_lrm", "residual", "sa")}
    assert want <= arms


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update(kind="sometimes"), "kind must be one of"),
    (lambda c: c["b"].update(variant="no_such"), "no_such"),
    (lambda c: c.pop("source"), "needs exactly"),
    (lambda c: c.update(metric="fd_nope"), "unknown metric protocol"),
    (lambda c: c.update(threshold=3.0), "only goes with"),
    (lambda c: c.update(kind="images_to_threshold", threshold="median-ish"), "threshold must be"),
    (lambda c: c.update(b=dict(c["a"])), "are the same"),
])
def test_bad_claims_file_is_one_line_error(tmp_path, mutate, message):
    data = yaml.safe_load(C.DEFAULT_CLAIMS.read_text())
    c = next(x for x in data["claims"] if x["kind"] == "final")
    mutate(c)
    p = tmp_path / "claims.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(GanbenchError, match=message) as e:
        C.load_claims(p)
    assert "\n" not in str(e.value)


def test_duplicate_ids_and_bad_yaml(tmp_path):
    data = yaml.safe_load(C.DEFAULT_CLAIMS.read_text())
    data["claims"].append(dict(data["claims"][0]))
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(GanbenchError, match="duplicate claim id"):
        C.load_claims(p)
    p.write_text("format: [unclosed")
    with pytest.raises(GanbenchError, match="invalid YAML"):
        C.load_claims(p)
    with pytest.raises(GanbenchError, match="not found"):
        C.load_claims(tmp_path / "none.yaml")


def test_no_spread_uses_exact_permutation_tests():
    """Constant differences have an infinite t statistic: the exact tests give 2/2^n (paired) and 2/C(n, k)."""
    t = I.paired_test([10.0, 11, 12, 13, 14], [14.0, 15, 16, 17, 18])
    assert t.p == pytest.approx(2 / 2 ** 5)  # 0.0625: five seeds cannot reach 0.05 on signs alone
    w = I.welch_test([1000.0] * 5, [3000.0] * 5)
    assert w.p == pytest.approx(2 / math.comb(10, 5))
    assert I.paired_test([1.0, 2, 3], [1.0, 2, 3]).p == 1.0
    rng = np.random.default_rng(5)
    d = rng.normal(1, 1, 6)
    assert I.sign_flip_p(d) == pytest.approx(np.mean([abs((s * d).mean()) >= abs(d.mean()) - 1e-12 for s in
                                                      (np.array(x) for x in __import__("itertools").product(
                                                          (1, -1), repeat=6))]))
