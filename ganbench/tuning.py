"""The committed tuning record: which grid point ``ganbench tune`` picked for each model's comparison preset.

``ganbench tune --record`` writes ``ganbench/suites/tune.selection.json`` (grid, seeds, budget, selection metric,
the measured table and the chosen point per model, with the commit and device it was measured on). The ``tiny``
presets carry the chosen learning rates as literal values; ``tests/test_tune.py`` checks that they equal the paper
rates times the recorded multiplier (no hand-picked values), and reports print the record (``Tuning`` section).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD = Path(__file__).resolve().parent / "suites" / "tune.selection.json"


def load_record(path: Path = RECORD) -> dict[str, Any] | None:
    """The tuning record, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def tuned_rates(model: str, record: dict[str, Any] | None = None) -> dict[str, float] | None:
    """{lr_g, lr_d} the record picked for ``model`` (paper rates times the chosen multiplier), or None."""
    from .runner import resolve_point

    record = load_record() if record is None else record
    if not record or model not in record.get("chosen", {}):
        return None
    point = record["grid"][record["chosen"][model]["point"]]
    return {k: float(v) for k, v in resolve_point(model, point).items() if k in ("lr_g", "lr_d")}


def tested_points(record: dict[str, Any], model: str) -> list[str]:
    """The grid points ``model`` ran, in grid order: its window where the record has windows, else the whole grid."""
    points = list(record.get("points") or record["grid"])
    window = (record.get("windows") or {}).get(model)
    return [p for p in points if p in window] if window else points


def on_edge(record: dict[str, Any]) -> list[str]:
    """Models whose chosen point is the first or last point they ran: a wider grid might pick another value."""
    ends = {m: tested_points(record, m) for m in record["chosen"]}
    return sorted(m for m, c in record["chosen"].items() if c["point"] in (ends[m][0], ends[m][-1]))
