"""``--deterministic`` on CUDA: no training step or sampling call reaches an op that torch documents as having no
deterministic CUDA kernel (it raises there), caught on the CPU by recording every aten op that runs; and the
deterministic-backward resampling (``ganbench.nets.resample``) computes what torch's ops compute."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from ganbench.models import MODELS
from ganbench.nets.resample import adaptive_avg_pool, bilinear
from ganbench.training.throughput import make_loop

pytestmark = pytest.mark.usefixtures("one_thread")

# torch.use_deterministic_algorithms' docstring: "operations [that] will throw a RuntimeError when mode=True" on CUDA,
# as the aten ops that run them (median only with indices, bincount only with weights, scatter_reduce only 'prod')
NO_DETERMINISTIC_CUDA_KERNEL = {
    "avg_pool3d_backward", "_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d_backward",
    "adaptive_max_pool2d_backward", "fractional_max_pool2d_backward", "fractional_max_pool3d_backward",
    "max_unpool2d", "max_unpool3d", "upsample_linear1d_backward", "upsample_bilinear2d_backward",
    "upsample_bicubic2d_backward", "upsample_trilinear3d_backward", "_upsample_bilinear2d_aa_backward",
    "_upsample_bicubic2d_aa_backward", "reflection_pad1d_backward", "reflection_pad2d_backward",
    "reflection_pad3d_backward", "nll_loss_forward", "nll_loss2d_forward", "_ctc_loss_backward",
    "_embedding_bag_backward", "put", "put_", "histc", "grid_sampler_2d_backward", "grid_sampler_3d_backward",
}


def _flagged(func, args, kwargs) -> bool:
    name = func.overloadpacket.__name__
    if name == "median":
        return "dim" in str(func)
    if name == "bincount":
        return len(args) > 1 and args[1] is not None or kwargs.get("weights") is not None
    if name in ("scatter_reduce", "scatter_reduce_"):
        return "prod" in (*args[4:5], kwargs.get("reduce"))
    return name in NO_DETERMINISTIC_CUDA_KERNEL


class _Flagger(TorchDispatchMode):
    """Records every aten op without a deterministic CUDA kernel that runs inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _flagged(func, args, kwargs):
            self.hits.add(str(func))
        return func(*args, **kwargs)


@pytest.fixture(autouse=True)
def _restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


CASES = [(m, v) for m in sorted(MODELS.names()) for v in MODELS.get(m).variants
         if not v.startswith(("discs_", "lite"))]  # discs_N and lite0/1 change counts and widths, not the ops


@pytest.mark.parametrize("model,variant", CASES, ids=[f"{m}-{v}" for m, v in CASES])
def test_deterministic_training_uses_only_ops_with_deterministic_cuda_kernels(model, variant):
    extra = {"pretrain_kimg": 0.0} if model == "p2gan" else {}  # P2GAN's D-only warm-up skips G's backward
    loop = make_loop(model, "tiny", variant, overrides={"batch_size": 2, "deterministic": True, **extra}, seed=1)
    assert torch.are_deterministic_algorithms_enabled()
    flagger = _Flagger()
    with flagger:
        loop.iteration()
        with torch.no_grad():
            loop.model.sample(2, torch.Generator().manual_seed(0))
    assert not flagger.hits, f"{model}/{variant} under --deterministic would raise on CUDA at {sorted(flagger.hits)}"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_deterministic_backward_under_autocast(precision):
    """The replaced backward under autocast (its gradients come back in the input's dtype)."""
    loop = make_loop("projected_gan", overrides={"batch_size": 2, "deterministic": True, "precision": precision},
                     seed=1)
    flagger = _Flagger()
    with flagger:
        logs = loop.iteration()
    assert not flagger.hits and all(torch.isfinite(v).all() for v in logs.values())


def test_the_flagger_sees_torchs_own_ops():
    """The planted case: plain bilinear interpolation and adaptive pooling are flagged in their backward."""
    x = torch.randn(1, 2, 8, 8, requires_grad=True)
    flagger = _Flagger()
    with flagger:
        (F.interpolate(x, size=(16, 16), mode="bilinear").sum() + F.adaptive_avg_pool2d(x, 4).sum()).backward()
    assert flagger.hits == {"aten.upsample_bilinear2d_backward.default", "aten._adaptive_avg_pool2d_backward.default"}


RESAMPLES = [
    (lambda x: bilinear(x, size=(224, 224)), lambda x: F.interpolate(x, size=(224, 224), mode="bilinear"), (2, 3, 32, 32)),
    (lambda x: bilinear(x, scale_factor=2, align_corners=True),
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True), (2, 5, 8, 8)),
    (lambda x: bilinear(x, size=(7, 9)), lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), (2, 3, 5, 13)),
    (lambda x: adaptive_avg_pool(x, 4), lambda x: F.adaptive_avg_pool2d(x, 4), (2, 3, 16, 16)),
    (lambda x: adaptive_avg_pool(x, (3, 5)), lambda x: F.adaptive_avg_pool2d(x, (3, 5)), (2, 3, 7, 11)),
    (lambda x: adaptive_avg_pool(x, (8, 8)), lambda x: F.interpolate(x, size=(8, 8), mode="area"), (2, 3, 32, 32)),
]


@pytest.mark.parametrize("ours,theirs,shape", RESAMPLES)
def test_resampling_with_deterministic_backward_matches_torch(ours, theirs, shape):
    """Forward bit for bit, gradient to float rounding, and no flagged op in deterministic mode; without it, torch's
    own op runs (CPU numbers of ordinary runs are unchanged)."""
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    w = torch.randn_like(theirs(x.detach()))
    ref = theirs(x)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    plain = ours(x)
    assert type(plain.grad_fn) is type(ref.grad_fn)
    torch.use_deterministic_algorithms(True)
    flagger = _Flagger()
    with flagger:
        y = ours(x)
        (g,) = torch.autograd.grad((y * w).sum(), x)
    assert not flagger.hits
    assert torch.equal(y, ref)
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5 * g_ref.abs().max().item())
