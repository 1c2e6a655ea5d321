"""``inception-v3``: the standard FID Inception-v3 (TensorFlow graph of 2015-12-05, as ported to PyTorch by
pytorch-fid / torch-fidelity), run through torch-fidelity's ``FeatureExtractorInceptionV3`` (not re-implemented).

Features: ``pool`` = the 2048-d average pool (FID, KID, precision/recall), ``logits`` = torch-fidelity's
``logits_unbiased`` (the 1008-way fc layer without its bias, torch-fidelity's default for the Inception Score, which
matches the TF reference). Input: uint8; grey is replicated to RGB; torch-fidelity resizes to 299x299 with its
TF1-compatible bilinear interpolation.

Weights: ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid's release; clean-fid's legacy mode uses it) or
torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``, which carries the same sha256 prefix in its name
(torch hub's file-naming convention; the full sha256 reported for torch-fidelity's file is
6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2). Looked up in order: ``--inception-weights
PATH`` / ``$GANBENCH_INCEPTION_WEIGHTS``; the torch hub cache ``$TORCH_HOME/hub/checkpoints/`` (where torch-fidelity
and clean-fid's legacy mode keep them); ``<ganbench cache>/weights/``; else a download into the torch hub cache
unless ``$GANBENCH_OFFLINE`` is set.
A file whose sha256 does not start with 6726825d is refused (set ``GANBENCH_UNVERIFIED_WEIGHTS=1`` to load it
anyway, e.g. to test the loading path; its hash then labels every number). No other network is ever substituted.
clean-fid's default TorchScript file (``inception-2015-12-05.pt``) is a different format and is not used.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import GanbenchError
from ..paths import cache_dir, offline
from .features import Extractor, register_extractor, sha256_file

FILE = "pt_inception-2015-12-05-6726825d.pth"
NAMES = (FILE, "weights-inception-2015-12-05-6726825d.pth")  # pytorch-fid / clean-fid, torch-fidelity
SHA256_PREFIX = "6726825d"
URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FILE
ENV = "GANBENCH_INCEPTION_WEIGHTS"


def _candidates() -> list[Path]:
    dirs = [Path(torch.hub.get_dir()) / "checkpoints", cache_dir() / "weights"]
    return [d / n for d in dirs for n in NAMES]


def weights_path(path: str | os.PathLike | None = None) -> Path:
    """Locate (or download) the FID Inception weights; one-line GanbenchError when there are none."""
    explicit = path or os.environ.get(ENV)
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise GanbenchError(f"Inception weights file {p} not found (from --inception-weights / ${ENV}); get "
                                f"{FILE} from {URL}")
        return p
    for p in _candidates():
        if p.is_file():
            return p
    target = Path(torch.hub.get_dir()) / "checkpoints" / FILE
    if not offline():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(URL, str(target), hash_prefix=SHA256_PREFIX, progress=False)
            return target
        except Exception:  # noqa: BLE001  (no network, proxy, hash mismatch: all end in the one-line error)
            pass
    raise GanbenchError(f"Inception-v3 FID weights {FILE} not found in {target.parent} or {cache_dir() / 'weights'}"
                        f"{' (offline)' if offline() else ' and the download failed'}; download {URL} there, or "
                        f"pass --inception-weights PATH / set ${ENV}")


def _verify(path: Path) -> None:
    """Refuse files that are not the FID weights (unless explicitly allowed) or that hold more than tensors."""
    if not sha256_file(path).startswith(SHA256_PREFIX) and os.environ.get("GANBENCH_UNVERIFIED_WEIGHTS") != "1":
        raise GanbenchError(f"{path} is not the FID Inception weights (sha256 does not start with {SHA256_PREFIX}); "
                            f"get {FILE} from {URL}")
    try:  # torch-fidelity loads with weights_only=False; check first that the file holds only tensors
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise GanbenchError(f"bad Inception weights file {path}: {str(e).splitlines()[0]}") from None


@register_extractor
class InceptionExtractor(Extractor):
    name = "inception-v3"
    description = ("FID Inception-v3 (TF 2015-12-05 weights) via torch-fidelity: 2048-d pool features, "
                   "1008-way logits without bias (IS)")
    preprocessing = "uint8; grey replicated to RGB; torch-fidelity InceptionV3 (TF1 bilinear to 299, (x-128)/128)"
    layers = {"pool": 2048, "logits": 1008}
    metric_names = {"fd": "fid", "kid": "kid", "is": "is", "precision": "precision", "recall": "recall",
                    "density": "density", "coverage": "coverage"}

    @classmethod
    def cache_token(cls) -> str:
        return os.environ.get(ENV, "")

    def _build(self) -> tuple[Path, nn.Module]:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path = weights_path()
        _verify(path)
        try:
            net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                              feature_extractor_weights_path=str(path))
        except Exception as e:  # noqa: BLE001  (wrong keys/shapes)
            raise GanbenchError(f"bad Inception weights file {path}: {str(e).splitlines()[0]}") from None
        return path, net

    def _features(self, images: Tensor) -> dict[str, Tensor]:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        pool, logits = self.net(images.contiguous())
        return {"pool": pool, "logits": logits}
