"""``scripts/speed_floor.py`` times the work a training iteration cannot drop: it must be exactly the loop's own."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from ganbench import attention
from ganbench.training.throughput import make_loop

spec = importlib.util.spec_from_file_location("speed_floor", Path(__file__).parents[1] / "scripts" / "speed_floor.py")
speed_floor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(speed_floor)


def calls(module: torch.nn.Module, fn) -> list[tuple]:
    """(batch, input needs grad, grad mode, inside the double-backward pass) of each ``module`` call in ``fn()``."""
    seen: list[tuple] = []
    h = module.register_forward_pre_hook(lambda _m, args: seen.append(
        (args[0].shape[0], args[0].requires_grad, torch.is_grad_enabled(), attention._DOUBLE_BACKWARD.get())))
    try:
        fn()
    finally:
        h.remove()
    return sorted(seen)


def test_projector_floor_runs_the_frozen_network_as_the_iteration_does():
    loop = make_loop("projected_gan")
    proj = loop.model.D.projector
    in_loop = calls(proj, loop.iteration)
    assert len(in_loop) == 3  # D step: real and fake; G step: fake with its input gradient
    assert calls(proj, speed_floor.projector_work(loop)) == in_loop


def test_gp_floor_runs_every_d_steps_penalty_pass_and_nothing_else():
    loop = make_loop("transgan")
    double = lambda seen: [c for c in seen if c[3]]  # noqa: E731
    in_loop = calls(loop.model.D, loop.iteration)
    assert len(double(in_loop)) == loop.cfg.n_dis == 2
    floor = calls(loop.model.D, speed_floor.gp_work(loop))
    assert floor == double(in_loop)


def test_conv_floor_replays_every_convolution_of_an_iteration():
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += "conv" in str(func)
            return func(*args, **(kwargs or {}))

    loop = make_loop("sagan")
    work = speed_floor.conv_work(loop)
    with Count():
        loop.iteration()
    assert {str(f) for f, _, _ in work.calls} == set(speed_floor.CONV_OPS)
    assert len(work.calls) == Count.n > 0
    work()  # replays without autograd
