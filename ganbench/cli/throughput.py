"""``ganbench throughput``: the cost of one training iteration of a model (img/s, achieved GFLOP/s, top operators)."""
from __future__ import annotations

import json

import click

from ..config import parse_overrides
from . import cli


@cli.command("throughput")
@click.option("--model", required=True, help="a registered model (ganbench list models), a comma-separated list, or "
                                            "'all': several models are timed in interleaved rounds of one process")
@click.option("--preset", default="tiny", show_default=True)
@click.option("--variant", default="default", show_default=True)
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--data-root", default=None, help="folder holding the dataset files")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto")
@click.option("--iters", default=3, show_default=True, type=click.IntRange(1), help="timed training iterations")
@click.option("--top", default=10, show_default=True, type=click.IntRange(0), help="operators listed (0: none)")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1),
              help="with several models: interleaved timing rounds (img/s = the median)")
@click.option("--goal", default=0.25, show_default=True, type=click.FloatRange(0, min_open=True),
              help="with several models: the img/s ratio to DCGAN whose needed share of the matmul rate is shown")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default=None)
@click.option("--channels-last/--no-channels-last", default=None, help="NHWC memory format [default: on]")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a model config field")
@click.option("--json", "as_json", is_flag=True, help="print the result as one JSON object")
def throughput_cmd(model, preset, variant, dataset, data_root, device, iters, top, rounds, goal, precision, channels_last,
            sets, as_json) -> None:
    """Time one training iteration (n_dis D steps + 1 G step at the preset's batch) after a warm-up one."""
    from ..models import MODELS
    from ..training.throughput import model_throughput

    overrides = parse_overrides(list(sets))
    overrides.update({k: v for k, v in {"precision": precision, "channels_last": channels_last}.items()
                      if v is not None})
    names = MODELS.names() if model == "all" else [m.strip() for m in model.split(",") if m.strip()]
    for m in names:
        MODELS.get(m)  # an unknown name fails here, before any model is built
    if len(names) > 1:
        _throughput_many(names, preset, variant, dataset, device, iters, rounds, overrides, data_root, goal, as_json)
        return
    model = names[0]
    r = model_throughput(model, preset, variant, dataset, device, iters, overrides, data_root, top)
    if as_json:
        click.echo(json.dumps(r))
        return
    click.echo(f"{model} {preset}/{variant} on {r['dataset']} at {r['resolution']}px, seed {r['seed']} ({r['device']}, "
               f"{r['precision']}, batch {r['batch_size']} x {r['n_dis']} D steps, {iters} iterations after 1 warm-up)")
    click.echo(f"  {r['img_per_s']:.1f} img/s (real images shown to D per second)")
    click.echo(f"  {r['gflop_per_iter']:.2f} GFLOP per iteration (fwd + bwd of G and D), {r['gflop_per_s']:.1f} "
               f"GFLOP/s achieved = {100 * r['fraction_of_matmul']:.1f}% of the measured {r['matmul_gflop_per_s']:.0f}"
               " GFLOP/s fp32 matmul rate")
    click.echo(f"  ceiling {r['ceiling_img_per_s']:.0f} img/s (every counted FLOP at the matmul rate, elementwise ops "
               "free)")
    if r["top_ops"]:
        click.echo("  top operators by self time (one iteration, torch.profiler):")
        for o in r["top_ops"]:
            click.echo(f"    {o['op']:42s} {o['self_ms']:9.1f} ms {100 * o['share']:5.1f}%  {o['calls']} calls")


def _throughput_many(names, preset, variant, dataset, device, iters, rounds, overrides, data_root, goal,
                  as_json) -> None:
    from ..training.throughput import throughput_table

    rows = throughput_table(names, preset, variant, dataset, device, iters, rounds, overrides, data_root, goal=goal)
    if as_json:
        click.echo(json.dumps(rows))
        return
    r0 = rows[0]
    click.echo(f"{preset}/{variant} on {dataset} at {r0['resolution']}px, seed {r0['seed']} ({r0['device']}), {iters} "
               f"iterations x {rounds} interleaved rounds after 1 warm-up each; img/s = median over rounds; matmul "
               f"{r0['matmul_gflop_per_s']:.0f} GFLOP/s (best of the rounds)")
    goal_col = f"{goal:g}x needs"
    click.echo(f"{'model':15s} {'img/s':>8s} {'vs dcgan':>9s} {'GFLOP/iter':>11s} {'GFLOP/s':>8s} {'of matmul':>9s}"
               f" {'ceiling':>8s} {'ceil/dcgan':>10s} {goal_col:>11s}  rounds (img/s)")
    for r in rows:
        click.echo(f"{r['model']:15s} {r['img_per_s']:8.1f} {r['vs_base']:9.3f} {r['gflop_per_iter']:11.2f} "
                   f"{r['gflop_per_s']:8.1f} {100 * r['fraction_of_matmul']:8.1f}% {r['ceiling_img_per_s']:8.0f} "
                   f"{r['ceiling_vs_base']:10.3f} {100 * r['goal_needs_fraction']:10.1f}%  "
                   + " ".join(f"{x:.1f}" for x in r["img_per_s_rounds"]))
    click.echo(f"ceiling: img/s if every counted FLOP ran at the matmul rate (elementwise ops free); {goal_col}: the "
               f"share of the matmul rate a model must reach for {goal:g}x DCGAN's measured img/s (> 100%: out of "
               "reach without computing less)")
