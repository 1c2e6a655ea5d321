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
    a = [C._at(c, o.budget) for c in C._arm_runs(_group(tree), C.Arm("lrm_gan"), "fd_domain2k_train").curves.values()]
    b = [C._at(c, o.budget) for c in C._arm_runs(_group(tree), C.Arm("lrm_gan", "no_meta"),
                                                 "fd_domain2k_train").curves.values()]
    assert stats.ttest_ind(a, b, equal_var=False).pvalue > 0.05


def _group(root):
    from ganbench.analysis.groups import groups
    from ganbench.results import load
    return groups(load(root))[0]


def test_holm_over_all_claims_by_hand(tree):
    out = [o for o in C.evaluate(tree, CLAIMS) if o.test is not None]
    assert len(out) == 4  # planted, null, opposite, two-seeds (one-seed and absent have no test)
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
    assert t.mde == pytest.approx((stats.t.ppf(0.975, 5) + stats.t.ppf(0.8, 5)) * d.std(ddof=1) / math.sqrt(6))
    assert t.boot_ci[0] < d.mean() < t.boot_ci[1]
    w = I.welch_test(a, b[:4])
    assert w.p == pytest.approx(stats.ttest_ind(a, b[:4], equal_var=False).pvalue)
    assert w.diff == pytest.approx(a.mean() - b[:4].mean())


def test_mde_has_the_planned_power():
    """A true difference equal to the MDE is detected about 80% of the time (simulation, two-sample t)."""
    n, sd = 5, 2.0
    mde = I.mde_two_sample(sd, n)
    rng = np.random.default_rng(0)
    hits = np.mean([stats.ttest_ind(rng.normal(0, sd, n), rng.normal(mde, sd, n)).pvalue < 0.05
                    for _ in range(4000)])
    assert 0.76 < hits < 0.84


def test_images_to_threshold_and_censoring(tmp_path):
    root = tmp_path / "results"
    # projected_gan reaches FD 50 at 1000 images on every seed; stylegan2 at 3000, or never (censored at 4000)
    for s in SEEDS:
        write_run(root, "ref", "projected_gan", "default", s, IMAGES, [200, 45 - s, 30, 25, 20])
        sg = [200, 150, 100, 48, 40] if s < 3 else [200, 150, 100, 90, 80]
        write_run(root, "ref", "stylegan2", "default", s, IMAGES, sg)
    claim = _claim("faster", "projected_gan/default", "stylegan2/default", "images_to_threshold", 50.0)
    (o,) = C.evaluate(root, [claim])
    assert o.test.kind == "Welch t" and o.threshold == 50.0 and o.censored == (0, 2)
    assert o.test.diff == pytest.approx(1000 - (3 * 3000 + 2 * 4000) / 5)
    assert o.verdict == C.REPRODUCED
    # the pooled-median rule: the median of the 10 final values
    (m,) = C.evaluate(root, [_claim("m", "projected_gan/default", "stylegan2/default", "images_to_threshold",
                                    "pooled_median")])
    assert m.threshold == pytest.approx(float(np.median([20] * 5 + [40] * 3 + [80] * 2)))


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
