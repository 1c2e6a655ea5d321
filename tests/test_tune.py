"""The shared tuning grid: every model gets the same points (multiples of its paper recipe), and ``ganbench tune``
picks each model's point by the held-out metric."""
from __future__ import annotations

import json

import pytest

from ganbench.cli import main
from ganbench.errors import GanbenchError
from ganbench.models.base import MODELS, resolve_config
from ganbench.suites import expand, resolve_point
from ganbench.suites import load_suite


def test_tune_suite_gives_every_model_the_same_grid(tmp_path):
    suite = load_suite("tune")
    specs = expand(suite, results_root=tmp_path)
    assert len(specs) == len(MODELS.names()) * len(suite.grid) * len(suite.seeds)
    for m in MODELS.names():
        paper = resolve_config(m, "paper")
        got = sorted(dict(s.overrides)["lr_g"] / paper.lr_g for s in specs if s.model == m)
        assert got == pytest.approx([1, 3, 10, 30]), m
        assert {s.kimg for s in specs if s.model == m} == {suite.kimg}
    assert suite.select_by in suite.metrics and suite.select_by.endswith("_test")  # held out: not the FD reference


def test_multiplier_resolves_against_the_paper_preset():
    assert resolve_point("transgan", {"lr_g": "x3", "lr_d": "x10"}) == {"lr_g": 3e-4, "lr_d": 1e-3}
    assert resolve_point("dcgan", {"n_dis": 2}) == {"n_dis": 2}
    with pytest.raises(GanbenchError, match="x<number>"):
        resolve_point("dcgan", {"lr_g": "xx"})
    with pytest.raises(GanbenchError, match="no number"):
        resolve_point("dcgan", {"nonexistent": "x2"})


def test_tune_trains_and_selects(tmp_path, capsys):
    """Two points on tiny DCGAN, 1 kimg each: lr x0 cannot learn, so x1 must be chosen."""
    suite = tmp_path / "t.yaml"
    suite.write_text("name: t\npreset: tiny\nkimg: 1\neval_every_kimg: 1\nmetrics: [fd_domain2k_test]\n"
                     "select_by: fd_domain2k_test\nseeds: [0]\nruns: [{model: dcgan}]\n"
                     "grid: {frozen: {lr_g: x0.000001, lr_d: x0.000001}, lr_x1: {lr_g: x1, lr_d: x1}}\n")
    main(["tune", "--suite", str(suite), "--results-root", str(tmp_path / "r")])
    sel = json.loads((tmp_path / "r" / "t" / "selection.json").read_text())
    assert sel["chosen"]["dcgan"]["point"] == "lr_x1"
    vals = {r["point"]: r["mean"] for r in sel["table"]}
    assert vals["lr_x1"] < vals["frozen"]
    md = (tmp_path / "r" / "t" / "selection.md").read_text()
    assert "| dcgan |" in md
    assert "Fashion-MNIST domain CNN features), 2000 generated vs all test images" in md and "32x32" in md, md
    assert "images seen at the last evaluation: 1024-1024" in md and "cpu" in md, md
    assert sel["edge"] == ["dcgan"] and "| lr_x1 (edge) |" in (tmp_path / "r" / "t" / "selection.md").read_text()


def test_tune_profile_selects_only_its_own_runs(tmp_path, capsys):
    """--profile sets grid, seeds and budget; the selection reads only runs of that budget (the 1-kimg base grid next
    to it has none, so selecting without the profile finds nothing)."""
    suite = tmp_path / "t.yaml"
    suite.write_text("name: t\npreset: tiny\nkimg: 1\neval_every_kimg: 1\nmetrics: [fd_domain2k_test]\n"
                     "select_by: fd_domain2k_test\nseeds: [0]\nruns: [{model: dcgan}]\n"
                     "grid: {frozen: {lr_g: x0.000001, lr_d: x0.000001}, lr_x1: {lr_g: x1, lr_d: x1}}\n"
                     "profiles: {p: {kimg: 0.25, eval_every_kimg: 0.25, seeds: [0, 1], "
                     "grid: {frozen: {lr_g: x0.000001, lr_d: x0.000001}}}}\n")
    main(["tune", "--suite", str(suite), "--profile", "p", "--results-root", str(tmp_path / "r")])
    sel = json.loads((tmp_path / "r" / "t" / "selection.json").read_text())
    assert sel["profile"] == "p" and sel["kimg"] == 0.25 and sel["seeds"] == [0, 1] and list(sel["grid"]) == ["frozen"]
    assert sel["table"][0]["seeds"] == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["tune", "--suite", str(suite), "--results-root", str(tmp_path / "r"), "--select-only"])
    assert e.value.code == 2 and "no complete runs" in capsys.readouterr().err


def test_standard_tuning_profile():
    """2+ seeds per point at the reference budget, a grid wider than the quick one on both sides, and every model's
    window consecutive points of it, at least as many as the quick grid (the same budget, widened at most by one)."""
    from ganbench.suites import apply_profile
    quick, std = load_suite("tune"), apply_profile(load_suite("tune"), "standard")
    ref = apply_profile(load_suite("reference"), "exploratory")
    assert len(std.seeds) >= 2 and std.kimg == ref.kimg
    factor = lambda g: sorted(float(p["lr_g"][1:]) for p in g.values())  # noqa: E731
    assert factor(std.grid)[0] < factor(quick.grid)[0] and factor(std.grid)[-1] > factor(quick.grid)[-1]
    assert set(std.windows) == set(MODELS.names())
    order = list(std.grid)
    sizes = []
    for m, w in std.windows.items():
        i = order.index(w[0])
        assert w == order[i:i + len(w)], f"{m}: window not consecutive"
        sizes.append(len(w))
    assert min(sizes) >= 5 and max(sizes) <= min(sizes) + 1
    specs = expand(std)
    assert len(specs) == sum(sizes) * len(std.seeds)
    assert {s.model for s in specs} == set(MODELS.names())


def test_windows_name_grid_points(tmp_path):
    bad = tmp_path / "w.yaml"
    bad.write_text("name: w\nruns: all\nselect_by: m\ngrid: {a: {lr_g: x1}}\nwindows: {dcgan: [a, b]}\n")
    with pytest.raises(GanbenchError, match="window of dcgan"):
        load_suite(str(bad))
    typo = tmp_path / "t.yaml"
    typo.write_text("name: t\nruns: all\nselect_by: m\ngrid: {a: {lr_g: x1}}\nwindows: {stylgan2: [a]}\n")
    with pytest.raises(GanbenchError, match="stylgan2"):
        expand(load_suite(str(typo)))


def test_grid_needs_select_by(tmp_path):
    bad = tmp_path / "b.yaml"
    bad.write_text("name: b\nruns: [{model: dcgan}]\ngrid: {a: {lr_g: x1}}\n")
    with pytest.raises(GanbenchError, match="select_by"):
        load_suite(str(bad))


def test_tiny_presets_carry_the_recorded_tuning():
    """No hand-picked rates: every model's comparison preset has exactly the learning rates the committed tuning
    record picked (its paper rates times the chosen multiplier), and the record is of the shipped grid."""
    from ganbench.analysis.tuning import tuned_rates
    from ganbench.suites.tuning_record import load_record

    record = load_record()
    assert record is not None, "no ganbench/suites/tune.selection.json: run `ganbench tune --record`"
    from ganbench.suites import apply_profile
    suite = apply_profile(load_suite("tune"), record.get("profile") or None)  # the grid of the profile it ran
    assert record["grid"] == {k: dict(v) for k, v in suite.grid.items()} and record["preset"] == suite.preset
    assert set(record["chosen"]) == set(MODELS.names())
    for m in MODELS.names():
        cfg, rates = resolve_config(m, record["preset"]), tuned_rates(m, record)
        assert (cfg.lr_g, cfg.lr_d) == pytest.approx((rates["lr_g"], rates["lr_d"]), rel=1e-5), m  # 6 digits


def test_edge_is_judged_on_the_points_a_model_ran():
    """With windows, a pick is on the edge when it is its window's first or last point, not the grid's: x3 inside
    x1-x10 is interior, x30 at the top of x3-x30 is on the edge, and without windows the grid's own ends count."""
    from ganbench.analysis.tuning import on_edge, tested_points

    grid = {p: {"lr_g": p} for p in ("x1", "x3", "x10", "x30")}
    rec = {"grid": grid, "points": list(grid), "windows": {"a": ["x1", "x3", "x10"], "b": ["x3", "x10", "x30"]},
           "chosen": {"a": {"point": "x3"}, "b": {"point": "x30"}, "c": {"point": "x1"}, "d": {"point": "x10"}}}
    assert tested_points(rec, "b") == ["x3", "x10", "x30"] and tested_points(rec, "c") == list(grid)
    assert on_edge(rec) == ["b", "c"]
    rec["windows"]["a"] = ["x3", "x10"]  # x3 now starts a's window
    assert on_edge(rec) == ["a", "b", "c"]
