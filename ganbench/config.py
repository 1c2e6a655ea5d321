"""Dataclass configs and their validated construction from dicts/YAML/CLI overrides."""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from .errors import GanbenchError
from .registry import unknown

C = TypeVar("C")


@dataclass(frozen=True)
class GANConfig:
    """Training recipe shared by every model; each model's config subclasses it with its architecture fields.

    The shared trainer reads only these fields. Learning rates follow the model's paper (TTUR where it has one).
    """

    z_dim: int = 128
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    g_betas: tuple[float, float] | None = None  # G's own Adam betas where the recipe differs from D's (StyleGAN2)
    adam_eps: float = 1e-8
    n_dis: int = 1  # D steps per G step
    loss: str = "nonsat"  # a name in ganbench.losses.LOSSES
    ema_kimg: float = 0.0  # half-life of the G weight EMA in thousands of images; 0 = no EMA
    ema_rampup: float = 0.0  # StyleGAN-style ramp-up: half-life <= images_seen * rampup (0 = off)
    ema_start_kimg: float = 0.0  # the EMA copies G until this many kimg, then averages (StudioGAN's ema_start)
    grad_clip: float = 0.0  # clip the gradient norm of G and of D (each over all its parameters) to this; 0 = off
    diffaug: str = ""  # comma-separated DiffAugment policies: color,translation,cutout
    translation_ratio: float = 0.125
    cutout_ratio: float = 0.5
    gp_weight: float = 0.0  # two-sided WGAN-GP penalty on real/fake interpolates
    r1_gamma: float = 0.0  # R1 penalty on reals, gamma/2 * ||grad||^2
    reg_interval: int = 1  # lazy regularisation: apply gp/r1 every k D steps (scaled by k)
    drift_weight: float = 0.0  # WGAN-GP-eps drift: weight * E[D(x)]^2 (TransGAN: 1e-3)
    conditional: bool = False  # class-conditional where the dataset has labels and the model supports it
    # ---- how the step runs (the math is the same up to float rounding; recorded in config.yaml) ----
    precision: str = "fp32"  # fp32 | bf16 | fp16: autocast dtype of the training step (fp16 adds GradScalers)
    channels_last: bool = True  # NHWC memory format for G, D and the real batch (1.02-1.33x faster on CPU)
    tf32: str = "off"  # off | on: TF32 for fp32 matmuls and convolutions on CUDA (no effect on CPU)
    cudnn_benchmark: bool = False  # torch.backends.cudnn.benchmark on CUDA (fastest algorithms, not bit-stable)
    deterministic: bool = False  # deterministic kernels only (bit-identical resume on CUDA; slower)
    compile: bool = False  # torch.compile G and D in place (nn.Module.compile; state_dict keys unchanged)
    compile_mode: str = "default"  # torch.compile mode with compile on; reduce-overhead = CUDA graphs (small presets)
    check_every: int = 0  # G steps between non-finite-loss checks (0: auto = every step on CPU, 50 on CUDA)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise GanbenchError(f"config precision: expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.tf32 not in TF32_POLICIES:
            raise GanbenchError(f"config tf32: expected one of {', '.join(TF32_POLICIES)}, got {self.tf32!r}")
        if self.deterministic and self.cudnn_benchmark:
            raise GanbenchError("config deterministic and cudnn_benchmark exclude each other (autotuning picks "
                                "algorithms by timing)")
        if self.compile_mode not in COMPILE_MODES:
            raise GanbenchError(f"config compile_mode: expected one of {', '.join(COMPILE_MODES)}, "
                                f"got {self.compile_mode!r}")
        if self.check_every < 0:
            raise GanbenchError(f"config check_every must be >= 0 (0: auto), got {self.check_every!r}")
        _check_recipe(self)


def _check_recipe(cfg: GANConfig) -> None:
    """Range checks of the shared recipe, so a bad value fails before any training (not inside Adam or a reshape)."""
    name = type(cfg).__name__
    rules = [("lr_g", cfg.lr_g >= 0, ">= 0 (0 freezes G)"), ("lr_d", cfg.lr_d >= 0, ">= 0 (0 freezes D)"), ("batch_size", cfg.batch_size >= 1, ">= 1"),
             ("z_dim", cfg.z_dim >= 1, ">= 1"), ("beta1", 0 <= cfg.beta1 < 1, "in [0, 1)"),
             ("beta2", 0 <= cfg.beta2 < 1, "in [0, 1)"), ("adam_eps", cfg.adam_eps > 0, "> 0"),
             ("n_dis", cfg.n_dis >= 1, ">= 1"), ("reg_interval", cfg.reg_interval >= 1, ">= 1"),
             ("ema_kimg", cfg.ema_kimg >= 0, ">= 0"), ("grad_clip", cfg.grad_clip >= 0, ">= 0"),
             ("gp_weight", cfg.gp_weight >= 0, ">= 0"), ("r1_gamma", cfg.r1_gamma >= 0, ">= 0")]
    if cfg.g_betas is not None:
        rules += [("g_betas", len(cfg.g_betas) == 2 and all(0 <= b < 1 for b in cfg.g_betas), "two values in [0, 1)")]
    for key, ok, rule in rules:
        if not ok:
            raise GanbenchError(f"config {name}.{key} must be {rule}, got {getattr(cfg, key)!r}")


PRECISIONS = ("fp32", "bf16", "fp16")
TF32_POLICIES = ("off", "on")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _check_type(cls_name: str, name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads "4e-4" (no dot) as a string
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):  # "nan"/"inf" strings stay errors
            return number
    if tp in (int, float, str, bool):
        if type(value) is not tp:
            raise GanbenchError(f"config {cls_name}.{name}: expected {tp.__name__}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise GanbenchError(f"config {cls_name}.{name}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if args and args[-1] is not Ellipsis and len(args) == len(value):
            return tuple(_check_type(cls_name, name, a, v) for a, v in zip(args, value))
        inner = args[0] if args else Any
        out = [_check_type(cls_name, name, inner, v) if inner is not Any else v for v in value]
        return tuple(out) if origin is tuple else out
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        for a in typing.get_args(tp):
            if a is type(None):
                continue
            try:
                return _check_type(cls_name, name, a, value)
            except GanbenchError:
                pass
        raise GanbenchError(f"config {cls_name}.{name}: bad value {value!r}")
    return value


def replace(cfg: C, overrides: dict[str, Any] | None) -> C:
    """``dataclasses.replace`` that rejects unknown keys and wrong types with a one-line error."""
    if not overrides:
        return cfg
    cls = type(cfg)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    clean: dict[str, Any] = {}
    for k, v in overrides.items():
        if k not in names:
            raise GanbenchError(unknown(f"config key for {cls.__name__}", k, names))
        clean[k] = _check_type(cls.__name__, k, hints[k], v)
    out = dataclasses.replace(cfg, **clean)
    validate = getattr(out, "validate", None)
    if validate:
        validate()
    return out


def parse_value(text: str) -> Any:
    """Parse a CLI ``key=value`` value with YAML rules (numbers, bools, lists)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise GanbenchError(f"bad override {item!r}: expected key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v)
    return out


def to_dict(cfg: Any) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
