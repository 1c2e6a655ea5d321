"""The copy ladder: controls with a known amount of training-set copying that every copying metric must order.

Like the disturbance ladder (``ladder.py``), a copying metric is used only after it passes its controls. All
sets have ``n`` images (2,000: the size of the reference evaluations) and are scored against the whole train split
and the *held-out* half of the test split (``copying.heldout_halves``); the control images come from the other,
disjoint half, so the perfect generaliser is never the metrics' own held-out images.

Controls (uint8 images, then the extractor's features):
  copies          n random training images, exactly
  shift1, shift2  the same training images shifted by 1 / 2 px in a random one of 8 directions, zero fill
  noise0.05/0.1   the same training images + Gaussian noise, sigma 0.05 / 0.1 in [-1, 1] pixel units, re-quantised
  mix0 ... mix100 the first p n of the copies and n - p n control images, p = 0, 25, 50, 75, 100 %; nested, so each
                  step only replaces control images by copies. mix0 is the perfect generaliser (held-out images alone)
  perfect1..4     more perfect-generaliser draws (other random control images), for the false-flag check
  collapse        ``COLLAPSE_IMAGES`` control images, each repeated n / COLLAPSE_IMAGES times (mode collapse without
                  copying): reported, not judged

Criteria per metric (all must hold for PASS):
  1. strictly monotone along mix0 < mix25 < mix50 < mix75 < mix100 in the metric's copying direction;
  2. no perfect-generaliser draw (mix0, perfect1..4) flagged;
  3. the exact copies (mix100) flagged.
``ganbench validate-copying EXTRACTOR [--n 2000 --seed 0 --record]`` runs it on the whole train split and the test
split's held-out half (cached features), prints the table, measures the cost of one evaluation, and exits 1 when the
copy rate or C_T fails; ``--record`` writes ``metrics/weights/<extractor>.copying.json`` and ``.md``.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..metrics import copying
from ..metrics.copying import HIGHER_MEANS_COPYING, METRICS, RULES, CopyingSets, CopyResult

MIXTURE = (0, 25, 50, 75, 100)  # % copies
SHIFTS = (1, 2)  # px
NOISE = (0.05, 0.1)  # sigma, [-1, 1] pixel units
COLLAPSE_IMAGES = 10
PERFECT_DRAWS = 4  # perfect-generaliser draws besides mix0
CONTROL_SALT = 7  # the controls' random stream is seed + 7: unrelated to the metrics' own seeded draws
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "metrics" / "weights"  # records live beside the weights
CRITERIA = ("strictly monotone in the copying direction along 0/25/50/75/100 % copies; no perfect-generaliser draw "
            f"(mix0 and {PERFECT_DRAWS} more) flagged; exact copies (mix100) flagged")
_DIRS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def shift(images: Tensor, px: int, g: torch.Generator) -> Tensor:
    """Shift every uint8 image by ``px`` pixels in a random one of 8 directions; vacated pixels are 0."""
    n, _, h, w = images.shape
    dirs = torch.tensor(_DIRS)[torch.randint(0, 8, (n,), generator=g)] * px
    padded = torch.nn.functional.pad(images, (px, px, px, px))
    out = torch.empty_like(images)
    for i, (dy, dx) in enumerate(dirs.tolist()):
        out[i] = padded[i, :, px - dy:px - dy + h, px - dx:px - dx + w]
    return out


def add_noise(images: Tensor, sigma: float, g: torch.Generator) -> Tensor:
    """uint8 -> [-1, 1] + N(0, sigma^2) -> uint8 (rounded, clipped)."""
    x = images.float() / 127.5 - 1 + sigma * torch.randn(images.shape, generator=g)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def control_sets(train_images: Tensor, control_images: Tensor, n: int, seed: int = 0) -> dict[str, Tensor]:
    """The ladder's uint8 image sets (see the module docstring), seeded."""
    g = torch.Generator().manual_seed(seed + CONTROL_SALT)
    copies = train_images[torch.randperm(len(train_images), generator=g)[:n]]
    ctrl_perm = torch.randperm(len(control_images), generator=g)
    fresh = control_images[ctrl_perm[:n]]
    sets: dict[str, Tensor] = {"copies": copies}
    for px in SHIFTS:
        sets[f"shift{px}"] = shift(copies, px, g)
    for s in NOISE:
        sets[f"noise{s:g}"] = add_noise(copies, s, g)
    for p in MIXTURE:
        k = round(p / 100 * n)
        sets[f"mix{p}"] = torch.cat([copies[:k], fresh[k:]])
    for j in range(1, PERFECT_DRAWS + 1):
        idx = torch.randperm(len(control_images), generator=g)[:n]
        sets[f"perfect{j}"] = control_images[idx]
    few = control_images[ctrl_perm[n:n + COLLAPSE_IMAGES]] if len(control_images) >= n + COLLAPSE_IMAGES \
        else control_images[ctrl_perm[:COLLAPSE_IMAGES]]
    sets["collapse"] = few.repeat_interleave(math.ceil(n / COLLAPSE_IMAGES), 0)[:n]
    return sets


@dataclass
class CopyLadder:
    """Every metric's value on every control set, and the verdicts."""

    extractor: str
    dataset: str
    n: int
    seed: int
    n_train: int
    n_held_out: int
    cells: int
    results: dict[str, dict[str, CopyResult]] = field(default_factory=dict)  # set -> metric -> result
    seconds: dict[str, float] = field(default_factory=dict)
    machine: str = ""

    @property
    def metrics(self) -> list[str]:
        return list(next(iter(self.results.values())).keys())

    def copying_score(self, metric: str, name: str) -> float:
        v = self.results[name][metric].value
        return v if HIGHER_MEANS_COPYING[metric] else -v

    def monotone(self, metric: str) -> bool:
        s = [self.copying_score(metric, f"mix{p}") for p in MIXTURE]
        return all(math.isfinite(a) for a in s) and all(b > a for a, b in zip(s, s[1:]))

    def perfect_names(self) -> list[str]:
        return ["mix0"] + [f"perfect{j}" for j in range(1, PERFECT_DRAWS + 1) if f"perfect{j}" in self.results]

    def perfect_flagged(self, metric: str) -> list[str]:
        return [s for s in self.perfect_names() if self.results[s][metric].flagged]

    def copies_flagged(self, metric: str) -> bool:
        return self.results["mix100"][metric].flagged

    def passed(self, metric: str) -> bool:
        return self.monotone(metric) and not self.perfect_flagged(metric) and self.copies_flagged(metric)

    def command(self) -> str:
        return (f"ganbench validate-copying {self.extractor} --dataset {self.dataset} --n {self.n} "
                f"--seed {self.seed}" + (f" --cells {self.cells}" if self.cells != copying.CT_CELLS else ""))

    def to_json(self) -> dict:
        return {
            "extractor": self.extractor, "dataset": self.dataset, "n": self.n, "seed": self.seed,
            "n_train": self.n_train, "n_held_out": self.n_held_out, "cells": self.cells,
            "held_out": f"test split, held-out half of randperm(seed {copying.HALVES_SEED}); controls from the other "
                        f"half",
            "criteria": CRITERIA, "rules": {m: RULES[m] for m in self.metrics},
            "constants": {"COPY_Q": copying.COPY_Q, "ALPHA": copying.ALPHA, "CT_CELLS": copying.CT_CELLS,
                          "CT_MIN_GEN": copying.CT_MIN_GEN, "CT_THRESHOLD": copying.CT_THRESHOLD,
                          "GAP_Z": copying.GAP_Z, "N_PERMUTATIONS": copying.N_PERMUTATIONS},
            "verdicts": {m: {"passed": self.passed(m), "monotone": self.monotone(m),
                             "perfect_flagged": self.perfect_flagged(m), "copies_flagged": self.copies_flagged(m),
                             "higher_means_copying": HIGHER_MEANS_COPYING[m]} for m in self.metrics},
            "sets": {s: {m: r.to_dict() for m, r in res.items()} for s, res in self.results.items()},
            "seconds": self.seconds, "machine": self.machine,
            "date": datetime.now(UTC).strftime("%Y-%m-%d"), "command": self.command(),
        }

    def markdown(self) -> str:
        ms = self.metrics
        fmt = {"copy_rate": "{:.3f}", "c_t": "{:.2f}", "authenticity": "{:.3f}", "nn_gap": "{:+.4f}",
               "fd_gap": "{:+.4f}"}
        lines = [f"# Copy ladder: {self.extractor} on {self.dataset}", "",
                 (f"`{self.command()}`: n = {self.n} per set, seed {self.seed}; {self.n_train} train images, "
                  f"{self.n_held_out} held-out (held-out half of the test split); C_T on {self.cells} k-means "
                  f"cells. A `*` marks a flagged set."), "",
                 "| set | " + " | ".join(ms) + " |", "|---|" + "--:|" * len(ms)]
        for s, res in self.results.items():
            cells = []
            for m in ms:
                r = res[m]
                extra = f" (z {r.z:.1f})" if m in ("nn_gap", "fd_gap") and r.z is not None else ""
                cells.append(fmt.get(m, "{:.3g}").format(r.value) + extra + (" *" if r.flagged else ""))
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines += ["", "| metric | monotone | perfect generaliser flagged | exact copies flagged | verdict |",
                  "|---|:-:|:-:|:-:|:-:|"]
        for m in ms:
            lines.append(f"| {m} | {'yes' if self.monotone(m) else 'no'} | "
                         f"{', '.join(self.perfect_flagged(m)) or 'no'} | {'yes' if self.copies_flagged(m) else 'no'}"
                         f" | {'PASS' if self.passed(m) else 'FAIL'} |")
        lines += ["", f"Criteria: {CRITERIA}.", "",
                  "Rules: " + "; ".join(f"{m}: {RULES[m]}" for m in ms) + ".", ""]
        if self.seconds:
            lines.append("Cost (s, " + self.machine + "): " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                                       self.seconds.items()) + ".")
        return "\n".join(lines) + "\n"


def run_copy_ladder(sets: dict[str, Tensor], ref: CopyingSets, featurize: Callable[[Tensor], Tensor], *,
                    dataset: str, seed: int = 0, metrics: tuple[str, ...] = METRICS,
                    progress: Callable[[str], None] | None = None) -> CopyLadder:
    """Score every control set (uint8 images -> ``featurize`` -> features) with every metric."""
    n = len(next(iter(sets.values())))
    lad = CopyLadder(ref.extractor, dataset, n, seed, len(ref.train), len(ref.held_out), ref.cells)
    for name, images in sets.items():
        feats = featurize(images)
        lad.results[name] = copying.evaluate_copying(feats, ref, metrics)
        if progress:
            progress(f"{name}: " + ", ".join(f"{m} {r.value:.4g}{'*' if r.flagged else ''}"
                                            for m, r in lad.results[name].items()))
    return lad


def time_evaluation(feats: Tensor, ref: CopyingSets, metrics: tuple[str, ...] = METRICS, repeats: int = 3
                    ) -> dict[str, float]:
    """Median seconds of one evaluation per metric and in all, against an already prepared reference."""
    out: dict[str, list[float]] = {m: [] for m in metrics}
    for _ in range(repeats):
        for m in metrics:
            t = time.perf_counter()
            copying.evaluate_copying(feats, ref, (m,))
            out[m].append(time.perf_counter() - t)
    med = {m: float(np.median(v)) for m, v in out.items()}
    med["all"] = sum(med.values())
    return med


def copy_ladder_for(extractor: str, dataset: str = "fashion-mnist", n: int = 2000, seed: int = 0,
                    device: str = "cpu", cells: int = copying.CT_CELLS, use_cache: bool = True,
                    progress: Callable[[str], None] | None = None) -> CopyLadder:
    """Run the control ladder for ``extractor`` on ``dataset``: the train split, the held-out half of its test
    split as the metrics' fresh images and the other half for the perfect-generaliser controls; with the cost of one
    evaluation of ``n`` samples (``seconds``) and the machine it was measured on."""
    from ..data import load_dataset
    from ..metrics.features import FEATURES, get_extractor
    from ..metrics.real_stats import extract_all, real_stats
    from ..provenance import cpu_name

    FEATURES.get(extractor)  # unknown name: one-line error
    t0 = time.perf_counter()
    ext = get_extractor(extractor, device)
    train = load_dataset(dataset, "train", 32 if dataset == "fashion-mnist" else None)
    test = load_dataset(dataset, "test", train.resolution, train.channels)
    real_stats(train, ext, None, keep_features=True)
    real_stats(test, ext, None, keep_features=True)
    _, ctrl_idx = copying.heldout_halves(len(test))
    t1 = time.perf_counter()
    ref = copying.copying_sets(train, test, ext, device=device, seed=seed, cells=cells, use_cache=use_cache)
    t2 = time.perf_counter()
    if progress:
        progress(f"features {t1 - t0:.1f} s, real sets prepared in {t2 - t1:.1f} s")
    sets = control_sets(train.images, test.images[ctrl_idx], n, seed)

    def featurize(images: Tensor) -> Tensor:
        return torch.from_numpy(extract_all(ext, images, layers=(ext.fd_layer,))[ext.fd_layer])

    lad = run_copy_ladder(sets, ref, featurize, dataset=dataset, seed=seed, progress=progress)
    cost = time_evaluation(featurize(sets["mix50"]), ref)
    lad.seconds = {"features_cached": t1 - t0, "prepare_sets": t2 - t1, **{f"eval_{k}": v for k, v in cost.items()}}
    lad.machine = (f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, device "
                   f"{device}; load average {os.getloadavg()[0]:.1f} at the end (other jobs shared the machine "
                   f"when it exceeds the core count)")
    return lad


def copy_validation_path(extractor: str) -> Path:
    return WEIGHTS_DIR / f"{extractor}.copying.json"


def load_copy_validation(extractor: str) -> dict | None:
    """The committed copy-ladder record of an extractor (``ganbench validate-copying --record``), or None."""
    p = copy_validation_path(extractor)
    try:
        return json.loads(p.read_text()) if p.exists() else None
    except (OSError, ValueError):
        return None


def validated_copy_metrics(extractor: str) -> set[str]:
    """The copying metrics that passed the extractor's committed ladder (only these go into tables)."""
    rec = load_copy_validation(extractor) or {}
    return {m for m, v in (rec.get("verdicts") or {}).items() if isinstance(v, dict) and v.get("passed")}
