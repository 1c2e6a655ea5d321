"""One home for a results row: ``Record`` (a measured value with every label) and ``record``, the only function
that turns an evaluation into a row. Training evaluations, checkpoint re-evaluations, efficiency runs and external
generators all write their ``metrics.csv`` rows through it, so every row carries the same columns (``COLUMNS``),
including ``higher_is_better`` from the metric itself: nothing downstream guesses a direction from a name.

Tables written by older versions read back as today's (``upgrade``): the columns ``preset_name`` and ``n_ref`` are
now ``protocol`` and ``n_real``, and a missing ``higher_is_better`` is filled from the metric's protocol."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from ..errors import GanbenchError
from ..io import write_text


@dataclass(frozen=True)
class RunLabels:
    """What identifies the run (or generator) a value belongs to."""

    run: str | None
    suite: str | None
    model: str
    variant: str | None
    preset: str | None  # the model preset (tiny, paper)
    seed: int | None


@dataclass(frozen=True)
class Record:
    """One value of one metric at one point of one run, with every label a table needs (a ``metrics.csv`` row)."""

    run: str | None
    suite: str | None
    model: str
    variant: str | None
    preset: str | None
    dataset: str | None
    split: str | None  # the real split the metric compares with ("-" for efficiency rows)
    resolution: int | None
    channels: int | None
    seed: int | None
    images_seen: int | None  # None: unknown (a generator ganbench did not train)
    wall_s: float | None
    metric: str
    value: float
    std: float | None
    extractor: str | None  # "-" for efficiency rows
    n_samples: int | None
    n_real: int | None
    protocol: str | None  # the metric protocol (protocol) that made the value
    device: str | None
    sample_split: str | None  # where samples_from_data models drew real images (else empty)
    higher_is_better: bool

    def row(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(Record)]


def record(evaluation: Mapping[str, Any], labels: RunLabels, *, images_seen: int | None, wall_s: float | None,
           device: str | None) -> Record:
    """The results row of one evaluated value: ``evaluation`` is a row of ``metrics.evaluate`` (or a measurement
    in its shape: metric, value, preset, extractor, n_samples, n_real, split, dataset, resolution, channels,
    higher_is_better, std, sample_split)."""
    e = evaluation
    if "higher_is_better" not in e:
        raise GanbenchError(f"evaluation of {e.get('metric')!r} does not say whether higher is better")
    return Record(run=labels.run, suite=labels.suite, model=labels.model, variant=labels.variant,
                  preset=labels.preset, dataset=e.get("dataset"), split=e.get("split"),
                  resolution=e.get("resolution"), channels=e.get("channels"), seed=labels.seed,
                  images_seen=images_seen, wall_s=wall_s, metric=str(e["metric"]), value=float(e["value"]),
                  std=e.get("std"), extractor=e.get("extractor"), n_samples=e.get("n_samples"),
                  n_real=e.get("n_real"), protocol=e.get("protocol"), device=device,
                  sample_split=e.get("sample_split"), higher_is_better=bool(e["higher_is_better"]))


def write_records(path: Path, records: list[Record] | list[dict[str, Any]]) -> None:
    """Write rows (``Record``s or their dicts) as a ``metrics.csv`` table, atomically."""
    import pandas as pd

    rows = [r.row() if isinstance(r, Record) else r for r in records]
    write_text(path, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False))


OLD_COLUMNS = {"preset_name": "protocol", "n_ref": "n_real"}  # names of earlier versions -> today's


def upgrade(df):
    """A ``metrics.csv`` table of any version with today's ``COLUMNS`` names and a ``higher_is_better`` column."""
    df = df.rename(columns={k: v for k, v in OLD_COLUMNS.items() if k in df.columns and v not in df.columns})
    return fill_direction(df)


def fill_direction(df):
    """``higher_is_better`` for rows written before it was a column: from the row's metric protocol."""
    import pandas as pd

    if "higher_is_better" not in df.columns:
        df["higher_is_better"] = pd.NA
    missing = df["higher_is_better"].isna()
    df["higher_is_better"] = df["higher_is_better"].astype(object)
    if missing.any():
        from ..metrics import PROTOCOLS

        def direction(r) -> bool:
            if r["extractor"] == "-":  # efficiency rows: parameters, FLOPs, seconds
                return False
            return bool(PROTOCOLS.get(str(r["protocol"])).higher_is_better)

        df.loc[missing, "higher_is_better"] = df[missing].apply(direction, axis=1)
    df["higher_is_better"] = df["higher_is_better"].astype(bool)
    return df
