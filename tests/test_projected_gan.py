"""Projected GAN specifics: frozen pretrained features, frozen random projections, per-level 4x4 logits, counts."""
from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_sample_image

from ganbench.errors import GanbenchError
from ganbench.models import ImageSpec, StepInfo, create_model, resolve_config
from ganbench.models._projector import ProjectedDiscriminator
from ganbench.models.projected_gan import Generator, ProjectedGAN
from ganbench.nets import efficientnet

CCM_PARAMS, CSM_PARAMS = 200_128, 176_640  # official cout=64, expand=True
BACKBONE_PARAMS = {"lite0": 2_958_848, "lite1": 3_723_520}  # stem + blocks; paper Table 2: 2.96M / 3.72M
OFFICIAL_MINI_DS = [2_829_120, 2_763_392, 2_631_936, 2_106_880]  # pg_modules/discriminator.py at 224 px input


def _tiny(variant: str = "default", channels: int = 1, **overrides):
    torch.manual_seed(0)
    return create_model("projected_gan", "tiny", variant, ImageSpec(channels, 32), {"batch_size": 4, **overrides})


def _discriminator(preset: str, variant: str) -> ProjectedDiscriminator:
    """D alone (the paper preset's 75M-parameter G is not needed to check D)."""
    c = resolve_config("projected_gan", preset, variant)
    return ProjectedDiscriminator(3, 32, c.backbone, c.pretrained, c.feat_res, c.projection, c.cout, c.num_discs,
                                  c.d_width)


def _step(model) -> None:
    """One trainer-like iteration: D step, then G step with D's trainable weights switched off."""
    c = model.cfg
    opt_d = torch.optim.Adam(model.d_parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2))
    opt_g = torch.optim.Adam(model.g_parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2))
    model.train()
    real = torch.rand(c.batch_size, model.img.channels, 32, 32) * 2 - 1
    loss_d, _ = model.d_loss(real, None, StepInfo())
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    for p in model.d_parameters():
        p.requires_grad_(False)
    loss_g, _ = model.g_loss(real, None, StepInfo())
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    for p in model.d_parameters():
        p.requires_grad_(True)
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)


def _classify(net, name: str, size: int) -> list[int]:
    img = torch.from_numpy(load_sample_image(name).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    h, w = img.shape[-2:]
    s = min(h, w)  # centre crop to a square
    img = img[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    with torch.no_grad():
        _, logits = efficientnet.pooled_and_logits(net, efficientnet.preprocess(img, size))
    return logits[0].topk(5).indices.tolist()


@pytest.mark.parametrize("name", ["lite0", "lite1"])
def test_pretrained_weights_classify_imagenet_and_reach_the_model(name):
    net = efficientnet.build(name, pretrained=True)
    china = _classify(net, "china.jpg", efficientnet.NATIVE_SIZE[name])
    flower = _classify(net, "flower.jpg", efficientnet.NATIVE_SIZE[name])
    assert china[0] in {442, 663, 698, 832}, china  # bell cote, monastery, palace, stupa
    assert flower[0] == 985, flower  # daisy
    # the model's frozen trunk holds exactly these weights (head layers dropped, BatchNorm folded into the convs)
    model = _tiny(backbone=name)
    trunk = model.D.projector.net.state_dict()
    full = efficientnet.fold_batchnorm(net).state_dict()
    assert not any(k.startswith(("_conv_head", "_bn1", "_fc")) for k in trunk)
    assert all(torch.equal(v, full[k]) for k, v in trunk.items())


def test_feature_network_and_projections_frozen_through_a_training_step():
    model = _tiny()
    proj = model.D.projector
    before = {k: v.clone() for k, v in proj.state_dict().items()}  # backbone (BatchNorm folded), CCM/CSM
    d_before = [p.clone() for p in model.d_parameters()]
    g_before = [p.clone() for p in model.g_parameters()]
    _step(model)
    assert not proj.training and not any(m.training for m in proj.modules())
    assert all(not p.requires_grad and p.grad is None for p in proj.parameters())
    after = proj.state_dict()
    changed = [k for k, v in before.items() if not torch.equal(v, after[k])]
    assert not changed, changed[:5]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in proj.modules())  # no statistics left to drift
    assert {id(p) for p in model.d_parameters()}.isdisjoint(id(p) for p in proj.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, model.d_parameters()))  # the mini-Ds did train
    assert any(not torch.equal(a, b) for a, b in zip(g_before, model.g_parameters()))


@pytest.mark.parametrize("preset,cout", [("tiny", 16), ("paper", 64)])
@pytest.mark.parametrize("variant,channels", [("default", [1, 1, 2, 4]), ("no_csm", [1, 2, 4, 8]),
                                              ("no_ccm", [24, 40, 112, 320])])
def test_each_level_gives_4x4_logits(preset, cout, variant, channels):
    """CSM widths cout x (1, 1, 2, 4), CCM cout x (1, 2, 4, 8), raw Lite1 levels 24/40/112/320."""
    assert resolve_config("projected_gan", preset).cout == cout
    if variant != "no_ccm":
        channels = [cout * k for k in channels]
    torch.manual_seed(0)
    D = _discriminator(preset, variant).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        feats = D.projector(x)
        logits = D.logits(x)
        flat = D(x)
    res = D.projector.feat_res
    scale = 2 if variant == "default" else 1  # CSM doubles each level's resolution
    assert [tuple(f.shape[1:]) for f in feats] == [(c, scale * res // s, scale * res // s)
                                                   for c, s in zip(channels, (4, 8, 16, 32))]
    assert [tuple(t.shape) for t in logits] == [(2, 1, 4, 4)] * 4
    assert flat.shape == (2, 64)


def test_paper_preset_counts_match_the_official_code():
    torch.manual_seed(0)
    counts = create_model("projected_gan", "paper", "default", ImageSpec(3, 32)).param_counts()
    assert counts["params_d"] == sum(OFFICIAL_MINI_DS) == ProjectedGAN.paper.params_d
    assert counts["params_d_frozen"] == BACKBONE_PARAMS["lite1"] + CCM_PARAMS + CSM_PARAMS
    assert counts["params_g_frozen"] == 0
    D = _discriminator("paper", "lite0")
    assert [sum(p.numel() for p in d.parameters()) for d in D.discs] == OFFICIAL_MINI_DS
    assert D.projector.frozen_params == BACKBONE_PARAMS["lite0"] + CCM_PARAMS + CSM_PARAMS


# one variant per distinct config (discs_4 and lite1 equal default)
_DISTINCT = {resolve_config("projected_gan", "tiny", v): v
             for v in sorted(ProjectedGAN.variants, reverse=True)}


@pytest.mark.parametrize("variant", sorted(_DISTINCT.values()))
def test_variants_construct_and_step(variant):
    model = _tiny(variant)
    _step(model)
    with torch.no_grad():
        out = model.D(model.generate(model.sample_z(2)))
    k = model.cfg.num_discs
    expected = 25 if variant == "no_pretrained" else 16 * k  # pixel D: one 5x5 map; otherwise 4x4 per level
    assert out.shape == (2, expected)


def test_random_features_control_is_untrained_but_not_degenerate():
    pre, rnd = _tiny(), _tiny("random_features")
    assert not torch.equal(pre.D.projector.net._conv_stem.weight, rnd.D.projector.net._conv_stem.weight)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        levels = efficientnet.stages(rnd.D.projector.net, efficientnet.preprocess(x, rnd.cfg.feat_res))
    assert all(f.std() > 0.1 for f in levels)  # PyTorch's default init would give ~1e-5 at the deep levels


def test_generator_normalises_z_and_has_no_tanh():
    model = _tiny(channels=3)
    z = torch.randn(8, model.cfg.z_dim)
    with torch.no_grad():
        model.G.train()(z)  # one power iteration / BN update: sane eval scale
        model.eval()
        a, b = model.G(z), model.G(5 * z)
    assert (a - b).abs().max() <= 1e-4 * a.abs().max()  # unit second moment on z
    assert not any(isinstance(m, torch.nn.Tanh) for m in model.G.modules())
    assert model.sample(3, torch.Generator().manual_seed(0)).abs().max() <= 1


def test_generator_blocks_reproduce_the_official_fastgan_lite_count():
    # at 256x256 the same code builds the official synthesis (SEs 4->64, 8->128, 16->256): fastgan_lite, ngf 64
    assert sum(p.numel() for p in Generator(256, 64, 3, 256).parameters()) == 24_037_603


@pytest.mark.parametrize("overrides", [{"feat_res": 100}, {"backbone": "lite9"}, {"num_discs": 5},
                                       {"projection": "cross"}])
def test_bad_config_is_a_one_line_error(overrides):
    with pytest.raises(GanbenchError):
        create_model("projected_gan", "tiny", "default", ImageSpec(1, 32), overrides)


@pytest.mark.parametrize("pretrained", [True, False])
def test_folded_batchnorm_is_the_same_frozen_network(pretrained):
    """The projector folds the frozen BatchNorms into the convs: the same levels and input gradients as the plain net.

    Levels agree to 1e-5 (max error over max value; float32's own error against float64 is ~2e-6). Input gradients
    are compared in L2 (<= 5e-3): at ReLU6's kinks a rounding flip moves single elements, and the unfolded float32
    net shows the same ~1e-3 against float64 on some inputs. A planted wrong BatchNorm eps gives 7e-3 / 9e-2."""
    plain = efficientnet.build("lite0", pretrained, image_size=96)
    folded = efficientnet.fold_batchnorm(efficientnet.build("lite0", pretrained, image_size=96))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 3, 96, 96, generator=gen) * 2 - 1).requires_grad_()  # the Lite input range
    ref, out = efficientnet.stages(plain, x), efficientnet.stages(folded, x)
    w = [torch.randn(t.shape, generator=gen) for t in ref]  # a random direction: every output element counts
    (g_ref,) = torch.autograd.grad(sum((a * b).sum() for a, b in zip(ref, w)), x)
    (g,) = torch.autograd.grad(sum((a * b).sum() for a, b in zip(out, w)), x)
    for a, b in zip(out, ref):
        assert (a - b).abs().max() <= 1e-5 * b.abs().max()
    assert (g - g_ref).norm() <= 5e-3 * g_ref.norm()
    with pytest.raises(ValueError, match="eval mode"):
        efficientnet.fold_batchnorm(efficientnet.build("lite0", pretrained).train())
