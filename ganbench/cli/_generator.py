"""``--generator SPEC`` options shared by ``ganbench eval`` and ``ganbench regress``, and what ``eval --generator`` runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import GanbenchError


def generator_options(f):
    """Options naming an external generator and its call convention (defaults: None, resolved by the command)."""
    opts = [
        click.option("--generator", "generator", default=None, metavar="SPEC",
                     help="a generator ganbench did not train: FILE.pt2 (torch.export.save; recommended), "
                          "MODULE:CALLABLE (or FILE.py:CALLABLE) returning an nn.Module or a function z -> images, "
                          "FILE.onnx (extra [onnx]), or a TorchScript file (deprecated upstream; export to .pt2)"),
        click.option("--z-dim", type=int, default=None, help="latent size; z ~ N(0, I) [default 128]"),
        click.option("--num-classes", type=int, default=None,
                     help="> 0: also pass labels y ~ U{0..K-1} as g(z, y) [default 0]"),
        click.option("--output-range", type=click.Choice(["-1,1", "0,1", "uint8"]), default=None,
                     help="what the generator returns [default -1,1]"),
        click.option("--clamp", is_flag=True, default=None, help="clip out-of-range outputs instead of failing"),
        click.option("--resolution", type=int, default=None, help="size it makes [default: dataset's]"),
        click.option("--channels", type=click.Choice(["1", "3"]), default=None, help="[default: dataset's]"),
        click.option("--dataset", default=None, help="the dataset whose real images the metrics compare with [default fashion-mnist]"),
        click.option("--data-root", default=None, help="folder holding the dataset files"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


GEN_KEYS = ("generator", "z_dim", "num_classes", "output_range", "clamp", "resolution", "channels", "dataset",
            "data_root")


def pop_generator_options(kw: dict[str, Any]) -> dict[str, Any]:
    """Remove the generator options from a command's kwargs; fail when one is given without --generator."""
    g = {k: kw.pop(k) for k in GEN_KEYS}
    if g["generator"] is None:
        given = [k for k in GEN_KEYS if g[k] not in (None, False)]
        if given:
            raise GanbenchError(f"--{given[0].replace('_', '-')} only makes sense with --generator SPEC")
    if g["channels"] is not None:
        g["channels"] = int(g["channels"])
    return g


def eval_generator(g: dict[str, Any], metrics: tuple[str, ...], seed: int, device: str, out: str | None,
                   copy_check: bool = True) -> None:
    """``ganbench eval --generator SPEC``: print the rows and the copying check; with --out also write them as CSV
    (atomically)."""
    from ..external import evaluate_generator
    from ..external.copying_check import describe_copying
    from ..io import write_text

    df = evaluate_generator(g["generator"], dataset=g["dataset"] or "fashion-mnist", metrics=metrics, seed=seed,
                            z_dim=g["z_dim"] or 128, num_classes=g["num_classes"] or 0,
                            output_range=g["output_range"] or "-1,1", resolution=g["resolution"],
                            channels=g["channels"], clamp=bool(g["clamp"]), device=device, data_root=g["data_root"],
                            copy_check=copy_check)
    rows = df.to_dict("records")
    for r in rows:
        click.echo(f"{r['run']}  {r['metric']} [{r['extractor']}, n={r['n_samples']} vs {r['dataset']}:{r['split']} "
                   f"n={r['n_real']}, {r['resolution']}px, seed {r['seed']}, {r['device']}] = {r['value']:.4f}")
    for line in describe_copying(rows):
        click.echo(line)
    if out:
        write_text(Path(out), df.to_csv(index=False))
        click.echo(f"wrote {out}", err=True)
