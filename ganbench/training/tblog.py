"""Optional run loggers (``ganbench train --log tensorboard``): TensorBoard event files next to the CSV.

The CSV (``metrics.csv``) stays the source of truth; a logger only mirrors what the trainer already computes: the
losses every ``every`` G steps (the one place it reads loss tensors on the host), every metric row, every sample grid
and the resolved ``config.yaml`` as text. The x axis is images seen (real images shown to D), ganbench's clock.
Event files go to ``<run>/tensorboard/``: ``tensorboard --logdir results/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import GanbenchError

KINDS = ("tensorboard",)


class RunLogger:
    """Does nothing; the trainer calls these hooks where it already logs."""

    every = 0  # log losses every this many G steps (0: never)

    def config(self, text: str) -> None: ...

    def losses(self, images_seen: int, logs: dict[str, Any]) -> None: ...

    def metrics(self, images_seen: int, rows: list[dict[str, Any]]) -> None: ...

    def grid(self, images_seen: int, images) -> None: ...

    def close(self) -> None: ...


class TensorBoardLogger(RunLogger):
    """Writes with ``torch.utils.tensorboard.SummaryWriter`` (needs the ``tensorboard`` package: extra
    ``[tensorboard]``)."""

    def __init__(self, log_dir: Path, every: int = 50) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise GanbenchError("--log tensorboard needs the tensorboard package (pip install "
                                "'ganbench[tensorboard]')") from None
        self.every = int(every)
        self._make = lambda: SummaryWriter(log_dir=str(log_dir))
        self._writer = None

    @property
    def writer(self):
        """Created on first use, so bad input that stops a run before it starts leaves no event file."""
        if self._writer is None:
            self._writer = self._make()
        return self._writer

    def config(self, text: str) -> None:
        self.writer.add_text("config", "```\n" + text + "\n```", 0)  # markdown: keep the YAML verbatim

    def losses(self, images_seen: int, logs: dict[str, Any]) -> None:
        for k, v in logs.items():
            self.writer.add_scalar(f"loss/{k}", float(v), images_seen)

    def metrics(self, images_seen: int, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            tag = r.get("protocol") or r["metric"]
            if r.get("protocol") and r["metric"] not in tag:  # pr presets: precision, recall, ... rows
                tag = f"{tag}/{r['metric']}"
            self.writer.add_scalar(f"metrics/{tag}", float(r["value"]), images_seen)
        self.writer.flush()

    def grid(self, images_seen: int, images) -> None:
        from torchvision.utils import make_grid

        self.writer.add_image("samples", make_grid(images * 0.5 + 0.5, nrow=8).clamp(0, 1), images_seen)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def make_logger(kinds: tuple[str, ...] | list[str] | None, run_dir: Path, every: int = 50) -> RunLogger:
    """The logger for ``--log`` values (empty: the no-op logger)."""
    kinds = [k for k in (kinds or ()) if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise GanbenchError(f"unknown --log {bad[0]!r}; choose from: {', '.join(KINDS)}")
    if every < 1:
        raise GanbenchError(f"--log-every must be >= 1, got {every}")
    if not kinds:
        return RunLogger()
    return TensorBoardLogger(Path(run_dir) / "tensorboard", every)
