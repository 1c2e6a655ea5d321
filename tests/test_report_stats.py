"""Report statistics and readability: rank intervals in every table that ranks (all pairs by Welch, Holm over all
pairs; bold only a model significantly better than every other), the pairwise p-value heatmap, stability next to
quality, copy rates as unranked checks, the paired Δ of the ablation table; and the one-seed sentence, thresholds that
must beat the value at initialisation, the Deviations section, no empty efficiency table, the leakage mark and the
metric-validation line. Each statistics test names the bug it was seen to catch (planted once, watched fail,
removed)."""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats
from statsmodels.stats.multitest import multipletests

from claims_fixture import write_run
from test_report_fixture import FD, _eff, _effv, _run, write_published

from ganbench import results
from ganbench.report import build_report

SEEDS3 = {"dcgan": [(100.0, 30.0, 10.0), (101.0, 31.0, 10.5), (99.0, 29.0, 9.5)],  # best
          "sagan": [(100.0, 30.0, 10.3), (101.0, 31.0, 10.8), (99.0, 29.0, 9.9)],  # within noise of the best
          "biggan": [(100.0, 40.0, 30.0), (101.0, 41.0, 31.0), (99.0, 39.0, 29.0)]}  # far worse
IMAGES = [0, 1000, 2000, 3000, 4000, 5000]
COPY = {"protocol": "copy_domain2k_train", "metric": "copy_rate_domain", "extractor": "fmnist-cnn",
        "n_samples": 2000, "n_real": 60000, "split": "train", "higher_is_better": False}


def _finals_tree(root: Path, suite: str, finals: dict[str, list[float]]) -> Path:
    """One run per (model, seed) whose last value is the given final (a curve 60 -> 2 x final -> final)."""
    for model, vals in finals.items():
        for s, v in enumerate(vals):
            write_run(root, suite, model, "default", s, [0, 1000, 2000], [60.0, 2 * v, v], sample=False)
    return root


def _report(root: Path, out: Path, plots: bool = False) -> str:
    w = build_report(root, out, ["md", "latex", "html"], published=None, plots=plots, validation=lambda e: None,
                     tuning=lambda: None, claims=[])
    md = w["md"].read_text()
    assert md.count("### Table") == w["latex"].read_text().count(r"\begin{table}") == w["html"].read_text().count(
        "<table>")
    return md


def _rows(md: str, title: str) -> dict[str, list[str]]:
    """{model (first cell without its marks): cells} of the table titled ``title`` (cells stripped, bold kept as
    **x**)."""
    t = _table(md, title)
    lines = [ln for ln in t.splitlines() if ln.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    out = {"_head": head}
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.strip("|").split(" | ")]
        out[cells[0].split()[0]] = cells
    return out


# docs/protocol.md's quick table (`make run`): P2GAN 37.79 +- 43.07 from seeds that disagree, beside a tight BigGAN
MAKE_RUN = {"biggan": [13.1, 13.3, 13.6], "dcgan": [43.9, 46.4, 48.9], "lrm_gan": [30.1, 38.4, 43.5],
            "p2gan": [10.0, 12.0, 91.0]}
SEPARATED = {"biggan": [13.1, 13.3, 13.6], "dcgan": [45.0, 46.1, 46.4], "lrm_gan": [30.2, 30.8, 31.1],
             "sagan": [20.1, 20.5, 20.9]}


def test_make_run_case_does_not_bold_the_noisy_model(tmp_path):
    # planted: bold = "best possible rank 1" (the old group A: not significantly worse than the best) in
    # report/tables/main.py -> p2gan (37.67 ± 202), biggan and lrm_gan bold -> fails
    md = _report(_finals_tree(tmp_path / "r", "quick", MAKE_RUN), tmp_path / "out")
    rows = _rows(md, "Main results, suite quick")
    head = rows["_head"]
    rank, val = head.index("Rank"), head.index("fd_domain2k_train ↓")
    assert {m: rows[m][rank] for m in MAKE_RUN} == {"biggan": "1–3", "dcgan": "2–4", "lrm_gan": "1–4",
                                                    "p2gan": "1–4"}
    assert "**" not in _table(md, "Main results, suite quick").split("*Table")[0]  # nothing bold
    assert rows["p2gan"][val].startswith("37.67 ± ")
    cap = _table(md, "Main results, suite quick")
    assert "Holm's step-down over all 6 pairs of the 4 ranked models" in cap and "equal_var=False" in cap
    assert "Bold: a model significantly better than every other ranked model" in cap
    assert "(A)" not in md and "rank group" not in md.lower()


def test_a_clearly_separated_best_is_bold(tmp_path):
    # planted: the main table's ranks computed with the metric's direction flipped (higher=not mk.higher) in
    # report/tables/main.py -> dcgan bold with rank 1 -> fails
    md = _report(_finals_tree(tmp_path / "r", "sep", SEPARATED), tmp_path / "out")
    rows = _rows(md, "Main results, suite sep")
    rank, val = rows["_head"].index("Rank"), rows["_head"].index("fd_domain2k_train ↓")
    assert [rows[m][rank] for m in ("biggan", "sagan", "lrm_gan", "dcgan")] == ["**1**", "2", "3", "4"]
    assert rows["biggan"][val].startswith("**13.33 ± ") and not rows["sagan"][val].startswith("**")
    # the convergence table ranks the per-seed best values the same way
    conv = _rows(md, "Convergence, suite sep")
    assert conv["biggan"][conv["_head"].index("Rank")] == "**1**"


def test_pvalue_heatmap_draws_the_holm_adjusted_matrix(tmp_path, monkeypatch):
    # planted: the heatmap drawn from RankIntervals.p_raw instead of p_adj (report/plots.py) -> the matrix differs
    # -> fails
    import seaborn as sns

    drawn = []
    real = sns.heatmap

    def spy(data, *a, **kw):
        drawn.append((np.array(data, float), kw.get("annot"), list(kw.get("xticklabels"))))
        return real(data, *a, **kw)

    monkeypatch.setattr(sns, "heatmap", spy)
    out = tmp_path / "out"
    md = _report(_finals_tree(tmp_path / "r", "quick", MAKE_RUN), out, plots=True)
    names = sorted(MAKE_RUN)
    pairs = list(itertools.combinations(range(4), 2))
    raw = [stats.ttest_ind(MAKE_RUN[names[i]], MAKE_RUN[names[j]], equal_var=False).pvalue for i, j in pairs]
    want = np.full((4, 4), np.nan)
    for (i, j), pa in zip(pairs, multipletests(raw, method="holm")[1]):
        want[i, j] = want[j, i] = pa
    ((data, annot, labels),) = drawn
    assert labels == names
    np.testing.assert_allclose(data, want, rtol=1e-9)
    assert annot[1, 3] == f"{want[1, 3]:.2g}" and annot[0, 0] == ""
    png = out / "figures" / "quick-fd_domain2k_train-fd_domain-pvalues.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    cap = next(ln for ln in md.splitlines() if ln.startswith("*Figure") and "Holm-adjusted two-sided p" in ln)
    for text in ("Welch t-test", "Holm's step-down over all 6 pairs", "fd_domain2k_train = fd_domain (fmnist-cnn",
                 "images seen: 2.00 kimg", "Seeds: the complete ones of 0, 1, 2", "fashion-mnist (train split",
                 "extractor fmnist-cnn", "device: cpu: Test CPU"):
        assert text in cap, text


def _stability_tree(root: Path) -> Path:
    # projected_gan: seed 0 touches 10.5 and ends at 38 (collapsed; 38 < 1.5 x its first value 30), seed 1 bounces
    # from 11.6 to 44 and recovers, seed 2 descends; dcgan descends on every seed
    curves = {"projected_gan": [[60, 30, 12, 10.5, 40, 38], [60, 25, 11.6, 44, 12, 11], [60, 28, 12, 11, 10.8, 10]],
              "dcgan": [[60, 30, 20, 15, 12, 11.0], [60, 31, 21, 16, 12.5, 11.5], [60, 29, 19, 14, 11.5, 10.5]]}
    for model, cs in curves.items():
        for s, c in enumerate(cs):
            write_run(root, "stab", model, "default", s, IMAGES, [float(v) for v in c])
    return root


def test_stability_columns_flag_a_collapse_and_a_bounce(tmp_path):
    # planted: collapse compared with the run's first evaluation instead of its best (analysis/stability.py) ->
    # projected_gan's seed 0 (best 10.5, first 30, final 38) is not collapsed, 0/3 -> fails
    md = _report(_stability_tree(tmp_path / "r"), tmp_path / "out")
    rows = _rows(md, "Main results, suite stab")
    h = rows["_head"]
    cells = {m: {k: rows[m][h.index(k)] for k in ("Best", "Collapsed", "Bounced", "Diverged")}
             for m in ("projected_gan", "dcgan")}
    bests = [10.5, 11.0, 10.0]
    half = stats.t.ppf(0.975, 2) * np.std(bests, ddof=1) / np.sqrt(3)
    assert cells["projected_gan"] == {"Best": f"10.50 ± {half:.2f}", "Collapsed": "1/3", "Bounced": "2/3",
                                      "Diverged": "0/3"}
    assert cells["dcgan"]["Collapsed"] == "0/3" and cells["dcgan"]["Bounced"] == "0/3"
    t = _table(md, "Main results, suite stab")
    assert ("projected_gan (seed 0: 10.50 at 3.00 kimg → 40.00 at 4.00 kimg, final 38.00 (collapsed); seed 1: "
            "11.60 at 2.00 kimg → 44.00 at 3.00 kimg, final 11.00)") in t
    assert "final > 1.5 x best" in t and "Bounced: at some evaluation" in t


def _add_rows(run_dir: Path, meta: dict, images, values) -> None:
    """Append rows of another metric protocol to a run's metrics.csv."""
    old = pd.read_csv(run_dir / "metrics.csv").to_dict("records")
    base = {k: v for k, v in old[0].items() if k not in ("images_seen", "wall_s", "value", "std")}
    new = [{**base, **meta, "images_seen": i, "wall_s": i / 100, "value": v} for i, v in zip(images, values)]
    results.write_records(run_dir / "metrics.csv", old + new)


def test_copy_rate_is_shown_never_ranked_or_bold(tmp_path):
    # planted: copy_rate counted as a quality metric (MetricKey.is_check always False, analysis/groups.py) -> it gets
    # the FD's columns (value, Rank, Best, ...) instead of its Copy rate column -> fails
    root = tmp_path / "r"
    copies = {"dcgan": [0.010, 0.011, 0.012], "sagan": [0.30, 0.32, 0.31]}
    fds = {"dcgan": [20.0, 21.0, 22.0], "sagan": [20.5, 21.5, 20.0]}
    for m in copies:
        for s in range(3):
            d = write_run(root, "copy", m, "default", s, [0, 1000, 2000], [60.0, 2 * fds[m][s], fds[m][s]])
            _add_rows(d, COPY, [1000, 2000], [0.5, copies[m][s]])
    md = _report(root, tmp_path / "out")
    rows = _rows(md, "Main results, suite copy")
    h = rows["_head"]
    col = h.index("Copy rate (copy_domain2k_train)")
    half = stats.t.ppf(0.975, 2) * np.std(copies["dcgan"], ddof=1) / np.sqrt(3)
    assert rows["dcgan"][col] == f"0.0110 ± {half:.4f}" and rows["sagan"][col].startswith("0.3100 ± ")
    assert [c for c in h if c.startswith("Rank")] == ["Rank"]  # the FD's only
    assert "**" not in _table(md, "Main results, suite copy").split("*Table")[0]
    assert "never ranked and never bold" in _table(md, "Main results, suite copy")
    assert "Convergence, suite copy, copy_domain2k_train" not in md
    assert "Convergence, suite copy, fd_domain2k_train" in md
    # without copy rows nothing changes: no such column
    md2 = _report(_finals_tree(tmp_path / "r2", "quick", MAKE_RUN), tmp_path / "out2")
    assert "Copy rate" not in md2


def test_ablation_delta_is_paired_on_the_common_seeds(tmp_path):
    # planted: Δ = variant mean minus the mean of all default seeds in report/tables/ablation.py (the 5-seed
    # TransGAN ablations against the 10-seed default) -> -6.67 instead of +1.33 -> fails
    root = tmp_path / "r"
    default = [10.0, 12.0, 14.0, 30.0, 34.0]
    variant = [11.0, 13.5, 15.5]  # seeds 0-2 only
    for s, v in enumerate(default):
        write_run(root, "abl", "sagan", "default", s, [0, 1000, 2000], [60.0, 2 * v, v])
    for s, v in enumerate(variant):
        write_run(root, "abl", "sagan", "no_attn", s, [0, 1000, 2000], [60.0, 2 * v, v])
    md = _report(root, tmp_path / "out")
    rows = _rows(md, "Ablation of sagan, suite abl")
    col = rows["_head"].index("Δ fd_domain2k_train (paired)")
    d = np.subtract(variant, default[:3])
    half = stats.t.ppf(0.975, 2) * np.std(d, ddof=1) / np.sqrt(3)
    assert rows["no_attn"][col] == f"+{d.mean():.2f} ± {half:.2f} (3 pairs)"
    assert rows["default"][col] == "—"
    assert "paired by seed" in _table(md, "Ablation of sagan, suite abl")
    assert "seeds only one arm ran are left out" in _table(md, "Ablation of sagan, suite abl")


def _results(root: Path, with_eff: bool = False, sample_split: str | None = None) -> Path:
    for model, seeds in SEEDS3.items():
        for s, vals in enumerate(seeds):
            _run(root, "stat", model, "default", s, {tuple(FD.items()): vals},
                 deviations="- Widths halved.\n- No EMA." if model == "sagan" else "")
    for s, vals in enumerate([(30.0, 40.0, 35.0), (30.5, 41.0, 36.0), (29.5, 39.0, 34.0)]):  # worse than at init
        _run(root, "stat", "lrm_gan", "default", s, {tuple(FD.items()): vals}, deviations="Lite0 meta-data.")
    for v, vals in {"default": (100.0, 20.0, 12.0), "no_meta": (100.0, 25.0, 14.0)}.items():  # one seed each
        _run(root, "one", "lrm_gan", v, 0, {tuple(FD.items()): vals}, deviations="Lite0 meta-data.",
             model_config={"use_meta": v != "no_meta"})
    if sample_split:
        for cfg in root.glob("*/lrm_gan-*/config.yaml"):
            c = yaml.safe_load(cfg.read_text())
            cfg.write_text(yaml.safe_dump({**c, "sample_split": sample_split}, sort_keys=False))
    if with_eff:
        _eff(root, "dcgan", "tiny", "default", _effv(305923, 184369))
    return root


def _md(tmp_path, validation=lambda e: None, **kw) -> str:
    root = _results(tmp_path / "results", **{k: kw.pop(k) for k in ("with_eff", "sample_split") if k in kw})
    kw.setdefault("published", None)
    w = build_report(root, tmp_path / "out", ["md", "latex", "html"], plots=False, validation=validation, **kw)
    tex, html = w["latex"].read_text(), w["html"].read_text()
    md = w["md"].read_text()
    assert md.count("### Table") == tex.count(r"\begin{table}") == html.count("<table>")  # formats in sync
    return md


def _table(md: str, title: str) -> str:
    start = md.index(title)
    return md[start:md.index("### Table", start + 1) if "### Table" in md[start + 1:] else len(md)]


def test_report_rank_intervals_and_caption(tmp_path):
    md = _md(tmp_path)
    t = _table(md, "Main results, suite stat")
    # dcgan and sagan within noise: both 1-2; biggan 3; nobody significantly better than every other: nothing bold
    assert re.search(r"\| dcgan \| complete \| 0, 1, 2 \| 2\.05 \| 10\.00 ± 1\.24 \| 1–2 \|", t)
    assert re.search(r"\| sagan \[2\] \| complete \| 0, 1, 2 \| 2\.05 \| 10\.33 ± 1\.12 \| 1–2 \|", t)
    assert re.search(r"\| biggan \| complete \| 0, 1, 2 \| 2\.05 \| 30\.00 ± 2\.48 \| 3 \|", t)
    assert "**" not in t.split("*Table")[0]
    assert "Welch t-test" in t and "Holm" in t and "adjusted p < 0.05" in t
    # lrm_gan ends worse than at init (30 -> 40 -> 35): its best is 35, not the value at initialisation
    assert re.search(r"\| lrm_gan \[1\] ‡ \| complete \| 0, 1, 2 \| 2\.05 \| 35\.00 ± 2\.48 \| 4 \| "
                     r"35\.00 ± 2\.48 \| 0/3 \| 0/3 \| 0/3 \|", t)


def test_one_seed_says_no_ranking(tmp_path):
    md = _md(tmp_path)
    t = _table(md, "LRM GAN [1] ‡ ablation, suite one")
    rows = [line for line in t.splitlines() if line.startswith("| ")]
    assert "Rank: none claimed" in t and "nothing is bold" in t and "**" not in t
    assert len(rows) == 3 and "Rank" not in rows[0]


def test_threshold_must_beat_init(tmp_path):
    md = _md(tmp_path, thresholds={"fd_domain2k_train": [32.0, 11.0]})
    t = _table(md, "Convergence, suite stat")
    row = next(line for line in t.splitlines() if line.startswith("| lrm_gan"))
    assert row.count("— (init)") == 2 and row.endswith("| not reached | not reached |")  # 32 >= 30 at init
    dc = next(line for line in t.splitlines() if line.startswith("| dcgan"))
    assert "— (init)" not in dc and "| 2.05 ± 0.00 | 20.0 ± 0.0 |" in dc
    assert "lrm_gan [1] ‡ (T = 32.00; at 0 images: 30.00/30.50/29.50)" in t


def test_deviations_once_in_their_section(tmp_path):
    md = _md(tmp_path)
    sec = md[md.index("## Deviations"):]
    assert "[1] lrm_gan: Lite0 meta-data." in sec and "[2] sagan: Widths halved. • No EMA." in sec
    assert md.count("Widths halved") == 1 and md.count("Lite0 meta-data") == 1
    assert "| sagan [2] |" in md and "[2] sagan: deviations from the paper/official code" in md


def test_no_empty_efficiency_table(tmp_path):
    md = _md(tmp_path)
    assert "Efficiency, default variants" not in md and "IT (s)" not in md
    sec = md[md.index("## Efficiency"):]
    assert sec.splitlines()[2].startswith("Efficiency (parameters, FLOPs, time to generate images) was not measured")
    assert "`ganbench run --suite efficiency`" in sec.splitlines()[2]
    assert "Parameter counts, paper vs ours" not in md and "Paper vs ours" not in md  # published=None
    md1 = _md(tmp_path / "pub", published=write_published(tmp_path / "published.yaml"))
    assert "Parameter counts, paper vs ours" not in md1 and "Published results vs ours" in md1
    assert "Parameter counts next to the published ones need the efficiency suite: run `ganbench run --suite " \
           "efficiency`." in md1
    md2 = _md(tmp_path / "eff", with_eff=True)
    assert ": Efficiency, default variants" in md2 and "was not measured" not in md2


def test_leakage_mark(tmp_path):
    md = _md(tmp_path)
    for title in ("Main results, suite stat", "Convergence, suite stat", "LRM GAN [1] ‡ ablation"):
        assert "lrm_gan [1] ‡" in _table(md, title) or "‡ ablation" in title
    assert "‡ lrm_gan draws real images at sampling time" in md and "from an unknown split" in md
    assert "| dcgan ‡" not in md and "| dcgan |" in md
    md2 = _md(tmp_path / "split", sample_split="test")
    assert "from the test split:" in md2 and "unknown split" not in md2


def test_validation_line(tmp_path, monkeypatch):
    import ganbench.analysis.ladder as val

    monkeypatch.setattr(val, "WEIGHTS_DIR", tmp_path / "w")
    (tmp_path / "w").mkdir()
    md = _md(tmp_path / "a", validation=val.load_validation)
    assert "Metric validation: fmnist-cnn not validated (no `ganbench validate-metric` result); used by suites " \
           "one, stat." in md
    (tmp_path / "w" / "fmnist-cnn.validation.json").write_text(json.dumps(
        {"extractor": "fmnist-cnn", "passed": True, "families": {"blur": {"passed": True}},
         "command": "ganbench validate-metric fmnist-cnn", "date": "2026-11-30"}))
    from ganbench.analysis.ladder import load_validation
    md = _md(tmp_path / "b", validation=load_validation)
    assert "Metric validation: fmnist-cnn PASS (ladder of 2026-11-30, `ganbench validate-metric fmnist-cnn`)" in md
    (tmp_path / "w" / "fmnist-cnn.validation.json").write_text(json.dumps(
        {"extractor": "fmnist-cnn", "passed": False, "families": {"noise": {"passed": False}}, "date": "d"}))
    assert "fmnist-cnn FAIL (ladder of d; failed families: noise)" in _md(tmp_path / "c", validation=load_validation)
    (tmp_path / "w" / "fmnist-cnn.validation.json").write_text("{not json")
    assert "fmnist-cnn not validated (validation file unreadable" in _md(tmp_path / "d", validation=load_validation)


def test_copying_checks_count_flags_and_need_a_passed_ladder(tmp_path, monkeypatch):
    """C_T and the copy rate are columns (never ranked); the copy rate's cell counts the runs its exact test flagged;
    a check whose extractor's copy ladder did not pass it says so (planted: no ladder gate -> the cell is bare)."""
    import ganbench.analysis.copy_ladder as ladder

    root = tmp_path / "r"
    ct = {**COPY, "protocol": "ct_domain2k_train", "metric": "c_t_domain", "higher_is_better": True}
    flag = {**COPY, "metric": "copy_flagged_domain"}
    for m, (rate, c, f) in {"dcgan": ([0.04, 0.05, 0.06], [0.2, -0.1, 0.3], [0, 0, 0]),
                            "sagan": ([0.9, 1.0, 0.8], [-8.0, -9.0, -7.5], [1, 1, 0])}.items():
        for s in range(3):
            d = write_run(root, "copy", m, "default", s, [0, 1000, 2000], [60.0, 30.0 + s, 20.0 + s])
            _add_rows(d, COPY, [2000], [rate[s]])
            _add_rows(d, ct, [2000], [c[s]])
            _add_rows(d, flag, [2000], [float(f[s])])
    rows = _rows(_report(root, tmp_path / "a"), "Main results, suite copy")
    h = rows["_head"]
    assert "C_T (ct_domain2k_train)" in h and not any("copy_flagged" in c for c in h)
    assert rows["sagan"][h.index("Copy rate (copy_domain2k_train)")].endswith("flagged 2/3")
    assert rows["dcgan"][h.index("Copy rate (copy_domain2k_train)")].endswith("flagged 0/3")
    assert [c for c in h if c.startswith("Rank")] == ["Rank"]
    monkeypatch.setattr(ladder, "validated_copy_metrics", lambda ext: {"copy_rate"})
    rows = _rows(_report(root, tmp_path / "b"), "Main results, suite copy")
    assert rows["dcgan"][h.index("C_T (ct_domain2k_train)")].endswith("(not validated)")
    assert not rows["dcgan"][h.index("Copy rate (copy_domain2k_train)")].endswith("(not validated)")


def test_copy_rates_share_one_precision_and_the_flag_is_no_metric_of_its_own(tmp_path):
    """Copy rates move in steps of 1/n_samples, so every cell has the same decimals (planted: the mean's own
    precision gave '0.00 ± 0.00' beside '0.00002083 ± 0.00004310'); the flag rows are counted in the copy rate's cell,
    not described as a second copy_domain2k_train metric in the caption nor drawn as a curve."""
    root = tmp_path / "r"
    flag = {**COPY, "metric": "copy_flagged_domain"}
    for m, rate in {"dcgan": [0.0, 0.0, 0.0], "sagan": [0.0, 0.0005, 0.0]}.items():
        for s in range(3):
            d = write_run(root, "copy", m, "default", s, [0, 1000, 2000], [60.0, 30.0 + s, 20.0 + s])
            _add_rows(d, COPY, [1000, 2000], [rate[s], rate[s]])
            _add_rows(d, flag, [1000, 2000], [0.0, 0.0])
    md = _report(root, tmp_path / "a", plots=True)
    rows = _rows(md, "Main results, suite copy")
    col = rows["_head"].index("Copy rate (copy_domain2k_train)")
    assert rows["dcgan"][col] == "0.0000 ± 0.0000, flagged 0/3"
    assert rows["sagan"][col] == "0.0002 ± 0.0007, flagged 0/3"
    assert "= copy_flagged_domain" not in md and "copy_flagged_domain-params" not in md
    assert "= copy_rate_domain (fmnist-cnn features)" in md
