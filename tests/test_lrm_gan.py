"""LRM GAN specifics: the Long-Range Module's maths, meta-data network (frozen; VGG-16 lookup), variants, colour
consistency. Generic interface checks live in test_models.py."""
from __future__ import annotations

import torch
import torch.nn.functional as F
import pytest

from ganbench.errors import GanbenchError
from ganbench.models._lrm import ChannelLRM, SpatialLRM, color_consistency, color_stats
from ganbench.models._lrm_meta import MetaNet
from ganbench.images import ImageSpec
from ganbench.models.base import StepInfo, create_model
from ganbench.models.lrm_gan import LRMGAN
from ganbench.nets import vgg



@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These small ops run fastest on one thread; restored afterwards (a module-level call leaked into every test)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ---- Long-Range Module --------------------------------------------------------------------------------------------
def test_spatial_lrm_shapes():
    m = SpatialLRM(16, 8)
    h = torch.randn(3, 16, 8, 8)
    assert m.attention(h).shape == (3, 64, 64)
    assert m.relation_weights(h).shape == (3, 64, 64)
    assert m.w.shape == (64, 1)
    assert m(h).shape == h.shape
    with pytest.raises(ValueError):
        m(torch.randn(1, 16, 4, 4))  # w has one entry per pixel of the size it was built for


def test_channel_lrm_shapes():
    m = ChannelLRM(6)
    h = torch.randn(2, 6, 5, 5)
    assert m.attention(h).shape == (2, 6, 6)
    assert m.relation_weights(h).shape == (2, 6, 6)
    assert m.w.shape == (6, 1)
    assert m(h).shape == h.shape


def test_lrm_starts_as_identity_and_gamma_mixes_in_the_output():
    torch.manual_seed(0)
    m = SpatialLRM(8, 4)
    h = torch.randn(2, 8, 4, 4)
    assert torch.equal(m(h), h)  # gamma = 0 at init
    with torch.no_grad():
        m.gamma.fill_(1.0)
    assert not torch.allclose(m(h), h)


def test_spatial_relation_weights_negative_where_w_negative_hand_example():
    torch.manual_seed(0)
    m = SpatialLRM(2, 2)  # N = 4 pixels
    w = torch.tensor([1.0, -1.0, 2.0, -0.5])
    with torch.no_grad():
        m.w.copy_(w[:, None])
        m.gamma.fill_(1.0)
    h = torch.randn(1, 2, 2, 2)
    alpha = m.attention(h)[0]
    wn = m.relation_weights(h)[0]
    # softmax attention: every weight positive, rows sum to one
    assert (alpha > 0).all()
    assert torch.allclose(alpha.sum(-1), torch.ones(4))
    # relation-aware weights: w_n[i, j] = w_i * alpha[j, i], negative exactly in the rows of negative w_i
    assert torch.allclose(wn, w[:, None] * alpha.T)
    assert ((wn < 0) == (w < 0)[:, None].expand(4, 4)).all()
    assert (wn[1] < 0).all() and (wn[3] < 0).all() and (wn[0] > 0).all() and (wn[2] > 0).all()
    # output o_j = sum_i alpha[j, i] w_i h_i, written out by hand
    v = h[0].flatten(1)  # C x N
    o = torch.stack([sum(alpha[j, i] * w[i] * v[:, i] for i in range(4)) for j in range(4)], dim=1)
    assert torch.allclose(m(h)[0].flatten(1), v + o, atol=1e-6)


def test_channel_relation_weights_negative_where_w_negative():
    torch.manual_seed(0)
    m = ChannelLRM(3)
    w = torch.tensor([-1.0, 0.5, 2.0])
    with torch.no_grad():
        m.w.copy_(w[:, None])
        m.gamma.fill_(1.0)
    h = torch.randn(1, 3, 3, 3)
    alpha, wn = m.attention(h)[0], m.relation_weights(h)[0]
    assert (alpha > 0).all()
    assert ((wn < 0) == (w < 0)[:, None].expand(3, 3)).all()
    v = h[0].flatten(1)
    o = torch.stack([sum(alpha[j, i] * w[i] * v[i] for i in range(3)) for j in range(3)])
    assert torch.allclose(m(h)[0].flatten(1), v + o, atol=1e-6)


# ---- colour consistency -----------------------------------------------------------------------------------------
def test_color_consistency_zero_for_identical_statistics():
    torch.manual_seed(0)
    lo = torch.rand(4, 3, 16, 16) * 2 - 1
    hi = F.interpolate(lo, scale_factor=2, mode="nearest")  # same pixels, each four times: same mean and covariance
    assert color_consistency(hi, lo, 50.0).item() == pytest.approx(0.0, abs=1e-6)
    assert color_consistency(hi, lo, 50.0, downsample=True).item() == pytest.approx(0.0, abs=1e-6)
    assert color_consistency(hi.flip(-1), lo, 50.0).item() == pytest.approx(0.0, abs=1e-6)  # position-free stats
    assert color_consistency(hi * 0.5 + 0.2, lo, 50.0).item() > 1e-3


def test_color_stats_and_lower_stage_detached():
    x = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]], [[2.0, 0.0], [2.0, 0.0]]]])  # 1 x 2 x 2 x 2
    mu, cov = color_stats(x)
    assert torch.allclose(mu, torch.tensor([[0.0, 1.0]]))
    assert torch.allclose(cov, torch.tensor([[[1.0, 1.0], [1.0, 1.0]]]))  # 1/N normalised, channels correlated
    lo = torch.rand(2, 3, 8, 8, requires_grad=True)
    hi = torch.rand(2, 3, 16, 16, requires_grad=True)
    color_consistency(hi, lo, 1.0).backward()
    assert lo.grad is None and hi.grad is not None


# ---- meta-data network --------------------------------------------------------------------------------------------
def _model(variant: str = "default", channels: int = 1, **over) -> LRMGAN:
    return create_model("lrm_gan", "tiny", variant, ImageSpec(channels, 32), overrides=over or None)


def _step(model: LRMGAN, n: int = 4) -> None:
    model.train()
    real = torch.rand(n, model.img.channels, 32, 32) * 2 - 1
    opt_d = torch.optim.Adam(model.d_parameters(), 1e-3)
    opt_g = torch.optim.Adam(model.g_parameters(), 1e-3)
    loss, logs = model.d_loss(real, None, StepInfo())
    opt_d.zero_grad(), loss.backward(), opt_d.step()
    assert torch.isfinite(loss) and {"loss_d0", "loss_d1"} <= logs.keys()
    loss, logs = model.g_loss(real, None, StepInfo())
    opt_g.zero_grad(), loss.backward(), opt_g.step()
    assert torch.isfinite(loss)


def test_meta_network_frozen_and_unchanged_by_a_step():
    torch.manual_seed(0)
    m = _model()
    net = m.meta_net
    assert net is not None and not net.training
    params = list(net.parameters())
    assert params and not any(p.requires_grad for p in params)
    trainable = {id(p) for p in m.g_parameters() + m.d_parameters()}
    assert not any(id(p) in trainable for p in params)
    before = {k: v.clone() for k, v in net.state_dict().items()}  # weights and BN running statistics
    _step(m)
    assert not net.training
    assert all(p.grad is None for p in params)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(k.startswith("meta_net") for k in m.state_dict())  # not carried in checkpoints
    assert m.param_counts()["params_g_frozen"] == sum(p.numel() for p in params)


def test_meta_data_reaches_the_generator_and_sampling_draws_real_images():
    torch.manual_seed(0)
    m = _model().eval()
    z = torch.randn(2, m.cfg.z_dim)
    a = m.G(z, None, m.meta_net(torch.rand(2, 1, 32, 32) * 2 - 1))
    b = m.G(z, None, m.meta_net(-torch.ones(2, 1, 32, 32)))
    assert not torch.allclose(a, b)
    with pytest.raises(GanbenchError, match="bind_conditioning"):
        m.sample(2, torch.Generator().manual_seed(0))
    m.bind_conditioning(torch.randint(0, 256, (50, 1, 32, 32), dtype=torch.uint8))
    s1 = m.sample(3, torch.Generator().manual_seed(1))
    s2 = m.sample(3, torch.Generator().manual_seed(1))
    assert s1.shape == (3, 1, 32, 32) and torch.equal(s1, s2)


def test_vgg16_missing_weights_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("GANBENCH_VGG16_WEIGHTS", raising=False)
    with pytest.raises(GanbenchError) as e:
        vgg.build()
    msg = str(e.value)
    assert "\n" not in msg and vgg.FILENAME in msg and str(tmp_path / "hub" / "checkpoints") in msg
    assert vgg.URL in msg and "GANBENCH_VGG16_WEIGHTS" in msg
    with pytest.raises(GanbenchError, match=vgg.FILENAME):
        _model(meta_net="vgg16")
    monkeypatch.setenv("GANBENCH_VGG16_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(GanbenchError, match="nope.pth"):
        vgg.build()


def _fake_vgg16_state(path) -> dict[str, torch.Tensor]:
    """A random-init torchvision vgg16 state dict; the unused classifier stored as broadcast zeros (small file)."""
    from torchvision.models import vgg16

    with torch.device("meta"):
        shapes = {k: v.shape for k, v in vgg16(weights=None).state_dict().items()}
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) * 0.05 if k.startswith("features.") else torch.zeros(()).expand(s)
             for k, s in shapes.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def test_vgg16_loads_from_torch_home_and_explicit_path(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("GANBENCH_VGG16_WEIGHTS", raising=False)
    state = _fake_vgg16_state(tmp_path / "hub" / "checkpoints" / vgg.FILENAME)
    net = vgg.build()
    assert torch.equal(net[28].weight, state["features.28.weight"])  # conv5_3
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    meta = MetaNet("vgg16", size=64, stride=16)
    assert meta.dim == 16  # 64 / 16 = 4 -> 4 x 4 map
    assert meta(torch.rand(2, 1, 32, 32) * 2 - 1).shape == (2, 16)
    m = _model(meta_net="vgg16", meta_size=64)
    assert m.param_counts()["params_g_frozen"] == 14_714_688  # VGG-16 conv trunk
    # explicit path (config field) and a broken file
    other = tmp_path / "elsewhere" / "v.pth"
    other.parent.mkdir()
    (tmp_path / "hub" / "checkpoints" / vgg.FILENAME).rename(other)
    assert torch.equal(vgg.build(weights=other)[0].weight, state["features.0.weight"])
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(GanbenchError, match="bad VGG-16 weights file") as e:
        vgg.build(weights=bad)
    assert "\n" not in str(e.value)


# ---- model, variants --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", list(LRMGAN.variants))
def test_variants_construct_and_step(variant):
    torch.manual_seed(0)
    m = _model(variant, channels=3)
    assert (m.meta_net is None) == (variant == "no_meta")
    before = [p.detach().clone() for p in m.g_parameters()]
    _step(m)
    assert any(not torch.equal(b, p) for b, p in zip(before, m.g_parameters()))
    z = torch.randn(2, m.cfg.z_dim)
    outs = m.G.stages(z)
    assert [o.shape[-1] for o in outs] == [16, 32] and outs[-1].shape == (2, 3, 32, 32)
    assert m.D(outs[0]).shape == (2,) and m.D(outs[1]).shape == (2,)


def test_variants_differ_where_the_paper_says():
    kinds = {v: {type(b).__name__ for b in _model(v).G.attn[0].modules()} for v in LRMGAN.variants}
    assert {"SpatialLRM", "ChannelLRM"} <= kinds["default"] and {"SpatialLRM", "ChannelLRM"} <= kinds["no_meta"]
    assert "ResBlock" in kinds["residual"] and "SpatialLRM" not in kinds["residual"]
    assert "SelfAttention" in kinds["sa"] and "SpatialLRM" not in kinds["sa"]
    assert kinds["no_lrm"] == {"Identity"}


def test_bad_config_is_a_one_line_error():
    with pytest.raises(GanbenchError, match="attn"):
        _model(attn="lrn")
    with pytest.raises(GanbenchError, match="meta_net"):
        _model(meta_net="vgg19")
    with pytest.raises(GanbenchError, match="r1_gamma"):
        _model(r1_gamma=1.0)
