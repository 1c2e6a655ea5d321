"""Training commands: list, train, run (suites), results, eval."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..config import COMPILE_MODES, parse_overrides
from ..errors import GanbenchError
from ..training.progress import FORMATS, choose
from . import cli
from ._generator import eval_generator, generator_options, pop_generator_options


def _csv(text: str | None, cast=str) -> tuple | None:
    if not text:
        return None
    try:
        return tuple(cast(t.strip()) for t in text.split(",") if t.strip())
    except ValueError:
        raise GanbenchError(f"bad comma-separated list {text!r}") from None


@cli.command("list")
@click.argument("what", type=click.Choice(["models", "datasets", "suites", "presets", "variants", "extractors",
                                          "metrics"]))
def list_(what: str) -> None:
    """List registered models, datasets, suites, feature extractors, metric protocols (or presets/variants per
    model)."""
    from ..data import DATASETS
    from ..models import MODELS
    from ..suites import load_suite, names

    if what == "models":
        for n in MODELS.names():
            click.echo(f"{n:16s} {MODELS.get(n).paper.title}")
    elif what == "datasets":
        for n in DATASETS.names():
            click.echo(f"{n:16s} splits: {', '.join(DATASETS.get(n).splits)}")
    elif what == "suites":
        for n in names():
            click.echo(f"{n:22s} {load_suite(n).description}")
    elif what in ("extractors", "metrics"):
        from .metrics import extractors_cmd, metrics_cmd

        (extractors_cmd if what == "extractors" else metrics_cmd).callback(*(() if what == "extractors" else ("*",)))
    else:
        for n in MODELS.names():
            cls = MODELS.get(n)
            items = cls.presets if what == "presets" else cls.variants
            click.echo(f"{n:16s} {', '.join(items)}")


def _logging(quiet: bool) -> None:
    """Warnings (e.g. a diverged run) to stderr; with --quiet only errors."""
    logging.basicConfig(level=logging.ERROR if quiet else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


DETERMINISTIC_HELP = ("deterministic kernels only (torch.use_deterministic_algorithms, cuDNN deterministic, "
                      "CUBLAS_WORKSPACE_CONFIG): a killed CUDA run resumes bit-identically; slower. Recorded in "
                      "config.yaml. CPU runs are deterministic already")


def _common(f):
    f = click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto")(f)
    f = click.option("--data-root", default=None, help="folder holding the dataset files")(f)
    f = click.option("--results", "results_root", default=None, type=click.Path(file_okay=False),
                     help="results directory [default: $GANBENCH_RESULTS or ./results]")(f)
    f = click.option("--quiet", is_flag=True, help="print only errors and the final summary")(f)
    f = click.option("--log-format", type=click.Choice(FORMATS), default="auto", show_default=True,
                     help="progress: a bar (auto: on a terminal) or plain, one line per evaluation and per finished "
                          "run (auto: elsewhere, e.g. `> log` or CI)")(f)
    return f


@cli.command()
@click.option("--model", required=True, help="a registered model (ganbench list models)")
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--preset", default="tiny", show_default=True, help="paper | tiny")
@click.option("--variant", default="default", show_default=True)
@click.option("--kimg", default=10.0, show_default=True, type=float, help="thousands of real images shown to D")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--eval-every", "eval_every", default=0.0, type=float, help="kimg between evaluations (0: end only)")
@click.option("--metrics", default="fd_domain2k_train", show_default=True, help="comma-separated metric protocols")
@click.option("--resolution", default=32, show_default=True, type=int)
@click.option("--channels", default=None, type=int, help="1 or 3 [default: the dataset's]")
@click.option("--conditional", is_flag=True, help="class-conditional training (labelled datasets)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a model config field")
@click.option("--out", default=None, help="run directory [default: RESULTS/adhoc/<run-id>]")
@click.option("--log", "log_to", default=None, type=click.Choice(["tensorboard"]),
              help="also log losses, metrics, sample grids and the config to RUN/tensorboard/ (extra [tensorboard])")
@click.option("--log-every", default=50, show_default=True, type=int, help="with --log: G steps between losses")
@_common
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default=None,
              help="autocast dtype of the training step [default: the preset's, fp32]")
@click.option("--compile", "compile_", is_flag=True, default=None, help="torch.compile G and D")
@click.option("--channels-last/--no-channels-last", default=None,
              help="NHWC memory format [default: on, faster on CPU and GPU]")
@click.option("--tf32", type=click.Choice(["off", "on"]), default=None, help="TF32 policy on CUDA [default: off]")
@click.option("--compile-mode", type=click.Choice(COMPILE_MODES), default=None,
              help="torch.compile mode (implies --compile); reduce-overhead: CUDA graphs, for small presets on a GPU")
@click.option("--check-every", type=click.IntRange(0), default=None,
              help="G steps between non-finite-loss checks [default: 0 = auto: every step on CPU, 50 on CUDA]")
@click.option("--deterministic", is_flag=True, default=None, help=DETERMINISTIC_HELP)
def train(model, dataset, preset, variant, kimg, seed, eval_every, metrics, resolution, channels, conditional, sets,
          out, log_to, log_every, device, data_root, results_root, quiet, log_format, precision, compile_,
          channels_last, tf32, compile_mode, check_every, deterministic) -> None:
    """Train one model through the shared trainer (resumes if the run directory holds a checkpoint)."""
    from .. import results
    from ..training import TrainSpec
    from ..training import train as train_run

    overrides = parse_overrides(list(sets))
    if conditional:
        overrides["conditional"] = True
    run_options = {"precision": precision, "compile": True if compile_mode else compile_,
                   "compile_mode": compile_mode, "channels_last": channels_last, "tf32": tf32,
                   "check_every": check_every, "deterministic": deterministic}
    overrides.update({k: v for k, v in run_options.items() if v is not None})  # config fields, in config.yaml
    spec = TrainSpec(model=model, preset=preset, variant=variant, dataset=dataset, data_root=data_root,
                     resolution=resolution, channels=channels, kimg=kimg, seed=seed, eval_every_kimg=eval_every,
                     metrics=_csv(metrics) or (), overrides=overrides, device=device)
    root = Path(results_root) if results_root else results.default_root()
    out = out or str(root / "adhoc" / spec.run_id)
    import dataclasses

    from ..training.tblog import make_logger
    logger = make_logger((log_to,) if log_to else (), Path(out), log_every)
    _logging(quiet)
    try:
        r = train_run(dataclasses.replace(spec, out_dir=out), progress=choose(log_format, quiet), logger=logger)
    finally:
        logger.close()
    click.echo(f"{r.status}: {r.images_seen} images seen in {r.wall_s:.1f} s -> {out}")
    for row in r.rows[-len(spec.metrics):] if spec.metrics else []:
        click.echo(f"  {row['metric']} [{row['extractor']}, n={row['n_samples']}] = {row['value']:.4f}")
    if r.status != "complete":
        sys.exit(1)


@cli.command()
@click.option("--suite", default=None, help="suite name (ganbench list suites) or a YAML file")
@click.option("--plan", "plan_file", default=None, type=click.Path(dir_okay=False),
              help="instead of --suite: the runs of a frozen plan (a clean, committed tree only; the plan is copied "
                   "into the results folder)")
@click.option("--profile", default=None, help="a named profile of the suite (e.g. quick, full)")
@click.option("--preset", default=None, help="override the suite's preset (paper | tiny)")
@click.option("--dataset", default=None, help="override the suite's dataset")
@click.option("--seeds", default=None, help="comma-separated seeds")
@click.option("--kimg", default=None, type=float)
@click.option("--eval-every", "eval_every", default=None, type=float)
@click.option("--metrics", default=None, help="comma-separated metric protocols (\"\": none)")
@click.option("--models", default=None, help="only these models (comma-separated)")
@click.option("--executor", default="local", type=click.Choice(["local", "ray"]), show_default=True)
@click.option("--workers", default=1, show_default=True, type=int, help="parallel runs (local process pool)")
@click.option("--address", default=None, help="Ray cluster address (with --executor ray)")
@click.option("--dry-run", is_flag=True, help="print the runs and exit")
@click.option("--deterministic", is_flag=True, help=DETERMINISTIC_HELP)
@_common
def run(suite, plan_file, profile, preset, dataset, seeds, kimg, eval_every, metrics, models, executor, workers,
        address, dry_run, deterministic, device, data_root, results_root, quiet, log_format) -> None:
    """Run every training run of a suite (or of a frozen plan); complete runs are skipped, interrupted ones
    resume."""
    from .. import results
    from ..executors import execute
    from ..suites import SuiteOptions, expand

    mode = choose(log_format, quiet)
    _logging(quiet)
    root = Path(results_root) if results_root else results.default_root()
    if plan_file:
        given = [k for k, v in {"--suite": suite, "--profile": profile, "--preset": preset, "--dataset": dataset,
                                "--seeds": seeds, "--kimg": kimg, "--eval-every": eval_every, "--metrics": metrics,
                                "--models": models}.items() if v is not None]
        if given:
            raise GanbenchError(f"{given[0]} does not go with --plan: the plan fixes the runs")
        from ..analysis.plan import start_planned

        specs = start_planned(Path(plan_file), root, device, deterministic, dry_run)
        suite = Path(plan_file).stem
    elif not suite:
        raise GanbenchError("give --suite NAME (or --plan FILE)")
    else:
        opts = SuiteOptions(profile=profile, preset=preset, dataset=dataset, data_root=data_root,
                            seeds=_csv(seeds, int), kimg=kimg, eval_every_kimg=eval_every,
                            metrics=None if metrics is None else _csv(metrics) or (),  # "": no metrics
                            models=_csv(models), device=device, deterministic=deterministic)
        specs = expand(suite, opts, root)
    if dry_run:
        for s in specs:
            click.echo(s.out_dir)
        return
    if workers < 1:
        raise GanbenchError("--workers must be >= 1")
    results.check_writable(root)
    def done(o) -> None:
        if not quiet or o.status == "failed":
            click.echo(f"[{o.status}] {o.spec.run_id}" + (f": {o.error}" if o.error else ""), err=True)
    outcomes = execute(specs, executor, workers, address, progress=mode, on_done=done)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("complete", "diverged", "failed")}
    click.echo(f"suite {suite}: {len(outcomes)} runs: " + ", ".join(f"{v} {k}" for k, v in counts.items())
               + f" -> {root / Path(specs[0].out_dir).parent.name if specs else root}")
    if counts["failed"]:
        sys.exit(1)


@cli.command("results")
@click.argument("root", required=False, type=click.Path())
def results_cmd(root) -> None:
    """List runs under a results directory as a table (status, images seen, latest metrics)."""
    from .. import results

    df = results.summary(Path(root) if root else results.default_root())
    click.echo(df.to_string(index=False) if len(df) else "no runs")


@cli.command("eval")
@click.argument("run_dir", type=click.Path(), required=False)
@click.option("--metrics", default="fd_domain10k_train", show_default=True, help="comma-separated metric protocols")
@click.option("--all", "all_ckpts", is_flag=True, help="every checkpoint, not only the last")
@click.option("--device", default="auto", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int, help="sampling seed")
@click.option("--inception-weights", default=None, help="path to pt_inception-2015-12-05-6726825d.pth")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="with --generator: also write the rows here")
@click.option("--no-copy-check", is_flag=True,
              help="with --generator: skip the copying check (copy rate and C_T against the train split)")
@generator_options
def eval_cmd(run_dir, metrics, all_ckpts, device, seed, inception_weights, out, no_copy_check, **gen) -> None:
    """Evaluate a run's checkpoints with metric protocols; rows go to RUN_DIR/eval.csv. With --generator SPEC instead
    of RUN_DIR: any generator (torch.export FILE.pt2, MODULE:CALLABLE, ONNX; TorchScript
    still works but is deprecated upstream), rows printed (and written to --out)."""
    import os

    g = pop_generator_options(gen)
    if inception_weights:
        os.environ["GANBENCH_INCEPTION_WEIGHTS"] = inception_weights
    if g["generator"] is not None:
        if run_dir or all_ckpts:
            raise GanbenchError("give either RUN_DIR or --generator SPEC (and --all only with RUN_DIR)")
        return eval_generator(g, _csv(metrics) or (), seed, device, out, copy_check=not no_copy_check)
    if run_dir is None:
        raise GanbenchError("missing RUN_DIR (a ganbench run directory) or --generator SPEC")
    if out or no_copy_check:
        raise GanbenchError("--out and --no-copy-check only make sense with --generator (a run's rows go to "
                            "RUN_DIR/eval.csv)")

    from ..training.evaluation import evaluate_run

    def show(r) -> None:
        click.echo(f"{r.images_seen:>9d} img  {r.metric} [{r.extractor}, n={r.n_samples}] = {r.value:.4f}")

    evaluate_run(Path(run_dir), _csv(metrics) or (), all_ckpts, seed, device, on_record=show)
