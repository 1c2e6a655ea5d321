"""How two extractors rank the same checkpoints: Spearman's rho between fd_domain and fd_effnet over every evaluated
checkpoint of a results directory (e.g. ``results/convergence`` after ``make run``).

    .venv/bin/python scripts/metric_agreement.py results/convergence --n 1000 --ref-n 10000 --seeds 0

Both distances are recomputed here on the same generated images (``--n`` per checkpoint, sampling seed 0) against the
same reference (a fixed ``--ref-n`` subset of the train split), so they differ only in the feature network.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from ganbench.data import load_dataset
from ganbench.metrics.features import get_extractor
from ganbench.metrics.frechet import feature_stats, frechet_distance
from ganbench.metrics.real_stats import extract_all, real_stats
from ganbench.images import to_uint8
from ganbench.training import checkpoint
from ganbench.training.checkpoint import restore

EXTRACTORS = ("fmnist-cnn", "effnet-lite0")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--ref-n", type=int, default=10000)
    p.add_argument("--seeds", default=None, help="only runs with these seeds (comma-separated)")
    p.add_argument("--out", type=Path, default=None, help="JSON with every pair and rho")
    a = p.parse_args()
    seeds = {int(s) for s in a.seeds.split(",")} if a.seeds else None
    train = load_dataset("fashion-mnist", "train", 32, 1, None)
    exts = {e: get_extractor(e) for e in EXTRACTORS}
    refs = {e: real_stats(train, x, a.ref_n) for e, x in exts.items()}
    rows = []
    for run in sorted(p for p in a.results.glob("*/") if (p / "config.yaml").exists()):
        for ck in checkpoint.list_checkpoints(run):
            model, G, data, spec, seen = restore(run, ck)
            if seeds is not None and spec.seed not in seeds:
                break
            g = torch.Generator().manual_seed(0)
            with torch.no_grad():
                imgs = torch.cat([to_uint8(model.sample(min(250, a.n - i), g, G=G)) for i in range(0, a.n, 250)])
            row = {"run": spec.run_id, "model": spec.model, "seed": spec.seed, "images_seen": seen}
            for e, x in exts.items():
                mu, s = feature_stats(extract_all(x, imgs, layers=(x.fd_layer,))[x.fd_layer])
                row[e] = frechet_distance(mu, s, refs[e].mu, refs[e].sigma)
            rows.append(row)
            print(json.dumps(row), flush=True)
    rho, pval = spearmanr([r[EXTRACTORS[0]] for r in rows], [r[EXTRACTORS[1]] for r in rows])
    summary = {"n_checkpoints": len(rows), "spearman_rho": float(rho), "p_value": float(pval), "n": a.n,
               "ref": f"fashion-mnist train, {a.ref_n} (fixed subset)",
               "weights": {e: x.weights_sha256[:12] for e, x in exts.items()}}
    print(json.dumps(summary))
    if a.out:
        a.out.write_text(json.dumps({**summary, "rows": rows}, indent=2))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
