"""The report's Claims and "Budget and power" sections, `ganbench claims` / `ganbench budget`, and one sample grid per
arm, on a tiny synthetic results tree whose answers are known."""
from __future__ import annotations

import re

import numpy as np
import pytest

from claims_fixture import write_run
from ganbench.analysis import claims as C
from ganbench.analysis import inference as I
from ganbench.report import build_report
from ganbench.analysis.groups import groups
from ganbench.results import load
from ganbench.analysis.budget import budget_rows, choose, pooled_sd
from ganbench.analysis.ranking import rank_groups

IMAGES = [0, 1000, 2000, 3000, 4000]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Suite "ref": dcgan, sagan, biggan with 5 seeds, indistinguishable at 1 kimg and 10 FD apart from 3 kimg on
    (three rank groups from 2 kimg); sagan's no_attn is 4 ± 0.3 worse than its default on every seed (paired)."""
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


def test_rank_groups_stepwise():
    vals = {"a": [1.0, 1.1, 0.9, 1.0, 1.05], "b": [5.0, 5.1, 4.9, 5.0, 5.2], "c": [9.0, 9.2, 8.9, 9.1, 9.0],
            "c2": [9.1, 9.0, 9.2, 8.8, 9.1]}
    assert rank_groups(vals, higher=False) == [["a"], ["b"], ["c2", "c"]] or \
        rank_groups(vals, higher=False) == [["a"], ["b"], ["c", "c2"]]
    assert rank_groups(vals, higher=True)[0] in (["c", "c2"], ["c2", "c"])
    assert len(rank_groups({k: v[:1] for k, v in vals.items()}, higher=False)) == 0  # one seed: nothing ranked
    assert pooled_sd({"a": [1.0, 3.0], "b": [2.0, 2.0, 2.0]}) == pytest.approx(np.sqrt(2.0 / 3))


def test_budget_is_the_smallest_with_three_groups(tree):
    (g,) = groups(load(tree))
    rows = budget_rows(g)
    assert [r.images for r in rows] == [1000, 2000, 3000, 4000]
    assert rows[0].n_groups == 1 and rows[-1].n_groups == 3 and all(r.seeds == 5 for r in rows)
    pick = choose(rows)
    assert pick is not None and pick.images == min(r.images for r in rows if r.n_groups >= 3)
    # a separation that dissolves at a later evaluation does not count: the pick is where it holds from then on
    from ganbench.analysis.budget import BudgetRow
    flicker = [BudgetRow(1000.0 * k, 5, 1.0, 1.0, [["a"], ["b"], ["c"]] if k in (1, 3, 4) else [["a", "b", "c"]])
               for k in (1, 2, 3, 4)]
    assert choose(flicker).images == 3000
    assert choose(rows, min_seeds=6) is None
    # seed SD pooled over the models (not the spread of all values, which holds the models' gaps), and its MDE
    rows_at = g.rows[(g.rows["images_seen"] == 4000) & (g.rows["variant"] == "default")]
    var = rows_at.groupby("model")["value"].var(ddof=1)
    assert rows[-1].sd == pytest.approx(float(np.sqrt(var.mean())))
    assert rows[-1].mde == pytest.approx(I.mde_two_sample(float(np.sqrt(var.mean())), 5))


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
    assert "Power, suite ref, fd_domain2k_train at 4.00 kimg: with 5 complete seeds" in md
    assert "| **chosen** |" in md
    # every number names what made it: the Claims and Budget captions carry dataset, resolution, extractor, samples
    captions = [ln for ln in md.splitlines() if ln.startswith("*Table") and
                ("claims" in ln or "Budget by measurement" in ln)]
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
    assert "| **chosen** |" in r.stdout and "Power, suite ref" in r.stdout
    assert cli("budget", str(tree), "--min-seeds", "6").returncode == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: nope\n")
    r = cli("claims", str(tree), "--claims", str(bad))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "ganbench-claims/1" in r.stderr
