"""The fused frozen conv + ReLU6 (oneDNN post-op) of the Projected GAN's feature network: the same outputs and
input gradients as the plain conv + ReLU6, through the whole folded EfficientNet; FLOPs counted as the plain net's."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ganbench.nets import efficientnet, frozen_conv
from ganbench.nets.frozen_conv import FrozenConvReLU6

pytestmark = pytest.mark.skipif(not frozen_conv.FUSED, reason="no oneDNN in this torch build")


def _plain(x, conv, pad):
    return F.hardtanh(conv(F.pad(x, pad)), 0.0, 6.0)


@pytest.mark.parametrize("k,stride,groups,pad", [(3, 1, 8, (1, 1, 1, 1)), (3, 2, 8, (0, 1, 0, 1)),
                                                  (5, 2, 8, (1, 2, 1, 2)), (1, 1, 1, (0, 0, 0, 0)),
                                                  (3, 2, 1, (0, 1, 0, 1))])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_conv_relu6_equals_the_plain_pair(k, stride, groups, pad, channels_last):
    gen = torch.Generator().manual_seed(k * 10 + stride)
    conv = torch.nn.Conv2d(8, 8 if groups > 1 else 16, k, stride, groups=groups, bias=True).requires_grad_(False)
    with torch.no_grad():  # outputs across the whole ReLU6 range: both kinks are hit
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 2)
    fused = FrozenConvReLU6(conv, pad)
    assert (fused.pad is None) == (pad[0] == pad[1] and pad[2] == pad[3])
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(4, 8, 12, 12, generator=gen).contiguous(memory_format=fmt).requires_grad_()
    ref, out = _plain(x, conv, pad), fused(x)
    assert ((ref > 0) & (ref < 6)).any() and (ref == 6).any() and (ref == 0).any()
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
    w = torch.randn(ref.shape, generator=gen)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    (g,) = torch.autograd.grad((out * w).sum(), x)
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), ref, rtol=1e-6, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast: the plain pair, in bf16
        assert fused(x).dtype == torch.bfloat16


def test_fused_backbone_is_the_folded_one_and_counts_the_same_flops():
    """The whole folded EfficientNet-Lite0 at 96 px, fused or not: levels and input gradients equal to float
    tolerance (bit for bit here), the same state-dict keys, the same FLOPs counted; a missing fold and a second fuse
    are refused."""
    folded = efficientnet.fold_batchnorm(efficientnet.build("lite0", True, image_size=96))
    fused = efficientnet.fuse_relu6(copy.deepcopy(folded))
    assert sorted(fused.state_dict()) == sorted(folded.state_dict())
    assert sum(isinstance(m, FrozenConvReLU6) for m in fused.modules()) == 1 + 2 * len(fused._blocks) - 1
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(2, 3, 96, 96, generator=gen) * 2 - 1).contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    ref, out = efficientnet.stages(folded, x), efficientnet.stages(fused, x)
    w = [torch.randn(t.shape, generator=gen) for t in ref]
    (g_ref,) = torch.autograd.grad(sum((a * b).sum() for a, b in zip(ref, w)), x)
    (g,) = torch.autograd.grad(sum((a * b).sum() for a, b in zip(out, w)), x)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-5)

    def flops(net):
        with FlopCounterMode(display=False) as c:
            efficientnet.stages(net, x.detach())
        return c.get_total_flops()
    assert flops(fused) == flops(folded) > 0
    with pytest.raises(ValueError, match="folded first"):
        efficientnet.fuse_relu6(efficientnet.build("lite0", True, image_size=96))
    with pytest.raises(ValueError, match="unfused"):  # a second fuse would wrap the fused convs
        efficientnet.fuse_relu6(fused)
