"""Lower bounds for the #14 goal (every tiny preset at >= 1/4 of DCGAN's img/s on the CPU): the time one training
iteration spends in work that the method prescribes, measured alone, against the time the goal allows.

- Projected GAN: the frozen feature network (EfficientNet-Lite1 + CCM + CSM) on D's real and fake batches
  (no graph) and on G's fake batch (forward + input-gradient backward), as the loop runs it.
- TransGAN: the WGAN-GP passes (D on interpolates, the gradient norm, its backward), one per D step.
- SAGAN, BigGAN: their convolutions (forward and backward), each replayed alone on a copy of its inputs from one
  iteration (``CONV_OPS``).

Generating the fakes is left out of the first two floors (they are their inputs). ``tests/test_speed_floor.py`` checks
that each floor makes the same calls (batch, gradient needs) as a training iteration does.

Budget: images per iteration / (goal x DCGAN's img/s), DCGAN timed in the same rounds. A floor above the budget
means the goal cannot be met without computing less. One process, interleaved rounds, medians; fp32, tiny presets,
Fashion-MNIST train split, seed 0, torch's default threads; the header names them.
Usage: ``python scripts/speed_floor.py [--rounds 5] [--reps 3] [--goal 0.25]``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganbench.losses import gradient_penalty
from ganbench.provenance import device_name
from ganbench.training.throughput import images_per_iteration, make_loop


def timed(fn, reps: int) -> float:
    """Seconds per call of ``fn`` over ``reps`` calls."""
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def projector_work(loop):
    m, n = loop.model, loop.cfg.batch_size
    proj = m.D.projector
    real, _ = loop.batch()
    with torch.no_grad():
        fake = m.generate(m.sample_z(n), None)

    def work() -> None:
        proj(m.augment(real)), proj(m.augment(fake))  # D step: no graph through the frozen part
        fake_g = fake.clone().requires_grad_(True)  # G step: input gradient through it
        feats = proj(m.augment(fake_g))
        torch.autograd.grad(sum(f.mean() for f in feats), fake_g)
    return work


def gp_work(loop):
    m, n = loop.model, loop.cfg.batch_size
    real, _ = loop.batch()
    with torch.no_grad():
        fake = m.generate(m.sample_z(n), None)

    def work() -> None:
        for _ in range(loop.cfg.n_dis):
            gradient_penalty(lambda x: m.D(m.augment(x)), real, fake).backward()
    return work


CONV_OPS = ("aten.convolution.default", "aten.convolution_backward.default")


class ConvRecorder(TorchDispatchMode):
    """Keeps every convolution call (forward or backward) with cloned tensor arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if str(func) in CONV_OPS:
            copy = lambda a: a.clone() if isinstance(a, torch.Tensor) else a  # noqa: E731
            self.calls.append((func, [copy(a) for a in args], {k: copy(v) for k, v in kwargs.items()}))
        return func(*args, **kwargs)


def conv_work(loop):
    """Replays one iteration's convolutions (cloned inputs, no autograd)."""
    rec = ConvRecorder()
    with rec:
        loop.iteration()

    def work() -> None:
        with torch.no_grad():
            for func, args, kwargs in rec.calls:
                func(*args, **kwargs)
    work.calls = rec.calls
    return work


FLOORS = {"projected_gan": projector_work, "transgan": gp_work, "sagan": conv_work, "biggan": conv_work}


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=positive(int), default=5)
    ap.add_argument("--reps", type=positive(int), default=3)
    ap.add_argument("--goal", type=positive(float), default=0.25)
    a = ap.parse_args()
    loops = {k: make_loop(k, dataset="fashion-mnist") for k in ("dcgan", *FLOORS)}
    jobs = {"dcgan": loops["dcgan"].iteration}
    for k, floor in FLOORS.items():
        jobs[k], jobs[f"{k} floor"] = loops[k].iteration, floor(loops[k])
    for fn in jobs.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(a.rounds):
        for k, fn in jobs.items():
            times[k].append(timed(fn, a.reps))
    med = {k: statistics.median(v) for k, v in times.items()}
    dcgan_ips = images_per_iteration(loops["dcgan"]) / med["dcgan"]
    sp, cfg = loops["dcgan"].spec, loops["dcgan"].cfg
    print(f"{sp.preset} presets on {sp.dataset} (train split) at {sp.resolution}px, seed {sp.seed} "
          f"({device_name(sp.device)}, {cfg.precision}); median of {a.rounds} interleaved rounds x {a.reps}; "
          f"DCGAN {dcgan_ips:.0f} img/s")
    print(f"{'model':15s} {'iteration ms':>12s} {'floor ms':>9s} {'budget ms':>10s} {'floor/budget':>12s}")
    for k in FLOORS:
        budget = images_per_iteration(loops[k]) / (a.goal * dcgan_ips)
        floor = med[f"{k} floor"]
        print(f"{k:15s} {med[k] * 1e3:12.0f} {floor * 1e3:9.0f} {budget * 1e3:10.0f} {floor / budget:12.2f}")


if __name__ == "__main__":
    main()
