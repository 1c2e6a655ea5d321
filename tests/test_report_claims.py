"""The report's Claims and "Budget and power" sections, `ganbench claims` / `ganbench budget`, and one sample grid per
arm, on a tiny synthetic results tree whose answers are known."""
from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from claims_fixture import write_run
from ganbench.analysis import claims as C
from ganbench.report import build_report
from ganbench.analysis.groups import groups
from ganbench.results import load
from ganbench.analysis.budget import budget_rows, pooled_sd
from ganbench.analysis.sample_size import detectable_effect

IMAGES = [0, 1000, 2000, 3000, 4000]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Suite "ref": dcgan, sagan, biggan with 5 seeds, indistinguishable at 1 kimg and 10 FD apart from 3 kimg on
    (every pair separated after Holm from 2 kimg); sagan's no_attn is 4 ± 0.3 worse than its default on every seed
    (paired)."""
    root = tmp_path_factory.mktemp("rc") / "results"
    rng = np.random.default_rng(0)
    for s in range(5):
        for m, gap in (("dcgan", 20.0), ("sagan", 10.0), ("biggan", 0.0)):
            noise = [rng.standard_normal() for _ in IMAGES]
            curve = [200.0, 60 + 5 * noise[1], 40 + gap / 2 + noise[2], 30 + gap + noise[3], 20 + gap + noise[4]]
            write_run(root, "ref", m, "default", s, IMAGES, curve, sample=True)
            if m == "sagan":
                d = 4 + 0.3 * rng.standard_normal()
                write_run(root, "ref", m, "no_attn", s, IMAGES, [v + d if i else v for i, v in enumerate(curve)],
                          sample=True)
    return root


def test_pooled_sd():
    assert pooled_sd({"a": [1.0, 3.0], "b": [2.0, 2.0, 2.0]}) == pytest.approx(np.sqrt(2.0 / 3))
    assert np.isnan(pooled_sd({"a": [1.0], "b": [2.0]}))


def test_budget_rows_are_exploratory_and_use_the_one_mde(tree):
    # planted: the MDE by the old approximation (t(0.975) + t(0.8)) * SD * sqrt(2/n) instead of
    # sample_size.detectable_effect (analysis/budget.py) -> 2.117 instead of 2.121 at n = 5 -> fails
    (g,) = groups(load(tree))
    rows = budget_rows(g)
    assert [r.images for r in rows] == [1000, 2000, 3000, 4000]
    assert all(r.seeds == 5 and r.k == 3 and r.pairs == 3 for r in rows)
    # seed SD pooled over the models (not the spread of all values, which holds the models' gaps), and its MDE
    rows_at = g.rows[(g.rows["images_seen"] == 4000) & (g.rows["variant"] == "default")]
    var = rows_at.groupby("model")["value"].var(ddof=1)
    assert rows[-1].sd == pytest.approx(float(np.sqrt(var.mean())), rel=1e-12)
    want = detectable_effect(float(np.sqrt(var.mean())), 5, paired=False)
    assert rows[-1].mde.mde == pytest.approx(want.mde, rel=1e-9) and rows[-1].mde.df == 8
    # pairs separated after Holm over the 3 pairs, from the models' values at each budget
    for r in rows:
        at = g.rows[(g.rows["images_seen"] == r.images) & (g.rows["variant"] == "default")] \
            .groupby("model")["value"].apply(list).to_dict()
        names = sorted(at)
        raw = [stats.ttest_ind(at[a], at[b], equal_var=False).pvalue
               for i, a in enumerate(names) for b in names[i + 1:]]
        assert r.separated == int(np.sum(multipletests(raw, method="holm")[1] < 0.05))
    assert [r.separated for r in rows] == [0, 3, 3, 3]  # indistinguishable at 1 kimg, 5-10 apart from 2 kimg on


def test_report_has_claims_power_and_one_grid_per_arm(tree, tmp_path):
    claim = C.Claim("attn", "attention helps", "SAGAN, Table 1", C.Arm("sagan"), C.Arm("sagan", "no_attn"),
                    "fd_domain2k_train")
    absent = C.Claim("lz", "L_z helps", "P2GAN", C.Arm("p2gan"), C.Arm("p2gan", "no_lz"), "fd_domain2k_train")
    out = tmp_path / "report"
    written = build_report(tree, out, ["md", "latex", "html"], published=None, claims=[claim, absent], samples="arm",
                           validation=lambda e: None, tuning=lambda: None)
    md = written["md"].read_text()
    assert "## Claims" in md and "## Budget and power" in md
    row = next(line for line in md.splitlines() if line.startswith("| attn |"))
    assert "paired t, 5" in row and "| reproduced |" in row.replace("**", "")
    mean, lo, hi = (float(x) for x in re.search(r"\| paired t, 5 \| (\S+) \| \[(\S+), (\S+)\] \(t\);", row).groups())
    assert lo < mean < hi and lo < -4 < hi and hi - lo < 1.5
    assert "Not tested here: lz (no runs of p2gan and p2gan/no_lz)" in md
    assert "Power (exploratory), suite ref, fd_domain2k_train at 4.00 kimg: with 5 complete seeds" in md
    assert "chosen" not in md.lower().split("## claims")[0].split("## budget and power")[1]
    # every number names what made it: the Claims and Budget captions carry dataset, resolution, extractor, samples
    captions = [ln for ln in md.splitlines() if ln.startswith("*Table") and
                ("claims" in ln or "Exploratory: a budget for a confirmatory run is fixed" in ln)]
    assert len(captions) == 2
    for caption in captions:
        assert "32×32" in caption and "generated vs" in caption and "fmnist-cnn" in caption and "device" in caption, \
            caption
    grids = sorted(p.name for p in (out / "samples").glob("*.png"))
    assert len(grids) == 4 and all("-s0-" in n for n in grids)  # one per arm (4 arms), its first seed
    assert "Claims of the seed papers" in written["latex"].read_text()
    assert "Claims of the seed papers" in written["html"].read_text()


def test_claims_and_budget_commands(cli, tree, tmp_path):
    r = cli("claims", str(tree))
    assert r.returncode == 0, r.stderr
    assert "sagan-attention-helps" in r.stdout and "Not tested here" in r.stdout
    r = cli("budget", str(tree))
    assert r.returncode == 0, r.stderr
    assert "Pairs separated (Holm)" in r.stdout and "Power (exploratory), suite ref" in r.stdout
    assert "Exploratory: a budget for a confirmatory run is fixed in its plan before the runs" in r.stdout
    assert "chosen" not in r.stdout.lower()
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: nope\n")
    r = cli("claims", str(tree), "--claims", str(bad))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "ganbench-claims/1" in r.stderr
