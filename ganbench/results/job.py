"""What an executor runs: a ``Job`` writes one run directory of the results store and reports a ``RunResult``.
Training runs (``training.TrainSpec``) and efficiency measurements (``efficiency.EfficiencySpec``) are the two kinds;
executors see only this interface."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GanbenchError


@dataclass
class RunResult:
    """How a job ended: ``complete`` | ``diverged``, with its rows (``metrics.csv``) and where it wrote them."""

    status: str
    images_seen: int
    rows: list[dict[str, Any]]
    run_dir: Path
    wall_s: float
    reason: str = ""


class Job(ABC):
    """A frozen dataclass with ``out_dir`` (its run directory), ``device`` and ``suite`` fields, a ``run_id`` derived
    from everything that changes its numbers, and ``execute``: run it, or read it back when it is complete."""

    out_dir: str
    device: str
    suite: str

    @property
    @abstractmethod
    def run_id(self) -> str:
        """Readable and unique: ``model-variant-preset-...-<hash>``."""

    @abstractmethod
    def execute(self, progress: bool | str = True) -> RunResult:
        """Run (or resume, or read back) the job into ``out_dir``."""


class RunBusy(GanbenchError):
    """Another process is working in this run directory right now."""
