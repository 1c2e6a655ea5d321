"""The Ray executor on a real local Ray cluster: the smoke suite gives exactly the local executor's results; a killed
worker is retried and resumes exactly; a failing run is retried, a bad one reported, and the others go on."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import torch

from ganbench import results
from ganbench.executors import Outcome, execute_local
from ganbench.executors import ray_executor
from ganbench.suites import SuiteOptions, expand
from ganbench.training.checkpoint import list_checkpoints, load

try:
    import ray
except ImportError:  # CI sets GANBENCH_REQUIRE_RAY=1: a failed Ray install fails there instead of skipping
    if os.environ.get("GANBENCH_REQUIRE_RAY") == "1":
        raise
    pytest.skip("ray is not installed (pip install -e .[ray])", allow_module_level=True)
pytestmark = pytest.mark.ray


def smoke_metrics() -> tuple[str, ...]:
    """The smoke suite's metric; the domain CNN weights are committed, so a missing file is an error, not zero rows."""
    return ("fd_domain2k_train",)


@pytest.fixture(scope="module")
def cluster():
    """One small local Ray cluster for the module (start-up takes seconds)."""
    ray.init(address="local", num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False,
             log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def one_thread():
    """Ray tasks train with one torch thread; local comparison runs must too (thread count changes float sums)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def assert_same_run(a: Path, b: Path) -> None:
    """Same final weights (G, D, EMA, optimisers' step), same metric rows, both complete."""
    assert results.read_status(a)["status"] == results.read_status(b)["status"] == "complete"
    ca, cb = load(list_checkpoints(a)[-1]), load(list_checkpoints(b)[-1])
    assert ca["images_seen"] == cb["images_seen"] > 0
    for part in ("model", "g_ema"):
        assert ca[part].keys() == cb[part].keys()
        assert all(torch.equal(ca[part][k], cb[part][k]) for k in ca[part]), part
    ma, mb = (pd.read_csv(d / "metrics.csv").drop(columns=["wall_s"]) for d in (a, b))
    pd.testing.assert_frame_equal(ma, mb)


def test_smoke_suite_on_ray_equals_local(cluster, one_thread, tmp_path):
    opts = SuiteOptions(metrics=smoke_metrics(), device="cpu")
    done: list[Outcome] = []
    (on_ray,) = ray_executor.execute_ray(expand("smoke", opts, tmp_path / "ray"), on_done=done.append)
    assert on_ray.status == "complete" and on_ray.attempts == 1 and done == [on_ray]
    assert ray.is_initialized()  # an existing connection is left open
    (local,) = execute_local(expand("smoke", opts, tmp_path / "local"), progress=False)
    assert Path(on_ray.spec.out_dir).name == Path(local.spec.out_dir).name  # the same run id
    assert_same_run(Path(on_ray.spec.out_dir), Path(local.spec.out_dir))
    rows = results.load_metrics(tmp_path / "ray")
    assert len(rows) == 3 * len(opts.metrics) > 0  # evaluations at 0, 256 and 512 images
    assert rows["value"].notna().all()


def _flaky_task(spec, env, threads):
    """Stands in for the Ray task body (shipped by value): seed 2 is SIGKILLed mid-training on its first attempt,
    seed 3 fails with an unexpected error on its first attempt; other runs are untouched."""
    first = Path(spec.out_dir + ".attempted")
    if spec.seed in (2, 3) and not first.exists():
        first.parent.mkdir(parents=True, exist_ok=True)
        first.touch()
        if spec.seed == 3:
            return Outcome(spec, "failed", "RuntimeError: transient", retryable=True)

        def kill_after_first_checkpoint() -> None:
            ckpt = Path(spec.out_dir) / "checkpoints" / "ckpt-000000256.pt"
            while not ckpt.exists():
                threading.Event().wait(0.02)
            os.kill(os.getpid(), signal.SIGKILL)
        threading.Thread(target=kill_after_first_checkpoint, daemon=True).start()
    return ray_executor._train_task(spec, env, threads)


def test_killed_failing_and_bad_runs(cluster, one_thread, tmp_path, monkeypatch):
    from ray import cloudpickle  # Ray's own copy pickles remote functions
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(ray_executor, "_train_task", _flaky_task)
    opts = SuiteOptions(metrics=(), seeds=(2, 3), device="cpu")
    specs = expand("smoke", opts, tmp_path / "ray")
    bad = expand("smoke", SuiteOptions(metrics=(), seeds=(4,), device="cpu", data_root=str(tmp_path / "nowhere")),
                 tmp_path / "ray")
    out = ray_executor.execute_ray(specs + bad)
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    killed, flaky, broken = out
    assert killed.status == "complete" and killed.attempts == 1, killed.error  # Ray's max_retries restarted the task
    assert len(list_checkpoints(killed.spec.out_dir)) == 3  # at 0, 256, 512: resumed, not restarted
    assert flaky.status == "complete" and flaky.attempts == 2
    assert broken.status == "failed" and broken.attempts == 1 and "Fashion-MNIST" in broken.error
    st = results.read_status(broken.spec.out_dir)
    assert st["status"] == "failed" and "Fashion-MNIST" in st["error"]
    monkeypatch.undo()
    ref = execute_local(expand("smoke", SuiteOptions(metrics=(), seeds=(2,), device="cpu"), tmp_path / "local"),
                        progress=False)
    assert_same_run(Path(killed.spec.out_dir), Path(ref[0].spec.out_dir))
    assert not list(Path(killed.spec.out_dir).rglob("*.tmp"))


def test_cli_run_on_ray_cluster(cluster, cli, tmp_path):
    """`ganbench run --executor ray --address` sends the runs to an existing cluster; results are the usual ones."""
    p = cli("run", "--suite", "smoke", "--executor", "ray", "--address", cluster, "--metrics", "", "--kimg", "0.25",
            "--device", "cpu")  # not --quiet: that leaves out the per-run "[complete]" lines
    assert p.returncode == 0, p.stderr
    assert "1 complete" in p.stdout and "[complete] dcgan-default-tiny-s0" in p.stderr
    (run,) = results.run_dirs(tmp_path / "results" / "smoke")
    assert json.loads((run / "status.json").read_text())["images_seen"] >= 250


def test_gpu_placement_rules():
    """cuda/auto runs ask Ray for one GPU and let Ray pick it; without cluster GPUs auto means cpu."""
    from ganbench.errors import GanbenchError
    from ganbench.training import TrainSpec
    s = TrainSpec(model="dcgan", device="cuda:3", out_dir="/tmp/x")
    spec, res = ray_executor._placement(s, cluster_gpus=4, cpus=2)
    assert spec.device == "cuda" and res == {"num_cpus": 2, "num_gpus": 1} and spec.run_id == s.run_id
    spec, res = ray_executor._placement(TrainSpec(model="dcgan", device="auto"), cluster_gpus=0, cpus=1)
    assert spec.device == "cpu" and res["num_gpus"] == 0
    spec, res = ray_executor._placement(TrainSpec(model="dcgan", device="auto"), cluster_gpus=1, cpus=1)
    assert spec.device == "cuda" and res["num_gpus"] == 1
    with pytest.raises(GanbenchError, match="no GPU"):
        ray_executor._placement(s, cluster_gpus=0, cpus=1)
