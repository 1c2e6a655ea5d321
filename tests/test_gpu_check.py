"""scripts/gpu_check.py runs only on a GPU machine; what it builds its rows from is checked here, on the CPU: the keys
it reads from ``efficiency()`` are keys ``efficiency()`` returns, and its bf16-tracks-fp32 check passes a bf16 loss
at the same weights and fails one off by a percent-level error."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
import torch

from ganbench.efficiency.measure import efficiency
from ganbench.models import MODELS, create_model
from ganbench.training.throughput import make_loop

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _efficiency_keys_read(source: str) -> set[str]:
    """Every constant key read from an ``efficiency(...)`` result: ``efficiency(...)[k]``, ``.get(k)``, and the same
    on a name assigned from ``efficiency(...)``."""
    tree = ast.parse(source)
    is_call = lambda n: (isinstance(n, ast.Call)  # noqa: E731
                         and getattr(n.func, "id", getattr(n.func, "attr", "")) == "efficiency")
    names = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and is_call(n.value)
             for t in n.targets if isinstance(t, ast.Name)}
    is_result = lambda n: is_call(n) or (isinstance(n, ast.Name) and n.id in names)  # noqa: E731
    keys = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Subscript) and is_result(n.value) and isinstance(n.slice, ast.Constant):
            keys.add(n.slice.value)
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
                and is_result(n.func.value) and n.args and isinstance(n.args[0], ast.Constant)):
            keys.add(n.args[0].value)
    return keys


def test_gpu_check_reads_only_keys_efficiency_returns(gpu_check):
    read = _efficiency_keys_read(SCRIPT.read_text())
    assert read, "gpu_check.py no longer reads efficiency(); update this test"
    torch.manual_seed(0)
    m = create_model("dcgan", "tiny")
    returned = set(efficiency(m, n_images=2, device="cpu"))
    assert read <= returned, f"gpu_check.py reads {sorted(read - returned)}; efficiency() returns {sorted(returned)}"


def test_the_key_reader_sees_a_wrong_key():
    src = "r = efficiency(m, 100)\nx = r['it100_s']\ny = efficiency(m, 100, d)['seconds']\nz = r.get('n')\n"
    assert _efficiency_keys_read(src) == {"it100_s", "seconds", "n"}


@pytest.mark.parametrize("model", sorted(MODELS.names()))
def test_bf16_initial_losses_track_fp32(gpu_check, model):
    """Same weights, batch and latents: bf16 is within the check's tolerance, and a loss 1.5 tolerances off is not."""
    torch.set_num_threads(1)
    loss = {p: gpu_check.initial_losses(make_loop(model, "tiny", dataset="synthetic", seed=1,
                                                  overrides={"batch_size": 8, "precision": p}))
            for p in ("fp32", "bf16")}
    ref, low = (loss["fp32"]["loss_d"], loss["fp32"]["loss_g"]), (loss["bf16"]["loss_d"], loss["bf16"]["loss_g"])
    assert low != ref  # autocast was on
    assert gpu_check._tracks(low, ref)
    off = gpu_check.TRACK_EPS * gpu_check.EPS["bf16"] * 1.5
    assert not gpu_check._tracks((ref[0] + off * max(abs(ref[0]), 1.0), ref[1]), ref)
