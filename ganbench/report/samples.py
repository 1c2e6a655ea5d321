"""One sample grid per arm (suite, model, variant): the latest grid of its lowest complete seed, for reports of
suites with many seeds (``ganbench report --samples arm``; ``plots.sample_figures`` shows every run's); and, where
runs made the copying check, each arm's generated samples beside their nearest training images."""
from __future__ import annotations

import shutil
from pathlib import Path

from . import fmt
from .document import Figure
from ..results import ResultSet


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _per_arm(rs: ResultSet, column: str, out: Path, prefix: str = ""):
    """(suite, label, arm's runs, its first complete seed's run, the image copied into ``out``) for every arm
    (suite, model, variant) whose runs hold the image ``column`` names."""
    runs = rs.train_runs()
    runs = runs[runs[column].map(lambda s: isinstance(s, str) and Path(s).exists())]
    for (suite, model, variant), arm in runs.groupby(["suite", "model", "variant"], sort=True):
        done = arm[arm["status"] == "complete"]
        run = (done if len(done) else arm).sort_values("seed").iloc[0]
        out.mkdir(parents=True, exist_ok=True)
        dst = out / f"{prefix}{_slug(suite)}-{_slug(run['run'])}.png"
        shutil.copyfile(run[column], dst)
        yield suite, (model if variant == "default" else f"{model} ({variant})"), arm, run, dst


def arm_sample_figures(rs: ResultSet, out: Path) -> list[Figure]:
    """The latest sample grid of each arm's first complete seed (any seed when none completed)."""
    figs = []
    for suite, label, _, run, dst in _per_arm(rs, "sample", out):
        done = run["status"] == "complete"
        figs.append(Figure(f"samples-{_slug(suite)}-{_slug(run['run'])}", f"{label}, seed {run['seed']}",
                           f"Suite {suite}, {label} ({run['preset']} preset), seed {run['seed']} (the lowest "
                           f"{'complete ' if done else ''}seed with a grid): 64 samples at "
                           f"{fmt.kimg(run['sample_images'])} kimg{'' if done else ', ' + run['status']}.",
                           dst, width=0.3))
    return figs


def arm_nearest_figures(rs: ResultSet, out: Path) -> list[Figure]:
    """Each arm's ``samples/nn-*.png`` (its lowest complete seed): generated samples beside their nearest training
    images in the copying check's feature space."""
    figs = []
    for suite, label, _, run, dst in _per_arm(rs, "nearest", out, "nn-"):
        figs.append(Figure(f"nearest-{_slug(suite)}-{_slug(run['run'])}", f"{label}, seed {run['seed']}: nearest",
                           f"Suite {suite}, {label} ({run['preset']} preset), seed {run['seed']}, at "
                           f"{fmt.kimg(run['images_seen'])} kimg: 16 generated samples (left of each pair), the 8 "
                           f"closest to the training set first, each beside its nearest training image (right) in the "
                           f"copying check's feature space; exact copies would look identical.", dst, width=0.3))
    return figs
