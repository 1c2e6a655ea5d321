"""CLIP and DINOv2 extractors (ganbench.metrics.clip / dinov2): weight lookup, sha256 refusal, one-line errors, and
the wiring (uint8 in, float32 out, grey -> RGB, feature dimension, batch-size independence) with randomly initialised
networks of the real shapes. No weights and no network are needed: the official files are never on a test machine.

CLIP's visual tower is torch-fidelity's own (``CLIPVisual``/``build_model``), so its wiring test uses the real
architecture. DINOv2's architecture is not in torch-fidelity (it comes from torch.hub): the always-run test wires a
stand-in through a local hub repository (the same ``torch.hub.load(..., source="local")`` path as a real checkout);
``test_dinov2_official_architecture`` runs the official code where it is available (``$GANBENCH_DINOV2_REPO``, the
torch hub cache, or an installed ``dinov2`` package) and is skipped elsewhere.
"""
from __future__ import annotations

import textwrap

import pytest
import torch

from ganbench.errors import GanbenchError
from ganbench.metrics import clip as CL
from ganbench.metrics import dinov2 as DN
from ganbench.metrics.features import FEATURES, clear_extractors, get_extractor


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    """Empty torch hub / ganbench caches / home, offline, no weights variables."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "ganbench"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    for v in (CL.ENV, DN.ENV_WEIGHTS, "GANBENCH_UNVERIFIED_WEIGHTS"):
        monkeypatch.delenv(v, raising=False)
    clear_extractors()
    yield
    clear_extractors()


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def _images(n=3, c=3, seed=0, size=32):
    return torch.randint(0, 256, (n, c, size, size), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.int64).to(torch.uint8)


def _check_wiring(ext, dim):
    x = _images(3)
    f = ext(x)["pool"]
    assert f.shape == (3, dim) and f.dtype == torch.float32 and f.device.type == "cpu"
    assert torch.isfinite(f).all() and f.std() > 0
    one = torch.cat([ext(x[i:i + 1])["pool"] for i in range(3)])  # batch-size independence
    torch.testing.assert_close(one, f, rtol=1e-4, atol=1e-4 * f.abs().max().item())
    grey = _images(2, c=1, seed=1)
    torch.testing.assert_close(ext(grey)["pool"], ext(grey.expand(-1, 3, -1, -1).contiguous())["pool"])
    with pytest.raises(ValueError):
        ext(x.float())
    assert ext.fd_layer == "pool" and ext.layers == {"pool": dim}


def test_registered_with_their_dimensions_and_metric_names():
    dims = {"clip-vit-b-32": 512, "clip-vit-b-16": 512, "clip-vit-l-14": 768, "dinov2-vit-s-14": 384,
            "dinov2-vit-b-14": 768, "dinov2-vit-l-14": 1024, "dinov2-vit-g-14": 1536}
    for name, d in dims.items():
        cls = FEATURES.get(name)
        assert cls.layers == {"pool": d} and "is" not in cls.metric_names
    assert FEATURES.get("clip-vit-b-32").metric_names["fd"] == "fd_clip"
    assert FEATURES.get("dinov2-vit-l-14").metric_names["fd"] == "fd_dinov2"
    assert FEATURES.get("dinov2-vit-s-14").metric_names["fd"] == "fd_dinov2_s14"
    # the pinned CLIP hashes are torch-fidelity's own
    from torch_fidelity.feature_extractor_clip import MODEL_METADATA
    assert all(MODEL_METADATA[m]["hash"] == h for m, h in CL.SHA256.items())


# ----------------------------------------------------------------------------------------------- CLIP

def _clip_state_dict(model="clip-vit-b-32", seed=0):
    from torch_fidelity.feature_extractor_clip import CLIPVisual

    torch.manual_seed(seed)
    embed, width, layers, patch, res = CL.SHAPES[model]
    sd = {k: v.half() for k, v in CLIPVisual(embed, res, layers, width, patch).state_dict().items()}
    sd["text_projection"] = torch.randn(embed, embed).half()  # build_model reads the embedding dim from it
    return sd


def test_clip_without_weights_is_a_one_line_error_naming_the_place(tmp_path):
    with pytest.raises(GanbenchError) as e:
        get_extractor("clip-vit-b-32")
    msg = _one_line(e)
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in msg and CL.url("clip-vit-b-32") in msg
    assert CL.ENV in msg


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("clip") / "random-vit-b-32.pt"
    torch.save(_clip_state_dict(), p)
    return p


def test_clip_refuses_a_file_that_is_not_openais(clip_file, monkeypatch):
    monkeypatch.setenv(CL.ENV, str(clip_file))
    with pytest.raises(GanbenchError, match="is not OpenAI's ViT-B-32") as e:
        get_extractor("clip-vit-b-32")
    _one_line(e)


def test_clip_wiring_with_a_random_network_of_the_real_shape(clip_file, monkeypatch, tmp_path):
    # found under torch-fidelity's name in the torch hub cache; loaded only with the explicit opt-out of the hash
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    target = hub / CL.file_names("clip-vit-b-32")[0]
    target.symlink_to(clip_file)
    assert CL.weights_path("clip-vit-b-32") == target
    monkeypatch.setenv("GANBENCH_UNVERIFIED_WEIGHTS", "1")
    ext = get_extractor("clip-vit-b-32")
    _check_wiring(ext, 512)
    assert ext.provenance()["sha256"] != CL.SHA256["clip-vit-b-32"]  # the unverified hash labels the numbers


def test_clip_weights_folder_and_wrong_architecture(clip_file, monkeypatch, tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    (d / "ViT-B-16.pt").symlink_to(clip_file)  # OpenAI clip's name of B/16, holding a B/32 tower
    monkeypatch.setenv(CL.ENV, str(d))
    monkeypatch.setenv("GANBENCH_UNVERIFIED_WEIGHTS", "1")
    assert CL.weights_path("clip-vit-b-16") == d / "ViT-B-16.pt"
    with pytest.raises(GanbenchError, match="not clip-vit-b-16's") as e:
        get_extractor("clip-vit-b-16")
    _one_line(e)
    with pytest.raises(GanbenchError, match="no clip-vit-l-14-.* or ViT-L-14.pt in"):
        CL.weights_path("clip-vit-l-14")


def test_clip_reads_torchscript_archives(tmp_path):
    # OpenAI's checkpoints are TorchScript archives, read as torch-fidelity does (torch.jit.load(...).state_dict())
    lin = torch.nn.Linear(3, 2)
    p = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(lin), str(p))
    sd = CL.load_state_dict(p)
    assert set(sd) == {"weight", "bias"} and torch.equal(sd["weight"], lin.weight.detach())
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(GanbenchError, match="bad CLIP weights file") as e:
        CL.load_state_dict(bad)
    _one_line(e)


# ----------------------------------------------------------------------------------------------- DINOv2

STUB_HUBCONF = textwrap.dedent('''
    dependencies = ["torch"]
    import torch
    from torch import nn

    CALLS = []

    class Stub(nn.Module):
        """A stand-in with DINOv2's interface: 14-px patches -> embed_dim, final norm, returns one vector."""
        def __init__(self, dim):
            super().__init__()
            self.embed_dim = dim
            self.patch_embed = nn.Conv2d(3, dim, 14, 14)
            self.norm = nn.LayerNorm(dim)
        def forward(self, x):
            return self.norm(self.patch_embed(x).flatten(2).mean(2))

    def _make(dim, pretrained, kw):
        CALLS.append(pretrained)
        assert pretrained is False, "ganbench must never let the hub download weights"
        return Stub(dim)

    def dinov2_vits14(pretrained=True, **kw): return _make(384, pretrained, kw)
    def dinov2_vitb14(pretrained=True, **kw): return _make(768, pretrained, kw)
    def dinov2_vitl14(pretrained=True, **kw): return _make(1024, pretrained, kw)
    def dinov2_vitg14(pretrained=True, **kw): return _make(1536, pretrained, kw)
''')


@pytest.fixture
def stub_repo(tmp_path, monkeypatch):
    repo = tmp_path / "dinov2-stub"
    repo.mkdir()
    (repo / "hubconf.py").write_text(STUB_HUBCONF)
    monkeypatch.setenv(DN.ENV_REPO, str(repo))
    return repo


def _stub_weights(tmp_path, dim=384, seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Module()
    net.patch_embed = torch.nn.Conv2d(3, dim, 14, 14)
    net.norm = torch.nn.LayerNorm(dim)
    with torch.no_grad():
        net.norm.weight.normal_()
    p = tmp_path / f"stub-{dim}.pth"
    torch.save(net.state_dict(), p)
    return p


def test_dinov2_without_weights_is_a_one_line_error_naming_the_place(tmp_path):
    with pytest.raises(GanbenchError) as e:
        get_extractor("dinov2-vit-s-14")
    msg = _one_line(e)
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in msg and "dinov2_vits14_pretrain.pth" in msg
    assert DN.url("dinov2-vit-s-14") in msg and DN.ENV_WEIGHTS in msg


def test_dinov2_without_architecture_code_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv(DN.ENV_REPO, raising=False)
    if DN.architecture_source():
        pytest.skip("a dinov2 package is importable here")
    monkeypatch.setenv(DN.ENV_WEIGHTS, str(_stub_weights(tmp_path)))
    with pytest.raises(GanbenchError, match="DINOv2 architecture code not found") as e:
        get_extractor("dinov2-vit-s-14")
    msg = _one_line(e)
    assert DN.ENV_REPO in msg and str(DN.hub_repo_dir()) in msg


def test_dinov2_refuses_unverified_files_and_wrong_keys(stub_repo, tmp_path, monkeypatch):
    monkeypatch.setenv(DN.ENV_WEIGHTS, str(_stub_weights(tmp_path)))
    with pytest.raises(GanbenchError, match="is not Meta's dinov2_vits14_pretrain.pth") as e:
        get_extractor("dinov2-vit-s-14")
    _one_line(e)
    monkeypatch.setenv("GANBENCH_UNVERIFIED_WEIGHTS", "1")
    monkeypatch.setenv(DN.ENV_WEIGHTS, str(_stub_weights(tmp_path, dim=768)))  # a B-sized file for S
    clear_extractors()
    with pytest.raises(GanbenchError, match="bad DINOv2 weights file") as e:
        get_extractor("dinov2-vit-s-14")
    _one_line(e)


def test_dinov2_wiring_through_a_local_hub_repository(stub_repo, tmp_path, monkeypatch):
    # weights found in the torch hub cache under Meta's name (where torch hub puts them)
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "dinov2_vits14_pretrain.pth").symlink_to(_stub_weights(tmp_path))
    monkeypatch.setenv("GANBENCH_UNVERIFIED_WEIGHTS", "1")
    ext = get_extractor("dinov2-vit-s-14")
    assert ext.weights_file == hub / "dinov2_vits14_pretrain.pth"
    _check_wiring(ext, 384)
    # torch-fidelity's forward: TF1 bilinear to 224, ImageNet normalisation, then the backbone
    from torch_fidelity.interpolate_compat_tensorflow import (
        interpolate_bilinear_2d_like_tensorflow1x,
    )
    x = _images(2)
    y = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(224, 224), align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    expect = ext.net.model((y - mean) / std)
    torch.testing.assert_close(ext(x)["pool"], expect, rtol=1e-5, atol=1e-5)


def test_dinov2_hub_cache_is_a_code_source(tmp_path, monkeypatch):
    # torch-fidelity's torch.hub.load leaves the repository in $TORCH_HOME/hub/facebookresearch_dinov2_main
    monkeypatch.delenv(DN.ENV_REPO, raising=False)
    d = DN.hub_repo_dir()
    assert d == tmp_path / "torch" / "hub" / "facebookresearch_dinov2_main"
    d.mkdir(parents=True)
    (d / "hubconf.py").write_text(STUB_HUBCONF)
    assert DN.architecture_source() == str(d)
    assert DN.build_backbone("dinov2-vit-g-14").embed_dim == 1536


@pytest.mark.skipif(not DN.architecture_source(), reason="the official DINOv2 code is not available here "
                    "($GANBENCH_DINOV2_REPO, the torch hub cache or a dinov2 package)")
def test_dinov2_official_architecture(tmp_path, monkeypatch):
    src = DN.architecture_source()  # evaluated before the hermetic TORCH_HOME; pin it
    if src != "package":
        monkeypatch.setenv(DN.ENV_REPO, src)
    torch.manual_seed(0)
    net = DN.build_backbone("dinov2-vit-s-14")
    assert net.embed_dim == 384 and net.patch_embed.patch_size == (14, 14)
    p = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(net.state_dict(), p)
    monkeypatch.setenv(DN.ENV_WEIGHTS, str(p))
    monkeypatch.setenv("GANBENCH_UNVERIFIED_WEIGHTS", "1")
    _check_wiring(get_extractor("dinov2-vit-s-14"), 384)


def test_list_shows_them_and_evaluating_without_weights_is_one_line(cli, tmp_path):
    """Issue #34's acceptance: `ganbench list extractors` names DINOv2 and CLIP; an evaluation with one whose weights
    are missing stops with one `ganbench: error:` line (exit 2), naming where to put them."""
    from conftest import ROOT, one_line_error

    out = cli("list", "extractors").stdout
    assert "dinov2-vit-l-14" in out and "clip-vit-b-32" in out
    env = {"TORCH_HOME": str(tmp_path / "torch"), "GANBENCH_OFFLINE": "1"}
    msg = one_line_error(cli("fid", "fashion-mnist:train", "fashion-mnist:test", "--extractor", "dinov2-vit-l-14",
                             "--n", "100", env=env))
    assert "dinov2_vitl14_pretrain.pth" in msg and "GANBENCH_DINOV2_WEIGHTS" in msg
    msg = one_line_error(cli("eval", "--generator", str(ROOT / "examples" / "tiny_generator.py") + ":make_generator",
                             "--z-dim", "64", "--metrics", "fd_clip_10k_train", env=env))
    assert "clip" in msg.lower() and "not found" in msg
