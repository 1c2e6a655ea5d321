"""``--deterministic``: deterministic kernels on during training, recorded in config.yaml, and a one-line error for an
op that has no deterministic kernel (``put_`` has none, on the CPU too)."""
from __future__ import annotations

import os

import pytest
import torch
import yaml

from conftest import one_line_error
from ganbench.errors import GanbenchError
from ganbench.models.base import resolve_config
from ganbench.models.dcgan import DCGAN
from ganbench.training import TrainSpec, train

SPEC = dict(model="dcgan", dataset="synthetic", kimg=0.032, metrics=(), device="cpu")


@pytest.fixture(autouse=True)
def _restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


@pytest.fixture
def seen(monkeypatch) -> list[bool]:
    """torch's deterministic switch at every D loss."""
    states: list[bool] = []
    d_loss = DCGAN.d_loss

    def record(self, *args, **kwargs):
        states.append(torch.are_deterministic_algorithms_enabled())
        return d_loss(self, *args, **kwargs)
    monkeypatch.setattr(DCGAN, "d_loss", record)
    return states


@pytest.mark.parametrize("on", [True, False])
def test_deterministic_reaches_training_and_config_yaml(tmp_path, seen, on):
    over = {"batch_size": 16, **({"deterministic": True} if on else {})}
    r = train(TrainSpec(**SPEC, overrides=over, out_dir=str(tmp_path)), progress=False)
    assert r.status == "complete" and seen and set(seen) == {on}
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert cfg["model_config"]["deterministic"] is on
    assert cfg["backends"]["deterministic_algorithms"] is on


def test_cli_flag_is_recorded(tmp_path, cli):
    out = tmp_path / "run"
    p = cli("train", "--model", "dcgan", "--dataset", "synthetic", "--kimg", "0.016", "--metrics", "",
            "--set", "batch_size=16", "--device", "cpu", "--quiet", "--deterministic", "--out", str(out))
    assert p.returncode == 0, p.stderr
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["spec"]["overrides"]["deterministic"] is True and cfg["model_config"]["deterministic"] is True
    assert cfg["backends"]["deterministic_algorithms"] is True


def test_suite_flag_reaches_every_run():
    from ganbench.suites import SuiteOptions, expand

    on = expand("smoke", SuiteOptions(seeds=(0,), deterministic=True))
    off = expand("smoke", SuiteOptions(seeds=(0,)))
    assert on and all(dict(s.overrides)["deterministic"] is True for s in on)
    assert all("deterministic" not in dict(s.overrides) for s in off)  # run ids of existing runs unchanged
    assert {s.out_dir for s in on}.isdisjoint(s.out_dir for s in off)


def _plant_put(monkeypatch) -> None:
    """D's loss uses ``Tensor.put_``, which has no deterministic kernel."""
    d_loss = DCGAN.d_loss

    def with_put(self, real, *args, **kwargs):
        torch.zeros(4).put_(torch.tensor([0]), torch.tensor([1.0]))
        return d_loss(self, real, *args, **kwargs)
    monkeypatch.setattr(DCGAN, "d_loss", with_put)


def test_op_without_deterministic_kernel_is_a_one_line_error(tmp_path, monkeypatch):
    _plant_put(monkeypatch)
    spec = TrainSpec(**SPEC, overrides={"batch_size": 16, "deterministic": True}, out_dir=str(tmp_path / "det"))
    with pytest.raises(GanbenchError) as e:
        train(spec, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("--deterministic: put_ has no deterministic implementation on cpu")
    assert "run without --deterministic" in msg
    plain = TrainSpec(**SPEC, overrides={"batch_size": 16}, out_dir=str(tmp_path / "plain"))
    assert train(plain, progress=False).status == "complete"  # the same op is fine without the flag


def test_cli_error_is_one_line(tmp_path, cli):
    plugin = tmp_path / "plant.py"
    plugin.write_text("import torch\nfrom ganbench.models.dcgan import DCGAN\n_d = DCGAN.d_loss\n"
                      "def d_loss(self, *a, **k):\n    torch.zeros(4).put_(torch.tensor([0]), torch.tensor([1.0]))\n"
                      "    return _d(self, *a, **k)\nDCGAN.d_loss = d_loss\n")
    (tmp_path / "sitecustomize.py").write_text("import plant  # noqa: F401\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    p = cli("train", "--model", "dcgan", "--dataset", "synthetic", "--kimg", "0.016", "--metrics", "",
            "--set", "batch_size=16", "--device", "cpu", "--quiet", "--deterministic", "--out", str(tmp_path / "r"),
            env=env)
    assert "put_ has no deterministic implementation" in one_line_error(p)


def test_deterministic_excludes_cudnn_benchmark():
    with pytest.raises(GanbenchError, match="exclude each other"):
        resolve_config("dcgan", overrides={"deterministic": True, "cudnn_benchmark": True})
