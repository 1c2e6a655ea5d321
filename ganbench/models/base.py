"""The model interface. A model supplies G, D and its config; the shared trainer does the rest.

A model is a ``GAN`` subclass registered with ``@register_model("name")``. The defaults implement the standard
single-D adversarial step (any loss in ``LOSSES``, DiffAugment, WGAN-GP, R1 with lazy interval, drift). Models
override only what differs: ``d_loss``/``g_loss`` for extra terms, ``generate`` for conditioning inputs (posterior
codes, meta-data), ``sample_z`` for other priors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .. import rand
from ..augment import diff_augment
from ..config import GANConfig, replace
from ..errors import GanbenchError
from ..images import ImageSpec, to_float
from ..losses import LOSSES, gradient_penalty, r1_penalty
from ..registry import Registry, unknown


@dataclass(frozen=True)
class PaperRef:
    """Provenance of a model: paper, official code, and the published parameter counts of the paper preset."""

    title: str
    url: str
    code: str = ""
    params_g: int | None = None  # published/official count for the `paper` preset at 32x32, 3 channels
    params_d: int | None = None
    params_note: str = ""  # where the count comes from


@dataclass
class StepInfo:
    """Passed to the loss functions: where training is."""

    step: int = 0  # G steps done
    d_step: int = 0  # D steps done
    images_seen: int = 0


class GAN(nn.Module):
    """Base class: holds ``G`` and ``D`` (modules taking ``(x_or_z, y=None)``) and the config."""

    Config: ClassVar[type[GANConfig]] = GANConfig
    presets: ClassVar[dict[str, GANConfig]] = {}
    variants: ClassVar[dict[str, dict[str, Any]]] = {"default": {}}  # name -> config overrides
    paper: ClassVar[PaperRef]
    deviations: ClassVar[str] = ""  # deviations from paper/code forced here; shown in reports
    # generate() draws real images (meta-data, posterior codes) from self.conditioning; they must come from a split
    # that is not the metric's real split, so no image the metric compares with leaks into the samples
    samples_from_data: ClassVar[bool] = False

    G: nn.Module
    D: nn.Module

    def __init__(self, cfg: GANConfig, img: ImageSpec) -> None:
        super().__init__()
        self.cfg = cfg
        self.img = img
        self.conditioning: Tensor | None = None  # uint8 conditioning images, set via bind_conditioning()
        self._loss = LOSSES.get(cfg.loss)

    # ---- sampling -------------------------------------------------------------------------------------------
    def sample_z(self, n: int, generator: torch.Generator | None = None, device=None) -> Tensor:
        return rand.randn((n, self.cfg.z_dim), generator, device or self.device)

    def sample_y(self, n: int, generator: torch.Generator | None = None, device=None) -> Tensor | None:
        if not (self.cfg.conditional and self.img.num_classes):
            return None
        return rand.randint(0, self.img.num_classes, (n,), generator, device or self.device)

    def generate(self, z: Tensor, y: Tensor | None = None, G: nn.Module | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        """Images in [-1, 1] from latents (``G`` defaults to the trained generator; pass the EMA copy)."""
        return (G or self.G)(z, y)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None) -> Tensor:
        """``n`` images in [-1, 1]; the API metrics use. Seeded by ``generator`` only."""
        z = self.sample_z(n, generator)
        return self.generate(z, self.sample_y(n, generator), G=G, generator=generator).clamp(-1, 1)

    def bind_conditioning(self, images: Tensor) -> None:
        """Give the model the uint8 training images (for models that condition on real data at sampling)."""
        self.conditioning = images

    def draw_conditioning(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` random real training images in [-1, 1] (the test-time source of posterior codes/meta-data)."""
        if self.conditioning is None:
            raise GanbenchError(f"{type(self).__name__} needs real images to sample; call bind_conditioning()")
        idx = rand.randint(0, self.conditioning.shape[0], (n,), generator, "cpu")
        return to_float(self.conditioning[idx].to(self.device))

    # ---- training -------------------------------------------------------------------------------------------
    def augment(self, x: Tensor) -> Tensor:
        c = self.cfg
        if not c.diffaug:
            return x
        return diff_augment(x, c.diffaug, c.translation_ratio, c.cutout_ratio)

    def d_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        """Discriminator objective for one real batch (images in [-1, 1])."""
        c = self.cfg
        n = real.shape[0]
        yf = self.sample_y(n) if y is not None else None  # fakes are scored with the labels they were made for
        with torch.no_grad():
            fake = self.generate(self.sample_z(n), yf)
        d = lambda x: self.D(self.augment(x), y)  # noqa: E731
        lr, lf = d(real), self.D(self.augment(fake), yf)
        loss = self._loss.d(lr, lf)
        logs = {"loss_d": loss.detach()}
        if c.drift_weight:
            loss = loss + c.drift_weight * lr.mean() ** 2
        if (c.gp_weight or c.r1_gamma) and info.d_step % c.reg_interval == 0:
            if c.gp_weight:
                gp = gradient_penalty(d, real, fake)
                loss = loss + c.gp_weight * c.reg_interval * gp
                logs["gp"] = gp.detach()
            if c.r1_gamma:
                r1 = r1_penalty(d, real)
                loss = loss + 0.5 * c.r1_gamma * c.reg_interval * r1
                logs["r1"] = r1.detach()
        return loss, logs

    def g_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        """Generator objective; ``real`` is the last real batch (used by models that condition on data)."""
        n = real.shape[0]
        yf = self.sample_y(n) if y is not None else None
        fake = self.generate(self.sample_z(n), yf)
        loss = self._loss.g(self.D(self.augment(fake), yf))
        return loss, {"loss_g": loss.detach()}

    def g_parameters(self):
        return [p for p in self.G.parameters() if p.requires_grad]

    def d_parameters(self):
        return [p for p in self.D.parameters() if p.requires_grad]

    # ---- bookkeeping ----------------------------------------------------------------------------------------
    def param_counts(self) -> dict[str, int]:
        """Trainable and frozen parameter counts of G and D (frozen: pretrained/random fixed networks)."""
        def count(m: nn.Module, trainable: bool) -> int:
            return sum(p.numel() for p in m.parameters() if p.requires_grad == trainable)
        return {"params_g": count(self.G, True), "params_d": count(self.D, True),
                "params_g_frozen": count(self.G, False), "params_d_frozen": count(self.D, False)}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class _ModelRegistry(Registry[type[GAN]]):
    def _load(self) -> None:
        from . import _load_all  # noqa: F401  (imports every model module once)


MODELS = _ModelRegistry("model")


def register_model(name: str):
    """Class decorator: ``@register_model("dcgan")``; checks presets and the paper reference."""
    def deco(cls: type[GAN]) -> type[GAN]:
        for p in ("paper", "tiny"):
            if p not in cls.presets:
                raise TypeError(f"model {name} lacks the {p!r} preset")
        if not hasattr(cls, "paper"):
            raise TypeError(f"model {name} lacks a PaperRef")
        cls.name = name
        return MODELS.register(name)(cls)
    return deco


def resolve_config(name: str, preset: str = "tiny", variant: str = "default",
                   overrides: dict[str, Any] | None = None) -> GANConfig:
    """Preset, then variant overrides, then user overrides; every key validated."""
    cls = MODELS.get(name)
    if preset not in cls.presets:
        raise GanbenchError(unknown(f"preset for {name}", preset, cls.presets))
    if variant not in cls.variants:
        raise GanbenchError(unknown(f"variant for {name}", variant, cls.variants))
    cfg = replace(cls.presets[preset], cls.variants[variant])
    return replace(cfg, overrides)


def create_model(name: str, preset: str = "tiny", variant: str = "default", img: ImageSpec | None = None,
                 overrides: dict[str, Any] | None = None) -> GAN:
    img = img or ImageSpec()
    cfg = resolve_config(name, preset, variant, overrides)
    if cfg.conditional and not img.num_classes:
        raise GanbenchError(f"{name}: --conditional needs a labelled dataset")
    return MODELS.get(name)(cfg, img)


def ema_beta(cfg: GANConfig, batch_size: int, images_seen: int) -> float:
    """EMA decay per G step from a half-life in kimg (StyleGAN2-ADA convention), with optional ramp-up; 0 (copy G)
    before ``ema_start_kimg``."""
    if images_seen < cfg.ema_start_kimg * 1000:
        return 0.0
    half = cfg.ema_kimg * 1000
    if cfg.ema_rampup:
        half = min(half, images_seen * cfg.ema_rampup)
    return 0.5 ** (batch_size / max(half, 1e-8))


def init_weights(module: nn.Module, kind: str = "normal", std: float = 0.02) -> None:
    """Common GAN inits: ``normal`` N(0, std) (DCGAN, BigGAN-PyTorch), ``ortho`` (BigGAN/StudioGAN), ``xavier``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            w = getattr(m, "weight_orig", m.weight)
            if kind == "normal":
                nn.init.normal_(w, 0.0, std)
            elif kind == "ortho":
                nn.init.orthogonal_(w)
            elif kind == "xavier":
                nn.init.xavier_uniform_(w)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d,)) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


__all__ = ["GAN", "GANConfig", "ImageSpec", "PaperRef", "StepInfo", "MODELS", "register_model", "create_model",
           "resolve_config", "ema_beta", "init_weights"]
