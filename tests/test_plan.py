"""Pre-registered plans (ganbench.analysis.plan): freezing needs a committed tree and fixes each threshold by its rule
on the exploratory runs (tuning seeds left out); an edited plan does not load; a results folder's plan decides what
`ganbench claims` tests; deviations of the results from the plan (seeds added after freezing, planned runs missing)
are listed; suites refuse tuning seeds. Fixture results only (numbers made up)."""
from __future__ import annotations

import numpy as np
import pytest

from claims_fixture import claim_plan, make_plan, write_run
from conftest import one_line_error
from ganbench import provenance
from ganbench.analysis import claims as C
from ganbench.analysis import plan as P
from ganbench.errors import GanbenchError
from ganbench.results import load

IMAGES = [0, 1000, 2000, 3000, 4000]
FD = "fd_domain2k_train"
FINAL = C.Claim("sagan-attention-helps", "attention helps", "test", C.Arm("sagan"), C.Arm("sagan", "no_attn"), FD)
SOONER = C.Claim("pg-sg2", "Projected GAN passes StyleGAN2's best sooner", "test", C.Arm("projected_gan"),
                 C.Arm("stylegan2"), FD, "images_to_threshold", "b_final_mean")


def _sagan(root, seeds_a, seeds_b, suite="ref"):
    for s in seeds_a:
        write_run(root, suite, "sagan", "default", s, IMAGES, [200, 80, 40, 30, 20 + 0.3 * (s % 10)])
    for s in seeds_b:
        write_run(root, suite, "sagan", "no_attn", s, IMAGES, [200, 80, 45, 36, 25 + 0.1 * (s % 10)])
    return root


def _plan(seeds=(100, 101, 102)):
    return make_plan([claim_plan(FINAL, n=len(seeds))], seeds=seeds, arms={"sagan": len(seeds),
                                                                          "sagan/no_attn": len(seeds)})


@pytest.fixture
def fake_commit(monkeypatch):
    """git_commit() as on a clean tree at a made-up commit (no commit is made); its lru_cache is cleared after."""
    real = provenance.git_commit
    real.cache_clear()
    monkeypatch.setattr(provenance, "git_commit", lambda: "feedc0de" * 5)
    yield "feedc0de" * 5
    real.cache_clear()


def test_a_frozen_plan_loads_and_an_edited_one_is_a_one_line_error(tmp_path, cli):
    path = P.write_plan(_plan(), tmp_path / "plan.yaml")
    plan = P.load_plan(path)
    assert plan.hash.startswith("sha256:") and plan.claim("sagan-attention-helps").status == "confirmatory"
    assert plan.planned_runs() == {(a, s) for a in ("sagan", "sagan/no_attn") for s in (100, 101, 102)}
    path.write_text(path.read_text().replace("alpha: 0.05", "alpha: 0.1"))  # planted: an edit after freezing
    with pytest.raises(GanbenchError, match="edited after it was frozen") as e:
        P.load_plan(path)
    assert "\n" not in str(e.value)
    root = _sagan(tmp_path / "results", (100, 101, 102), (100, 101, 102))
    assert "edited after it was frozen" in one_line_error(cli("claims", str(root), "--plan", str(path)))
    assert "edited after it was frozen" in one_line_error(cli("plan", "show", str(path)))


def test_freeze_needs_a_committed_tree(tmp_path, monkeypatch):
    real = provenance.git_commit
    real.cache_clear()
    monkeypatch.setattr(provenance, "git_commit", lambda: "feedc0de" * 5 + "-dirty")
    try:
        with pytest.raises(GanbenchError, match="clean, committed tree"):
            P.freeze(tmp_path, "reference", "confirmatory", [FINAL])
    finally:
        real.cache_clear()


def test_freeze_fixes_thresholds_on_the_exploratory_seeds(tmp_path, fake_commit):
    """b_final_mean: StyleGAN2's mean value at the budget over the exploratory seeds without the tuning seeds (0, 1:
    planted there far from the others, so that keeping them moves the threshold)."""
    root = tmp_path / "exploratory"
    for s in range(7):
        off = 30.0 if s < 2 else 0.0
        write_run(root, "reference", "stylegan2", "default", s, IMAGES, [200, 100, 60, 40, 20 + s + off])
        write_run(root, "reference", "projected_gan", "default", s, IMAGES, [200, 30, 20, 15, 12 + 0.1 * s])
    _sagan(root, range(7), range(7), suite="reference")
    plan = P.freeze(root, "reference", "confirmatory", [FINAL, SOONER], tuning_seeds=(0, 1))
    assert plan.made_at_commit == fake_commit and plan.exploratory["seeds_left_out"] == [0, 1]
    cp = plan.claim("pg-sg2")
    assert cp.threshold == pytest.approx(np.mean([20 + s for s in range(2, 7)]), abs=1e-4)
    assert cp.threshold_rule == P.THRESHOLD_RULES["b_final_mean"] and cp.exploratory["seeds"] == [2, 3, 4, 5, 6]
    assert plan.seeds[0] == P.FIRST_SEED and all(n >= P.N_MIN for n in plan.arms.values())
    path = P.write_plan(plan, tmp_path / "plan.yaml")
    assert P.load_plan(path).hash == P.content_hash(P.load_plan(path).to_doc())


def test_the_results_folders_plan_decides_what_is_tested(tmp_path, cli):
    """`ganbench claims` finds plan.yaml in the results folder (as `ganbench run --plan` leaves it), tests what it
    says and lists its deviations; --plan with another plan than the folder's is a one-line error."""
    root = _sagan(tmp_path / "results", (100, 101, 102, 103), (100, 101))
    P.write_plan(_plan(), root / "plan.yaml")
    plan, path = C.plan_for(root)
    assert plan.name == "test-plan" and path == root / "plan.yaml"
    r = cli("claims", str(root))
    assert r.returncode == 0, r.stderr
    assert "Plan test-plan, hash sha256:" in r.stdout and "Confirmatory, under the frozen plan test-plan" in r.stdout
    assert "sagan: seeds the plan does not run (seeds 103) added after freezing" in r.stdout
    assert "1 planned run(s) missing: sagan/no_attn seed 102" in r.stdout
    # the test runs on the planned seeds both arms have: 100 and 101 (seed 103 is not the plan's)
    row = next(line for line in r.stdout.splitlines() if line.startswith("| sagan-attention-helps | SAGAN: "))
    assert "| paired t, 2 |" in row
    other = P.write_plan(_plan(seeds=(100, 101)), tmp_path / "other.yaml")
    assert "was run under another plan" in one_line_error(cli("claims", str(root), "--plan", str(other)))


def test_deviations_show_added_seeds_and_missing_runs(tmp_path):
    plan = _plan()
    exact = _sagan(tmp_path / "exact", (100, 101, 102), (100, 101, 102))
    assert P.deviations(plan, load(exact)) == []
    # planted: a seed added after freezing, and a planned run missing
    more = _sagan(tmp_path / "more", (100, 101, 102, 103), (100, 101))
    dev = P.deviations(plan, load(more))
    assert dev == ["sagan: seeds the plan does not run (seeds 103) added after freezing",
                   "1 planned run(s) missing: sagan/no_attn seed 102"]
    arm = _sagan(tmp_path / "arm", (100, 101, 102), (100, 101, 102))
    write_run(arm, "ref", "dcgan", "default", 100, IMAGES, [200, 90, 50, 40, 30])
    assert P.deviations(plan, load(arm)) == ["dcgan: an arm the plan does not run (seeds 100) added after freezing"]


def test_report_says_exploratory_or_shows_the_plan(tmp_path):
    from test_report_fixture import tuning

    from ganbench.report import build_report

    root = _sagan(tmp_path / "results", (0, 1, 2), (0, 1, 2))
    for s in (0, 1, 2):
        write_run(root, "ref", "biggan", "default", s, IMAGES, [200, 80, 40, 30, 20])
    md = build_report(root, tmp_path / "rep", ["md"], published=None, plots=False, validation=lambda e: None,
                      tuning=tuning, claims=[FINAL])["md"].read_text()
    sec = md[md.index("## Plan and deviations"):md.index("## Claims")]
    assert "Exploratory results: the results folder holds no pre-registered plan" in sec
    # the fixture's tuning record: biggan tuned on seed 0 (sagan has no record: its seeds are not tuning seeds)
    assert "3 run(s) evaluate a tuned model on a seed its tuning runs used" not in sec
    assert "1 run(s) evaluate a tuned model on a seed its tuning runs used (tuning record: seeds 0, tiny preset on " \
           "fashion-mnist): seed 0 of biggan." in sec
    assert P.tuning_seed_reuse(load(root), tuning()) == {"biggan": [0]}
    planned = _sagan(tmp_path / "planned", (100, 101, 102, 103), (100, 101, 102))
    P.write_plan(_plan(), planned / "plan.yaml")
    md = build_report(planned, tmp_path / "rep2", ["md"], published=None, plots=False, validation=lambda e: None,
                      tuning=tuning, claims=[FINAL])["md"].read_text()
    sec = md[md.index("## Plan and deviations"):md.index("## Claims")]
    assert "Plan test-plan, hash sha256:" in sec and "frozen by commit not committed" in sec
    assert "1. sagan: seeds the plan does not run (seeds 103) added after freezing" in sec
    assert "arms (seeds each): sagan 3, sagan/no_attn 3." in sec and "The plan's claims" in sec


def test_report_lists_the_run_log_under_the_deviations(tmp_path):
    from test_report_fixture import tuning

    from ganbench.report import build_report

    planned = _sagan(tmp_path / "planned", (100, 101, 102), (100, 101, 102))
    P.write_plan(_plan(), planned / "plan.yaml")

    def section(name):
        md = build_report(planned, tmp_path / name, ["md"], published=None, plots=False, validation=lambda e: None,
                          tuning=tuning, claims=[FINAL])["md"].read_text()
        return md[md.index("## Plan and deviations"):md.index("## Claims")]

    assert "Run log" not in section("none") and P.run_log(planned) == []
    (planned / P.RUN_LOG).write_text("# Run log\n\n- first launch lost at 44 of 161 runs,\n  rerun from scratch\n"
                                     "- second event\nnot an entry\n")
    assert P.run_log(planned) == ["first launch lost at 44 of 161 runs, rerun from scratch", "second event"]
    sec = section("logged")
    assert "Deviations from the plan: none." in sec  # a log entry is not a deviation of the data
    assert "- first launch lost at 44 of 161 runs, rerun from scratch\n" in sec and "- second event" in sec


def test_a_suite_on_tuning_seeds_is_a_one_line_error(cli):
    err = one_line_error(cli("run", "--suite", "convergence", "--seeds", "0", "--dry-run"))
    assert "on seed 0, which its tuning runs used" in err


def test_the_committed_reference_keeps_to_its_plan():
    """The committed confirmatory results (results/reference) ran under the committed plan, on seeds no tuning run
    used, every planned run complete and no deviation; adding a seed or an arm to the folder, losing a run, or running
    it from a dirty tree, would show here."""
    from pathlib import Path

    from ganbench.suites.tuning_record import load_record

    repo = Path(__file__).resolve().parents[1]
    root = repo / "results" / "reference"
    plan = P.load_plan(repo / "plans" / "reference.yaml")
    assert P.plan_of(root).hash == plan.hash
    rs = load(root)
    runs = rs.train_runs()
    assert len(runs) == sum(plan.arms.values()) == 161 and set(runs["status"]) == {"complete"}
    assert P.tuning_seed_reuse(rs, load_record()) == {}
    assert P.deviations(plan, rs) == []
