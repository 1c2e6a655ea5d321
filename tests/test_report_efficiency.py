"""The efficiency suite (task: efficiency): expansion over models x presets x variants, tidy rows that agree with
the models' own parameter counts, and resume (a complete measurement is not repeated)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ganbench import results
from ganbench.efficiency import EfficiencySpec
from ganbench.errors import GanbenchError
from ganbench.models import MODELS, ImageSpec, create_model
from ganbench.suites import SuiteOptions, expand
from ganbench.executors import execute_local
from ganbench.suites import load_suite

SUITE = """name: eff-test
task: efficiency
dataset: synthetic
channels: 3
n_images: 8
presets: [tiny]
runs:
  - {model: dcgan}
  - {model: p2gan, variants: [default, bn_no_posterior]}
"""


def test_efficiency_suite_expands_every_model_and_preset():
    specs = expand("efficiency", results_root=Path("/r"))
    assert all(isinstance(s, EfficiencySpec) for s in specs)
    keys = {(s.model, s.preset, s.variant) for s in specs}
    for m in MODELS.names():
        assert {(m, "paper", "default"), (m, "tiny", "default")} <= keys
    assert {("lrm_gan", "tiny", v) for v in ("no_meta", "no_lrm", "residual", "sa")} <= keys
    assert len({s.run_id for s in specs}) == len(specs)
    assert all(s.out_dir == f"/r/efficiency/{s.run_id}" and (s.channels, s.resolution) == (3, 32) for s in specs)
    only = expand("efficiency", SuiteOptions(preset="paper", models=("dcgan",)), Path("/r"))
    assert [(s.model, s.preset) for s in only] == [("dcgan", "paper")]


def test_suite_task_is_validated(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntask: evaluate\nruns: []\n")
    with pytest.raises(GanbenchError, match="task"):
        load_suite(str(bad))


def test_measures_writes_tidy_rows_and_resumes(tmp_path, monkeypatch):
    suite = tmp_path / "eff-test.yaml"
    suite.write_text(SUITE)
    specs = expand(str(suite), SuiteOptions(device="cpu"), tmp_path / "res")
    assert [(s.model, s.variant) for s in specs] == [("dcgan", "default"), ("p2gan", "default"),
                                                     ("p2gan", "bn_no_posterior")]
    outcomes = execute_local(specs, progress=False)
    assert [o.status for o in outcomes] == ["complete"] * 3, [o.error for o in outcomes]
    df = results.load_metrics(tmp_path / "res")
    assert list(df.columns) == results.COLUMNS + ["status"]
    assert set(df["metric"]) == {"params_g", "params_d", "params_g_frozen", "params_d_frozen", "flops_per_image",
                                 "it8_s", "it8_s_bf16"}
    assert (df["extractor"] == "-").all() and df["device"].str.startswith("cpu").all()
    for s in specs:
        got = df[df["run"] == s.run_id].set_index("metric")["value"]
        want = create_model(s.model, "tiny", s.variant, ImageSpec(3, 32, 0)).param_counts()
        assert {k: int(got[k]) for k in want} == want
        assert got["flops_per_image"] > 0 and got["it8_s"] > 0 and got["it8_s_bf16"] > 0
    # the posterior path costs FLOPs: removing it must lower them (the counter sees what sampling runs)
    f = df[df["model"] == "p2gan"].set_index(["variant", "metric"])["value"]
    assert f[("bn_no_posterior", "flops_per_image")] < f[("default", "flops_per_image")]

    # resume: complete measurements are read back, never measured again
    import ganbench.efficiency.measure as eff
    csv = Path(specs[0].out_dir) / "metrics.csv"
    before = csv.stat().st_mtime_ns
    monkeypatch.setattr(eff, "efficiency", lambda *a, **k: pytest.fail("measured again"))
    again = execute_local(expand(str(suite), SuiteOptions(device="cpu"), tmp_path / "res"), progress=False)
    assert [o.status for o in again] == ["complete"] * 3 and csv.stat().st_mtime_ns == before


def test_every_ablation_variant_has_an_efficiency_run():
    """The ablations suite covers every ablation suite, and the efficiency suite measures each of their variants
    (so every ablation table gets IT and parameter columns)."""
    train = expand("ablations", results_root=Path("/r"))
    suites = {Path(s.out_dir).parent.name for s in train}
    assert suites == {"lrm-ablation", "projected-ablation", "transgan-ablation", "p2gan-ablation",
                      "baselines-ablation"}
    eff = {(s.model, s.preset, s.variant) for s in expand("efficiency", results_root=Path("/r"))}
    missing = {(s.model, s.preset, s.variant) for s in train} - eff
    assert not missing, f"efficiency.yaml lacks {sorted(missing)}"


def test_training_suites_reject_efficiency_keys(tmp_path):
    for text in ("name: t\npresets: [paper, tiny]\nruns: [{model: dcgan}]\n",
                 "name: t\nn_images: 10\nruns: [{model: dcgan}]\n",
                 "name: t\nruns: [{model: dcgan, presets: [paper]}]\n"):
        f = tmp_path / "t.yaml"
        f.write_text(text)
        with pytest.raises(GanbenchError, match="task: efficiency"):
            load_suite(str(f))
