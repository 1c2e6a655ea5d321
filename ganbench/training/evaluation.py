"""Evaluating a finished (or interrupted) run's checkpoints again with other metric protocols (``ganbench eval
RUN_DIR``): each checkpoint's evaluated generator (the EMA copy where the model keeps one) is scored; rows, with
every label, are appended to ``RUN_DIR/eval.csv``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ..errors import GanbenchError
from ..provenance import device_name, resolve_device
from ..results import Record, RunLabels, record, write_records
from . import checkpoint
from .sample_source import SampleSource, check_protocols


def evaluate_run(run_dir: Path, metrics: Iterable[str], all_checkpoints: bool = False, seed: int = 0,
                 device: str = "auto", on_record: Callable[[Record], None] | None = None) -> list[Record]:
    """Score the run's latest checkpoint (every checkpoint with ``all_checkpoints``) on ``metrics`` with sampling
    seed ``seed``; append the rows to ``run_dir/eval.csv`` and return them."""
    from ..metrics import PROTOCOLS

    names = list(metrics)
    for n in names:
        PROTOCOLS.get(n)
    device = resolve_device(device)
    run_dir = Path(run_dir)
    ckpts = checkpoint.list_checkpoints(run_dir)
    if not ckpts:
        raise GanbenchError(f"{run_dir} has no checkpoints")
    out: list[Record] = []
    for ck in (ckpts if all_checkpoints else ckpts[-1:]):
        model, G, data, spec, seen = checkpoint.restore(run_dir, ck, device)
        source = SampleSource(model, data, spec.data_root)  # samples_from_data: never the real split's images
        check_protocols(spec.model, data, names)
        labels = RunLabels(spec.run_id, spec.suite, spec.model, spec.variant, spec.preset, spec.seed)
        for r in source.evaluate(lambda n, g: model.sample(n, g, G=G), names, seed=seed, device=device):
            rec = record(r, labels, images_seen=seen, wall_s=None, device=device_name(device))
            out.append(rec)
            if on_record:
                on_record(rec)
    path = run_dir / "eval.csv"
    old = pd.read_csv(path).to_dict("records") if path.exists() else []
    write_records(path, old + [r.row() for r in out])
    return out
