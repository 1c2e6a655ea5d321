"""The committed tuning record (``tune.selection.json`` beside the suites, written by ``ganbench tune --record``):
which grid point tuning picked for each model, and the seeds its runs used. Evaluation suites must not evaluate a
tuned model on those seeds (``tuning_seed_conflicts``): a run that reproduces a tuning run favours the tuned arm."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

RECORD = Path(__file__).resolve().parent / "tune.selection.json"


def load_record(path: Path = RECORD) -> dict[str, Any] | None:
    """The tuning record, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def tuning_seed_conflicts(specs: Iterable[Any], record: dict[str, Any] | None) -> list[Any]:
    """The training runs among ``specs`` that evaluate a tuned model (same preset and dataset as the record) on a
    seed its tuning runs used."""
    if not record:
        return []
    seeds = {int(s) for s in record.get("seeds", [])}
    tuned = set(record.get("chosen", {}))
    return [s for s in specs if s.model in tuned and s.seed in seeds and s.preset == record.get("preset")
            and s.dataset == record.get("dataset", "fashion-mnist")]
