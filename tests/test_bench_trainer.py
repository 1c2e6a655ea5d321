"""Trainer throughput vs a bare PyTorch loop of the same DCGAN (tiny preset, batch 64, Fashion-MNIST), one run.

``pytest tests/test_bench_trainer.py --benchmark-enable`` prints both in one group; the ratio of their means is the
trainer's overhead (progress bar, divergence checks, images-seen accounting, checkpoints at start and end)."""
from __future__ import annotations

import shutil

import pytest
import torch
import torch.nn.functional as F

from ganbench.data import load_dataset
from ganbench.models import create_model
from ganbench.training import TrainSpec, train

KIMG = 2.0
BATCH = 64


def bare_loop(data: torch.Tensor, kimg: float = KIMG) -> None:
    torch.manual_seed(0)
    m = create_model("dcgan", "tiny", img=load_dataset("fashion-mnist").spec)
    G, D = m.G, m.D
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    for _ in range(int(kimg * 1000) // BATCH + 1):
        idx = torch.randint(0, data.shape[0], (BATCH,), generator=gen)
        real = data[idx].float() / 127.5 - 1
        with torch.no_grad():
            fake = G(torch.randn(BATCH, 64))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(BATCH, 64)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()


def ganbench_trainer(out, kimg: float = KIMG) -> None:
    shutil.rmtree(out, ignore_errors=True)
    r = train(TrainSpec(model="dcgan", kimg=kimg, metrics=(), device="cpu", out_dir=str(out)), progress=True)
    assert r.status == "complete"


@pytest.mark.benchmark(group="train-dcgan-tiny-2kimg")
def test_bench_bare_pytorch_loop(benchmark):
    data = load_dataset("fashion-mnist").images
    benchmark.pedantic(bare_loop, args=(data,), rounds=3, warmup_rounds=1)


@pytest.mark.benchmark(group="train-dcgan-tiny-2kimg")
def test_bench_ganbench_trainer(benchmark, tmp_path):
    load_dataset("fashion-mnist")
    benchmark.pedantic(ganbench_trainer, args=(tmp_path / "run",), rounds=3, warmup_rounds=1)


MAX_OVERHEAD = 1.5  # trainer / bare loop, mean of interleaved rounds; asserted only with --benchmark-enable


def test_trainer_overhead_vs_bare_loop(request, tmp_path, capsys):
    """Both loops timed in this one run, interleaved; the ratio bound is asserted only under ``--benchmark-enable``
    (timings of a shared CI machine are reported, not asserted)."""
    import time

    enabled = bool(request.config.getoption("benchmark_enable", False))
    rounds, kimg = (3, KIMG) if enabled else (1, KIMG / 4)  # a cheap report in `make test`
    data = load_dataset("fashion-mnist").images
    if enabled:
        ganbench_trainer(tmp_path / "warm")  # warm-up both (allocator, dataset cache)
        bare_loop(data)
    times: dict[str, list[float]] = {"bare": [], "trainer": []}
    for _ in range(rounds):
        for name, fn in (("bare", lambda: bare_loop(data, kimg)),
                         ("trainer", lambda: ganbench_trainer(tmp_path / "run", kimg))):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    mean = {k: sum(v) / len(v) for k, v in times.items()}
    ratio = mean["trainer"] / mean["bare"]
    with capsys.disabled():
        print(f"\ntrainer overhead (dcgan tiny, fashion-mnist train, {kimg} kimg, batch {BATCH}, cpu, "
              f"{torch.get_num_threads()} threads, {rounds} round(s)): bare {mean['bare']:.2f} s, trainer "
              f"{mean['trainer']:.2f} s, ratio {ratio:.3f} (bound {MAX_OVERHEAD}, "
              f"{'asserted' if enabled else 'not asserted without --benchmark-enable'})")
    if enabled:
        assert ratio <= MAX_OVERHEAD, times
