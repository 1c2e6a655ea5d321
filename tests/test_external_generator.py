"""Generators ganbench never saw: ``evaluate_generator``, ``ganbench eval/regress --generator`` (the example in
examples/ with its committed baseline, and a TorchScript file made here), planted regressions, bad output."""
from __future__ import annotations

import json
import math

import pytest
import torch

import ganbench
from conftest import ROOT, one_line_error

EXAMPLE = f"{ROOT}/examples/tiny_generator.py:make_generator"
BASELINE = ROOT / "examples" / "tiny_generator.baseline.json"


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _load_example():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_generator_example", ROOT / "examples" / "tiny_generator.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_api_returns_labelled_rows_and_the_example_is_better_than_untrained():
    ex = _load_example()
    df = ganbench.evaluate_generator(ex.make_generator(), dataset="fashion-mnist", metrics=["fd_domain2k_train"],
                                     seed=0, z_dim=64, device="cpu")
    assert len(df) == 1
    r = df.iloc[0]
    assert (r.metric, r.preset_name, r.extractor, r.dataset, r.split) == (
        "fd_domain", "fd_domain2k_train", "fmnist-cnn", "fashion-mnist", "train")
    assert (r.n_samples, r.n_ref, r.resolution, r.channels, r.seed, r.model) == (2000, 60000, 32, 1, 0, "external")
    assert pd_isna(r.images_seen) and r.device.startswith("cpu")
    torch.manual_seed(0)
    untrained = ganbench.evaluate_generator(ex.TinyG().eval(), metrics=["fd_domain2k_train"], z_dim=64,
                                            device="cpu").value[0]
    assert r.value < 0.6 * untrained, (r.value, untrained)  # the committed weights learned something


def pd_isna(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def test_example_passes_its_committed_baseline_and_a_planted_regression_fails(cli, tmp_path):
    p = cli("regress", "--generator", EXAMPLE, "--baseline", str(BASELINE), cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "regress: PASS" in p.stdout
    b = json.loads(BASELINE.read_text())
    assert b["kind"] == "generator" and len(b["checks"][0]["spread"]["values"]) == 3
    # planted: the last layer's weights scaled by 0.25 (a broken export / bad checkpoint; FD 13.3 -> 33.1)
    (tmp_path / "broken.py").write_text(
        "import importlib.util, torch\n"
        f"s = importlib.util.spec_from_file_location('tg', {str(ROOT / 'examples' / 'tiny_generator.py')!r})\n"
        "tg = importlib.util.module_from_spec(s); s.loader.exec_module(tg)\n"
        "def make():\n"
        "    g = tg.make_generator()\n"
        "    with torch.no_grad():\n"
        "        g.net[-2].weight.mul_(0.25)\n"
        "    return g\n")
    p = cli("regress", "--generator", "broken.py:make", "--baseline", str(BASELINE))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "REGRESSION" in p.stdout and "regress: FAIL" in p.stdout


def test_torchscript_generator_evaluated_gated_and_planted_regression_fails(cli, tmp_path):
    ex = _load_example()
    ts = tmp_path / "g.pt"
    torch.jit.script(ex.make_generator()).save(str(ts))
    p = cli("eval", "--generator", str(ts), "--z-dim", "64", "--metrics", "fd_domain2k_train", "--device", "cpu",
            "--out", "rows.csv")
    assert p.returncode == 0, p.stderr
    import pandas as pd
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert list(rows.preset_name) == ["fd_domain2k_train"] and rows.images_seen.isna().all()
    assert rows.generator_kind[0] == "torchscript"
    p = cli("regress", "--generator", str(ts), "--z-dim", "64", "--baseline", "b.json", "--update")
    assert p.returncode == 0, p.stderr
    b = json.loads((tmp_path / "b.json").read_text())
    c = b["checks"][0]
    assert c["spread"]["seeds"] == [0, 1, 2] and c["tolerance"] > 0
    assert c["value"] == pytest.approx(rows.value[0])  # the gate's seed is the eval's seed 0
    p = cli("regress", "--generator", str(ts), "--baseline", "b.json")  # z-dim read from the baseline
    assert p.returncode == 0 and "PASS" in p.stdout, p.stdout + p.stderr
    g = ex.make_generator()
    with torch.no_grad():
        g.net[-2].weight.mul_(0.25)  # planted: washed-out output. (Additive pixel noise would not do: fd_domain
    torch.jit.script(g).save(str(ts))  # of this generator falls from 13.32 to 11.97 with N(0, 0.3^2) noise added)
    p = cli("regress", "--generator", str(ts), "--baseline", "b.json")
    assert p.returncode == 1 and "REGRESSION" in p.stdout, p.stdout + p.stderr
    assert "file changed since the baseline" in p.stderr


BAD = """import torch
def wrong_shape(z): return torch.zeros(len(z), 1, 28, 28)
def wrong_dtype(z): return torch.zeros(len(z), 1, 32, 32, dtype=torch.uint8)
def wrong_range(z): return torch.full((len(z), 1, 32, 32), 200.0)
def raises(z): raise ValueError("boom")
def uint8_ok(z): return torch.randint(0, 256, (len(z), 1, 32, 32), dtype=torch.uint8)
not_callable = 3
"""


@pytest.mark.parametrize("name,args,needle", [
    ("bad.py:wrong_shape", [], "shape [250, 1, 28, 28], expected [250, 1, 32, 32]"),
    ("bad.py:wrong_dtype", [], "returned torch.uint8; --output-range -1,1 expects float"),
    ("bad.py:wrong_range", [], "outside --output-range -1,1"),
    ("bad.py:wrong_shape", ["--output-range", "uint8", "--resolution", "28"], "expects torch.uint8"),
    ("bad.py:raises", [], "ValueError: boom"),
    ("bad.py:not_callable", [], "not an nn.Module or a function"),
    ("bad.py:missing", [], "has no attribute 'missing'"),
    ("nosuch.pt", [], "not found"),
    ("bad.py", [], "not a TorchScript file"),
])
def test_bad_generators_are_one_line_errors(cli, tmp_path, name, args, needle):
    (tmp_path / "bad.py").write_text(BAD)
    p = cli("eval", "--generator", name, "--z-dim", "8", "--metrics", "fd_domain2k_train", "--out", "o.csv", *args)
    assert needle in one_line_error(p)
    assert not (tmp_path / "o.csv").exists()


def test_uint8_generator_and_option_misuse(cli, tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    p = cli("eval", "--generator", "bad.py:uint8_ok", "--z-dim", "8", "--output-range", "uint8",
            "--metrics", "fd_domain2k_train")
    assert p.returncode == 0 and "fd_domain" in p.stdout, p.stderr
    assert "only makes sense with --generator" in one_line_error(cli("eval", "somerun", "--z-dim", "8"))
    assert "either RUN_DIR or --generator" in one_line_error(cli("eval", "somerun", "--generator", "bad.py:uint8_ok"))


def test_onnx_generator_gives_the_same_numbers_as_the_module(cli, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # torch.onnx.export needs it
    ex = _load_example()
    torch.onnx.export(ex.make_generator(), (torch.randn(2, 64),), str(tmp_path / "g.onnx"), dynamo=False,
                      input_names=["z"], output_names=["x"], dynamic_axes={"z": {0: "n"}, "x": {0: "n"}})
    onnx_df = ganbench.evaluate_generator(str(tmp_path / "g.onnx"), metrics=["fd_domain2k_train"], z_dim=64,
                                          device="cpu")
    b = json.loads(BASELINE.read_text())
    assert onnx_df.generator_kind[0] == "onnx"
    assert onnx_df.value[0] == pytest.approx(b["checks"][0]["value"], rel=1e-4)  # the module's committed value
