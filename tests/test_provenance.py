"""Provenance that cannot be lost: a run started from a working tree with uncommitted changes keeps the code it ran
(``git.diff`` next to its config), and a planned run refuses such a tree (issue #32: seeds 5-9 of the first
reference ran at ``bc64827-dirty`` and what was uncommitted could not be recovered)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import ganbench.provenance as provenance
from ganbench.errors import GanbenchError


@pytest.fixture
def dirty(monkeypatch):
    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123-dirty")
    monkeypatch.setattr(provenance, "git_diff", lambda: "diff --git a/x b/x\n+an uncommitted line\n")


def test_a_run_from_a_dirty_tree_keeps_its_diff(tmp_path, dirty):
    from ganbench.training import TrainSpec, train

    spec = TrainSpec(model="dcgan", dataset="synthetic", kimg=0.064, seed=3, metrics=(), out_dir=str(tmp_path / "r"))
    assert train(spec, progress=False).status == "complete"
    env = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["environment"]
    assert env["git_commit"] == "abc123-dirty" and env["git_diff"] == "git.diff"
    assert "+an uncommitted line" in (tmp_path / "r" / "git.diff").read_text()


def test_a_clean_run_writes_no_diff(tmp_path, monkeypatch):
    from ganbench.training import TrainSpec, train

    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123")
    spec = TrainSpec(model="dcgan", dataset="synthetic", kimg=0.064, seed=3, metrics=(), out_dir=str(tmp_path / "r"))
    train(spec, progress=False)
    assert not (tmp_path / "r" / "git.diff").exists()
    assert "git_diff" not in yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["environment"]


def test_a_planned_run_refuses_a_dirty_tree(tmp_path, dirty):
    from ganbench.analysis.plan import start_planned

    plan = Path(__file__).resolve().parent.parent / "plans" / "reference.yaml"
    with pytest.raises(GanbenchError, match="clean, committed tree"):
        start_planned(plan, tmp_path / "results")
    assert not (tmp_path / "results" / "plan.yaml").exists()
    assert start_planned(plan, tmp_path / "results", dry_run=True)  # listing the runs is fine
