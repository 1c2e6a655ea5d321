"""(Imported by the claims tests; holds no tests itself.) Synthetic results trees whose claim verdicts are known:
each run is a metrics.csv curve written the way the trainer writes it (numbers made up, never leave the tests)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import yaml

from ganbench import results

FD = {"protocol": "fd_domain2k_train", "metric": "fd_domain", "extractor": "fmnist-cnn", "n_samples": 2000,
      "n_real": 60000, "split": "train"}
DATA = {"name": "fashion-mnist", "split": "train", "resolution": 32, "channels": 1, "n": 60000}


def write_run(root: Path, suite: str, model: str, variant: str, seed: int, images: Sequence[int],
              values: Sequence[float], status: str = "complete", sample: bool = False) -> Path:
    run = f"{model}-{variant}-tiny-s{seed}-{sum(map(ord, suite + model + variant)) * 7 + seed:08d}"
    d = Path(root) / suite / run
    d.mkdir(parents=True)
    spec = {"model": model, "preset": "tiny", "variant": variant, "dataset": "fashion-mnist",
            "kimg": images[-1] / 1000, "seed": seed, "eval_every_kimg": 1.0, "suite": suite}
    cfg = {"run": run, "spec": spec, "model_config": {"z_dim": 64}, "dataset": DATA,
           "params": {"params_g": 1000, "params_d": 1000, "params_g_frozen": 0, "params_d_frozen": 0},
           "environment": {"device": "cpu: Test CPU", "git_commit": "0123abcd"}}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows = [{"run": run, "suite": suite, "model": model, "variant": variant, "preset": "tiny",
             "dataset": "fashion-mnist", "resolution": 32, "channels": 1, "seed": seed, "images_seen": i,
             "wall_s": i / 100, "value": v, "device": "cpu: Test CPU", **FD} for i, v in zip(images, values)]
    results.write_records(d / "metrics.csv", rows)
    if sample:
        from PIL import Image
        (d / "samples").mkdir()
        Image.new("L", (16, 16), 30 + 10 * seed).save(d / "samples" / f"{images[-1]:09d}.png")
    (d / "status.json").write_text(json.dumps({"status": status, "images_seen": images[-1], "wall_s": 1.0}))
    return d


def claim_plan(claim, status: str = "confirmatory", n: int | None = 5, n_needed: float = 5.0,
               threshold: float | None = None):
    """A ClaimPlan for ``claim`` (an analysis.claims.Claim) as ``ganbench plan freeze`` would write it."""
    from ganbench.analysis.plan import ClaimPlan

    return ClaimPlan(claim.id, claim.kind, claim.a.label, claim.b.label, claim.paired, "as frozen", status,
                     n if status == "confirmatory" else None, n_needed, threshold,
                     None if threshold is None else "the median of the exploratory runs' values at the budget",
                     {"effect": -1.0, "sd": 1.0, "d": 1.0, "unit": "x", "seeds": [0, 1], "budget_images": 4000.0,
                      "alpha_each": 0.05, "sizing": f"{n_needed:g} pairs"})


def make_plan(claims, seeds: Sequence[int], arms: dict, suite: str = "ref", kimg: float = 4.0, alpha: float = 0.05,
              commit: str = "0123abcd"):
    """A frozen-looking plan (analysis.plan.Plan) over fixture runs: ``claims`` are ClaimPlans, ``arms`` maps arm
    labels to their number of seeds (the first n of ``seeds``)."""
    from ganbench.analysis.plan import REACH_RULE, Plan

    return Plan("test-plan", suite, "standard", "fd_domain2k_train", (), tuple(seeds), dict(arms), kimg, 1.0, alpha,
                "holm over the confirmatory claims", 0.8, 5, 3, 30, max(1, len(claims)), REACH_RULE, 1.5, "test main table",
                tuple(claims), {"results": "exploratory", "seeds": [0, 1, 2], "seeds_left_out": [0, 1],
                                "why_left_out": "tuning seeds", "commits": [commit], "devices": ["cpu"]},
                {"train_seconds_per_run": {}, "thread_hours": 0.1, "workers": 2, "wall_hours_estimate": 0.05,
                 "note": "test"}, commit, "2026-01-01")
