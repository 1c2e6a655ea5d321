"""Metric commands: ``fid``, ``stats``, ``efficiency``, ``train-extractor``, ``extractors``, ``metrics``."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from . import cli

_inception_opt = click.option("--inception-weights", default=None, type=click.Path(dir_okay=False),
                              help="pt_inception-2015-12-05-6726825d.pth (else $GANBENCH_INCEPTION_WEIGHTS, the "
                                   "torch hub cache, or a download)")


def _use_inception_weights(path: str | None) -> None:
    if path:
        os.environ["GANBENCH_INCEPTION_WEIGHTS"] = str(path)


def _device(device: str) -> str:
    from ..provenance import resolve_device

    return resolve_device(device)


@cli.command("fid")
@click.argument("a")
@click.argument("b")
@click.option("--extractor", default="fmnist-cnn", show_default=True, help="see `ganbench extractors`")
@click.option("--n", "n", type=int, default=None, help="images per side (a fixed random subset; default all)")
@click.option("--resolution", type=int, default=None, help="load images at this size (default: dataset's / file's)")
@click.option("--channels", type=click.Choice(["1", "3"]), default=None)
@click.option("--data-root", default=None, help="dataset files location")
@click.option("--device", default="auto", show_default=True)
@click.option("--batch-size", default=250, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
@click.option("--foreign-stats", is_flag=True, help="accept .npz statistics without ganbench metadata (pytorch-fid, "
                                                     "clean-fid); labelled as foreign, weights unknown")
@_inception_opt
def fid_cmd(a, b, extractor, n, resolution, channels, data_root, device, batch_size, as_json, foreign_stats,
            inception_weights):
    """Frechet distance between A and B (image folders, .npz statistics, or dataset[:split], e.g.
    fashion-mnist:test), with the chosen extractor's features (``inception-v3`` gives FID)."""
    from dataclasses import asdict

    from ..metrics import get_extractor
    from ..metrics.sets import fd_between

    _use_inception_weights(inception_weights)
    ext = get_extractor(extractor, _device(device))
    r = fd_between(a, b, ext, n, resolution, int(channels) if channels else None, data_root, batch_size,
                   foreign_stats)
    if as_json:
        click.echo(json.dumps(asdict(r)))
    else:
        click.echo(f"{r.metric}: {r.value:.6g}  ({r.extractor}; {r.a} [{r.extractor_a}] n={r.n_a} vs {r.b} "
                   f"[{r.extractor_b}] n={r.n_b})")


@cli.command("stats")
@click.option("--dataset", required=True, help="registered dataset name (or an image folder path)")
@click.option("--split", default="train", show_default=True)
@click.option("--extractor", default="fmnist-cnn", show_default=True)
@click.option("--n", "n", type=int, default=None, help="real images (fixed random subset; default all)")
@click.option("--features", is_flag=True, help="also keep the features (KID, precision/recall)")
@click.option("--resolution", type=int, default=None)
@click.option("--channels", type=click.Choice(["1", "3"]), default=None)
@click.option("--data-root", default=None)
@click.option("--device", default="auto", show_default=True)
@click.option("--batch-size", default=250, show_default=True)
@click.option("--export", type=click.Path(dir_okay=False), default=None,
              help="also write mu/sigma to this .npz in the pytorch-fid / clean-fid layout (no metadata)")
@_inception_opt
def stats_cmd(dataset, split, extractor, n, features, resolution, channels, data_root, device, batch_size, export,
              inception_weights):
    """Precompute and cache the statistics of a real split; prints the cache file path."""
    from ..metrics import get_extractor
    from ..metrics.real_stats import cache_path, real_stats_key, real_stats
    from ..metrics.sets import load_images

    _use_inception_weights(inception_weights)
    ext = get_extractor(extractor, _device(device))
    spec = dataset if Path(dataset).is_dir() else f"{dataset}:{split}"
    data = load_images(spec, resolution, int(channels) if channels else None, data_root)
    ref = real_stats(data, ext, n, features, batch_size)
    click.echo(str(ref.path or cache_path(real_stats_key(data, ext, n, features))))
    if export:
        from ..metrics.real_stats import export_pytorch_fid

        click.echo(f"exported mu/sigma (pytorch-fid layout; {ext.name}, n={ref.n}) to "
                   f"{export_pytorch_fid(ref, Path(export))}")


@cli.command("efficiency")
@click.option("--model", required=True)
@click.option("--preset", default="paper", show_default=True)
@click.option("--variant", default="default", show_default=True)
@click.option("--resolution", default=32, show_default=True)
@click.option("--channels", default=3, show_default=True)
@click.option("--n-images", default=100, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--repeats", default=None, type=click.IntRange(1),
              help="timed calls per precision, the median is reported [default: 10 on CUDA, 3 on CPU]")
@click.option("--json", "as_json", is_flag=True)
def efficiency_cmd(model, preset, variant, resolution, channels, n_images, device, repeats, as_json):
    """Parameters, FLOPs per image and IT, the time to generate N images, in fp32 and bf16 (median of repeated
    calls after a warm-up; CUDA events on a GPU). Randomly initialised weights; models that sample from real images
    get uniform-noise conditioning images, which do not change cost."""
    from ..efficiency.measure import measure_model

    r = measure_model(model, preset, variant, resolution, channels, n_images, _device(device), repeats)
    if as_json:
        click.echo(json.dumps(r))
    else:
        for k, v in r.items():
            click.echo(f"{k:>18}: {v:,}" if isinstance(v, int) else f"{k:>18}: {v:.6g}" if isinstance(v, float)
                       else f"{k:>18}: {v}")


@cli.command("train-extractor")
@click.argument("name", type=click.Choice(["fmnist-cnn"]))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="weights file (default: <cache>/weights/fmnist-cnn.pt; the committed file is "
                   "ganbench/metrics/weights/fmnist-cnn.pt)")
@click.option("--epochs", default=None, type=int, help="default: the committed recipe's")
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", default=None, type=int, help="torch threads (default: the committed weights' count)")
@click.option("--corrupt", default=None, type=float, help="corruption augmentation strength (default: the recipe's)")
@click.option("--fakes", default=None, type=float,
              help="synthetic non-garments per real image, an 11th class (default: the recipe's)")
@click.option("--data-root", default=None)
def train_extractor_cmd(name, out, epochs, seed, threads, corrupt, fakes, data_root):
    """Train the domain feature extractor (reproduces the committed weights' recipe)."""
    from ..metrics import fmnist_cnn
    from ..paths import cache_dir

    out = Path(out) if out else cache_dir() / "weights" / "fmnist-cnn.pt"
    meta = fmnist_cnn.train(out, epochs or fmnist_cnn.EPOCHS, seed, threads=threads or fmnist_cnn.THREADS,
                            root=data_root, corrupt=fmnist_cnn.CORRUPT if corrupt is None else corrupt,
                            fakes=fmnist_cnn.FAKES if fakes is None else fakes,
                            log=lambda s: click.echo(s, err=True))
    click.echo(json.dumps(meta, indent=2))
    same = "matches" if meta["sha256"] == fmnist_cnn.SHA256 else "differs from"
    click.echo(f"weights {out}: test accuracy {meta['test_accuracy']:.4f}; sha256 {same} the committed file",
               err=True)


@cli.command("extractors")
def extractors_cmd():
    """List feature extractors."""
    from ..metrics import FEATURES

    for name in FEATURES.names():
        cls = FEATURES.get(name)
        shared = f" [shares backbone with: {', '.join(sorted(cls.shares_backbone_with))}]" \
            if cls.shares_backbone_with else ""
        dims = ", ".join(f"{k} {v}-d" for k, v in cls.layers.items())
        click.echo(f"{name:<14} {cls.description} ({dims}){shared}")


@cli.command("metrics")
@click.argument("pattern", default="*")
def metrics_cmd(pattern):
    """List metric protocols (optionally matching a glob PATTERN)."""
    from ..metrics import PROTOCOLS

    for name in PROTOCOLS.names(pattern):
        p = PROTOCOLS.get(name)
        arrow = "higher" if p.higher_is_better else "lower"
        click.echo(f"{name:<22} [{p.extractor}, {arrow} is better] {p.description}")
