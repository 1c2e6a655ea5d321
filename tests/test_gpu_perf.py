"""The GPU performance path, checked on the CPU: no host sync per training iteration (non-finite losses are flagged on
the device and read every ``check_every`` steps and at every evaluation/checkpoint; CUDA's clock is read only at
those boundaries), a NaN is still caught and never checkpointed, wall_s excludes evaluation in both clock modes,
``compile_mode`` (CUDA graphs: cloned outputs, one ``cudagraph_mark_step_begin`` per iteration), IT in fp32/bf16 as
medians of repeats, and ``scripts/gpu_bench.py --smoke`` end to end."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

import ganbench.training.loop as loop_mod
import ganbench.training.run_options as ro
from ganbench.training.loop import TrainingLoop
from ganbench import results
from ganbench.errors import GanbenchError
from ganbench.models.base import GAN, resolve_config
from ganbench.training import TrainSpec, train
from ganbench.training.checkpoint import list_checkpoints, load

ROOT = Path(__file__).resolve().parent.parent
PKG = str(ROOT / "ganbench")


B = 4  # batch size: small steps, the loop's logic is what is tested


def _spec(tmp_path: Path, name: str = "run", kimg: float = 0.08, **over) -> TrainSpec:
    overrides = {"batch_size": B, **over.pop("overrides", {})}
    return TrainSpec(model="dcgan", dataset="synthetic", kimg=kimg, metrics=(), device="cpu",
                     out_dir=str(tmp_path / name), overrides=overrides, **over)


class _SyncCounter:
    """Counts host reads of tensor values made by ganbench code (``Tensor.item``/``bool``/``float``/``int``/
    ``tolist``, and ``run_options.sync``) during training iterations and the loop's checks; evaluation and
    checkpointing, which may read freely, are left out. torch's own reads of host-side state (Adam's CPU step
    counter) are not ganbench's and not counted."""

    READS = ("item", "__bool__", "__float__", "__int__", "tolist")

    def __init__(self, monkeypatch) -> None:
        self.n, self.active = 0, True
        for name in self.READS:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._wrap(original))
        sync = loop_mod.sync
        monkeypatch.setattr(loop_mod, "sync", lambda device: (self._count(), sync(device))[1])
        for name in ("evaluate", "save_checkpoint", "exploding", "diverged"):
            monkeypatch.setattr(TrainingLoop, name, self._pause(getattr(TrainingLoop, name)))

    def _count(self) -> None:
        if self.active:
            self.n += 1

    def _wrap(self, original):
        counter = self

        def read(t, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(PKG):
                counter._count()
            return original(t, *args, **kwargs)
        return read

    def _pause(self, original):
        counter = self

        def paused(*args, **kwargs):
            counter.active = False
            try:
                return original(*args, **kwargs)
            finally:
                counter.active = True
        return paused


@pytest.mark.parametrize("segment_clock", [True, False], ids=["cuda-clock", "cpu-clock"])
def test_no_host_sync_per_iteration(tmp_path, monkeypatch, segment_clock):
    """K iterations with check_every=N read the device at most K/N times plus twice per boundary (the flag and, for
    CUDA's clock, one sync); the old loop read it twice per iteration."""
    monkeypatch.setattr(loop_mod, "_times_by_segment", lambda device: segment_clock)
    counter = _SyncCounter(monkeypatch)
    k, n = 20, 5  # 0.08 kimg at batch 4; evaluations and checkpoints at the start (not counted) and the end
    r = train(_spec(tmp_path, overrides={"check_every": n}), progress=False)
    assert r.status == "complete" and r.images_seen == k * B and r.wall_s > 0
    assert counter.n <= k // n + 2, f"{counter.n} host reads in {k} iterations"


def test_nan_is_found_at_the_next_check(tmp_path, monkeypatch):
    original = GAN.d_loss

    def nan_from(self, real, y, info):
        loss, logs = original(self, real, y, info)
        return (loss * float("nan"), logs) if info.d_step >= 5 else (loss, logs)

    monkeypatch.setattr(GAN, "d_loss", nan_from)
    r = train(_spec(tmp_path, kimg=0.048, overrides={"check_every": 4}), progress=False)  # NaN from step 6
    st = results.read_status(tmp_path / "run")  # found at the check after step 8, of 12
    assert r.status == "diverged" and st["status"] == "diverged" and st["images_seen"] == 8 * B
    assert st["reason"].startswith("non-finite loss_d") and "checked at 32 images, every 4 G steps" in st["reason"]


def test_nan_is_never_checkpointed(tmp_path, monkeypatch):
    """A checkpoint between two periodic checks reads the flag first: the run stops there instead of saving NaNs."""
    original = GAN.d_loss

    def nan_from(self, real, y, info):
        loss, logs = original(self, real, y, info)
        return (loss * float("nan"), logs) if info.d_step >= 5 else (loss, logs)

    monkeypatch.setattr(GAN, "d_loss", nan_from)
    s = _spec(tmp_path, kimg=0.06, ckpt_every_kimg=0.032, overrides={"check_every": 100})  # checkpoints every 8 steps
    r = train(s, progress=False)
    assert r.status == "diverged" and r.images_seen == 8 * B
    ckpts = list_checkpoints(tmp_path / "run")
    assert ckpts, "the initial checkpoint exists"
    for c in ckpts:
        state = load(c)
        assert state["images_seen"] < 8 * B
        assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


@pytest.mark.parametrize("segment_clock", [True, False], ids=["cuda-clock", "cpu-clock"])
def test_wall_s_counts_training_not_evaluation(tmp_path, monkeypatch, segment_clock):
    monkeypatch.setattr(loop_mod, "_times_by_segment", lambda device: segment_clock)
    step, evaluate = TrainingLoop.iteration, TrainingLoop.evaluate
    monkeypatch.setattr(TrainingLoop, "iteration", lambda self: (time.sleep(0.01), step(self))[1])
    monkeypatch.setattr(TrainingLoop, "evaluate", lambda self, *a: (time.sleep(0.4), evaluate(self, *a))[1])
    t0 = time.perf_counter()
    r = train(_spec(tmp_path, kimg=0.032, eval_every_kimg=0.016), progress=False)  # 8 steps, 3 evaluations
    elapsed = time.perf_counter() - t0
    assert r.status == "complete"
    assert 8 * 0.01 <= r.wall_s < elapsed - 3 * 0.4
    rows = results.read_status(tmp_path / "run")
    assert math.isclose(rows["wall_s"], r.wall_s, abs_tol=1e-3)


def test_check_every_is_validated_and_recorded(tmp_path):
    with pytest.raises(GanbenchError, match="check_every"):
        resolve_config("dcgan", overrides={"check_every": -1})
    with pytest.raises(GanbenchError, match="compile_mode"):
        resolve_config("dcgan", overrides={"compile_mode": "fastest"})
    assert ro.check_interval(resolve_config("dcgan"), "cpu") == 1
    assert ro.check_interval(resolve_config("dcgan"), "cuda:0") == ro.CUDA_CHECK_EVERY
    assert ro.check_interval(resolve_config("dcgan", overrides={"check_every": 7}), "cuda") == 7
    train(_spec(tmp_path, kimg=0.016, overrides={"check_every": 3}), progress=False)
    mc = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["model_config"]
    assert (mc["check_every"], mc["compile_mode"]) == (3, "default")


# ---- compile modes ----------------------------------------------------------------------------------------------
def test_graph_mode_forward_returns_clones(monkeypatch):
    """A CUDA graph's outputs live in a static buffer its next replay overwrites; the compiled forward must hand out
    copies. Simulated on the CPU by a 'compiled' function writing into one buffer."""
    buf = torch.zeros(1, 2)

    def fake_compile(fn, mode=None):
        def replay(x):
            buf.copy_(fn(x))
            return buf
        return replay

    monkeypatch.setattr(torch, "compile", fake_compile)
    m = torch.nn.Linear(3, 2)
    keys = list(m.state_dict())
    ro._compile(m, "reduce-overhead")
    a = m(torch.ones(1, 3))[0]
    b = m(2 * torch.ones(1, 3))[0]
    assert not torch.equal(a, b), "the first output was overwritten by the second call"
    assert list(m.state_dict()) == keys


def test_mark_step_once_per_iteration_in_graph_modes(monkeypatch):
    from ganbench.training.throughput import make_loop

    calls = []
    monkeypatch.setattr(loop_mod, "mark_step", lambda: calls.append(1))
    monkeypatch.setattr(ro, "compile_model", lambda model, cfg: None)  # the marking alone, no compiler
    monkeypatch.setattr(loop_mod, "compile_model", lambda model, cfg: None)
    loop = make_loop("dcgan", dataset="synthetic", overrides={"batch_size": 4, "compile": True,
                                                             "compile_mode": "reduce-overhead"})
    loop.iteration(), loop.iteration()
    assert len(calls) == 2
    plain = make_loop("dcgan", dataset="synthetic", overrides={"batch_size": 4, "compile": True})
    plain.iteration()
    assert len(calls) == 2


@pytest.mark.slow
def test_reduce_overhead_trains_on_cpu(cli, tmp_path):
    """On CPU there are no CUDA graphs: reduce-overhead falls back to inductor code and trains (2 iterations)."""
    p = cli("train", "--model", "dcgan", "--dataset", "synthetic", "--kimg", "0.016", "--set", "batch_size=8",
            "--metrics", "", "--device", "cpu", "--compile-mode", "reduce-overhead", "--quiet",
            "--out", str(tmp_path / "run"))
    assert p.returncode == 0, p.stderr
    mc = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["model_config"]
    assert (mc["compile"], mc["compile_mode"]) == (True, "reduce-overhead")
    state = load(list_checkpoints(tmp_path / "run")[-1])
    assert state["step"] == 2 and all(torch.isfinite(v).all() for v in state["model"].values()
                                      if v.is_floating_point())


# ---- inference time ---------------------------------------------------------------------------------------------
def test_efficiency_times_fp32_and_bf16_as_medians(monkeypatch):
    import ganbench.efficiency.measure as eff
    from ganbench.models import ImageSpec, create_model

    model = create_model("dcgan", "tiny", img=ImageSpec(1, 32, 0))
    ticks = iter(range(1000))
    monkeypatch.setattr(eff.time, "perf_counter", lambda: float(next(ticks)) ** 2 / 100)  # growing durations
    r = eff.efficiency(model, n_images=8, device="cpu", repeats=5)
    for p in ("fp32", "bf16"):
        runs = r[f"seconds_{p}_runs"]
        assert len(runs) == 5 and r[f"seconds_{p}"] == sorted(runs)[2]  # the median, not the first or the last
        assert r[f"seconds_{p}_min"] == min(runs) and r[f"seconds_{p}_max"] == max(runs)
    assert r["seconds"] == r["seconds_fp32"] and r["repeats"] == 5
    assert r["timing"].startswith("cpu wall clock") and r["device"].startswith("cpu")
    assert r["images_per_s"] == pytest.approx(8 / r["seconds_fp32"])


def test_efficiency_suite_rows_carry_bf16_it(tmp_path, monkeypatch):
    from ganbench.efficiency import EfficiencySpec, run_efficiency

    monkeypatch.setattr("ganbench.efficiency.measure.DEFAULT_REPEATS", {"cpu": 2, "cuda": 10})
    r = run_efficiency(EfficiencySpec(model="dcgan", preset="tiny", n_images=4, device="cpu",
                                      out_dir=str(tmp_path / "e")))
    vals = {row["metric"]: row for row in r.rows}
    assert vals["it4_s"]["value"] > 0 and vals["it4_s_bf16"]["value"] > 0 and vals["it4_s"]["std"] is not None
    cfg = yaml.safe_load((tmp_path / "e" / "config.yaml").read_text())
    assert "median of 2" in cfg["timing"] and cfg["repeats"] == 2


# ---- the prepared GPU measurement -------------------------------------------------------------------------------
def test_gpu_bench_smoke(tmp_path):
    out = tmp_path / "bench.jsonl"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_bench.py"), "--smoke", "--device", "cpu",
                        "--budget-s", "300", "--out", str(out), "--workdir", str(tmp_path / "w")],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    stages = {x["stage"] for x in lines}
    assert {"env", "matmul", "train", "suite", "it", "done"} <= stages, stages
    mm = next(x for x in lines if x["stage"] == "matmul")
    assert mm["bf16_gflop_per_s"] > 0 and mm["fp32_gflop_per_s"] > 0
    tr = [x for x in lines if x["stage"] == "train"]
    assert tr and all(x["img_per_s"] > 0 and x["gflop_per_iter"] > 0 and 0 < x["fraction_of_bf16_matmul"] for x in tr)
    suite = next(x for x in lines if x["stage"] == "suite")
    assert suite["returncode"] == 0 and suite["wall_s"] > 0 and suite["runs_complete"] >= 1
    it = next(x for x in lines if x["stage"] == "it")
    assert it["it_s_fp32"] > 0 and it["it_s_bf16"] > 0
