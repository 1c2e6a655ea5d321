"""The CLI end to end on the tiny preset, and its one-line errors."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from conftest import one_line_error


def test_help_on_every_command(cli):
    top = cli("--help")
    assert top.returncode == 0
    for cmd in ("list", "train", "run", "results", "eval"):
        p = cli(cmd, "--help")
        assert p.returncode == 0 and "Usage" in p.stdout, cmd


def test_list(cli):
    p = cli("list", "models")
    assert p.returncode == 0 and "dcgan" in p.stdout
    assert "fashion-mnist" in cli("list", "datasets").stdout
    assert "convergence" in cli("list", "suites").stdout


def test_train_end_to_end(cli, tmp_path):
    out = tmp_path / "run"
    p = cli("train", "--model", "dcgan", "--preset", "tiny", "--kimg", "0.5", "--eval-every", "0.25", "--seed", "1",
            "--out", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    assert "complete" in p.stdout and "fd_domain" in p.stdout
    df = pd.read_csv(out / "metrics.csv")
    fd = df[df.metric == "fd_domain"]
    assert list(fd.images_seen) == [0, 256, 512]
    for col in ("dataset", "split", "resolution", "extractor", "n_samples", "seed", "device", "images_seen"):
        assert fd[col].notna().all(), col
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["environment"]["git_commit"] and cfg["environment"]["packages"]["torch"].startswith("2.14.1")
    assert cfg["dataset"]["fingerprint"] and cfg["params"]["params_g"] > 0
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["000000000.png", "000000256.png", "000000512.png"]
    res = cli("results", str(tmp_path))
    assert res.returncode == 0 and "complete" in res.stdout


def test_run_smoke_suite_and_resume(cli, tmp_path):
    p = cli("run", "--suite", "smoke", "--quiet")
    assert p.returncode == 0, p.stderr
    assert "1 complete" in p.stdout
    again = cli("run", "--suite", "smoke", "--quiet")  # complete runs are skipped, not retrained
    assert again.returncode == 0 and "1 complete" in again.stdout


def test_one_line_errors(cli, tmp_path):
    assert "did you mean 'dcgan'" in one_line_error(cli("train", "--model", "dcgn"))
    assert "unknown dataset" in one_line_error(cli("train", "--model", "dcgan", "--dataset", "mnist"))
    assert "unknown suite" in one_line_error(cli("run", "--suite", "convergance"))
    assert "preset" in one_line_error(cli("train", "--model", "dcgan", "--preset", "huge"))
    assert "unknown config key" in one_line_error(cli("train", "--model", "dcgan", "--set", "widht=3"))
    assert "expected float" in one_line_error(cli("train", "--model", "dcgan", "--set", "lr_g=fast"))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    import os
    if os.geteuid() != 0:  # root ignores permissions
        assert "not writable" in one_line_error(cli("train", "--model", "dcgan", "--out", str(ro / "x")))
    assert "not writable" in one_line_error(cli("train", "--model", "dcgan", "--out", "/proc/ganbench"))
    assert not list(tmp_path.rglob("status.json"))  # nothing that looks like a result


def test_float_overrides_in_exponent_form():
    """YAML 1.1 reads "4e-4" (no dot) as a string; config floats accept it, and other strings still fail."""
    from ganbench.config import parse_overrides
    from ganbench.errors import GanbenchError
    from ganbench.models.base import resolve_config
    cfg = resolve_config("dcgan", overrides=parse_overrides(["lr_d=4e-4", "lr_g=1E-3", "grad_clip=5"]))
    assert (cfg.lr_d, cfg.lr_g, cfg.grad_clip) == (4e-4, 1e-3, 5.0)
    with pytest.raises(GanbenchError, match="expected float"):
        resolve_config("dcgan", overrides={"lr_d": "4e-4x"})
    for text in ("nan", "inf"):
        with pytest.raises(GanbenchError, match="expected float"):
            resolve_config("dcgan", overrides={"lr_d": text})


def test_profile_several_models_in_interleaved_rounds(cli):
    p = cli("throughput", "--model", "biggan,dcgan", "--iters", "1", "--rounds", "2", "--json")
    assert p.returncode == 0, p.stderr
    rows = {r["model"]: r for r in json.loads(p.stdout.strip().splitlines()[-1])}
    assert set(rows) == {"biggan", "dcgan"}
    for r in rows.values():
        assert len(r["img_per_s_rounds"]) == 2 and r["img_per_s"] > 0 and r["gflop_per_iter"] > 0
        assert min(r["img_per_s_rounds"]) <= r["img_per_s"] <= max(r["img_per_s_rounds"])
    assert rows["dcgan"]["vs_base"] == 1.0
    assert rows["biggan"]["vs_base"] == rows["biggan"]["img_per_s"] / rows["dcgan"]["img_per_s"]
    assert rows["biggan"]["n_dis"] == 2  # images per iteration = batch x D steps
    assert all(r["dataset"] == "fashion-mnist" and r["resolution"] == 32 and r["seed"] == 0 for r in rows.values())
    for r in rows.values():  # the roofline ceiling: images per iteration x matmul rate / FLOPs per iteration
        images = r["batch_size"] * r["n_dis"]
        assert r["ceiling_img_per_s"] == pytest.approx(images * r["matmul_gflop_per_s"] / r["gflop_per_iter"])
        assert r["ceiling_img_per_s"] == pytest.approx(r["img_per_s"] / r["fraction_of_matmul"])
        assert r["goal_needs_fraction"] == pytest.approx(0.25 * rows["dcgan"]["img_per_s"] / r["ceiling_img_per_s"])
        assert r["ceiling_vs_base"] == pytest.approx(r["ceiling_img_per_s"] / rows["dcgan"]["img_per_s"])
    table = cli("throughput", "--model", "biggan,dcgan", "--iters", "1", "--rounds", "1")
    assert table.returncode == 0 and "vs dcgan" in table.stdout and "0.25x needs" in table.stdout, table.stderr
    assert "fashion-mnist at 32px, seed 0" in table.stdout
    assert "unknown model" in one_line_error(cli("throughput", "--model", "dcgan,nope", "--iters", "1")).lower()
