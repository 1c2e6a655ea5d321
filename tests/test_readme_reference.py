"""The README's confirmatory tables are the committed reference's: rendered again from results/reference, every cell of
the README's main table and every number of its Claims table must match (a stale or hand-edited README fails)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ganbench.report import build_report

REPO = Path(__file__).resolve().parents[1]
MODELS = {"SAGAN": "sagan", "BigGAN": "biggan", "Projected GAN": "projected_gan", "LRM GAN": "lrm_gan",
          "P2GAN": "p2gan", "DCGAN": "dcgan", "StyleGAN2": "stylegan2", "TransGAN": "transgan"}
CLAIMS = {"P2GAN's L_z helps": "p2gan-lz-helps", "LRM GAN beats w/ Residual": "lrm-beats-residual",
          "LRM GAN beats w/ SA": "lrm-beats-sa", "LRM GAN beats w/o LRM": "lrm-lrm-helps"}


def _section_table(md: str, heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the first Markdown table after ``heading``, header first."""
    start = md.index(heading)
    lines = md[start:].splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[first:]:
        if not ln.startswith("|"):
            break
        if not re.match(r"\|[-:| ]+\|$", ln):
            rows.append([c.strip() for c in ln.strip().strip("|").split(" | ")])
    return rows


def _nums(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text.replace("−", "-"))]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, str]:
    root = REPO / "results" / "reference"
    if not (root / "plan.yaml").exists():
        pytest.skip("no committed confirmatory reference")
    out = tmp_path_factory.mktemp("reference-report")
    md = build_report(root, out, ["md"], plots=False)["md"].read_text()
    return md, (REPO / "README.md").read_text()


def test_the_readme_main_table_is_the_committed_reference(rendered):
    md, readme = rendered
    report = {r[0].split()[0]: r for r in _section_table(md, "Main results, suite reference")[1:]}
    head = _section_table(md, "Main results, suite reference")[0]
    col = {name: head.index(name) for name in ("Seeds", "fd_domain2k_train ↓", "Rank", "Best", "Collapsed",
                                               "Bounced", "Copy rate (copy_domain2k_train)",
                                               "C_T (ct_domain2k_train)")}
    rows = _section_table(readme, "### Main table (confirmatory)")
    assert rows[0] == ["model", "seeds", "fd_domain ↓", "rank", "best", "collapsed", "bounced", "copy rate", "C_T"]
    assert sorted(MODELS[r[0]] for r in rows[1:]) == sorted(report)  # every model, once
    for name, seeds, fd, rank, best, collapsed, bounced, copy, ct in rows[1:]:
        r = report[MODELS[name]]
        assert int(seeds) == len(r[col["Seeds"]].split(", ")), name
        assert (fd, rank, best, collapsed, bounced) == (r[col["fd_domain2k_train ↓"]], r[col["Rank"]], r[col["Best"]],
                                                        r[col["Collapsed"]], r[col["Bounced"]]), name
        assert copy == r[col["Copy rate (copy_domain2k_train)"]].split(" ± ")[0], name
        assert ct == r[col["C_T (ct_domain2k_train)"]].split(" ± ")[0], name
    means = [_nums(r[2])[0] for r in rows[1:]]
    assert means == sorted(means)  # listed by mean, best first


def test_the_readme_claims_are_the_committed_reference(rendered):
    md, readme = rendered
    report = {r[0]: r for r in _section_table(md, "Claims of the seed papers")[1:]}
    head = _section_table(md, "Claims of the seed papers")[0]
    rows = _section_table(readme, "### Claims (confirmatory)")
    assert sorted(CLAIMS[r[0]] for r in rows[1:]) == sorted(CLAIMS.values())
    for name, pairs, effect_ci, adj_p, mde, verdict in rows[1:]:
        r = report[CLAIMS[name]]
        assert _nums(r[head.index("Test, n")]) == [float(pairs)], name
        effect, lo, hi = _nums(effect_ci)
        ci = _nums(r[head.index("95% CI")].split("(t)")[0])
        assert [effect, lo, hi] == [round(x, 2) for x in [_nums(r[head.index("Effect A - B")])[0], *ci]], name
        assert float(adj_p) == _nums(r[head.index("adj. p")])[0] and float(mde) == _nums(r[head.index("MDE")])[0]
        assert verdict.strip("*") == r[head.index("Verdict")].split(" (")[0].strip("*").replace(" at this budget", "")
