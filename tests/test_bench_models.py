"""One training iteration (n_dis D steps + one G step, the trainer's hot path) per model at the convergence suite's
preset (tiny, Fashion-MNIST, CPU, the preset's batch).

Default run (benchmarking disabled by addopts): one iteration per model, losses finite. With ``--benchmark-enable``,
each attention model is also timed with the reference math (explicit softmax attention everywhere, i.e. the code
before SDPA), in the same process and group, so the ratio of the means is the speed-up measured under the same load:
``pytest tests/test_bench_models.py --benchmark-enable -p no:cacheprovider``. Every model is also timed in NCHW, the
default before channels_last, in its group."""
from __future__ import annotations

import pytest
import torch

from ganbench.attention import double_backward
from ganbench.models import MODELS
from ganbench.training.throughput import make_loop

ATTENTION_MODELS = ("sagan", "biggan", "lrm_gan", "transgan")


def _iteration(loop, reference: bool):
    if reference:
        with double_backward():  # the explicit attention everywhere: the pre-SDPA computation
            return loop.iteration()
    return loop.iteration()


@pytest.mark.parametrize("model", MODELS.names())
def test_bench_train_iteration(benchmark, model):
    benchmark.group = f"train-iteration-{model}-tiny"
    torch.manual_seed(0)
    loop = make_loop(model, "tiny", dataset="fashion-mnist")
    if not benchmark.disabled:
        loop.iteration()  # warm-up
    logs = benchmark.pedantic(_iteration, args=(loop, False), rounds=1 if benchmark.disabled else 3)
    assert logs and all(bool(torch.isfinite(v).all()) for v in logs.values()), logs
    assert loop.st.images_seen == loop.cfg.n_dis * loop.cfg.batch_size * (1 if benchmark.disabled else 4)


@pytest.mark.parametrize("model", ATTENTION_MODELS)
def test_bench_train_iteration_reference_attention(benchmark, model):
    if benchmark.disabled:
        pytest.skip("reference timing only with --benchmark-enable")
    benchmark.group = f"train-iteration-{model}-tiny"
    torch.manual_seed(0)
    loop = make_loop(model, "tiny", dataset="fashion-mnist")
    _iteration(loop, True)
    logs = benchmark.pedantic(_iteration, args=(loop, True), rounds=3)
    assert all(bool(torch.isfinite(v).all()) for v in logs.values())


@pytest.mark.parametrize("model", MODELS.names())
def test_bench_train_iteration_nchw_reference(benchmark, model):
    """The same iteration in NCHW (the default before channels_last), in the model's group."""
    if benchmark.disabled:
        pytest.skip("reference timing only with --benchmark-enable")
    benchmark.group = f"train-iteration-{model}-tiny"
    torch.manual_seed(0)
    loop = make_loop(model, "tiny", dataset="fashion-mnist", overrides={"channels_last": False})
    loop.iteration()
    logs = benchmark.pedantic(_iteration, args=(loop, False), rounds=3)
    assert all(bool(torch.isfinite(v).all()) for v in logs.values())


@pytest.mark.parametrize("path", ["fused", "folded", "plain"])
def test_bench_projector_forward_backward(benchmark, path):
    """Projected GAN's frozen EfficientNet-Lite0 at the tiny preset's 96 px, batch 64, forward + input gradient (the
    G step's path through it): BatchNorm folded and conv+ReLU6 fused (what the model runs), folded only, and the
    plain network, in one group."""
    from ganbench.nets import efficientnet

    benchmark.group = "projector-lite0-96px-batch64"
    net = efficientnet.build("lite0", True, image_size=96)
    if path != "plain":
        net = efficientnet.fold_batchnorm(net)
    if path == "fused":
        net = efficientnet.fuse_relu6(net)
    net = net.to(memory_format=torch.channels_last)
    x = (torch.rand(64, 3, 96, 96) * 2 - 1).contiguous(memory_format=torch.channels_last).requires_grad_()

    def step():
        (g,) = torch.autograd.grad(sum(t.sum() for t in efficientnet.stages(net, x)), x)
        return g

    g = benchmark.pedantic(step, rounds=1 if benchmark.disabled else 3, warmup_rounds=0 if benchmark.disabled else 1)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
