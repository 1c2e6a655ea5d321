"""Rebuild a trained model from a run directory (for ``ganbench eval`` and reports)."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
import yaml

from ..data import ImageData, load_dataset
from ..errors import GanbenchError
from ..models.base import GAN, create_model
from . import checkpoint
from .sample_source import SampleSource
from .spec import TrainSpec


def load_spec(run_dir: Path) -> TrainSpec:
    p = Path(run_dir) / "config.yaml"
    try:
        d = yaml.safe_load(p.read_text())["spec"]
        d["metrics"] = tuple(d["metrics"])
        return TrainSpec(**{**d, "out_dir": str(run_dir)})
    except FileNotFoundError:
        raise GanbenchError(f"{run_dir} is not a ganbench run (no config.yaml)") from None
    except (yaml.YAMLError, KeyError, TypeError) as e:
        raise GanbenchError(f"corrupt run config {p}: {checkpoint.one_line(e)}") from None


def restore(run_dir: Path, ckpt: Path | None = None, device: str = "cpu") -> tuple[GAN, torch.nn.Module, ImageData,
                                                                                      TrainSpec, int]:
    """(model, generator used for evaluation (EMA if any), train data, spec, images seen) from a checkpoint."""
    spec = load_spec(run_dir)
    ckpts = checkpoint.list_checkpoints(run_dir)
    if ckpt is None:
        if not ckpts:
            raise GanbenchError(f"{run_dir} has no checkpoints")
        ckpt = ckpts[-1]
    state = checkpoint.load(ckpt, map_location=device)
    data = load_dataset(spec.dataset, "train", spec.resolution, spec.channels, spec.data_root)
    model = create_model(spec.model, spec.preset, spec.variant, data.spec, dict(spec.overrides)).to(device)
    with checkpoint.mismatch_is_error(ckpt):
        model.load_state_dict(state["model"])
        G = model.G
        if state.get("g_ema"):
            G = copy.deepcopy(model.G)
            G.load_state_dict(state["g_ema"])
    SampleSource(model, data, spec.data_root).bind_default(spec.metrics)  # never the metric reference split
    model.eval()
    G.eval()
    return model, G, data, spec, int(state["images_seen"])
