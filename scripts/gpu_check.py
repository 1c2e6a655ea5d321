"""GPU check (not run in CI; needs CUDA): every model's paper preset for a few hundred images in fp32 and bf16,
finite losses, bf16 tracking fp32 at the initial weights (``initial_losses``, ``_tracks``), img/s per model and
precision, 100 generated images timed with CUDA events, and a SIGKILLed fp32 run resumed bit-identically. Exit 1 if any
check fails.

    scripts/gpu-check.sh            # or: python scripts/gpu_check.py --images 256 --device cuda
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganbench.data import load_dataset
from ganbench.efficiency.measure import efficiency
from ganbench.models import MODELS
from ganbench.models.base import StepInfo
from ganbench.training.checkpoint import list_checkpoints, load
from ganbench.training.throughput import images_per_iteration, make_loop


def dataset_name() -> str:
    try:
        load_dataset("fashion-mnist")
        return "fashion-mnist"
    except Exception:  # noqa: BLE001  (no Debian package on the device machine)
        return "synthetic"


STYLEGAN2_FP16 = {"num_fp16_res": 4, "conv_clamp": 256.0}  # the official mixed precision (train.py without --fp32)
EPS = {"bf16": torch.finfo(torch.bfloat16).eps, "fp16": torch.finfo(torch.float16).eps}  # machine epsilon, 2^-7, 2^-10
TRACK_EPS = 8  # same weights, batch and latents: rounding moves a loss by <= 2.3 eps on the CPU (all tiny presets)
RESUME_MODELS = ("dcgan", "projected_gan")  # kill/resume with --deterministic: plain convs; bilinear + adaptive pooling


def initial_losses(loop) -> dict[str, float]:
    """D and G loss at the initial weights on the first batch, latents from the seeded global RNG, no update: the
    only difference between precisions is rounding. (After an iteration it is not: Adam's normalised steps turn
    rounding-level gradient differences into lr-sized weight differences, n_dis times.)"""
    real, y = loop.batch()
    info = StepInfo(0, 0, 0)
    with loop.autocast():
        loss_d, _ = loop.model.d_loss(real, y, info)
        loss_g, _ = loop.model.g_loss(real, y, info)
    return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}


def train_images(model: str, precision: str, images: int, device: str, ds: str,
                 extra: dict | None = None) -> tuple[float, list[float], bool]:
    """img/s (CUDA events) over >= ``images`` real images after one warm-up iteration, initial losses."""
    loop = make_loop(model, "paper", dataset=ds, device=device, overrides={"precision": precision, **(extra or {})},
                     seed=0)
    first = initial_losses(loop)
    loop.iteration()  # warm-up
    iters = max(1, -(-images // images_per_iteration(loop)))
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        logs = loop.iteration()
    end.record()
    torch.cuda.synchronize()
    finite = all(bool(torch.isfinite(v).all()) for v in logs.values()) and all(map(math.isfinite, first.values()))
    seconds = start.elapsed_time(end) / 1000
    it100 = efficiency(loop.model, 100, device)["seconds"] if precision == "fp32" else float("nan")
    return iters * images_per_iteration(loop) / seconds, [first["loss_d"], first["loss_g"], it100], finite


def resume_check(device: str, ds: str, deterministic: bool = True, model: str = "dcgan") -> bool:
    """Train ``model``'s paper preset in fp32 for 1 kimg twice; SIGKILL the second after its second checkpoint,
    resume, compare. Bit-identical is promised on CUDA only with ``--deterministic``; without it the difference is
    printed."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "ganbench", "train", "--model", model, "--preset", "paper", "--dataset", ds,
               "--kimg", "1", "--eval-every", "0.25", "--metrics", "", "--device", device, "--quiet"]
        cmd += ["--deterministic"] if deterministic else []
        subprocess.run(cmd + ["--out", f"{tmp}/full"], check=True)
        p = subprocess.Popen(cmd + ["--out", f"{tmp}/killed"])
        while p.poll() is None and len(list_checkpoints(Path(tmp, "killed"))) < 2:
            time.sleep(0.05)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
        else:
            print("  (the run finished before it could be killed)")
        subprocess.run(cmd + ["--out", f"{tmp}/killed"], check=True)
        a, b = (load(list_checkpoints(Path(tmp, n))[-1]) for n in ("full", "killed"))
        same = all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
        if not same:
            worst = max(float((a["model"][k].float() - b["model"][k].float()).abs().max()) for k in a["model"])
            print(f"  resumed weights differ: max |diff| {worst:.3g}")
        return same


def _tracks(low: tuple[float, float], ref: tuple[float, float], eps: float = EPS["bf16"]) -> bool:
    """Initial losses within ``TRACK_EPS`` machine epsilons of the low precision of fp32's, relative to the loss or to
    1, whichever is larger (a loss near 0, e.g. hinge G = -mean(logits), is a sum of O(1) terms)."""
    return all(abs(lo - hi) <= TRACK_EPS * eps * max(abs(hi), 1.0) for lo, hi in zip(low, ref))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--models", default=",".join(MODELS.names()))
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu-check: no CUDA device")
        return 2
    ds, ok = dataset_name(), True
    print(f"device {torch.cuda.get_device_name()}, dataset {ds}, paper presets, {args.images} images per run")
    same = True  # first, as the check never yet shown on a GPU: DCGAN, and Projected GAN's replaced resampling
    for m in RESUME_MODELS:
        det = resume_check(args.device, ds, deterministic=True, model=m)
        print(f"killed {m} fp32 run resumed bit-identically with --deterministic: {det}", flush=True)
        same &= det
    loose = resume_check(args.device, ds, deterministic=False)
    print(f"killed dcgan fp32 run resumed bit-identically without --deterministic: {loose} (not promised on CUDA)")
    print(f"{'model':14s} {'fp32 img/s':>10s} {'bf16 img/s':>10s} {'loss_d fp32/bf16':>20s} {'100 img (s)':>11s}")
    for m in args.models.split(","):
        r32, (d32, g32, it100), f32 = train_images(m, "fp32", args.images, args.device, ds)
        r16, (d16, g16, _), f16 = train_images(m, "bf16", args.images, args.device, ds)
        track = _tracks((d16, g16), (d32, g32))
        flag = "" if (f32 and f16 and track) else "  FAIL: " + ", ".join(
            n for n, good in (("fp32 non-finite", f32), ("bf16 non-finite", f16), ("bf16 off fp32", track))
            if not good)
        ok &= not flag
        print(f"{m:14s} {r32:10.0f} {r16:10.0f} {d32:9.4f}/{d16:9.4f} {it100:11.4f}{flag}", flush=True)
        if m == "stylegan2":  # its own fp16 blocks + conv_clamp, against the same fp32 run
            r, (d, g, _), fin = train_images(m, "fp32", args.images, args.device, ds, STYLEGAN2_FP16)
            good = fin and _tracks((d, g), (d32, g32), EPS["fp16"])
            ok &= good
            print(f"{'  official fp16':14s} {r:10.0f} {'':>10s} {d32:9.4f}/{d:9.4f}  (num_fp16_res 4, conv_clamp 256)"
                  f"{'' if good else '  FAIL'}", flush=True)
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
