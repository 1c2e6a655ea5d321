"""Building blocks of LRM GAN (Li & Lukasiewicz, arXiv 2209.03793): the Long-Range Module in the spatial and
channel directions, the StackGAN++-style GLU blocks of the author's code lineage, and colour consistency.

Long-Range Module as the paper describes it (Figs. 5 and 6). Open choices are marked [choice]:
* spatial: h in R^{C x N}, N = H*W. Q, K from 3x3 convs (C -> C/8 channels [choice, SAGAN's ratio]; no bias
  [choice]); V = h with no projection. alpha = softmax_row(Q^T K) in R^{N x N} (alpha_ji: how much output j attends
  to input i), unscaled as in SAGAN [choice]. A learnable w in R^{N x 1} ~ N(0, w_std^2) (w_std = 1 [choice]) is
  repeated along columns to w' = w 1^T (w'_ij = w_i [choice: the natural `repeat` of a column]). Relation-aware
  weights w_n = w' (.) alpha^T (element-wise [choice; a matrix product would not keep the sign structure]), so
  w_n[i, j] = w_i * alpha_ji has the sign of w_i: input i can push output j in the negative direction, which softmax
  attention (all weights > 0) cannot. Output o = V w_n, i.e. o_j = sum_i alpha_ji w_i h_i.
* channel: the same with Q, K from 3x3 convs C -> C, alpha = softmax_row(Q K^T) in R^{C x C}, w in R^{C x 1};
  o = w_n^T V, i.e. o_j = sum_i alpha_ji w_i h_i over channels.
* residual [choice; the seed shows none, the card lists it as unknown]: y = h + gamma * o with a learnable scalar
  gamma = 0 at init, as SAGAN (the block the paper compares against), so an inserted LRM starts as the identity.
* the full module (``LRMBlock``) is the spatial then the channel LRM in sequence [choice; the paper has both].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attention import attention
from ..nets.resample import adaptive_avg_pool
from .layers import SelfAttention


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1, bias=False)  # no bias before BN (StackGAN++/AttnGAN lineage)


class GLU(nn.Module):
    """Gated linear unit over channels: a * sigmoid(b) for the two channel halves (StackGAN++)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, dim=1)


def up_block(cin: int, cout: int) -> nn.Sequential:
    """Nearest x2, 3x3 conv to 2*cout, BN, GLU (StackGAN++ ``upBlock``)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(cin, 2 * cout),
                         nn.BatchNorm2d(2 * cout), GLU())


def joint_block(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv to 2*cout, BN, GLU (StackGAN++ ``Block3x3_relu``; joins features with the tiled input code)."""
    return nn.Sequential(conv3x3(cin, 2 * cout), nn.BatchNorm2d(2 * cout), GLU())


class ResBlock(nn.Module):
    """StackGAN++ residual block: conv-BN-GLU-conv-BN plus identity."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3x3(ch, 2 * ch), nn.BatchNorm2d(2 * ch), GLU(),
                                  conv3x3(ch, ch), nn.BatchNorm2d(ch))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SpatialLRM(nn.Module):
    """Long-Range Module, spatial direction, for a fixed ``size`` x ``size`` feature map (w has one entry per pixel)."""

    def __init__(self, ch: int, size: int, w_std: float = 1.0) -> None:
        super().__init__()
        self.q = conv3x3(ch, max(ch // 8, 1))
        self.k = conv3x3(ch, max(ch // 8, 1))
        self.w = nn.Parameter(torch.randn(size * size, 1) * w_std)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.size = size

    def attention(self, h: Tensor) -> Tensor:
        """alpha = softmax(Q^T K): (B, N, N), row j = output position j's distribution over inputs i."""
        q, k = self.q(h).flatten(2), self.k(h).flatten(2)  # B, C', N
        return torch.softmax(q.transpose(1, 2) @ k, dim=-1)

    def relation_weights(self, h: Tensor) -> Tensor:
        """w_n = (w 1^T) (.) alpha^T: (B, N, N), w_n[b, i, j] = w_i * alpha[b, j, i]; sign of w_i."""
        return self.w * self.attention(h).transpose(1, 2)  # (N, 1) broadcasts as the column repeat

    def forward(self, h: Tensor) -> Tensor:
        b, c, hh, ww = h.shape
        if hh != self.size or ww != self.size:
            raise ValueError(f"SpatialLRM built for {self.size}x{self.size}, got {hh}x{ww}")
        # V w_n = sum_i alpha_ji w_i h_i: attention with values w_i h_i (SDPA, unscaled; no N x N kept)
        q, k = self.q(h).flatten(2).transpose(1, 2), self.k(h).flatten(2).transpose(1, 2)  # B, N, C'
        v = h.flatten(2).transpose(1, 2) * self.w  # B, N, C
        o = attention(q[:, None], k[:, None], v[:, None], scale=1.0)[:, 0].transpose(1, 2)  # B, C, N
        return h + self.gamma * o.view(b, c, hh, ww)


class ChannelLRM(nn.Module):
    """Long-Range Module, channel direction (C x 1 learnable weight, C x C attention)."""

    def __init__(self, ch: int, w_std: float = 1.0) -> None:
        super().__init__()
        self.q = conv3x3(ch, ch)
        self.k = conv3x3(ch, ch)
        self.w = nn.Parameter(torch.randn(ch, 1) * w_std)
        self.gamma = nn.Parameter(torch.zeros(()))

    def attention(self, h: Tensor) -> Tensor:
        """alpha = softmax(Q K^T): (B, C, C), row j = output channel j's distribution over input channels i."""
        q, k = self.q(h).flatten(2), self.k(h).flatten(2)  # B, C, N
        return torch.softmax(q @ k.transpose(1, 2), dim=-1)

    def relation_weights(self, h: Tensor) -> Tensor:
        """w_n = (w 1^T) (.) alpha^T: (B, C, C), w_n[b, i, j] = w_i * alpha[b, j, i]."""
        return self.w * self.attention(h).transpose(1, 2)

    def forward(self, h: Tensor) -> Tensor:
        b, c, hh, ww = h.shape
        q, k = self.q(h).flatten(2), self.k(h).flatten(2)  # B, C, N
        o = attention(q[:, None], k[:, None], (self.w * h.flatten(2))[:, None], scale=1.0)[:, 0]  # w_n^T V: B, C, N
        return h + self.gamma * o.view(b, c, hh, ww)


class LRMBlock(nn.Sequential):
    """Spatial then channel LRM."""

    def __init__(self, ch: int, size: int, w_std: float = 1.0) -> None:
        super().__init__(SpatialLRM(ch, size, w_std), ChannelLRM(ch, w_std))


def attention_block(kind: str, ch: int, size: int, w_std: float = 1.0) -> nn.Module:
    """What sits at an LRM position: ``lrm``; the paper's ablations ``residual`` (one residual block per LRM
    direction, same depth) and ``sa`` (one SAGAN self-attention per LRM direction; no spectral norm, since the rest
    of this G has none); ``none`` (w/o LRM)."""
    if kind == "lrm":
        return LRMBlock(ch, size, w_std)
    if kind == "residual":
        return nn.Sequential(ResBlock(ch), ResBlock(ch))
    if kind == "sa":
        return nn.Sequential(SelfAttention(ch, use_sn=False), SelfAttention(ch, use_sn=False))
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown attention kind {kind!r}")


def color_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-image channel mean (B, C) and channel covariance over pixels (B, C, C), 1/N-normalised (StackGAN++)."""
    mu = x.mean(dim=(2, 3))
    d = (x - mu[:, :, None, None]).flatten(2)
    return mu, d @ d.transpose(1, 2) / d.shape[-1]


def color_consistency(hi: Tensor, lo: Tensor, weight: float, downsample: bool = False) -> Tensor:
    """StackGAN++ colour-consistency term between a stage's output ``hi`` and the previous stage's ``lo`` (detached
    here): weight * MSE(mu) + 5 * weight * MSE(Sigma). ``downsample``: area-resize ``hi`` to ``lo``'s size first
    (StackGAN++ compares at native resolutions)."""
    if downsample and hi.shape[-1] != lo.shape[-1]:
        hi = adaptive_avg_pool(hi, lo.shape[-2:])
    mu1, cov1 = color_stats(hi)
    mu2, cov2 = color_stats(lo.detach())
    return weight * F.mse_loss(mu1, mu2) + 5 * weight * F.mse_loss(cov1, cov2)
