"""Rank intervals (ganbench.analysis.ranks): all pairs by Welch, Holm over all pairs, intervals from the significant
pairs, bold only for a model significantly better than every other one. Each test names the bug it was seen to catch
(planted once in ranks.py, watched fail, removed)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ganbench.analysis.ranks import rank_intervals
from ganbench.errors import GanbenchError

# docs/protocol.md's quick table: P2GAN 37.79 +- 43.07 from seeds that disagree, beside tight models
NOISY = [10.0, 12.0, 91.0]
TIGHT = [13.1, 13.3, 13.6]
BIGGAN = [11.5, 12.0, 12.4]
WORSE = [36.0, 41.0, 45.0]


def test_a_noisy_model_is_not_bold():
    # planted: bold = "best possible rank 1" (the old rank group A: not shown worse than the best) -> the noisy model
    # and the tight one are bold -> fails
    r = rank_intervals({"P2GAN": NOISY, "tight": TIGHT, "DCGAN": WORSE})
    assert r.bold == ()
    assert r.entry("P2GAN").interval == "1–3"  # not significantly different from anyone: every rank possible
    assert r.entry("tight").interval == "1–2"  # beats DCGAN, not the noisy model
    assert r.entry("DCGAN").interval == "2–3"
    assert not r.entry("tight").bold and not r.entry("P2GAN").bold


def test_clear_separation_bolds_the_best_in_either_direction():
    # planted: bold = "worst possible rank 1" computed with K - #better instead of K - #worse -> nobody bold -> fails
    vals = {"b": [5.0, 5.2, 4.9, 5.1], "a": [1.0, 1.1, 0.9, 1.05], "c": [9.0, 9.1, 8.8, 9.2]}
    low = rank_intervals(vals, higher=False)
    assert [e.interval for e in low.entries] == ["2", "1", "3"]
    assert low.bold == ("a",)
    high = rank_intervals(vals, higher=True)
    assert [e.interval for e in high.entries] == ["2", "3", "1"]
    assert high.bold == ("c",)


def test_holm_over_all_pairs_keeps_a_borderline_pair_unordered():
    # planted: significance from the raw p instead of Holm's -> BigGAN's interval 1-2 and tight's 2-3 -> fails
    vals = {"BigGAN": BIGGAN, "tight": TIGHT, "DCGAN": WORSE, "P2GAN": NOISY}  # 6 pairs
    names = list(vals)
    pairs = list(itertools.combinations(names, 2))
    raw = [stats.ttest_ind(vals[a], vals[b], equal_var=False).pvalue for a, b in pairs]
    adj = multipletests(raw, method="holm")[1]
    k = pairs.index(("BigGAN", "tight"))
    assert raw[k] < 0.05 < adj[k]  # the data are borderline: significant only without the correction
    r = rank_intervals(vals)
    assert r.entry("BigGAN").interval == "1–3" and r.entry("tight").interval == "1–3"
    assert r.entry("DCGAN").interval == "3–4" and r.entry("P2GAN").interval == "1–4" and r.bold == ()
    for (a, b), p, pa in zip(pairs, raw, adj):
        i, j = names.index(a), names.index(b)
        assert r.p_raw[i, j] == r.p_raw[j, i] == pytest.approx(p, rel=1e-12)
        assert r.p_adj[i, j] == r.p_adj[j, i] == pytest.approx(pa, rel=1e-12)
        assert r.diff[i, j] == pytest.approx(np.mean(vals[a]) - np.mean(vals[b]), rel=1e-12)
        assert r.diff[j, i] == pytest.approx(-r.diff[i, j], rel=1e-12)
    assert np.isnan(np.diag(r.p_raw)).all() and np.isnan(np.diag(r.diff)).all()


def test_a_pair_without_spread_gets_the_exact_permutation_test():
    # planted: Welch on constant values (p NaN -> 1.0, or 0 for an infinite t) -> p != 2/20 -> fails
    r = rank_intervals({"x": [1.0, 1.0, 1.0], "y": [2.0, 2.0, 2.0]})
    # the only splits of the six pooled values as extreme as the observed one: it and its mirror, 2 of C(6, 3) = 20
    assert r.p_raw[0, 1] == pytest.approx(2 / 20, abs=1e-15)
    assert r.test[0, 1] == "permutation"
    assert [e.interval for e in r.entries] == ["1–2", "1–2"]  # p 0.1: not separated
    r = rank_intervals({"x": [1.0, 1.0, 1.0, 1.0], "y": [2.0, 2.0, 2.0, 2.0]})
    assert r.p_raw[0, 1] == pytest.approx(2 / 70, abs=1e-15) and r.bold == ("x",)
    assert rank_intervals({"x": [1.0, 1.2, 0.9], "y": [2.0, 2.0, 2.0]}).test[0, 1] == "Welch t"  # one has spread


def test_models_with_one_seed_are_not_ranked_and_block_a_bold_they_match():
    # planted: a one-seed model counted in K (its interval "1" and the others shifted) -> fails
    vals = {"a": [1.0, 1.1, 0.9], "b": [5.0, 5.2, 4.9], "solo": [3.0]}
    r = rank_intervals(vals)
    assert r.entry("solo").interval == "—" and r.entry("solo").best is None
    assert r.entry("a").interval == "1" and r.entry("b").interval == "2" and r.bold == ("a",)
    assert "Not ranked (—): solo" in r.caption and "2 ranked models" in r.caption
    assert np.isnan(r.p_raw[2]).all()
    # planted: one-seed models ignored for the bold -> "a" bold beside an untested model with a better mean -> fails
    r = rank_intervals({**vals, "solo": [0.5]})
    assert r.entry("a").interval == "1" and r.bold == ()


def test_rule_text_and_bad_input():
    r = rank_intervals({"a": [1.0, 1.1, 0.9], "b": [5.0, 5.2, 4.9], "c": [2.0, 2.1]})
    assert len(r.rules) == 4 and r.alpha == 0.05
    assert "Welch" in r.rules[0] and "Holm" in r.rules[1] and "all 3 pairs" in r.rules[1]
    assert "3 - the number significantly worse" in r.rules[2] and r.rules[3].startswith("Bold:")
    with pytest.raises(GanbenchError):
        rank_intervals({"a": [1.0, float("nan")], "b": [1.0, 2.0]})
