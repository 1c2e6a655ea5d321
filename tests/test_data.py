"""Dataset loaders on real Fashion-MNIST and the bad-input paths."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from ganbench.data import DATASETS, load_dataset
from ganbench.data.fashion_mnist import FILES, SYSTEM_ROOT
from ganbench.errors import GanbenchError


def test_fashion_mnist_train_and_test():
    tr = load_dataset("fashion-mnist", "train")
    te = load_dataset("fashion-mnist", "test")
    assert tr.images.shape == (60000, 1, 32, 32) and tr.images.dtype == torch.uint8
    assert te.images.shape == (10000, 1, 32, 32)
    assert tr.labels.bincount().tolist() == [6000] * 10  # the official balanced split
    assert tr.images[:, :, :2].max() == 0 and tr.images[:, :, :, -2:].max() == 0  # 2-px zero padding 28 -> 32
    assert tr.images.float().mean() > 50  # real content, not zeros
    assert tr.fingerprint != te.fingerprint


def test_fashion_mnist_channels_and_resolution():
    x3 = load_dataset("fashion-mnist", "test", channels=3)
    x1 = load_dataset("fashion-mnist", "test")
    assert x3.images.shape == (10000, 3, 32, 32)
    assert torch.equal(x3.images[:, 0], x1.images[:, 0]) and torch.equal(x3.images[:, 2], x1.images[:, 0])
    x64 = load_dataset("fashion-mnist", "test", resolution=64)
    assert x64.images.shape == (10000, 1, 64, 64)
    assert abs(x64.images.float().mean() - x1.images.float().mean()) < 2


def test_registry_lists_datasets():
    assert {"fashion-mnist", "cifar10", "folder", "synthetic"} <= set(DATASETS.names())


def _copy_fmnist(dst, corrupt: str | None = None):
    import shutil
    for split in ("train", "test"):
        for n in FILES[split]:
            shutil.copy(f"{SYSTEM_ROOT}/{n}", dst / n)
    if corrupt:
        data = gzip.open(dst / corrupt).read()
        with gzip.open(dst / corrupt, "wb") as f:
            f.write(data[: len(data) // 2])


def test_fashion_mnist_missing_and_corrupt(tmp_path):
    with pytest.raises(GanbenchError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "test", root=str(tmp_path))
    _copy_fmnist(tmp_path, corrupt="t10k-images-idx3-ubyte.gz")
    with pytest.raises(GanbenchError, match="corrupt Fashion-MNIST"):
        load_dataset("fashion-mnist", "test", root=str(tmp_path))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(GanbenchError, match="corrupt"):
        load_dataset("fashion-mnist", "test", root=str(tmp_path / ""), resolution=31)


def test_folder_dataset(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    d = load_dataset("folder", "train", resolution=16, channels=3, root=str(tmp_path))
    assert d.images.shape == (6, 3, 16, 16) and d.labels.tolist() == [0, 0, 0, 1, 1, 1] and d.num_classes == 2
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(GanbenchError, match="corrupt image .*broken.jpg"):
        load_dataset("folder", "train", resolution=17, channels=3, root=str(tmp_path))
    with pytest.raises(GanbenchError, match="does not exist"):
        load_dataset("folder", "train", root=str(tmp_path / "nope"))


def test_cifar10_missing_is_one_line(tmp_path):
    with pytest.raises(GanbenchError, match="CIFAR-10 not found"):
        load_dataset("cifar10", "train", root=str(tmp_path))


def test_synthetic_is_deterministic():
    a = load_dataset("synthetic", "train")
    assert a.images.shape == (2048, 1, 32, 32) and a.num_classes == 4
    from ganbench.data.synthetic import synthetic
    assert torch.equal(synthetic("train", 32, 1, None).images, a.images)


@pytest.mark.parametrize("kwargs, msg", [
    ({"name": "fashion_mnist"}, "did you mean 'fashion-mnist'"),
    ({"name": "fashion-mnist", "split": "val"}, "no split 'val'"),
    ({"name": "fashion-mnist", "channels": 2}, "channels must be 1 or 3"),
    ({"name": "fashion-mnist", "resolution": 4}, "resolution must be"),
])
def test_bad_dataset_arguments(kwargs, msg):
    with pytest.raises(GanbenchError, match=msg):
        load_dataset(**kwargs)
