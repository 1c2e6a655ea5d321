"""GPU performance measurement for issue #23, in one run on one device, within a hard time budget.

Stages, in this order (each prints its result when it has it and rewrites ``--out`` atomically, one JSON object per
line, so that a killed run keeps what it measured):

1. ``env``: device, torch, dataset.
2. ``matmul``: the card's measured square-matmul rate in bf16, fp32 (IEEE) and TF32 (best of repeated n^3 products).
3. ``train``: every model's paper preset in bf16 through the trainer's hot path (``throughput.make_loop``): img/s,
   FLOPs per iteration (FlopCounterMode, fwd + bwd of G and D) and the achieved FLOP/s as a fraction of the measured
   bf16 matmul rate (issue goal: >= 0.25).
4. ``it``: IT, seconds to generate 100 images per model paper preset, fp32 and bf16, median of 10 CUDA-event-timed
   calls (``ganbench.efficiency.measure``).
5. ``suite``: ``ganbench run --suite convergence --kimg 10 --eval-every 2 --workers N`` into a temporary folder, wall
   time against the issue's baseline of 145 s (goal: 5x faster), for each N of ``--workers``.
6. ``train_compiled``: stage 3 again with ``compile_mode`` (default reduce-overhead: CUDA graphs), each model in a
   subprocess with its own time limit (compilation can be slow); FLOPs from stage 3.

A stage or model that would not fit in the remaining budget is recorded as skipped; a watchdog ends the process at
the budget (plus 20 s). ``--smoke``: tiny presets, DCGAN only, few iterations, a tiny suite run on synthetic data: a
CPU test that the script runs end to end (``tests/test_gpu_perf.py``).

    python scripts/gpu_bench.py --device cuda --budget-s 540 --workers 4,8 --out gpu_bench.jsonl
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

BASELINE_SUITE_S = 145.0  # the measurement: convergence suite, 10 kimg, --workers 4, one H200, before #23
SUITE_RE = re.compile(r"suite \S+: (\d+) runs: (\d+) complete, (\d+) diverged, (\d+) failed")


class Recorder:
    """Prints each result as one JSON line and rewrites the output file atomically after every record."""

    def __init__(self, out: Path, t0: float) -> None:
        self.out, self.t0, self.lines = out, t0, []
        out.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, stage: str, **fields: Any) -> dict[str, Any]:
        rec = {"stage": stage, "t_s": round(time.perf_counter() - self.t0, 2), **fields}
        line = json.dumps(rec, default=str)
        self.lines.append(line)
        print(line, flush=True)
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text("\n".join(self.lines) + "\n")
        os.replace(tmp, self.out)
        return rec


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def dataset_name(smoke: bool) -> str:
    if smoke:
        return "synthetic"
    from ganbench.data import load_dataset
    try:
        load_dataset("fashion-mnist")
        return "fashion-mnist"
    except Exception:  # noqa: BLE001  (no dataset on the machine: the cost of a step does not depend on the images)
        return "synthetic"


def matmul_rates(device: str, n: int, seconds: float) -> dict[str, float]:
    from ganbench.training.throughput import matmul_gflops

    old = torch.backends.cuda.matmul.fp32_precision if device.startswith("cuda") else None
    out = {"bf16_gflop_per_s": matmul_gflops(device, n, seconds, torch.bfloat16)}
    if old is not None:
        torch.backends.cuda.matmul.fp32_precision = "ieee"
    out["fp32_gflop_per_s"] = matmul_gflops(device, n, seconds, torch.float32)
    if old is not None:
        torch.backends.cuda.matmul.fp32_precision = "tf32"
        out["tf32_gflop_per_s"] = matmul_gflops(device, n, seconds, torch.float32)
        torch.backends.cuda.matmul.fp32_precision = old
    return out


def measure_train(model: str, preset: str, device: str, ds: str, overrides: dict[str, Any], seconds: float,
                  warmup: int, min_iters: int, count_flops: bool = True) -> dict[str, Any]:
    """img/s of the trainer's iteration (timed over >= ``seconds`` and >= ``min_iters`` iterations after
    ``warmup``), and FLOPs per iteration."""
    from ganbench.training.throughput import images_per_iteration, iteration_flops, make_loop

    t_build = time.perf_counter()
    loop = make_loop(model, preset, dataset=ds, device=device, overrides=overrides, seed=0)
    for _ in range(warmup):
        loop.iteration()
    sync(device)
    warm_s = time.perf_counter() - t_build
    flops = iteration_flops(loop) if count_flops else None
    t0 = time.perf_counter()
    iters = 0
    while True:  # probe: how long an iteration takes (one sync per probe batch, as the trainer does at a check)
        for _ in range(min_iters):
            loop.iteration()
        iters += min_iters
        sync(device)
        if time.perf_counter() - t0 >= seconds / 4 or iters >= 50 * min_iters:
            break
    per_iter = (time.perf_counter() - t0) / iters
    n = max(min_iters, math.ceil(seconds / max(per_iter, 1e-6)))
    t0 = time.perf_counter()
    for _ in range(n):
        logs = loop.iteration()
    sync(device)
    dt = time.perf_counter() - t0
    ipi = images_per_iteration(loop)
    finite = all(bool(torch.isfinite(v).all()) for v in logs.values())
    r = {"model": model, "preset": preset, "precision": loop.cfg.precision, "batch_size": loop.cfg.batch_size,
         "n_dis": loop.cfg.n_dis, "compile": loop.cfg.compile, "compile_mode": loop.cfg.compile_mode,
         "iters": n, "seconds": dt, "img_per_s": n * ipi / dt, "images_per_iter": ipi, "finite": finite,
         "build_and_warmup_s": warm_s}
    if flops is not None:
        r["gflop_per_iter"] = flops / 1e9
    del loop
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return r


def with_rate(r: dict[str, Any], gflop_per_iter: float | None, bf16_rate: float) -> dict[str, Any]:
    if gflop_per_iter:
        achieved = gflop_per_iter * r["img_per_s"] / r["images_per_iter"]
        r.update(gflop_per_iter=gflop_per_iter, gflop_per_s=achieved, fraction_of_bf16_matmul=achieved / bf16_rate,
                 goal_0_25=achieved / bf16_rate >= 0.25)
    return r


def measure_it(model: str, preset: str, device: str, n_images: int, repeats: int) -> dict[str, Any]:
    from ganbench.efficiency.measure import efficiency
    from ganbench.models import ImageSpec, create_model

    m = create_model(model, preset, "default", ImageSpec(3, 32, 0))
    if m.samples_from_data:  # the cost does not depend on which images (as `ganbench efficiency` does)
        g = torch.Generator().manual_seed(0)
        m.bind_conditioning(torch.randint(0, 256, (max(n_images, 256), 3, 32, 32), generator=g, dtype=torch.uint8))
    r = efficiency(m.to(device), n_images, device, repeats=repeats)
    keep = ("n_images", "repeats", "timing", "gflops_per_image", "device")
    out = {"model": model, "preset": preset, **{k: r[k] for k in keep}}
    for p in ("fp32", "bf16"):
        out.update({f"it_s_{p}": r[f"seconds_{p}"], f"it_s_{p}_min": r[f"seconds_{p}_min"],
                    f"it_s_{p}_max": r[f"seconds_{p}_max"]})
    del m
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return out


def run_group(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[int | None, str, float]:
    """Run ``cmd`` in its own process group; on timeout kill the whole group (suite workers included)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                         env=env)
    try:
        out, _ = p.communicate(timeout=max(timeout, 1))
        return p.returncode, out, time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return None, out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--budget-s", type=float, default=540.0, help="hard wall-clock budget of the whole script")
    ap.add_argument("--out", type=Path, default=Path("gpu_bench.jsonl"), help="JSON lines, rewritten atomically")
    ap.add_argument("--workers", default="4", help="comma-separated --workers values for the suite stage")
    ap.add_argument("--models", default=None, help="comma-separated models [default: all; --smoke: dcgan]")
    ap.add_argument("--preset", default=None, help="[default: paper; --smoke: tiny]")
    ap.add_argument("--train-seconds", type=float, default=None, help="timed seconds per model [default: 3]")
    ap.add_argument("--compiled-modes", default=None,
                    help="compile modes of the last stage, 'eager' = no compile [default: reduce-overhead; --smoke: "
                         "eager (the subprocess path without a compiler)]")
    ap.add_argument("--compile-timeout-s", type=float, default=150.0, help="per model in the compiled stage")
    ap.add_argument("--stages", default="matmul,train,it,suite,train_compiled")
    ap.add_argument("--workdir", type=Path, default=None, help="suite results go to a temporary folder under it")
    ap.add_argument("--smoke", action="store_true", help="tiny, for a CPU test of the script itself")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)  # MODEL:MODE, one compiled measurement
    a = ap.parse_args(argv)
    smoke = a.smoke
    preset = a.preset or ("tiny" if smoke else "paper")
    ds = dataset_name(smoke)
    train_s = a.train_seconds if a.train_seconds is not None else (0.2 if smoke else 3.0)
    min_iters, warmup = (1, 1) if smoke else (5, 2)
    base = {"precision": "bf16", **({"batch_size": 8} if smoke else {})}

    if a.child:  # one model in a fresh process: compile + warm-up + timing; the result on the last stdout line
        model, mode = a.child.split(":")
        over = base | ({} if mode == "eager" else {"compile": True, "compile_mode": mode})
        r = measure_train(model, preset, a.device, ds, over, train_s, warmup + (0 if mode == "eager" else 3),
                          min_iters, count_flops=False)
        print("RESULT " + json.dumps(r), flush=True)
        return 0

    t_start = time.perf_counter()
    deadline = t_start + a.budget_s
    rec = Recorder(a.out, t_start)
    if a.workdir:
        a.workdir.mkdir(parents=True, exist_ok=True)

    def watchdog() -> None:
        time.sleep(a.budget_s + 20)
        rec("killed", reason=f"budget {a.budget_s:g} s exceeded by 20 s")
        os._exit(3)
    threading.Thread(target=watchdog, daemon=True).start()
    left = lambda: deadline - time.perf_counter()  # noqa: E731

    from ganbench.models import MODELS
    models = a.models.split(",") if a.models else (["dcgan"] if smoke else MODELS.names())
    stages = a.stages.split(",")
    dev = a.device
    name = torch.cuda.get_device_name(torch.device(dev)) if dev.startswith("cuda") else "cpu"
    rec("env", device=dev, device_name=name, torch=torch.__version__, cuda=torch.version.cuda, dataset=ds,
        preset=preset, models=models, budget_s=a.budget_s, smoke=smoke, cpu_count=os.cpu_count())

    bf16_rate = float("nan")
    if "matmul" in stages:
        n, sec = (256, 0.2) if smoke else (8192, 1.0)
        r = rec("matmul", n=n, **matmul_rates(dev, n, sec))
        bf16_rate = r["bf16_gflop_per_s"]

    flops: dict[str, float] = {}
    if "train" in stages:
        for m in models:
            if left() < 15:
                rec("train", model=m, skipped="budget")
                continue
            try:
                r = measure_train(m, preset, dev, ds, base, train_s, warmup, min_iters)
                flops[m] = r["gflop_per_iter"]
                rec("train", **with_rate(r, r["gflop_per_iter"], bf16_rate))
            except Exception as e:  # noqa: BLE001  (one model's failure must not end the measurement)
                rec("train", model=m, error=f"{type(e).__name__}: {e}"[:500])

    if "it" in stages:
        for m in models:
            if left() < 10:
                rec("it", model=m, skipped="budget")
                continue
            try:
                rec("it", **measure_it(m, preset, dev, 8 if smoke else 100, 2 if smoke else 10))
            except Exception as e:  # noqa: BLE001
                rec("it", model=m, error=f"{type(e).__name__}: {e}"[:500])

    if "suite" in stages:
        for w in [int(x) for x in a.workers.split(",") if x.strip()]:
            if left() < 30:
                rec("suite", workers=w, skipped="budget")
                continue
            with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
                cmd = [sys.executable, "-m", "ganbench", "run", "--suite", "convergence", "--device", dev,
                       "--workers", str(w), "--results", tmp, "--quiet"]
                cmd += (["--models", ",".join(models), "--seeds", "0", "--kimg", "0.016", "--eval-every", "0.008",
                         "--dataset", "synthetic", "--metrics", ""] if smoke
                        else ["--kimg", "10", "--eval-every", "2"])
                code, out, wall = run_group(cmd, left() - 10)
                m = SUITE_RE.search(out or "")
                counts = dict(zip(("runs", "runs_complete", "runs_diverged", "runs_failed"),
                                  map(int, m.groups()))) if m else {}
                rec("suite", workers=w, command=" ".join(cmd[1:]), returncode=code, timed_out=code is None,
                    wall_s=wall, baseline_s=BASELINE_SUITE_S, speedup_vs_baseline=BASELINE_SUITE_S / wall,
                    goal_5x=BASELINE_SUITE_S / wall >= 5 and code == 0, **counts,
                    tail=None if code == 0 else (out or "")[-2000:])

    if "train_compiled" in stages:
        modes = (a.compiled_modes or ("eager" if smoke else "reduce-overhead")).split(",")
        for mode in modes:
            for m in models:
                if left() < 30:
                    rec("train_compiled", model=m, compile_mode=mode, skipped="budget")
                    continue
                cmd = [sys.executable, os.path.abspath(__file__), "--device", dev, "--child", f"{m}:{mode}",
                       "--preset", preset, "--train-seconds", str(train_s)] + (["--smoke"] if smoke else [])
                code, out, wall = run_group(cmd, min(a.compile_timeout_s, left() - 10))
                lines = [x for x in (out or "").splitlines() if x.startswith("RESULT ")]
                if code == 0 and lines:
                    r = json.loads(lines[-1][len("RESULT "):])
                    rec("train_compiled", process_s=wall, requested_mode=mode,
                        **with_rate(r, flops.get(m), bf16_rate))
                else:
                    rec("train_compiled", model=m, compile_mode=mode, returncode=code, timed_out=code is None,
                        process_s=wall, tail=(out or "")[-2000:])

    rec("done", total_s=time.perf_counter() - t_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
