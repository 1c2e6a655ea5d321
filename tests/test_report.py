"""`ganbench report`: Markdown and LaTeX rendered from a small fixed results tree are compared exactly with the
golden files in tests/golden/ (regenerate deliberately with GANBENCH_UPDATE_GOLDEN=1 and review the diff); the
self-contained HTML page renders in headless Chromium with every table and image; baselines/published.yaml stays
consistent with the models' PaperRef counts."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from test_report_fixture import claims, make_results, tuning, validation, write_published

from ganbench.report import build_report

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
N_TABLES = 15  # in the fixture's report (the Tuning, Budget and power, and Claims tables included)
N_IMAGES = 28  # 12 plots + 2 p-value heatmaps + 1 threshold sensitivity figure + 13 sample grids


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    root = make_results(d / "results")
    out = d / "out"
    written = build_report(root, out, ["md", "latex", "html"], published=write_published(d / "published.yaml"),
                           validation=validation, tuning=tuning, claims=claims())
    return out, written


@pytest.mark.parametrize("fmt,name", [("md", "report.md"), ("latex", "report.tex")])
def test_golden(rendered, fmt, name):
    _, written = rendered
    text = written[fmt].read_text()
    golden = GOLDEN / name
    if os.environ.get("GANBENCH_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} differs from {golden} (GANBENCH_UPDATE_GOLDEN=1 regenerates it)"


def test_report_content(rendered):
    """What the golden file must show, stated explicitly."""
    out, written = rendered
    md = written["md"].read_text()
    # rank intervals (Welch + Holm over all pairs), direction from the preset (lower FD is better), mean ± 95%
    # t-interval over seeds (t(0.975, 1) = 12.706; std of (15, 16) = 0.707 -> 12.706 * 0.707 / sqrt(2) = 6.35);
    # then best value, collapsed and bounced seeds of the metric
    assert "| projected_gan [2] | complete | 0, 1 | 2.05 | **15.50 ± 6.35** | **1** | 15.50 ± 6.35 | 0/2 | 0/2 |" in md
    assert "| dcgan | complete | 0, 1 | 2.05 | 26.00 ± 12.71 | 2 | 26.00 ± 12.71 | 0/2 | 0/2 |" in md
    # a diverged seed is counted and left out of the values and the ranks (one complete seed: not ranked), its best
    # before diverging enters Best; a failed run is shown as failed
    assert "| biggan | 1 complete, 1 diverged at 1.02 kimg | 0, 1 | 2.05 | 35.00 | — | 47.50 ± 158.83 | 0/1 | 0/1 |" \
        in md and "| 1/2 | 0.300 |" in md
    assert re.search(r"\| transgan \| 1 failed \| 0 \| — \| failed \| — \| — \| — \| — \| failed \|", md)
    assert "Not ranked (—): biggan, transgan, with fewer than 2 seeds" in md
    assert "RuntimeError: out of memory" in md
    # the LRM ablation in the paper's shape, IT from the efficiency runs
    for label in ("| Ours | 20.00 | 1.20 |", "| w/o Meta |", "| w/o LRM |", "| w/ Residual |", "| w/ SA |"):
        assert label in md
    # shared backbone flagged, deviations noted, captions state dataset/extractor/samples/images/device
    assert "**5.50 ± 6.35 †** | **1** |" in md and "† projected_gan: the discriminator is built on" in md
    assert "[1] lrm_gan: Meta-data network" in md and md.count("Meta-data network is EfficientNet") == 1
    assert "Metric validation: fmnist-cnn PASS (ladder of 2026-01-01" in md
    assert "Metric validation: effnet-lite0 not validated" in md
    assert md.count("fashion-mnist (train split, 60,000 images), 32×32, 1 channel") >= 5
    assert "2,000 generated vs 60,000 train images" in md and "Device: cpu: Test CPU x2" in md
    # convergence: t-interval over 2 seeds (t(0.975, 1) = 12.706; std of (25, 27) = 1.414 -> 12.71)
    assert "26.00 ± 12.71" in md
    # paper vs ours: published value next to ours with the protocol differences
    assert "dataset CIFAR-10 → fashion-mnist; features Inception-v3 → fmnist-cnn" in md
    assert "| lrm_gan [1] ‡ | — | — | not retrieved |" in md
    for f in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / f).is_file()


def test_html_is_self_contained(rendered):
    _, written = rendered
    html = written["html"].read_text()
    assert html.count("<table>") == N_TABLES
    assert html.count('src="data:image/png;base64,') == N_IMAGES
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # nothing loaded from elsewhere


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.chromium
def test_html_renders_in_chromium(rendered, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver; CI installs it)")
    page = rendered[1]["html"].resolve().as_uri()
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
    if webdriver is None or driver is None:  # no WebDriver: the DOM Chromium builds must hold every table/image
        dom = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page],
                             capture_output=True, text=True, timeout=120).stdout
        assert dom.count("<table>") == N_TABLES and dom.count("data:image/png;base64,") == N_IMAGES
        return
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = browser
    for a in FLAGS + [f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        d.get(page)
        tables, rows, images, decoded = d.execute_script(
            "return [document.querySelectorAll('table').length, document.querySelectorAll('tbody tr').length,"
            " document.images.length,"
            " Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length]")
        errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
        first_cell = d.execute_script("return document.querySelector('tbody td strong, tbody td').textContent")
    finally:
        d.quit()
    assert (tables, images, decoded) == (N_TABLES, N_IMAGES, N_IMAGES)
    assert rows > 30 and first_cell and not errors, errors


def test_cli_report_and_errors(cli, tmp_path, capsys):
    from ganbench.cli import main

    root = make_results(tmp_path / "results")
    p = cli("report", str(root), "--out", str(tmp_path / "rep"), "--format", "md", "--no-plots")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "rep" / "report.md").read_text().startswith("# ganbench report: results")
    for args, msg in ((["--format", "pdf"], "unknown report format"), (["--threshold", "fd"], "bad --threshold")):
        with pytest.raises(SystemExit) as e:
            main(["report", str(root), "--out", str(tmp_path / "rep2"), *args])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.startswith("ganbench: error: ") and msg in err
    with pytest.raises(SystemExit) as e:
        main(["report", str(tmp_path / "nope")])
    assert e.value.code == 2 and "does not exist" in capsys.readouterr().err


def test_published_yaml_matches_paper_refs():
    """baselines/published.yaml: every entry fully labelled; parameter counts equal to each model's PaperRef."""
    from ganbench.models import MODELS

    pub = yaml.safe_load((ROOT / "baselines" / "published.yaml").read_text())["models"]
    assert set(pub) == set(MODELS.names())
    for name, entry in pub.items():
        ref = MODELS.get(name).paper
        assert (entry["params"]["params_g"], entry["params"]["params_d"]) == (ref.params_g, ref.params_d), name
        for r in entry["results"]:
            assert {"dataset", "metric", "value", "protocol", "source", "evidence"} <= set(r), (name, r)
            assert r["evidence"] in ("R", "R-2") and isinstance(r["value"], (int, float))


def test_tuning_section_prints_the_record(rendered):
    """The equal-tuning record: every grid point's selection value, the chosen point and the learning rates it
    means (paper rates x the multiplier), only for models run at the record's preset."""
    md = rendered[1]["md"].read_text()
    sec = md[md.index("## Tuning"):]
    sec = sec[:sec.index("\n## ", 4)]
    assert "| dcgan | 50.50 | 40.25 | lr_x3 | 0.0006 | 0.0006 |" in sec, sec
    assert "| biggan | 20.00 | 30.00 | lr_x1 | 0.0002 | 0.0002 |" in sec, sec
    assert "| projected_gan |" not in sec  # no record for it: not listed
    assert "One seed per point" in sec and "0123abc" in sec
