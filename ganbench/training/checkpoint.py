"""Checkpoints: everything needed for an exact resume, loadable with ``torch.load(weights_only=True)``."""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Iterator

import torch

from ..errors import GanbenchError
from ..io import write_torch

PATTERN = re.compile(r"ckpt-(\d+)\.pt$")


def path_for(run_dir: Path, images_seen: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"ckpt-{images_seen:09d}.pt"


def save(run_dir: Path, state: dict[str, Any], keep: int = 0) -> Path:
    """Write atomically; keep only the newest ``keep`` checkpoints when ``keep`` > 0."""
    p = write_torch(path_for(run_dir, state["images_seen"]), state)
    if keep > 0:
        for old in list_checkpoints(run_dir)[:-keep]:
            old.unlink(missing_ok=True)
    return p


def list_checkpoints(run_dir: Path) -> list[Path]:
    d = Path(run_dir) / "checkpoints"
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if PATTERN.search(p.name)), key=lambda p: int(PATTERN.search(p.name)[1]))


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Safe load (no pickled code); a truncated or tampered file gives a one-line error."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise GanbenchError(f"checkpoint {path} not found") from None
    except Exception as e:  # noqa: BLE001  (zip/unpickling errors come in many types)
        raise GanbenchError(f"corrupt or unsafe checkpoint {path}: {one_line(e)}") from None
    if not isinstance(state, dict) or "images_seen" not in state or "model" not in state:
        raise GanbenchError(f"checkpoint {path} is not a ganbench checkpoint")
    return state


def rng_state(t: torch.Tensor) -> torch.Tensor:
    """An RNG state as ``set_rng_state``/``Generator.set_state`` take it (a CPU ByteTensor), wherever ``load``'s
    ``map_location`` put it (a CUDA run loads its checkpoint onto the GPU)."""
    return t.cpu()


@contextlib.contextmanager
def mismatch_is_error(path: Path) -> Iterator[None]:
    """Turn ``load_state_dict`` errors (a checkpoint of another architecture, edited tensors) into one line."""
    try:
        yield
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
        raise GanbenchError(f"checkpoint {path} does not match this run's model: {one_line(e)}") from None


def one_line(e: BaseException, limit: int = 200) -> str:
    """The first non-empty line of an exception's message (or its type name), shortened."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[0] if lines else type(e).__name__)[:limit]
