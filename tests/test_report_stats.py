"""Report statistics and readability: rank groups from Welch's t-test with Holm correction (and the planted bugs
they guard against: no correction, pooled variance), the one-seed sentence, thresholds that must beat the value at
initialisation, the Deviations section, no empty efficiency table, the leakage mark and the metric-validation line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from test_report_fixture import FD, _eff, _effv, _run, write_published

from ganbench.report import build_report
from ganbench.analysis.inference import holm
from ganbench.analysis.ranking import rank

SEEDS3 = {"dcgan": [(100.0, 30.0, 10.0), (101.0, 31.0, 10.5), (99.0, 29.0, 9.5)],  # best
          "sagan": [(100.0, 30.0, 10.3), (101.0, 31.0, 10.8), (99.0, 29.0, 9.9)],  # within noise of the best
          "biggan": [(100.0, 40.0, 30.0), (101.0, 41.0, 31.0), (99.0, 39.0, 29.0)]}  # far worse


def test_holm_matches_hand_computation():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, 2*0.03, max(0.06, 1*0.04); capped at 1
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([0.02]) == [0.02]


def test_groups_far_and_within_noise():
    r = rank([[10.0, 10.5, 9.5], [10.3, 10.8, 9.9], [30.0, 31.0, 29.0]], higher=False)
    assert r.claimed and r.groups == ["A", "A", "B"] and r.bold == {0, 1}
    r = rank([[0.9, 0.91, 0.89], [0.5, 0.52, 0.48]], higher=True)  # direction from the preset
    assert r.groups == ["A", "B"] and r.bold == {0}


def test_holm_is_applied():
    """Raw Welch p = 0.035 and 0.042 against the best: significant alone, not after Holm (0.070, 0.070)."""
    best, m2, m3 = [10, 10.1, 9.9], [11.95, 12.95, 13.95], [11.7, 12.7, 13.7]
    r = rank([best, m2, m3], higher=False)
    assert r.groups == ["A", "A", "A"] and r.bold == set()
    assert r.pvalues[1] == pytest.approx(0.0702, abs=1e-3) and r.pvalues[2] == pytest.approx(0.0702, abs=1e-3)


def test_welch_not_pooled_variance():
    """Unequal spreads: Welch p = 0.072 (df ~2), a pooled-variance t-test would give 0.025 (df 4)."""
    r = rank([[10, 10.1, 9.9], [12.05, 14.05, 16.05]], higher=False)
    assert r.groups == ["A", "A"] and r.bold == set() and r.pvalues[1] == pytest.approx(0.0722, abs=1e-3)


def test_single_seed_models_are_not_ranked():
    r = rank([[10.0], [20.0]], higher=False)
    assert not r.claimed and r.bold == set()
    r = rank([[5.0], [10.0, 10.5, 9.5], [30.0, 31.0, 29.0]], higher=False)  # the one-seed model looks best
    assert r.groups == ["n=1", "A", "B"] and r.bold == set()


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


def test_report_groups_bold_and_caption(tmp_path):
    md = _md(tmp_path)
    t = _table(md, "Main results, suite stat")
    assert "| dcgan | complete | 0, 1, 2 | 2.05 | **10.00 ± 1.24 (A)** |" in t
    assert "| sagan [2] | complete | 0, 1, 2 | 2.05 | **10.33 ± 1.12 (A)** |" in t
    assert "| biggan | complete | 0, 1, 2 | 2.05 | 30.00 ± 2.48 (B) |" in t
    assert "Welch's t-test" in t and "Holm" in t and "alpha 0.05" in t


def test_one_seed_says_no_ranking(tmp_path):
    md = _md(tmp_path)
    t = _table(md, "LRM GAN [1] ‡ ablation, suite one")
    rows = [line for line in t.splitlines() if line.startswith("| ")]
    assert "no ranking is claimed and nothing is bold" in t and "**" not in t
    assert len(rows) == 3 and not any("(A)" in r or "(B)" in r for r in rows)


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
