"""What a training run is: a frozen, hashable spec (the run id is derived from it)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import GanbenchError
from ..results.job import Job, RunResult


OPTIONAL = {"final_metrics": []}  # fields added later: at their default they are not part of the run id


@dataclass(frozen=True)
class TrainSpec(Job):
    model: str
    preset: str = "tiny"
    variant: str = "default"
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    resolution: int = 32
    channels: int | None = None  # None: the dataset's default (Fashion-MNIST: 1)
    kimg: float = 10.0  # training length in thousands of real images shown to D
    seed: int = 0
    eval_every_kimg: float = 0.0  # 0: evaluate only at the start and the end
    metrics: tuple[str, ...] = ("fd_domain2k_train",)
    final_metrics: tuple[str, ...] = ()  # protocols evaluated at the last evaluation only (the copying checks)
    ckpt_every_kimg: float = 0.0  # 0: checkpoint at every evaluation
    overrides: tuple[tuple[str, Any], ...] = ()  # model config overrides (key, value)
    device: str = "auto"
    suite: str = "adhoc"
    out_dir: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.kimg > 0:
            raise GanbenchError(f"kimg must be > 0, got {self.kimg}")
        if self.eval_every_kimg < 0 or self.ckpt_every_kimg < 0:
            raise GanbenchError("eval_every_kimg and ckpt_every_kimg must be >= 0")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise GanbenchError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "final_metrics", tuple(self.final_metrics))
        if isinstance(self.overrides, dict):
            object.__setattr__(self, "overrides", tuple(sorted(self.overrides.items())))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metrics"] = list(self.metrics)
        d["final_metrics"] = list(self.final_metrics)
        d["overrides"] = dict(self.overrides)
        return d

    @property
    def run_id(self) -> str:
        """Readable and unique: ``model-variant-preset-s<seed>-<hash of everything that changes results>``."""
        key = {k: v for k, v in self.to_dict().items() if k not in ("out_dir", "device")
               and not (k in OPTIONAL and v == OPTIONAL[k])}  # absent when unused: older run ids stay valid
        h = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{self.model}-{self.variant}-{self.preset}-s{self.seed}-{h}"

    def execute(self, progress: bool | str = True) -> RunResult:
        """Train (or resume, or read back) this run: ``trainer.train``."""
        from .trainer import train

        return train(self, progress=progress)
