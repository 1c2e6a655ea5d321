"""Benchmark: our FD pipeline (``evaluate``: generated batches -> features -> streaming float64 moments, reference
statistics, FD) against torch-fidelity's ``calculate_metrics`` with the SAME extractor (``fmnist-cnn``, plugged into
torch-fidelity through its custom feature-extractor API) on the same images and sample count. Both must give the
same FD as torch-fidelity's own statistics functions on our extractor's features.

Run the timing with ``pytest tests/test_bench_metrics.py --benchmark-enable``; by default (``--benchmark-disable``)
each pipeline runs once and only the agreement is checked.
"""
from __future__ import annotations

import pytest
import torch
import torch_fidelity
from torch.utils.data import Dataset
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from ganbench.data import ImageData, load_dataset
from ganbench.metrics import MetricProtocol, evaluate, get_extractor
from ganbench.metrics import fmnist_cnn
from ganbench.images import to_float, to_uint8

N = 1000  # images per side: small, so the check stays fast in CI
BATCH = 250
TF_NAME = "ganbench-fmnist-cnn"


class TorchFidelityFmnistCNN(FeatureExtractorBase):
    """Our committed fmnist-cnn behind torch-fidelity's feature-extractor interface."""

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        self.net = fmnist_cnn.load()

    @staticmethod
    def get_provided_features_list():
        return ("pool", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return "logits" if metric == "isc" else "pool"

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return None

    def forward(self, x):
        pool, logits = self.net(fmnist_cnn.preprocess(x))
        return tuple({"pool": pool, "logits": logits}[k] for k in self.features_list)


if TF_NAME not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(TF_NAME, TorchFidelityFmnistCNN)


class _Images(Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


@pytest.fixture(scope="module")
def inputs():
    """'Generated' = noisy test images (float [-1, 1]); reference = N training images (uint8)."""
    test = load_dataset("fashion-mnist", "test", 32, 1)
    train = load_dataset("fashion-mnist", "train", 32, 1)
    g = torch.Generator().manual_seed(0)
    fake = (to_float(test.images[:N]) + 0.3 * torch.randn(N, 1, 32, 32, generator=g)).clamp(-1, 1)
    real = ImageData(train.name, "train", train.images[:N].clone(), None, 0, train.source)
    return fake, real


@pytest.fixture(scope="module")
def expected(inputs):
    """torch-fidelity's statistics functions on our extractor's features of the same images."""
    fake, real = inputs
    ext = get_extractor("fmnist-cnn")
    f1 = torch.cat([ext(to_uint8(c))["pool"] for c in fake.split(BATCH)])
    f2 = torch.cat([ext(c)["pool"] for c in real.images.split(BATCH)])
    return fid_statistics_to_metric(fid_features_to_statistics(f1), fid_features_to_statistics(f2),
                                    verbose=False)["frechet_inception_distance"]


def ours(fake: torch.Tensor, real: ImageData) -> float:
    pos = [0]

    def sample(n: int, g: torch.Generator) -> torch.Tensor:  # a "generator" replaying fixed images in order
        out = fake[pos[0]:pos[0] + n]
        pos[0] += n
        return out
    preset = MetricProtocol("fd_domain_bench", "fd", "fmnist-cnn", N, "train", None)
    return evaluate(sample, real, [preset], batch_size=BATCH, use_cache=False)[0]["value"]


def theirs(fake: torch.Tensor, real: ImageData) -> float:
    r = torch_fidelity.calculate_metrics(input1=_Images(to_uint8(fake)), input2=_Images(real.images), fid=True,
                                         feature_extractor=TF_NAME, batch_size=BATCH, cuda=False, cache=False,
                                         save_cpu_ram=True, verbose=False)  # save_cpu_ram: no loader workers
    return r["frechet_inception_distance"]


@pytest.mark.benchmark(group="fd-pipeline-fmnist-cnn-1k")
def test_bench_fd_ganbench(benchmark, inputs, expected):
    value = benchmark.pedantic(ours, args=inputs, rounds=3, iterations=1, warmup_rounds=1)
    assert value == pytest.approx(expected, rel=1e-4)


@pytest.mark.benchmark(group="fd-pipeline-fmnist-cnn-1k")
def test_bench_fd_torch_fidelity(benchmark, inputs, expected):
    value = benchmark.pedantic(theirs, args=inputs, rounds=3, iterations=1, warmup_rounds=1)
    assert value == pytest.approx(expected, rel=1e-4)
