"""Generators ganbench never saw: ``evaluate_generator``, ``ganbench eval/regress --generator`` (the example in
examples/ with its committed baseline, and ``torch.export``/TorchScript files made here), planted regressions, bad
output."""
from __future__ import annotations

import json
import math
import warnings

import pytest
import torch

import ganbench
from conftest import ROOT, one_line_error

EXAMPLE = f"{ROOT}/examples/tiny_generator.py:make_generator"
BASELINE = ROOT / "examples" / "tiny_generator.baseline.json"


pytestmark = pytest.mark.usefixtures("one_thread")


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
    assert (r.metric, r.protocol, r.extractor, r.dataset, r.split) == (
        "fd_domain", "fd_domain2k_train", "fmnist-cnn", "fashion-mnist", "train")
    assert (r.n_samples, r.n_real, r.resolution, r.channels, r.seed, r.model) == (2000, 60000, 32, 1, 0, "external")
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


def _script(m: torch.nn.Module, path) -> None:
    """torch.jit.save(torch.jit.script(m)): TorchScript is deprecated upstream (torch 2.14 warns), still supported."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`?torch\.jit\.script`? is deprecated", FutureWarning)
        torch.jit.script(m).save(str(path))


def _export(m: torch.nn.Module, path, batch: int | None = None) -> None:
    """torch.export.save of ``m`` on z [N, 64] (the example's own export): N dynamic, or fixed at ``batch``."""
    _load_example().export(path, m, batch)


def _washed_out():
    """Planted: the example with its last layer's weights x0.25 (a broken export / bad checkpoint; FD 13.3 -> 33.1).
    Additive pixel noise would not do: fd_domain of this generator falls from 13.32 to 11.97 with N(0, 0.3^2)
    noise added."""
    g = _load_example().make_generator()
    with torch.no_grad():
        g.net[-2].weight.mul_(0.25)
    return g


def test_export_generator_evaluated_gated_and_planted_regression_fails(cli, tmp_path):
    ex = _load_example()
    _export(ex.make_generator(), tmp_path / "g.pt2")
    p = cli("eval", "--generator", "g.pt2", "--z-dim", "64", "--metrics", "fd_domain2k_train", "--device", "cpu",
            "--out", "rows.csv")
    assert p.returncode == 0, p.stderr
    import pandas as pd
    rows = pd.read_csv(tmp_path / "rows.csv")
    b = json.loads(BASELINE.read_text())
    assert "copying check: copy rate" in p.stdout  # the check is printed, and its rows are written
    assert list(rows.protocol) == ["fd_domain2k_train", "copy_domain2k_train", "copy_domain2k_train",
                                   "ct_domain2k_train"]
    assert rows.generator_kind[0] == "export"
    assert rows.value[0] == pytest.approx(b["checks"][0]["value"], rel=1e-4)  # the module's committed value
    p = cli("regress", "--generator", "g.pt2", "--z-dim", "64", "--baseline", "b.json", "--update",
            "--spread-seeds", "0,1")
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "b.json").read_text())["generator"]["kind"] == "export"
    p = cli("regress", "--generator", "g.pt2", "--baseline", "b.json")
    assert p.returncode == 0 and "PASS" in p.stdout, p.stdout + p.stderr
    _export(_washed_out(), tmp_path / "g.pt2", batch=64)  # a fixed batch: run in chunks of 64 (250 = 3*64 + 58)
    p = cli("regress", "--generator", "g.pt2", "--baseline", "b.json")
    assert p.returncode == 1 and "REGRESSION" in p.stdout, p.stdout + p.stderr
    assert "file changed since the baseline" in p.stderr


def test_export_with_a_fixed_batch_gives_the_dynamic_numbers(tmp_path):
    ex = _load_example()
    _export(ex.make_generator(), tmp_path / "fixed.pt2", batch=7)
    from ganbench.external import GeneratorOptions, load_generator

    g = load_generator(str(tmp_path / "fixed.pt2"), GeneratorOptions(z_dim=64), 1, 32)
    x = g.sample(20, torch.Generator().manual_seed(1))  # chunks of 7, 7, 6 (the last padded to 7)
    ref = ex.make_generator()(torch.randn(20, 64, generator=torch.Generator().manual_seed(1)))
    assert torch.allclose(x, ref, atol=1e-5)


def test_bad_export_files_are_one_line_errors(cli, tmp_path):
    ex = _load_example()
    (tmp_path / "corrupt.pt2").write_bytes(b"not a zip archive")
    _script(ex.make_generator(), tmp_path / "ts.pt2")  # a TorchScript file named .pt2
    _export(ex.make_generator(), tmp_path / "g.pt2")

    class TwoInputs(torch.nn.Module):
        def forward(self, z, y):
            return torch.tanh(z[:, :1, None, None].expand(-1, 1, 32, 32)) + 0 * y[:, None, None, None]
    torch.export.save(torch.export.export(TwoInputs(), (torch.randn(2, 64), torch.zeros(2, dtype=torch.long))),
                      str(tmp_path / "two.pt2"))
    # through the CLI: one line, and none of the traceback torch.export.load logs for a file it cannot read
    p = cli("eval", "--generator", "corrupt.pt2", "--metrics", "fd_domain2k_train")
    assert "corrupt.pt2 is not a torch.export program (torch.export.save)" in one_line_error(p)
    p = cli("eval", "--generator", "g.pt2", "--z-dim", "64", "--resolution", "28", "--metrics", "fd_domain2k_train")
    assert "shape [250, 1, 32, 32], expected [250, 1, 28, 28]" in one_line_error(p)
    from ganbench.errors import GanbenchError
    from ganbench.external import GeneratorOptions, load_generator

    for spec, opts, needle in [
            ("ts.pt2", {}, "ts.pt2 is not a torch.export program"),
            ("nosuch.pt2", {}, "nosuch.pt2 not found"),
            ("g.pt2", {"z_dim": 32}, "g.pt2 takes z of size 64, not --z-dim 32"),
            ("g.pt2", {"z_dim": 64, "num_classes": 10}, "g.pt2 takes 1 input(s) (z); ganbench passes (z, y)"),
            ("two.pt2", {"z_dim": 64}, "two.pt2 takes 2 input(s) (z, y); ganbench passes (z)")]:
        with pytest.raises(GanbenchError) as e:
            load_generator(str(tmp_path / spec), GeneratorOptions(**opts), 1, 32)
        assert needle in str(e.value) and "\n" not in str(e.value), (spec, str(e.value))


def test_torchscript_generator_evaluated_gated_and_planted_regression_fails(cli, tmp_path):
    ex = _load_example()
    ts = tmp_path / "g.pt"
    _script(ex.make_generator(), ts)
    p = cli("eval", "--generator", str(ts), "--z-dim", "64", "--metrics", "fd_domain2k_train", "--device", "cpu",
            "--out", "rows.csv", "--no-copy-check")
    assert p.returncode == 0, p.stderr
    assert "copying check" not in p.stdout  # --no-copy-check skips it
    import pandas as pd
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert list(rows.protocol) == ["fd_domain2k_train"] and rows.images_seen.isna().all()
    assert rows.generator_kind[0] == "torchscript"
    p = cli("regress", "--generator", str(ts), "--z-dim", "64", "--baseline", "b.json", "--update")
    assert p.returncode == 0, p.stderr
    b = json.loads((tmp_path / "b.json").read_text())
    c = b["checks"][0]
    assert c["spread"]["seeds"] == [0, 1, 2] and c["tolerance"] > 0
    assert c["value"] == pytest.approx(rows.value[0])  # the gate's seed is the eval's seed 0
    p = cli("regress", "--generator", str(ts), "--baseline", "b.json")  # z-dim read from the baseline
    assert p.returncode == 0 and "PASS" in p.stdout, p.stdout + p.stderr
    _script(_washed_out(), ts)
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
