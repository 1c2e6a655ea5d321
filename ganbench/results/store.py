"""The results store. Each run writes ``<results>/<suite>/<run-id>/``:

- ``config.yaml``  fully resolved config (spec, model config, dataset, git commit, packages, hardware)
- ``metrics.csv``  tidy table, one row per (images_seen, metric) with every label (``record.COLUMNS``)
- ``status.json``  ``running`` | ``complete`` | ``diverged`` | ``failed``, images seen, wall-clock
- ``checkpoints/ckpt-<kimg>.pt`` and ``samples/<kimg>.png``

Every file is written atomically; only ``status == complete`` marks a finished run.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import GanbenchError
from ..io import write_json
from .record import COLUMNS, upgrade


def default_root() -> Path:
    return Path(os.environ.get("GANBENCH_RESULTS", "results"))


def check_writable(path: Path) -> None:
    """Fail early with one line when results cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise GanbenchError(f"results directory {path} is not writable: {e.strerror or e}") from None


def read_status(run_dir: Path) -> dict[str, Any]:
    p = Path(run_dir) / "status.json"
    if not p.exists():
        return {"status": "missing"}
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise GanbenchError(f"corrupt status file {p}: {e}") from None


def write_status(run_dir: Path, status: str, **extra: Any) -> None:
    write_json(Path(run_dir) / "status.json", {"status": status, **extra})


def run_dirs(root: Path) -> list[Path]:
    root = Path(root)
    if not root.exists():
        raise GanbenchError(f"results directory {root} does not exist")
    return sorted(p.parent for p in root.rglob("status.json"))


def load_metrics(root: Path, complete_only: bool = False) -> pd.DataFrame:
    """All runs' tidy metric rows under ``root`` (plus a ``status`` column)."""
    frames = []
    for d in run_dirs(root):
        status = read_status(d)["status"]
        if complete_only and status != "complete":
            continue
        f = d / "metrics.csv"
        if f.exists():
            df = read_metrics(f)
            df["status"] = status
            frames.append(df)
    if not frames:
        return pd.DataFrame(columns=COLUMNS + ["status"])
    return pd.concat(frames, ignore_index=True)


def read_metrics(f: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(f)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise GanbenchError(f"corrupt metrics table {f}: {str(e).strip().splitlines()[0]}") from None
    missing = {"images_seen", "metric", "value", "extractor"} - set(df.columns)
    if missing:
        raise GanbenchError(f"corrupt metrics table {f}: no column(s) {', '.join(sorted(missing))}")
    return upgrade(df)


def summary(root: Path) -> pd.DataFrame:
    """One line per run: status, images seen, latest value of each metric."""
    lines = []
    for d in run_dirs(root):
        st = read_status(d)
        line = {"run": d.relative_to(root).as_posix(), "status": st.get("status"),
                "kimg": round(st.get("images_seen", 0) / 1000, 1), "wall_s": st.get("wall_s")}
        f = d / "metrics.csv"
        if f.exists():
            df = read_metrics(f)
            df = df[df["images_seen"] == df["images_seen"].max()] if len(df) else df
            for _, r in df.iterrows():
                line[f"{r['metric']}[{r['extractor']}]"] = round(float(r["value"]), 4)
        lines.append(line)
    return pd.DataFrame(lines)
