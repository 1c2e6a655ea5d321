"""``dinov2-vit-s-14`` / ``-b-14`` / ``-l-14`` / ``-g-14``: DINOv2 image embeddings (Oquab et al. 2023), with
torch-fidelity's DINOv2 feature extractor (``torch_fidelity.feature_extractor_dinov2.FeatureExtractorDinoV2``: its
``forward`` does the preprocessing and returns the backbone's output, the final-norm CLS token).

FD in DINOv2 ViT-L/14 space (``fd_dinov2``) is the metric Stein et al. 2023 ("Exposing flaws of generative model
evaluation metrics", dgm-eval) found closest to human judgement. Features: ``pool`` = the CLS embedding, 384 / 768 /
1024 / 1536-d for S / B / L / G. No class logits, so no IS. Input: uint8; grey is replicated to RGB; torch-fidelity
resizes to 224x224 with its TF1-compatible bilinear interpolation and applies the ImageNet mean/std.

**Architecture.** torch-fidelity 0.4.0 does not ship the network: ``FeatureExtractorDinoV2`` calls
``torch.hub.load("facebookresearch/dinov2", ...)``, which fetches the code from GitHub (and it raises
NotImplementedError for a local weights path). The official code is taken, in order, from
  1. ``$GANBENCH_DINOV2_REPO``: a checkout of github.com/facebookresearch/dinov2 (its ``hubconf.py``), loaded with
     ``torch.hub.load(PATH, "dinov2_vits14", source="local", pretrained=False)``;
  2. the torch hub cache ``$TORCH_HOME/hub/facebookresearch_dinov2_main``: the same code, left there by any earlier
     torch-fidelity / torch hub use of DINOv2, loaded the same way;
  3. an importable ``dinov2`` package (the official repository pip-installed, or PyPI's ``dinov2`` 0.0.1.dev2, a
     third-party upload of the April 2023 code whose pins - torch 2.0.0, xformers, cuml - do not install with
     ganbench's torch, so ``pip install --no-deps dinov2``), built with the hub's arguments (img_size 518, patch 14,
     init_values 1.0, block_chunks 0, ffn "mlp" or "swiglufused" for G, no registers, interpolate_offset 0.1).
No PyPI package ships the official architecture with installable pins, so ganbench does not depend on one; the
network is never re-implemented here. Without any of the three, building the extractor stops with a one-line error.

**Weights** ``dinov2_vit{s,b,l,g}14_pretrain.pth`` (Meta's release, dl.fbaipublicfiles.com/dinov2/...): looked up in
``$GANBENCH_DINOV2_WEIGHTS`` (a file, or a folder holding the file), the torch hub cache
``$TORCH_HOME/hub/checkpoints/`` (where torch-fidelity / torch hub put them), ``<ganbench cache>/weights/``; else a
download into the torch hub cache unless ``$GANBENCH_OFFLINE`` is set. Meta publishes no checksum (the hub loads them
with check_hash off and the file names carry no hash prefix), neither does torch-fidelity. ``SHA256`` below holds the
values that independent projects pinning these exact files record (S and B agree across several; L in two, G in one):
a file whose sha256 differs is refused (``GANBENCH_UNVERIFIED_WEIGHTS=1`` loads it anyway; its hash then labels every
number). Keys and shapes are always checked by a strict ``load_state_dict`` into the official architecture.
"""
from __future__ import annotations

import inspect
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import GanbenchError
from ..paths import cache_dir, offline
from .features import EmbeddingExtractor, embedding_metric_names, register_extractor, sha256_file

ENV_WEIGHTS = "GANBENCH_DINOV2_WEIGHTS"
ENV_REPO = "GANBENCH_DINOV2_REPO"
BASE_URL = "https://dl.fbaipublicfiles.com/dinov2"
# extractor -> (vision_transformer function, hub entry point, feature dim, ffn layer)
ARCH = {
    "dinov2-vit-s-14": ("vit_small", "dinov2_vits14", 384, "mlp"),
    "dinov2-vit-b-14": ("vit_base", "dinov2_vitb14", 768, "mlp"),
    "dinov2-vit-l-14": ("vit_large", "dinov2_vitl14", 1024, "mlp"),
    "dinov2-vit-g-14": ("vit_giant2", "dinov2_vitg14", 1536, "swiglufused"),
}
SHA256 = {  # not published by Meta; as pinned by independent projects (see the module docstring)
    "dinov2-vit-s-14": "b938bf1bc15cd2ec0feacfe3a1bb553fe8ea9ca46a7e1d8d00217f29aef60cd9",  # 88,283,115 bytes
    "dinov2-vit-b-14": "0b8b82f85de91b424aded121c7e1dcc2b7bc6d0adeea651bf73a13307fad8c73",
    "dinov2-vit-l-14": "d5383ea8f4877b2472eb973e0fd72d557c7da5d3611bd527ceeb1d7162cbf428",
    "dinov2-vit-g-14": "baf8467e50af277596bbbafa06887c177ee899ab46033649c383577d7e9309d3",
}
HUB_ARGS = {"img_size": 518, "patch_size": 14, "init_values": 1.0, "block_chunks": 0, "num_register_tokens": 0,
            "interpolate_antialias": False, "interpolate_offset": 0.1}


def file_name(model: str) -> str:
    return f"{ARCH[model][1]}_pretrain.pth"


def url(model: str) -> str:
    return f"{BASE_URL}/{ARCH[model][1]}/{file_name(model)}"


def hub_repo_dir() -> Path:
    """Where ``torch.hub.load("facebookresearch/dinov2", ...)`` (torch-fidelity) keeps the code."""
    return Path(torch.hub.get_dir()) / "facebookresearch_dinov2_main"


def architecture_source() -> str:
    """Which DINOv2 code will be used: a repository path, ``"package"`` or ``""`` (none)."""
    explicit = os.environ.get(ENV_REPO)
    if explicit:
        return explicit
    if (hub_repo_dir() / "hubconf.py").is_file():
        return str(hub_repo_dir())
    try:
        import dinov2.models.vision_transformer  # noqa: F401
        return "package"
    except Exception:  # noqa: BLE001
        return ""


def build_backbone(model: str) -> nn.Module:
    """The official DINOv2 backbone of ``model``, randomly initialised (see the module docstring for the sources)."""
    arch, entry, dim, ffn = ARCH[model]
    src = architecture_source()
    os.environ.setdefault("XFORMERS_DISABLED", "1")  # as torch-fidelity: the plain PyTorch attention
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*xFormers.*")
        if src and src != "package":
            repo = Path(src).expanduser()
            if not (repo / "hubconf.py").is_file():
                raise GanbenchError(f"{repo} (${ENV_REPO}) holds no hubconf.py; clone "
                                    f"https://github.com/facebookresearch/dinov2 there")
            try:
                net = torch.hub.load(str(repo), entry, source="local", pretrained=False)
            except Exception as e:  # noqa: BLE001
                raise GanbenchError(f"DINOv2 code in {repo} failed to build {entry}: {str(e).splitlines()[0]}"
                                    ) from None
        elif src == "package":
            from dinov2.models import vision_transformer as vits

            fn = getattr(vits, arch)
            accepted = inspect.signature(vits.DinoVisionTransformer.__init__).parameters
            kw = {k: v for k, v in HUB_ARGS.items() if k in accepted}
            net = fn(ffn_layer=ffn, **kw)
        else:
            raise GanbenchError(f"DINOv2 architecture code not found: clone https://github.com/facebookresearch/"
                                f"dinov2 and set ${ENV_REPO}=PATH, or put it in {hub_repo_dir()} (where "
                                f"torch-fidelity's torch.hub.load leaves it)")
    if getattr(net, "embed_dim", dim) != dim:
        raise GanbenchError(f"the DINOv2 code built a {net.embed_dim}-d {entry}, expected {dim}-d")
    return net


def weights_path(model: str) -> Path:
    """Locate (or download) a DINOv2 checkpoint; one-line GanbenchError naming where to put it when there is none."""
    name = file_name(model)
    explicit = os.environ.get(ENV_WEIGHTS)
    if explicit:
        p = Path(explicit).expanduser()
        if p.is_dir():
            p = p / name
        if not p.is_file():
            raise GanbenchError(f"DINOv2 weights {p} not found (${ENV_WEIGHTS}); download {url(model)}")
        return p
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    for d in (hub, cache_dir() / "weights"):
        if (d / name).is_file():
            return d / name
    target = hub / name
    if not offline():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url(model), str(target), hash_prefix=SHA256[model][:8], progress=False)
            return target
        except Exception:  # noqa: BLE001
            pass
    raise GanbenchError(f"{model} weights {name} not found in {hub} or {cache_dir() / 'weights'}"
                        f"{' (offline)' if offline() else ' and the download failed'}; download {url(model)} there, "
                        f"or set ${ENV_WEIGHTS}=PATH")


def load_weights(model: str, net: nn.Module, path: Path) -> None:
    """Verify the file's sha256 (unless explicitly allowed) and load it strictly (keys and shapes)."""
    if sha256_file(path) != SHA256[model] and os.environ.get("GANBENCH_UNVERIFIED_WEIGHTS") != "1":
        raise GanbenchError(f"{path} is not Meta's {file_name(model)} (sha256 is not {SHA256[model][:12]}...); get "
                            f"{url(model)}")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(sd, strict=True)
    except Exception as e:  # noqa: BLE001
        raise GanbenchError(f"bad DINOv2 weights file {path}: {str(e).splitlines()[0]}") from None


def wrap(model: str, backbone: nn.Module) -> nn.Module:
    """torch-fidelity's FeatureExtractorDinoV2 with ``backbone`` as its ``model``: its constructor without the
    ``torch.hub.load`` from GitHub, so its ``forward`` (resize, normalisation, backbone) is used unchanged."""
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.feature_extractor_dinov2 import (
        MODEL_METADATA,
        FeatureExtractorDinoV2,
    )

    if MODEL_METADATA.get(model) != ARCH[model][1]:
        raise GanbenchError(f"torch-fidelity does not know {model} as {ARCH[model][1]}")

    class _WithBackbone(FeatureExtractorDinoV2):
        def __init__(self) -> None:  # FeatureExtractorDinoV2.__init__ without its torch.hub.load
            FeatureExtractorBase.__init__(self, model, ["dinov2"])
            self.feature_extractor_internal_dtype = torch.float32
            self.model = backbone
            self.to(torch.float32)
            self.requires_grad_(False)
            self.eval()

    return _WithBackbone()


class _Dinov2Extractor(EmbeddingExtractor):
    family = "dinov2"
    preprocessing = ("uint8; grey replicated to RGB; torch-fidelity DINOv2 (TF1 bilinear to 224, ImageNet mean/std "
                     "(0.485, 0.456, 0.406) / (0.229, 0.224, 0.225)); CLS token after the final norm")

    @classmethod
    def cache_token(cls) -> str:
        return os.environ.get(ENV_WEIGHTS, "") + "|" + os.environ.get(ENV_REPO, "")

    def _build(self) -> tuple[Path, nn.Module]:
        path = weights_path(self.model)  # first: a missing file is the likelier problem, and names the place
        backbone = build_backbone(self.model)
        load_weights(self.model, backbone, path)
        return path, wrap(self.model, backbone)


@register_extractor
class Dinov2VitS14Extractor(_Dinov2Extractor):
    name = model = "dinov2-vit-s-14"
    description = "DINOv2 ViT-S/14 CLS embedding via torch-fidelity"
    layers = {"pool": 384}
    metric_names = embedding_metric_names("dinov2", "_s14")


@register_extractor
class Dinov2VitB14Extractor(_Dinov2Extractor):
    name = model = "dinov2-vit-b-14"
    description = "DINOv2 ViT-B/14 CLS embedding via torch-fidelity"
    layers = {"pool": 768}
    metric_names = embedding_metric_names("dinov2", "_b14")


@register_extractor
class Dinov2VitL14Extractor(_Dinov2Extractor):
    name = model = "dinov2-vit-l-14"
    description = "DINOv2 ViT-L/14 CLS embedding via torch-fidelity (FD_DINOv2 of Stein et al. 2023)"
    layers = {"pool": 1024}
    metric_names = embedding_metric_names("dinov2", "")


@register_extractor
class Dinov2VitG14Extractor(_Dinov2Extractor):
    name = model = "dinov2-vit-g-14"
    description = "DINOv2 ViT-G/14 CLS embedding via torch-fidelity"
    layers = {"pool": 1536}
    metric_names = embedding_metric_names("dinov2", "_g14")
