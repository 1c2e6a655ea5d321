"""Checkpoints, saved and read in this one module: everything an exact resume needs (``save_training`` /
``resume_training``), and the generator a later evaluation needs (``restore``). Files load with
``torch.load(weights_only=True)``; a truncated, tampered or foreign file is a one-line error."""
from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass, field
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


@dataclass
class LoopState:
    """A run's counters and its metric rows so far: what a checkpoint holds besides weights and RNG states."""

    images_seen: int = 0
    step: int = 0
    d_step: int = 0
    wall_s: float = 0.0
    evals: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def save_training(run_dir: Path, st: LoopState, model, g_ema, opt_g, opt_d, data_rng: torch.Generator,
                  device: str, scalers: dict[str, Any] | None = None) -> Path:
    """Checkpoint a training run at ``st.images_seen`` (weights, EMA, optimisers, every RNG, counters, rows)."""
    state = {"model": model.state_dict(), "g_ema": g_ema.state_dict() if g_ema is not None else {},
             "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "rng": torch.get_rng_state(),
             "data_rng": data_rng.get_state(), "images_seen": st.images_seen, "step": st.step,
             "d_step": st.d_step, "wall_s": st.wall_s, "evals": st.evals, "rows": st.rows}
    if str(device).startswith("cuda"):
        state["cuda_rng"] = torch.cuda.get_rng_state()
    if scalers:
        state["scalers"] = {k: v.state_dict() for k, v in scalers.items()}
    return save(run_dir, state)


def resume_training(path: Path, model, g_ema, opt_g, opt_d, data_rng: torch.Generator,
                    device: str) -> tuple[LoopState, dict[str, Any]]:
    """Load ``path`` into the run's objects (and the global RNGs) for an exact resume; returns the counters and the
    GradScaler states (empty outside fp16)."""
    s = load(path, map_location="cpu")  # load_state_dict moves it to the device (Adam: not step)
    with mismatch_is_error(path):
        model.load_state_dict(s["model"])
        if g_ema is not None:
            g_ema.load_state_dict(s["g_ema"])
        opt_g.load_state_dict(s["opt_g"])
        opt_d.load_state_dict(s["opt_d"])
        torch.set_rng_state(rng_state(s["rng"]))  # a CPU ByteTensor wherever it was loaded to
        if str(device).startswith("cuda") and "cuda_rng" in s:
            torch.cuda.set_rng_state(rng_state(s["cuda_rng"]))
        data_rng.set_state(rng_state(s["data_rng"]))
        st = LoopState(s["images_seen"], s["step"], s["d_step"], s["wall_s"], s["evals"], list(s["rows"]))
    return st, s.get("scalers", {})


def load_spec(run_dir: Path):
    """The ``TrainSpec`` a run directory was made with (its ``config.yaml``)."""
    import yaml

    from .spec import TrainSpec

    p = Path(run_dir) / "config.yaml"
    try:
        d = yaml.safe_load(p.read_text())["spec"]
        d["metrics"] = tuple(d["metrics"])
        return TrainSpec(**{**d, "out_dir": str(run_dir)})
    except FileNotFoundError:
        raise GanbenchError(f"{run_dir} is not a ganbench run (no config.yaml)") from None
    except (yaml.YAMLError, KeyError, TypeError) as e:
        raise GanbenchError(f"corrupt run config {p}: {one_line(e)}") from None


def restore(run_dir: Path, ckpt: Path | None = None, device: str = "cpu"):
    """(model, generator used for evaluation (EMA if any), train data, spec, images seen) from a checkpoint of a
    run directory (default: its latest)."""
    from ..data import load_dataset
    from ..models.base import create_model
    from .sample_source import SampleSource

    spec = load_spec(run_dir)
    ckpts = list_checkpoints(run_dir)
    if ckpt is None:
        if not ckpts:
            raise GanbenchError(f"{run_dir} has no checkpoints")
        ckpt = ckpts[-1]
    state = load(ckpt, map_location=device)
    data = load_dataset(spec.dataset, "train", spec.resolution, spec.channels, spec.data_root)
    model = create_model(spec.model, spec.preset, spec.variant, data.spec, dict(spec.overrides)).to(device)
    with mismatch_is_error(ckpt):
        model.load_state_dict(state["model"])
        G = model.G
        if state.get("g_ema"):
            G = copy.deepcopy(model.G)
            G.load_state_dict(state["g_ema"])
    SampleSource(model, data, spec.data_root).bind_default(spec.metrics)  # never the metric's real split
    model.eval()
    G.eval()
    return model, G, data, spec, int(state["images_seen"])
