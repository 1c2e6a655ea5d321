"""No leakage at sampling: models that condition samples on real images (``samples_from_data``) draw them from the
split that is not the metric reference, and every row/config says which split that was.

A test dataset whose train images are all 20 and test images all 240 makes the source of every drawn image visible.
"""
from __future__ import annotations

import contextlib

import pandas as pd
import pytest
import torch
import yaml

from ganbench.data import DATASETS, ImageData, load_dataset, register_dataset
from ganbench.errors import GanbenchError
from ganbench.metrics.protocols import PROTOCOLS, MetricProtocol
from ganbench.models import MODELS, create_model
from ganbench.models.base import GAN
from ganbench.training import TrainSpec, train
from ganbench.training.loop import TrainingLoop
from ganbench.training.sample_source import SampleSource, sample_split

VALUE = {"train": 20, "test": 240}
P_TRAIN, P_TEST = "fd_domain_splitmark_train", "fd_domain_splitmark_test"


def _images(split: str, name: str = "splitmark") -> ImageData:
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (256,), generator=g)
    return ImageData(name, split, torch.full((256, 1, 32, 32), VALUE[split], dtype=torch.uint8), labels, 2,
                     "test only")


@pytest.fixture(scope="module", autouse=True)
def splitmark():
    """Test-only datasets and presets, removed after the module (other modules check the registries' contents)."""
    names = ("splitmark", "splitmark_trainonly")
    register_dataset("splitmark", default_channels=1)(lambda split, res, ch, root: _images(split))
    register_dataset("splitmark_trainonly", splits=("train",), default_channels=1)(
        lambda split, res, ch, root: _images(split, "splitmark_trainonly"))
    with contextlib.ExitStack() as stack:
        for name, split in ((P_TRAIN, "train"), (P_TEST, "test")):
            stack.enter_context(PROTOCOLS.temporarily(
                name, MetricProtocol(name, "fd", "fmnist-cnn", 64, split, None, "test only: FD on 64 samples")))
        yield
    for name in names:
        DATASETS.remove(name)


class Draws(list):
    """The split (by pixel value) of every batch of real images drawn at sampling while ``on``."""

    on = True


@pytest.fixture
def drawn(monkeypatch) -> Draws:
    seen = Draws()
    original = GAN.draw_conditioning

    def record(self, n, generator=None):
        x = original(self, n, generator)
        if seen.on:
            v = round(float(x.add(1).mul(127.5).mean()))
            seen.append({VALUE["train"]: "train", VALUE["test"]: "test"}.get(v, f"mixed {v}"))
        return x
    monkeypatch.setattr(GAN, "draw_conditioning", record)
    return seen


def test_sample_split_is_the_other_split():
    assert sample_split("train") == "test" and sample_split("test") == "train"
    assert sample_split(None) == "test" and sample_split(None, ("train", "all")) == "train"
    with pytest.raises(GanbenchError, match="no other split"):
        sample_split("train", ("train", "all"), "p2gan")


def test_only_lrm_gan_and_p2gan_sample_from_data():
    assert {n for n in MODELS if MODELS.get(n).samples_from_data} == {"lrm_gan", "p2gan"}


@pytest.mark.parametrize("model", ["p2gan", "lrm_gan"])
def test_evaluation_draws_from_the_other_split(model, drawn):
    torch.manual_seed(0)
    data = load_dataset("splitmark", "train")
    m = create_model(model, "tiny", img=data.spec).eval()
    source = SampleSource(m, data)
    assert source.bind_default([P_TRAIN]) == "test" and drawn == []
    sample = lambda n, g: m.sample(n, g)  # noqa: E731
    rows = source.evaluate(sample, [P_TRAIN])
    assert drawn and set(drawn) == {"test"} and {r["sample_split"] for r in rows} == {"test"}
    drawn.clear()
    rows = source.evaluate(sample, [P_TEST, P_TRAIN])  # both references: one pass per sampling split
    assert [(r["protocol"], r["sample_split"]) for r in rows] == [(P_TEST, "train"), (P_TRAIN, "test")]
    assert set(drawn) == {"train", "test"} and drawn.index("train") < drawn.index("test")
    drawn.clear()
    m.sample(4)  # afterwards (sample grids) the model holds the default split again: the first preset's
    assert drawn == ["train"]


def test_trainer_records_and_uses_the_held_out_split(tmp_path, drawn, monkeypatch):
    """Every evaluation (metrics and sample grid) samples with test images; config and rows say so."""
    evaluate = TrainingLoop.evaluate

    def recorded(self, *args, **kwargs):
        drawn.on = True
        try:
            return evaluate(self, *args, **kwargs)
        finally:
            drawn.on = False
    drawn.on = False  # only what evaluations draw (not, e.g., a pre-flight shape probe on a throw-away copy)
    monkeypatch.setattr(TrainingLoop, "evaluate", recorded)
    spec = TrainSpec(model="p2gan", dataset="splitmark", kimg=0.032, metrics=(P_TRAIN,), seed=0, device="cpu",
                     overrides={"batch_size": 16}, out_dir=str(tmp_path / "run"))
    assert train(spec, progress=False).status == "complete"
    assert drawn and set(drawn) == {"test"}  # metrics and sample grids alike
    cfg = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert cfg["sample_split"] == "test" and cfg["sample_split_by_metric"] == {P_TRAIN: "test"}
    rows = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert len(rows) == 2 and set(rows["split"]) == {"train"} and set(rows["sample_split"]) == {"test"}


def test_models_without_data_sampling_have_no_sample_split(tmp_path):
    spec = TrainSpec(model="dcgan", dataset="splitmark", kimg=0.032, metrics=(P_TRAIN,), seed=0, device="cpu",
                     overrides={"batch_size": 16}, out_dir=str(tmp_path / "run"))
    train(spec, progress=False)
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["sample_split"] is None
    assert pd.read_csv(tmp_path / "run" / "metrics.csv")["sample_split"].isna().all()


def test_no_other_split_is_a_one_line_error_before_writing(tmp_path):
    spec = TrainSpec(model="p2gan", dataset="splitmark_trainonly", kimg=0.032, metrics=(P_TRAIN,), device="cpu",
                     out_dir=str(tmp_path / "run"))
    with pytest.raises(GanbenchError, match="must not come from the metric real split 'train'"):
        train(spec, progress=False)
    assert not (tmp_path / "run").exists()
