"""Read a results directory into what analysis and reports need: the tidy metric rows (``store.load_metrics``), split into
training and efficiency rows, and one record per run directory (status, spec, parameter counts, deviations, device,
latest sample grid) from ``status.json`` and ``config.yaml``."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..errors import GanbenchError
from . import store
from .record import COLUMNS

RUN_FIELDS = ["key", "suite", "run", "dir", "task", "status", "reason", "images_seen", "wall_s", "model", "variant",
              "preset", "seed", "dataset", "split", "n_train", "resolution", "channels", "kimg", "eval_every_kimg",
              "params_g", "params_d", "params_g_frozen", "params_d_frozen", "deviations", "model_config", "device",
              "git_commit", "sample", "sample_images", "nearest", "timing", "n_images", "sample_split"]


@dataclass
class ResultSet:
    roots: list[Path]
    rows: pd.DataFrame  # training metric rows (COLUMNS + status)
    eff: pd.DataFrame  # efficiency rows (extractor "-")
    runs: pd.DataFrame  # one line per run directory (RUN_FIELDS)

    def train_runs(self) -> pd.DataFrame:
        return self.runs[self.runs["task"] == "train"]

    def eff_runs(self) -> pd.DataFrame:
        return self.runs[self.runs["task"] == "efficiency"]


def _yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise GanbenchError(f"corrupt run config {path}: {e}") from None
    return data if isinstance(data, dict) else {}


def _from_run_id(run: str) -> dict[str, Any]:
    """model-variant-preset-s<seed>-<hash> (training) or model-variant-preset-eff-<hash> (efficiency)."""
    parts = run.split("-")
    if len(parts) != 5:
        return {}
    out: dict[str, Any] = {"model": parts[0], "variant": parts[1], "preset": parts[2]}
    if parts[3] == "eff":
        out["task"] = "efficiency"
    elif parts[3].startswith("s") and parts[3][1:].isdigit():
        out["seed"] = int(parts[3][1:])
    return out


def one_paragraph(text: str) -> str:
    """A model's deviations text (often a '- ' list over several lines) as one line, items joined by ' • '."""
    items = [" ".join(i.split()) for i in re.split(r"(?:^|\n)\s*-\s+", text.strip())]
    return " • ".join(i for i in items if i)


def _latest_sample(d: Path, prefix: str = "") -> tuple[str | None, float]:
    """The latest ``samples/<prefix><images>.png`` of a run and its images seen: the sample grid (no prefix) or the
    nearest-training-image pairs (``nn-``)."""
    grids = sorted(p for p in (d / "samples").glob(f"{prefix}*.png") if p.stem[len(prefix):].isdigit()) \
        if (d / "samples").is_dir() else []
    if not grids:
        return None, math.nan
    return str(grids[-1]), float(int(grids[-1].stem[len(prefix):]))


def run_record(root: Path, d: Path) -> dict[str, Any]:
    st = store.read_status(d)
    cfg = _yaml(d / "config.yaml")
    spec = cfg.get("spec") or {}
    data = cfg.get("dataset") or {}
    params = cfg.get("params") or {}
    env = cfg.get("environment") or {}
    guess = _from_run_id(d.name)
    task = cfg.get("task") or spec.get("task") or guess.get("task", "train")
    sample, sample_images = _latest_sample(d)
    nearest, _ = _latest_sample(d, "nn-")
    rec = {
        "suite": spec.get("suite") or d.parent.name, "run": d.name, "dir": str(d), "task": task,
        "status": st.get("status", "missing"), "reason": st.get("reason") or st.get("error") or "",
        "images_seen": st.get("images_seen", math.nan), "wall_s": st.get("wall_s", math.nan),
        "model": spec.get("model", guess.get("model")), "variant": spec.get("variant", guess.get("variant")),
        "preset": spec.get("preset", guess.get("preset")), "seed": spec.get("seed", guess.get("seed", 0)),
        "dataset": data.get("name", spec.get("dataset")) if task == "train" else "-",
        "split": data.get("split"), "n_train": data.get("n"),
        "resolution": data.get("resolution", spec.get("resolution")),
        "channels": data.get("channels", spec.get("channels")), "kimg": spec.get("kimg"),
        "eval_every_kimg": spec.get("eval_every_kimg"),
        **{k: params.get(k) for k in ("params_g", "params_d", "params_g_frozen", "params_d_frozen")},
        "deviations": one_paragraph(str(cfg.get("deviations") or "")), "model_config": cfg.get("model_config"),
        "device": env.get("device"), "git_commit": env.get("git_commit"), "sample": sample,
        "sample_images": sample_images, "nearest": nearest, "timing": cfg.get("timing"), "n_images": spec.get("n_images"),
        "sample_split": cfg.get("sample_split") or data.get("sample_split") or spec.get("sample_split"),
    }
    rec["key"] = f"{rec['suite']}/{rec['run']}"
    return rec


def load(root: Path, extra: list[Path] | None = None) -> ResultSet:
    """Everything under ``root`` (and the ``extra`` roots, e.g. an efficiency results folder next to it)."""
    roots = [Path(root)] + [Path(e) for e in (extra or []) if Path(e).exists()]
    recs, frames, seen = [], [], set()
    for r in roots:
        df = store.load_metrics(r)
        for d in store.run_dirs(r):
            if d.resolve() in seen:
                continue
            seen.add(d.resolve())
            recs.append(run_record(r, d))
        if len(df):
            frames.append(df)
    runs = pd.DataFrame(recs, columns=RUN_FIELDS)
    if len(runs):
        runs = runs.drop_duplicates("key").sort_values(["task", "suite", "model", "variant", "preset", "seed", "run"],
                                                       kind="stable", na_position="last").reset_index(drop=True)
        _fill_from_suite(runs)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS + ["status"])
    rows = rows.drop_duplicates(["suite", "run", "images_seen", "metric", "protocol"])
    rows["extractor"] = rows["extractor"].fillna("-").astype(str)
    eff = rows[rows["extractor"] == "-"].reset_index(drop=True)
    train = rows[rows["extractor"] != "-"].reset_index(drop=True)
    return ResultSet(roots, train, eff, runs)


def _fill_from_suite(runs: pd.DataFrame) -> None:
    """A run that failed before writing its config gets its suite's dataset/shape (for grouping only)."""
    for col in ("dataset", "resolution", "channels", "split", "n_train"):
        for suite, idx in runs.groupby("suite").groups.items():
            vals = runs.loc[idx, col].dropna()
            if len(vals):
                runs.loc[idx, col] = runs.loc[idx, col].fillna(vals.mode().iloc[0])
