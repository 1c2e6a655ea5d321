"""Reliability: kill -9 at random points and resume exactly; no partial files; divergence and failures do not stop a
suite; retries; concurrent writers into one results directory; one writer per run; determinism with a metric."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from ganbench import results
from ganbench.executors import Outcome, RetryPolicy, base, execute_local
from ganbench.io import exclusive_lock
from ganbench.suites import SuiteOptions, expand
from ganbench.training import TrainSpec, train
from ganbench.training.checkpoint import PATTERN, list_checkpoints, load
from ganbench.results import RunBusy

# 17 checkpoints: enough for six kills that each skip at most two, however fast the machine
TINY = ["train", "--model", "dcgan", "--preset", "tiny", "--kimg", "2", "--eval-every", "0.125", "--metrics", "",
        "--set", "batch_size=16", "--seed", "1", "--device", "cpu", "--quiet"]


def launch(out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # same thread count in every process: same float sums
    return subprocess.Popen([sys.executable, "-m", "ganbench", *TINY, "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def check_intact(run: Path, status: str = "running") -> list[Path]:
    """Every results file parses and every checkpoint loads; returns leftover temporaries."""
    if (run / "status.json").exists():
        assert json.loads((run / "status.json").read_text())["status"] == status
    if (run / "config.yaml").exists():
        assert "spec" in yaml.safe_load((run / "config.yaml").read_text())
    if (run / "metrics.csv").exists():
        assert list(pd.read_csv(run / "metrics.csv").columns) == results.COLUMNS
    for p in list_checkpoints(run):
        assert load(p)["images_seen"] == int(PATTERN.search(p.name)[1])
    for p in (run / "samples").glob("*.png") if (run / "samples").exists() else []:
        with Image.open(p) as im:
            im.verify()
    return list(run.rglob("*.tmp"))


def wait_new_checkpoint(run: Path, proc: subprocess.Popen, known: set[str], timeout: float = 300) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if {p.name for p in list_checkpoints(run)} - known:
            return True
        time.sleep(0.02)
    return False


def wait_temporary(run: Path, proc: subprocess.Popen, timeout: float = 300) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if any(run.rglob(".*.tmp")):
            return True
        time.sleep(0.001)
    return False


def sleep_before_checkpoint(run: Path, proc: subprocess.Popen, seconds: float, limit: int) -> None:
    """Sleep up to `seconds`, but wake once `run` holds `limit` checkpoints: on a fast machine a fixed sleep would
    outlast the whole run and the kill would hit a finished process."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None and len(list_checkpoints(run)) < limit:
        time.sleep(0.01)


def final_state(run: Path) -> dict:
    return load(list_checkpoints(run)[-1])



def test_kill9_at_random_points_resumes_exactly(tmp_path):
    ref_dir, run = tmp_path / "ref", tmp_path / "killed"
    ref = launch(ref_dir)  # the uninterrupted run, concurrently
    rng = random.Random(0)
    kills, temps = [], 0
    for i in range(6):
        known = {p.name for p in list_checkpoints(run)}
        proc = launch(run)
        if i == 0:
            sleep_before_checkpoint(run, proc, rng.uniform(0.5, 6.0), 2)  # start-up, first evaluation or checkpoint
        elif i < 5:
            assert wait_new_checkpoint(run, proc, known), "run made no progress"
            sleep_before_checkpoint(run, proc, rng.uniform(0.0, 1.0), len(known) + 2)  # between two checkpoints
        else:
            assert wait_temporary(run, proc), "no write seen"  # in the middle of an atomic write
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(alive)
        temps += len(check_intact(run))
    assert all(kills), kills  # every kill hit a live training process
    assert results.read_status(run)["status"] == "running"
    final = launch(run)
    assert final.wait(timeout=600) == 0 and ref.wait(timeout=600) == 0
    assert results.read_status(run)["status"] == results.read_status(ref_dir)["status"] == "complete"
    assert not check_intact(run, "complete")  # all files intact, temporaries removed on resume
    assert [p.name for p in list_checkpoints(run)] == [p.name for p in list_checkpoints(ref_dir)]
    a, b = final_state(run), final_state(ref_dir)
    for part in ("model", "g_ema"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["opt_g"]["state"].keys() == b["opt_g"]["state"].keys()
    assert all(torch.equal(a["opt_d"]["state"][k]["exp_avg"], b["opt_d"]["state"][k]["exp_avg"])
               for k in a["opt_d"]["state"])
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert samples == sorted(p.name for p in (ref_dir / "samples").glob("*.png"))
    assert all((run / "samples" / n).read_bytes() == (ref_dir / "samples" / n).read_bytes() for n in samples)
    ma, mb = (pd.read_csv(d / "metrics.csv").drop(columns=["wall_s"]) for d in (run, ref_dir))
    pd.testing.assert_frame_equal(ma, mb)
    print(f"6 kills, {temps} leftover temporaries seen after kills (removed on resume)")


def suite_file(tmp_path: Path, runs: str) -> str:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: rel\ndataset: synthetic\nkimg: 0.064\nmetrics: []\nruns:\n{runs}")
    return str(p)


def test_diverged_run_does_not_stop_the_suite(tmp_path, cli):
    s = suite_file(tmp_path, "  - {model: dcgan, overrides: {batch_size: 16, lr_d: 1.0e+30}}\n"
                             "  - {model: dcgan, overrides: {batch_size: 16}}\n")
    root = tmp_path / "results"
    outcomes = execute_local(expand(s, SuiteOptions(device="cpu"), root), progress=False)
    assert [o.status for o in outcomes] == ["diverged", "complete"]
    div = results.read_status(outcomes[0].spec.out_dir)
    assert div["status"] == "diverged" and div["images_seen"] == 16 and "non-finite" in div["reason"]
    assert outcomes[0].attempts == 1  # divergence is deterministic: never retried
    p = cli("results", str(root))
    assert p.returncode == 0, p.stderr
    lines = {o.spec.run_id: next(ln for ln in p.stdout.splitlines() if o.spec.run_id in ln) for o in outcomes}
    assert "diverged" in lines[outcomes[0].spec.run_id] and "complete" in lines[outcomes[1].spec.run_id]


def _flaky(original):
    """run_one that SIGKILLs its own process mid-training (seed 5) or fails with a transient error (seed 6) on the
    first attempt of a run (a marker file remembers attempts across processes)."""
    def run_one(spec, progress=True):
        first = Path(spec.out_dir + ".attempted")
        if spec.seed in (5, 6) and not first.exists():
            first.parent.mkdir(parents=True, exist_ok=True)
            first.touch()
            if spec.seed == 6:
                return Outcome(spec, "failed", "RuntimeError: transient", retryable=True)

            def kill() -> None:
                while not (Path(spec.out_dir) / "checkpoints" / "ckpt-000000256.pt").exists():
                    time.sleep(0.02)
                os.kill(os.getpid(), signal.SIGKILL)
            threading.Thread(target=kill, daemon=True).start()
        return original(spec, progress)
    return run_one


def test_process_pool_survives_a_killed_worker_and_retries(tmp_path, monkeypatch):
    opts = SuiteOptions(metrics=(), seeds=(5, 6), device="cpu")
    monkeypatch.setattr(base, "run_one", _flaky(base.run_one))  # forked pool workers inherit the patch
    killed, flaky = execute_local(expand("smoke", opts, tmp_path / "pool"), workers=2, progress=False)
    monkeypatch.undo()
    assert killed.status == flaky.status == "complete"
    assert killed.attempts >= 2 and flaky.attempts >= 2
    (ref,) = execute_local(expand("smoke", SuiteOptions(metrics=(), seeds=(5,), device="cpu"), tmp_path / "ref"),
                           workers=2, progress=False)  # same per-worker thread count as above
    a, b = final_state(Path(killed.spec.out_dir)), final_state(Path(ref.spec.out_dir))
    assert a["images_seen"] == b["images_seen"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_retry_policy_sequential(tmp_path, monkeypatch):
    calls = []

    def failing(spec, progress=True):
        calls.append(spec.seed)
        return Outcome(spec, "failed", "RuntimeError: boom", retryable=spec.seed == 7)

    monkeypatch.setattr(base, "run_one", failing)
    specs = expand("smoke", SuiteOptions(metrics=(), seeds=(7, 8), device="cpu"), tmp_path)
    done = []
    out = execute_local(specs, progress=False, on_done=done.append, policy=RetryPolicy(retries=2))
    assert calls == [7, 7, 7, 8]  # retryable failures: 1 + 2 retries; bad input: once
    assert [o.attempts for o in out] == [3, 1] and [o.status for o in out] == ["failed", "failed"] and len(done) == 2


def test_unexpected_error_is_reported_and_suite_continues(tmp_path, monkeypatch):
    from ganbench.training.loop import TrainingLoop
    original = TrainingLoop.iteration

    def broken(self):
        if self.spec.seed == 9:
            raise RuntimeError("simulated bug")
        return original(self)

    monkeypatch.setattr(TrainingLoop, "iteration", broken)
    specs = expand(suite_file(tmp_path, "  - {model: dcgan, overrides: {batch_size: 16}}\n"),
                   SuiteOptions(seeds=(9, 10), device="cpu"), tmp_path / "r")
    bad, good = execute_local(specs, progress=False, policy=RetryPolicy(retries=1))
    assert bad.status == "failed" and bad.retryable and bad.attempts == 2 and "simulated bug" in bad.error
    st = results.read_status(bad.spec.out_dir)
    assert st["status"] == "failed" and "simulated bug" in st["error"] and "images_seen" in st
    assert good.status == "complete"


def test_one_writer_per_run_directory(tmp_path):
    spec = TrainSpec(model="dcgan", dataset="synthetic", kimg=0.032, metrics=(), overrides={"batch_size": 16},
                     device="cpu", out_dir=str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    with exclusive_lock(tmp_path / "run" / ".lock"):  # another process (or executor) trains it now
        with pytest.raises(RunBusy, match="another process"):
            train(spec, progress=False)
        o = base.run_one(spec, progress=False)
        assert o.status == "failed" and not o.retryable
        assert results.read_status(tmp_path / "run")["status"] == "missing"  # its status is left alone
    assert train(spec, progress=False).status == "complete"


def test_resume_removes_stale_temporaries(tmp_path):
    spec = TrainSpec(model="dcgan", dataset="synthetic", kimg=0.064, metrics=(), overrides={"batch_size": 16},
                     device="cpu", out_dir=str(tmp_path / "run"))
    train(spec, progress=False)
    run = tmp_path / "run"
    last = list_checkpoints(run)[-1]
    last.unlink()  # as if killed while writing the last checkpoint ...
    stale = [run / "checkpoints" / f".{last.name}.k3j2x.tmp", run / ".status.json.a8f0.tmp"]
    for p in stale:
        p.write_bytes(b"partial")  # ... leaving atomic_write's temporaries behind
    results.write_status(run, "running", images_seen=32)
    r = train(spec, progress=False)
    assert r.status == "complete" and last.exists() and not any(p.exists() for p in stale)



def test_concurrent_runs_share_one_results_directory(tmp_path, cli):
    """Four processes write into one results root at once (seed 0 twice); every row arrives, nothing is torn."""
    root = tmp_path / "results"
    env = {**os.environ, "GANBENCH_RESULTS": str(root), "OMP_NUM_THREADS": "1"}
    args = ["run", "--suite", "smoke", "--kimg", "0.25", "--quiet", "--device", "cpu"]
    procs = [subprocess.Popen([sys.executable, "-m", "ganbench", *args, "--seeds", str(s)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in (0, 1, 2, 0)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes[1:3] == [0, 0], outs
    # of the two seed-0 processes one trains it; the other finds it complete (0) or being trained (1, and says so)
    assert 0 in (codes[0], codes[3]), outs
    assert all(c == 0 or "being trained by another process" in o[1] for c, o in zip(codes, outs)), outs
    m = results.load_metrics(root)
    assert len(m) == 3 * 2 and set(m["seed"]) == {0, 1, 2} and (m["status"] == "complete").all()
    assert m["value"].notna().all() and m.groupby("seed")["images_seen"].agg(tuple).tolist() == [(0, 256)] * 3
    assert not list(root.rglob("*.tmp"))



def test_same_seed_same_metric_values(tmp_path):
    """Two runs with the same seed on this machine give identical metric values (fd_domain2k_train)."""
    def run(name: str):
        spec = TrainSpec(model="dcgan", kimg=0.128, eval_every_kimg=0.064, metrics=("fd_domain2k_train",), seed=11,
                         overrides={"batch_size": 32}, device="cpu", out_dir=str(tmp_path / name))
        return pd.DataFrame(train(spec, progress=False).rows).drop(columns=["wall_s"])
    a, b = run("a"), run("b")
    assert len(a) == 3 and a["value"].notna().all() and a["value"].nunique() == 3
    pd.testing.assert_frame_equal(a, b)
