"""Transformer pieces for TransGAN (Jiang, Chang & Wang 2021; official code VITA-Group/TransGAN).

Pre-norm encoder block: ``x + MHSA(LN(x))`` then ``x + MLP(LN(x))`` with a GELU MLP of ratio 4, no qkv bias, no
dropout. Optional extras used by TransGAN v2/v1:

- a Swin-style learned relative position bias over a square token map of side ``side`` (the official "rp" models use a
  window equal to the whole map at 32x32, so the attention stays global);
- per-token noise injection before the qkv projection with a learned scalar strength initialised at 0 (the official
  v2 discriminator, ``ViT_custom_scale2_rp_noise``);
- a band mask ``|i - j| <= band`` over the flattened (row-major) token order: the locality-aware attention
  initialisation of TransGAN v1 (``get_attn_mask`` in the v1 CIFAR model ``TransGAN_8_8_1``).

While the band is narrow (``2 band + 1 <= N / 4``), attention is computed on the band only: each query against its
``2 band + 1`` neighbours in flattened order, the relative bias gathered for those offsets, out-of-range keys at -inf.
Outside the band the full computation adds exp(-inf) = 0, so the outputs and the gradients (the bias table's
included) are the same up to float rounding, at (2 band + 1) / N of the cost (``tests/test_fast_paths.py``).

``fused=True`` computes attention with ``F.scaled_dot_product_attention`` (no N x N matrix kept for backward: the
generator's 32x32 stage has 1024 tokens), in G and in D; inside the WGAN-GP pass (``ganbench.attention.double_backward``)
it falls back to the explicit form, since the fused kernels have no second derivative.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..attention import attention


def relative_position_index(side: int) -> Tensor:
    """(side², side²) indices into a ((2 side - 1)², heads) bias table, one per relative offset (dy, dx)."""
    ys, xs = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()])  # 2, N
    rel = coords[:, :, None] - coords[:, None, :] + (side - 1)  # 2, N, N; offsets shifted to >= 0
    return rel[0] * (2 * side - 1) + rel[1]


def band_mask(n: int, width: int, device: torch.device | None = None) -> Tensor:
    """Boolean (n, n) mask, True where query i may attend to key j: ``|i - j| <= width`` in flattened order."""
    i = torch.arange(n, device=device)
    return (i[:, None] - i[None, :]).abs() <= width


def pixel_upsample(x: Tensor, h: int, w: int) -> tuple[Tensor, int, int]:
    """Tokens (B, h*w, C) -> (B, 4*h*w, C/4) via PixelShuffle(2) on the row-major token map."""
    b, n, c = x.shape
    if n != h * w:
        raise ValueError(f"pixel_upsample: {n} tokens do not form a {h}x{w} map")
    x = F.pixel_shuffle(x.transpose(1, 2).reshape(b, c, h, w), 2)
    return x.flatten(2).transpose(1, 2), 2 * h, 2 * w


class Attention(nn.Module):
    """Multi-head self-attention with optional relative position bias, noise injection and band mask."""

    def __init__(self, dim: int, heads: int, side: int = 0, noise: bool = False, fused: bool = True) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention dim {dim} is not divisible by {heads} heads")
        self.heads, self.fused = heads, fused
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.noise_strength = nn.Parameter(torch.zeros(())) if noise else None
        self.side = side
        if side:
            self.rel_bias = nn.Parameter(torch.zeros((2 * side - 1) ** 2, heads))
            nn.init.trunc_normal_(self.rel_bias, std=0.02)
            self.register_buffer("rel_index", relative_position_index(side), persistent=False)
        else:
            self.rel_bias = None
        self.band: int | None = None  # locality-aware init: set by the model's schedule; None = unmasked

    def logit_bias(self, n: int, device: torch.device, dtype: torch.dtype) -> Tensor | None:
        """Additive (1, heads, n, n) term for the attention logits: relative bias and -inf outside the band."""
        bias = None
        if self.rel_bias is not None:
            if n != self.side ** 2:
                raise ValueError(f"relative position bias built for {self.side}x{self.side} tokens, got {n}")
            bias = self.rel_bias[self.rel_index.flatten()].view(n, n, self.heads).permute(2, 0, 1).to(dtype)
        if self.band is not None:
            outside = ~band_mask(n, self.band, device)
            mask = torch.zeros(n, n, device=device, dtype=dtype).masked_fill_(outside, float("-inf"))
            bias = mask.expand(self.heads, n, n) if bias is None else bias + mask
        # 4-D: with a 3-D mask the CPU fused kernel falls back to a path ~4x slower (torch 2.14)
        return None if bias is None else bias.unsqueeze(0)

    def band_bias(self, n: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        """(heads, n, 2 band + 1) logit term over each query's band: the relative bias, -inf past the sequence ends."""
        w = self.band
        j = torch.arange(n, device=device)[:, None] + torch.arange(-w, w + 1, device=device)  # key of (query, slot)
        inside = (j >= 0) & (j < n)
        bias = torch.zeros((), device=device, dtype=dtype).expand(self.heads, n, 2 * w + 1)
        if self.rel_bias is not None:
            if n != self.side ** 2:
                raise ValueError(f"relative position bias built for {self.side}x{self.side} tokens, got {n}")
            idx = self.rel_index.gather(1, j.clamp(0, n - 1))  # (n, 2w + 1) indices into the table
            bias = self.rel_bias[idx.flatten()].view(n, 2 * w + 1, self.heads).permute(2, 0, 1).to(dtype)
        return bias.masked_fill(~inside, float("-inf"))

    def banded(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Attention restricted to ``|i - j| <= band`` (B, heads, N, d), computed on the band alone."""
        w, n = self.band, q.shape[2]
        kw = F.pad(k, (0, 0, w, w)).unfold(2, 2 * w + 1, 1)  # (B, heads, N, d, 2w + 1): key i + o - w at slot o
        vw = F.pad(v, (0, 0, w, w)).unfold(2, 2 * w + 1, 1)
        logits = (q.unsqueeze(-1) * kw).sum(dim=3) * self.scale + self.band_bias(n, q.device, q.dtype)
        return (logits.softmax(dim=-1).unsqueeze(3) * vw).sum(dim=-1)

    def _qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, n, c = x.shape
        if self.noise_strength is not None:  # one N(0,1) value per token, shared across channels
            x = x + torch.randn(b, n, 1, device=x.device, dtype=x.dtype) * self.noise_strength
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return q, k, v

    def attention_weights(self, x: Tensor) -> Tensor:
        """Explicit softmax attention probabilities (B, heads, N, N) for input tokens ``x``."""
        q, k, _ = self._qkv(x)
        logits = (q @ k.transpose(-2, -1)) * self.scale
        bias = self.logit_bias(x.shape[1], x.device, x.dtype)
        return (logits if bias is None else logits + bias).softmax(dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self._qkv(x)
        if self.fused and self.band is not None and 4 * (2 * self.band + 1) <= n:
            return self.proj(self.banded(q, k, v).transpose(1, 2).reshape(b, n, c))
        bias = self.logit_bias(n, x.device, x.dtype)
        if self.fused:
            out = attention(q, k, v, bias, self.scale)  # explicit inside losses' double_backward()
        else:
            logits = (q @ k.transpose(-2, -1)) * self.scale
            out = (logits if bias is None else logits + bias).softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm transformer encoder block (LayerNorm, MHSA, LayerNorm, GELU MLP; residuals)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, side: int = 0, noise: bool = False,
                 fused: bool = True) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, side, noise, fused)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
