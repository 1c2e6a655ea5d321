"""Model registry. Adding a model = one file in this folder holding a ``@register_model`` class (found automatically)."""
from ..images import ImageSpec
from .base import GAN, MODELS, PaperRef, StepInfo, create_model, register_model, resolve_config

__all__ = ["GAN", "MODELS", "ImageSpec", "PaperRef", "StepInfo", "create_model", "register_model", "resolve_config"]
