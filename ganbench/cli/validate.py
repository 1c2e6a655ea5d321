"""``ganbench validate-metric EXTRACTOR``: the disturbance ladder (``ganbench.metrics.validation``) for one extractor."""
from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
from ..errors import GanbenchError


def untrained_samples(n: int, held, seed: int = 0, preset: str = "tiny") -> "dict[str, object]":
    """uint8 samples of every registered model's untrained generator (``preset``, seed ``seed``, as a run's
    evaluation at 0 images draws them); models that sample with real images get the held-out images."""
    import torch

    from ..models import MODELS, create_model
    from ..images import to_uint8

    out = {}
    for name in MODELS.names():
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = create_model(name, preset, img=held.spec).eval()
            if model.samples_from_data:
                model.bind_reference(held.images)
            g = torch.Generator().manual_seed(seed)
            out[f"untrained:{name}"] = torch.cat([to_uint8(model.sample(min(500, n - i), g))
                                                  for i in range(0, n, 500)])
    return out


def ladder_for(extractor: str, dataset: str = "fashion-mnist", n: int = 2000, seed: int = 0,
               data_root: str | None = None, device: str = "cpu", progress=None, generators: bool = True):
    """Run the ladder: ``n`` test-split images (disturbed) against the train split's cached statistics."""
    import torch

    from ..data import load_dataset
    from ..metrics.features import FEATURES, get_extractor
    from ..metrics.frechet import feature_stats, frechet_distance
    from ..metrics.reference import extract_all, reference_stats
    from ..metrics.validation import run_ladder

    FEATURES.get(extractor)  # unknown name: one-line error with close matches
    ext = get_extractor(extractor, device)
    ref_data = load_dataset(dataset, "train", 32, 1, data_root)
    held = load_dataset(dataset, "test", 32, 1, data_root)
    if n < 100 or n > len(held):
        raise GanbenchError(f"--n {n}: need 100 <= n <= {len(held)} (the held-out split's size)")
    ref = reference_stats(ref_data, ext)
    idx = torch.randperm(len(held), generator=torch.Generator().manual_seed(seed))[:n]
    images, labels = held.images[idx], (held.labels[idx] if held.labels is not None else None)

    def distance(x: torch.Tensor) -> float:
        mu, sigma = feature_stats(extract_all(ext, x, layers=(ext.fd_layer,))[ext.fd_layer])
        return frechet_distance(mu, sigma, ref.mu, ref.sigma)

    metric = ext.metric_names.get("fd", "fd")
    return run_ladder(distance, images, labels, extractor=extractor, metric=metric, seed=seed,
                      reference=f"{dataset} train ({ref.n}), 32px 1ch",
                      held_out=f"{dataset} test ({n} of {len(held)}, randperm seed {seed})", progress=progress,
                      extra_degenerate=untrained_samples(n, held, seed) if generators else None)


def plot_ladder(lad, path: Path) -> None:
    """Distance vs disturbance strength (level index), one line per family; degenerate sets as a strip."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_write

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    for fam, pts in lad.families.items():
        a.plot(range(len(pts)), [d for _, d in pts], marker="o",
               label=f"{fam} ({'PASS' if lad.family_passed(fam) else 'FAIL'})")
    a.set_xticks(range(4), ["clean", "mild", "medium", "strong"])
    a.set_ylabel(f"{lad.metric} to {lad.reference}")
    a.set_title(f"{lad.extractor}: disturbance ladder (n={lad.n})")
    a.legend(fontsize=7)
    kinds = list(lad.degenerate)
    b.bar(kinds, [lad.degenerate[k] for k in kinds],
          color=["tab:green" if lad.degenerate_passed(k) else "tab:red" for k in kinds])
    b.axhline(3 * lad.worst_mild, ls="--", c="k", lw=1, label="3x worst mild")
    b.set_title("degenerate sets")
    b.legend(fontsize=7)
    b.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def ladder_table(lad) -> str:
    lines = [f"| family | clean | mild | medium | strong | verdict |", "|---|---|---|---|---|---|"]
    for fam, pts in lad.families.items():
        levels = " / ".join(f"{lv:g}" for lv, _ in pts[1:])
        cells = " | ".join(f"{d:.3f}" for _, d in pts)
        lines.append(f"| {fam} ({levels}) | {cells} | {'PASS' if lad.family_passed(fam) else 'FAIL'} |")
    for k, v in lad.degenerate.items():
        lines.append(f"| degenerate: {k} | {v:.3f} | | | | {'PASS' if lad.degenerate_passed(k) else 'FAIL'} |")
    return "\n".join(lines)


@cli.command("validate-metric")
@click.argument("extractor")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--n", "n", default=2000, show_default=True, help="held-out images per set (the curves' sample count)")
@click.option("--seed", default=0, show_default=True)
@click.option("--data-root", default=None)
@click.option("--device", default="cpu", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="report/validation", show_default=True,
              help="writes <extractor>.md, .csv, .png and .json here")
@click.option("--record", is_flag=True, help="also write the verdict next to the weights (what reports cite)")
def validate_metric_cmd(extractor, dataset, n, seed, data_root, device, out, record):
    """Disturbance ladder: FD of noised/blurred/occluded/swirled/salted/mode-dropped held-out images; PASS/FAIL."""
    import pandas as pd

    from ..io import write_json, write_text
    from ..metrics.validation import validation_path

    lad = ladder_for(extractor, dataset, n, seed, data_root, device, progress=lambda s: click.echo(s, err=True))
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GanbenchError(f"cannot write to {out}: {e.strerror}") from None
    doc = lad.to_json()
    table = ladder_table(lad)
    head = (f"# Metric validation: {extractor} ({lad.metric})\n\n{n} held-out images, {lad.held_out}, against "
            f"{lad.reference}; seed {seed}. Criteria: {doc['criteria']}.\n\n")
    write_text(out / f"{extractor}.md", head + table + f"\n\n**{'PASS' if lad.passed else 'FAIL'}**\n")
    write_text(out / f"{extractor}.csv", pd.DataFrame(lad.rows()).to_csv(index=False))
    plot_ladder(lad, out / f"{extractor}.png")
    write_json(out / f"{extractor}.json", doc)
    if record:
        write_json(validation_path(extractor), doc)
    click.echo(table)
    click.echo(f"{extractor}: {'PASS' if lad.passed else 'FAIL'} (worst mild {lad.worst_mild:.3f}; "
               f"written to {out})")
    if not lad.passed:
        raise SystemExit(1)
