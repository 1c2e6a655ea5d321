"""``effnet-lite0``: ImageNet EfficientNet-Lite0 (Tan & Le 2019) from ``ganbench.nets.efficientnet``: 1280-d
globally pooled head features (FD, KID, precision/recall) and the 1000 ImageNet logits (IS).

Projected GAN's discriminator works on EfficientNet-Lite features, so ``fd_effnet`` favours it
(Kynkaanniemi et al. 2023, "The Role of ImageNet Classes in Frechet Inception Distance"): tables must flag that
backbone sharing (``shares_backbone_with``). Input: uint8 -> [-1, 1]; grey replicated to RGB; bilinear resize to
224x224 and the Lite normalisation ``((x + 1) * 127.5 - 127) / 128`` (``efficientnet.preprocess``).
"""
from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from ..images import to_float
from ..nets import efficientnet
from .features import Extractor, register_extractor


@register_extractor
class EffnetLite0Extractor(Extractor):
    name = "effnet-lite0"
    description = "ImageNet EfficientNet-Lite0: 1280-d pooled features, 1000 logits (shares Projected GAN's backbone)"
    preprocessing = "uint8 -> [-1,1]; grey replicated; bilinear to 224 (align_corners=False); (x*127.5+0.5)/128"
    layers = {"pool": 1280, "logits": 1000}
    metric_names = {"fd": "fd_effnet", "kid": "kid_effnet", "is": "is_effnet", "precision": "precision_effnet",
                    "recall": "recall_effnet", "density": "density_effnet", "coverage": "coverage_effnet"}
    shares_backbone_with = frozenset({"projected_gan"})

    def _build(self) -> tuple[Path, nn.Module]:
        return efficientnet.weights_path("lite0"), efficientnet.build("lite0")  # a private copy (moved to device)

    def _features(self, images: Tensor) -> dict[str, Tensor]:
        x = efficientnet.preprocess(to_float(images), efficientnet.NATIVE_SIZE["lite0"])
        pool, logits = efficientnet.pooled_and_logits(self.net, x)
        return {"pool": pool, "logits": logits}
