"""The copying checks as metric protocols (issue #34): ``copy_*``/``ct_*`` rows from ``metrics.evaluate``, at a run's
last evaluation only (``final_metrics``) with the nearest-training-image figure, conditioning images of LRM GAN and
P2GAN drawn from the test split's control half, and the check that ``ganbench eval --generator`` prints. The fast
cases use a small slice of Fashion-MNIST registered as a test-only dataset (4,000 train / 2,000 test images, so the
copying sets prepare in seconds; the synthetic dataset's test rectangles repeat its training ones); the CLI case
uses the whole of Fashion-MNIST, as a user would (it prepares the copying sets once, ~1-3 min on 2 cores, cached
for the session)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import ROOT
from ganbench.data import DATASETS, ImageData, load_dataset, register_dataset
from ganbench.images import to_float
from ganbench.metrics import evaluate
from ganbench.metrics.copying import heldout_halves

PROTOCOLS = ["copy_domain2k_train", "ct_domain2k_train"]
SIZES = {"train": 4000, "test": 2000}


def _small(split: str, res: int, ch: int, root) -> ImageData:
    full = load_dataset("fashion-mnist", split, res, ch, root)
    n = SIZES[split]
    return ImageData("fmnist-small", split, full.images[:n], full.labels[:n], 10, f"{full.source}[:{n}]")


@pytest.fixture(scope="module", autouse=True)
def small():
    register_dataset("fmnist-small", default_channels=1)(_small)
    yield
    DATASETS.remove("fmnist-small")


def _data(split: str = "train") -> ImageData:
    return load_dataset("fmnist-small", split, 32, 1)


def _from(images: torch.Tensor):
    """A sample_fn that returns random images of ``images`` (uint8) as a generator would."""
    def sample(n: int, g: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(images), (n,), generator=torch.Generator().manual_seed(int(g.initial_seed()) + n))
        return to_float(images[idx])
    return sample


def _values(rows) -> dict[str, float]:
    return {r["metric"]: r["value"] for r in rows}


def test_a_copier_is_flagged_and_fresh_images_are_not():
    train, test = _data(), _data("test")
    copier = _values(evaluate(_from(train.images), train, PROTOCOLS, seed=0))
    _, control = heldout_halves(len(test))
    fresh = _values(evaluate(_from(test.images[control]), train, PROTOCOLS, seed=0))
    assert copier["copy_rate_domain"] == 1.0 and copier["copy_flagged_domain"] == 1.0 and copier["c_t_domain"] < -3
    assert fresh["copy_flagged_domain"] == 0.0 and fresh["copy_rate_domain"] < 0.15 and fresh["c_t_domain"] > -3


def test_copying_rows_carry_their_labels_and_direction():
    train = _data()
    rows = evaluate(_from(train.images), train, PROTOCOLS, seed=0)
    by = {r["metric"]: r for r in rows}
    assert set(by) == {"copy_rate_domain", "copy_flagged_domain", "c_t_domain"}
    assert by["copy_rate_domain"]["higher_is_better"] is False and by["c_t_domain"]["higher_is_better"] is True
    assert all(r["n_real"] == len(train) and r["split"] == "train" and r["n_samples"] == 2000 for r in rows)
    assert by["copy_rate_domain"]["n_held_out"] == SIZES["test"] // 2


def test_copying_needs_a_test_split():
    from ganbench.errors import GanbenchError

    train = _data()
    only_train = dataclasses.replace(train, name="folder:x")  # a folder dataset has one split
    with pytest.raises(GanbenchError, match="no test split"):
        evaluate(_from(train.images), only_train, ["copy_domain2k_train"], seed=0)


def test_conditioning_images_for_copying_come_from_the_control_half():
    """LRM GAN and P2GAN condition on real images: for the copying checks these are the half of the test split that
    the checks never compare with (planted: the plain test split would put held-out images into the samples)."""
    from ganbench.training.sample_source import CONTROL, protocol_splits

    groups = protocol_splits(["fd_domain2k_train", "copy_domain2k_train", "ct_domain2k_train", "fd_domain2k_test"])
    assert groups == {"test": ["fd_domain2k_train"], CONTROL: ["copy_domain2k_train", "ct_domain2k_train"],
                      "train": ["fd_domain2k_test"]}


def test_final_metrics_run_at_the_last_evaluation_only(tmp_path):
    from ganbench.training import TrainSpec, train

    spec = TrainSpec(model="p2gan", dataset="fmnist-small", kimg=0.128, eval_every_kimg=0.064, seed=3,
                     metrics=("fd_domain2k_train",), final_metrics=tuple(PROTOCOLS), out_dir=str(tmp_path / "r"))
    r = train(spec, progress=False)
    rows = pd.read_csv(tmp_path / "r" / "metrics.csv")
    last = rows["images_seen"].max()
    copying = rows[rows["protocol"].isin(PROTOCOLS)]
    assert r.status == "complete" and len(copying) == 3 and set(copying["images_seen"]) == {last}
    assert set(copying["sample_split"]) == {"test-control"}  # p2gan samples from data
    assert (tmp_path / "r" / "samples" / f"nn-{last:09d}.png").exists()


def test_final_metrics_leave_older_run_ids_unchanged():
    """A spec without final metrics keeps the run id it had before the field existed (the committed exploratory
    reference is found again); with them, the id changes."""
    from ganbench.suites import SuiteOptions, expand

    specs = expand("reference", SuiteOptions(profile="exploratory"), Path("results"))
    committed = {p.name for p in (ROOT / "results" / "reference-exploratory" / "reference").iterdir()}
    assert {s.run_id for s in specs} == committed
    s = specs[0]
    assert dataclasses.replace(s, final_metrics=("copy_domain2k_train",)).run_id != s.run_id


@pytest.mark.timeout(900)
def test_eval_generator_prints_the_copying_check_and_flags_a_copier(cli):
    """Issue #34's user case, on Fashion-MNIST: the worked example is not flagged, a copier of training images is."""
    ok = cli("eval", "--generator", str(ROOT / "examples" / "tiny_generator.py") + ":make_generator", "--z-dim",
             "64", "--metrics", "fd_domain2k_train", "--device", "cpu")
    assert ok.returncode == 0, ok.stderr
    assert "copying check: copy rate" in ok.stdout and "COPIES" not in ok.stdout
    bad = cli("eval", "--generator", str(ROOT / "examples" / "copier.py") + ":copier", "--z-dim", "64",
              "--metrics", "fd_domain2k_train", "--device", "cpu")
    assert bad.returncode == 0, bad.stderr
    lines = [ln for ln in bad.stdout.splitlines() if ln.startswith("copying check")]
    assert len(lines) == 2 and all("COPIES TRAINING IMAGES" in ln for ln in lines)
