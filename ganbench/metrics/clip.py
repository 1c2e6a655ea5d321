"""``clip-vit-b-32`` / ``clip-vit-b-16`` / ``clip-vit-l-14``: OpenAI CLIP image embeddings (Radford et al. 2021), run
through torch-fidelity's CLIP feature extractor (``torch_fidelity.feature_extractor_clip``: its ``build_model`` builds
the visual tower from the checkpoint and its ``forward`` does the preprocessing; nothing is re-implemented here).

FD in CLIP space (``fd_clip``, ViT-B/32) is the ImageNet-class-free alternative of Kynkaanniemi et al. 2023, "The Role
of ImageNet Classes in Frechet Inception Distance". Features: ``pool`` = the projected image embedding (512-d for
ViT-B/32 and B/16, 768-d for L/14). No class logits, so no IS. Input: uint8; grey is replicated to RGB; torch-fidelity
resizes to the model's resolution (224) with its TF1-compatible bilinear interpolation and applies CLIP's mean/std.

Weights: OpenAI's TorchScript checkpoints (``ViT-B-32.pt`` ...). Their sha256 is the path component of OpenAI's
download URL, recorded in torch-fidelity's ``MODEL_METADATA`` and checked by OpenAI's ``clip`` package; the same
values are pinned in ``SHA256`` below. Looked up in order: ``$GANBENCH_CLIP_WEIGHTS`` (a file, or a folder holding one
of the names below); the torch hub cache ``$TORCH_HOME/hub/checkpoints/`` under torch-fidelity's name
``<model>-<sha256>.pt`` (where torch-fidelity downloads them); OpenAI clip's cache ``~/.cache/clip/<ViT-B-32>.pt``;
``<ganbench cache>/weights/``; else a download into the torch hub cache unless ``$GANBENCH_OFFLINE`` is set. A file
whose sha256 differs is refused (``GANBENCH_UNVERIFIED_WEIGHTS=1`` loads it anyway, e.g. to test the loading path;
its hash then labels every number); keys and shapes are checked by ``load_state_dict`` (strict). A plain state dict
saved with ``torch.save`` (the TorchScript archive's ``state_dict()``) is accepted as well as the archive.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import GanbenchError
from ..paths import cache_dir, offline
from .features import EmbeddingExtractor, embedding_metric_names, register_extractor, sha256_file

ENV = "GANBENCH_CLIP_WEIGHTS"
BASE_URL = "https://openaipublic.azureedge.net/clip/models"
SHA256 = {  # torch-fidelity 0.4.0 feature_extractor_clip.MODEL_METADATA (= OpenAI's URLs)
    "clip-vit-b-32": "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
    "clip-vit-b-16": "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f",
    "clip-vit-l-14": "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
}
OPENAI_NAME = {"clip-vit-b-32": "ViT-B-32", "clip-vit-b-16": "ViT-B-16", "clip-vit-l-14": "ViT-L-14"}
# (embed dim, vision width, vision layers, patch size, resolution) of the visual towers, for tests and checks
SHAPES = {"clip-vit-b-32": (512, 768, 12, 32, 224), "clip-vit-b-16": (512, 768, 12, 16, 224),
          "clip-vit-l-14": (768, 1024, 24, 14, 224)}


def file_names(model: str) -> tuple[str, ...]:
    """torch-fidelity's and OpenAI clip's file names of a model's checkpoint."""
    return f"{model}-{SHA256[model]}.pt", f"{OPENAI_NAME[model]}.pt"


def url(model: str) -> str:
    return f"{BASE_URL}/{SHA256[model]}/{OPENAI_NAME[model]}.pt"


def weights_path(model: str) -> Path:
    """Locate (or download) a CLIP checkpoint; one-line GanbenchError naming where to put it when there is none."""
    names = file_names(model)
    explicit = os.environ.get(ENV)
    if explicit:
        p = Path(explicit).expanduser()
        if p.is_dir():
            for n in names:
                if (p / n).is_file():
                    return p / n
            raise GanbenchError(f"no {' or '.join(names)} in {p} (${ENV}); download {url(model)} there")
        if not p.is_file():
            raise GanbenchError(f"CLIP weights file {p} not found (${ENV}); download {url(model)}")
        return p
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    for d in (hub, Path.home() / ".cache" / "clip", cache_dir() / "weights"):
        for n in names:
            if (d / n).is_file():
                return d / n
    target = hub / names[0]
    if not offline():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url(model), str(target), hash_prefix=SHA256[model], progress=False)
            return target
        except Exception:  # noqa: BLE001  (no network, proxy, hash mismatch: all end in the one-line error)
            pass
    raise GanbenchError(f"{model} weights not found in {hub} ({names[0]}), ~/.cache/clip ({names[1]}) or "
                        f"{cache_dir() / 'weights'}{' (offline)' if offline() else ' and the download failed'}; "
                        f"download {url(model)} there, or set ${ENV}=PATH")


def _verify(model: str, path: Path) -> None:
    if sha256_file(path) != SHA256[model] and os.environ.get("GANBENCH_UNVERIFIED_WEIGHTS") != "1":
        raise GanbenchError(f"{path} is not OpenAI's {OPENAI_NAME[model]} CLIP checkpoint (sha256 is not "
                            f"{SHA256[model][:12]}...); get {url(model)}")


def load_state_dict(path: Path) -> dict[str, Tensor]:
    """The checkpoint's tensors: a TorchScript archive (OpenAI's format, read with torch.jit.load as torch-fidelity
    does) or a plain state dict (read with weights_only=True)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                scripted = any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())
            if scripted:
                return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise GanbenchError(f"bad CLIP weights file {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
                            ) from None
    if not isinstance(sd, dict):
        raise GanbenchError(f"bad CLIP weights file {path}: not a state dict")
    return sd


def build_net(model: str, state_dict: dict[str, Tensor]) -> nn.Module:
    """torch-fidelity's FeatureExtractorCLIP around torch-fidelity's ``build_model(state_dict)``: exactly what its
    constructor does after reading the file (``torch.jit.load(path).state_dict()``), minus the file reading, so its
    ``forward`` (resize, normalisation, visual tower) is used unchanged."""
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP, build_model

    class _FromStateDict(FeatureExtractorCLIP):
        def __init__(self) -> None:  # FeatureExtractorCLIP.__init__ without its file loading
            FeatureExtractorBase.__init__(self, model, ["clip"])
            self.feature_extractor_internal_dtype = torch.float32
            self.model = build_model(dict(state_dict), torch.float32)
            self.resolution = self.model.visual.input_resolution
            self.requires_grad_(False)

    try:
        net = _FromStateDict()
    except Exception as e:  # noqa: BLE001  (missing/unexpected keys, wrong shapes)
        raise GanbenchError(f"bad {model} weights: {str(e).splitlines()[0]}") from None
    embed, width, layers, patch, res = SHAPES[model]
    got = (net.model.visual.output_dim, net.model.visual.conv1.weight.shape[0], len(net.model.visual.transformer
                                                                                   .resblocks),
           net.model.visual.conv1.weight.shape[-1], net.resolution)
    if got != SHAPES[model]:
        raise GanbenchError(f"the weights hold a CLIP visual tower of shape {got}, not {model}'s {SHAPES[model]} "
                            f"(embed, width, layers, patch, resolution)")
    return net


class _ClipExtractor(EmbeddingExtractor):
    family = "clip"
    preprocessing = ("uint8; grey replicated to RGB; torch-fidelity CLIP (TF1 bilinear to 224, CLIP mean/std "
                     "(0.4815, 0.4578, 0.4082) / (0.2686, 0.2613, 0.2758))")

    @classmethod
    def cache_token(cls) -> str:
        return os.environ.get(ENV, "")

    def _build(self) -> tuple[Path, nn.Module]:
        path = weights_path(self.model)
        _verify(self.model, path)
        return path, build_net(self.model, load_state_dict(path))


@register_extractor
class ClipVitB32Extractor(_ClipExtractor):
    name = model = "clip-vit-b-32"
    description = "OpenAI CLIP ViT-B/32 image embedding via torch-fidelity (FD_CLIP of Kynkaanniemi et al.)"
    layers = {"pool": 512}
    metric_names = embedding_metric_names("clip", "")


@register_extractor
class ClipVitB16Extractor(_ClipExtractor):
    name = model = "clip-vit-b-16"
    description = "OpenAI CLIP ViT-B/16 image embedding via torch-fidelity"
    layers = {"pool": 512}
    metric_names = embedding_metric_names("clip", "_b16")


@register_extractor
class ClipVitL14Extractor(_ClipExtractor):
    name = model = "clip-vit-l-14"
    description = "OpenAI CLIP ViT-L/14 image embedding via torch-fidelity"
    layers = {"pool": 768}
    metric_names = embedding_metric_names("clip", "_l14")
