"""TransGAN — Jiang, Chang & Wang, "TransGAN: Two Pure Transformers Can Make One Strong GAN, and That Can Scale Up"
(arXiv 2102.07074 v1 Feb 2021; NeurIPS 2021). Official code: https://github.com/VITA-Group/TransGAN @ 6b85440 (v2
training code: ``exps/cifar_train.py``, ``models_search/ViT_custom_rp.py``, ``ViT_custom_scale2_rp_noise.py``,
``functions.py``) and @ c1524fb (v1 models, for the locality-aware initialisation).

G (v2 ``ViT_custom_rp``): Linear z -> (r/4)² tokens x C plus a learned position embedding; three stages of pre-norm
encoder blocks (depths 5, 4, 2 at C = 1024, 4 heads, relative position bias over the whole map); between stages a
pixel shuffle (resolution x2, dim /4) and a new position embedding; 1x1 conv to RGB, no tanh.
D (v2 ``ViT_custom_scale2_rp_noise``): two tokenisers, a 2x2/stride-2 conv to (r/2)² tokens of 3/4·C and a
4x4/stride-4 conv to (r/4)² tokens of C/4; 3 blocks at 3/4·C, 2x2 average pool, concatenation with the second branch
to C plus a position embedding, 3 blocks at C, a [cls] token and one block without relative bias, LayerNorm, linear
head on cls (C = 384, 4 heads).
Every D attention adds per-token noise with a learned strength (init 0).
Recipe (``exps/cifar_train.py``, ``functions.py``): WGAN-GP-eps (wgan loss, GP 10, drift 1e-3 · E[D(x)]²), Adam 1e-4
both, betas (0, 0.99), 4 D steps per G step, D batch 64 and G batch 128, G EMA (500 kimg half-life, warm-up 0.1),
DiffAugment "translation,cutout,color" inside D with translation ratio 0.2 and cutout 0.5 applied to a whole batch with
probability 0.3. Init: xavier-uniform conv weights; D linears, position embeddings, cls token and relative bias tables
truncated N(0, 0.02); G linears keep the PyTorch default.

Locality-aware attention initialisation (v1, ``TransGAN_8_8_1``): the last block of the highest-resolution stage masks
attention to the band |i - j| <= w in flattened token order, w = 4, 6, 8, 10 until epochs 22, 32, 42, 60 of CIFAR-10;
after that the mask is gone. Here the schedule is in images shown to D (1 CIFAR-10 epoch = 50 kimg), so the paper
preset uses 1100, 1600, 2100, 3000 kimg.

Gradient norms of G and D are clipped at 5 (``clip_grad_norm_`` in ``functions.py``).

Deviations: (1) locality-aware init is a v1 mechanism that the v2 CIFAR script does not use; it is on by default here
because the seed paper names it as a TransGAN ingredient (``no_local_init`` is the ablation). (2) Multi-task
co-training (MT-CT, v1 paper; not in the released code) is not implemented. (3) DiffAugment's cutout coin uses
torch's RNG, not Python's. (4) ``tiny`` (CPU scale) trains with 2 D steps and G batch = D batch, at the
learning rates ``ganbench tune`` picked (below); with the official 1e-4 the WGAN-GP critic hardly separates real
from generated images within a few kimg (measured on Fashion-MNIST: the critic's gap after 80 steps against fixed G samples is 0.65 at 1e-4 vs 5.0 at
1e-3). Until 2026-12 the tiny rates were hand-picked (5e-4 / 1e-3); the shared grid replaced them.
The G EMA needs no change: the shared trainer, like ``functions.py``, applies beta = 0.5^(D batch / half-life) once
per G step with the half-life capped at 0.1 x real images seen.

``tiny`` is capacity-matched with the other models' tiny presets (trainable G and D each within a factor 1.5 across
models, tests/test_capacity.py): G dim 64/16/4, depths 1/1/1, z 16; D dim 48, depth 1; at 1 channel 32x32 G 145,491
/ D 87,408 trainable. Token counts are the paper's (64/256/1024 in G; 256, 64 + cls in D).

``tiny`` learning rates: G 0.003, D 0.003, 30 x the paper recipe's, picked by ``ganbench tune --profile standard``
(one grid x0.1-x1000 of its paper rates, each model a window of 5-6 points around its 2-kimg pick; 10 kimg,
seeds 0 and 1, lowest mean fd_domain2k_test on the held-out split; ``ganbench/suites/tune.selection.json``):
x1 33.8 / x3 36.7 / x10 22.2 / x30 20.0 / x100 40.8.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..augment import POLICIES, parse_policy
from ..errors import GanbenchError
from ._transformer import Attention, Block, pixel_upsample
from ..images import ImageSpec
from .base import GAN, GANConfig, PaperRef, StepInfo, register_model


@dataclass(frozen=True)
class TransGANConfig(GANConfig):
    g_dim: int = 1024  # token dim of the first (8x8) G stage; /4 per later stage
    g_depths: tuple[int, ...] = (5, 4, 2)  # blocks per G stage; the resolution doubles between stages
    g_heads: int = 4
    d_dim: int = 384  # D token dim after the two branches are concatenated (3/4 and 1/4 of it)
    d_depth: int = 3  # blocks per D stage (two stages), plus one final block with the cls token
    d_heads: int = 4
    mlp_ratio: int = 4
    patch_size: int = 2  # D branch 1 patch; branch 2 uses 2x
    rel_pos: bool = True  # v2 relative position bias (G stages and the two D stages)
    d_noise: bool = True  # per-token noise injection in D attention (learned strength)
    g_batch_ratio: int = 2  # G step batch = ratio x D batch (official: 128 vs 64)
    cutout_prob: float = 0.3  # official DiffAugment applies cutout to a batch with this probability
    local_init: bool = True  # locality-aware attention init on the last G stage
    local_blocks: int = 1  # how many final blocks of the last G stage are masked (v1 code: 1)
    local_widths: tuple[int, ...] = (4, 6, 8, 10)  # band half-widths in tokens ...
    local_kimg: tuple[float, ...] = (1100.0, 1600.0, 2100.0, 3000.0)  # ... used until these kimg; then no mask

    def validate(self) -> None:
        n = len(self.g_depths)
        if n < 1 or min(self.g_depths) < 1:
            raise GanbenchError(f"transgan: g_depths must be positive, got {self.g_depths}")
        if self.g_dim % 4 ** (n - 1) or (self.g_dim // 4 ** (n - 1)) % self.g_heads:
            raise GanbenchError(f"transgan: g_dim {self.g_dim} must stay divisible by g_heads over {n} stages")
        if self.d_dim % 4 or (3 * self.d_dim // 4) % self.d_heads or self.d_dim % self.d_heads:
            raise GanbenchError(f"transgan: d_dim {self.d_dim} must be a multiple of 4 and of d_heads")
        if len(self.local_widths) != len(self.local_kimg) or list(self.local_kimg) != sorted(self.local_kimg):
            raise GanbenchError("transgan: local_widths and local_kimg need equal length, kimg increasing")
        if not 0 <= self.local_blocks <= self.g_depths[-1]:
            raise GanbenchError(f"transgan: local_blocks must be in [0, {self.g_depths[-1]}]")
        if self.g_batch_ratio < 1 or not 0 <= self.cutout_prob <= 1:
            raise GanbenchError("transgan: g_batch_ratio >= 1 and cutout_prob in [0, 1] required")


class Generator(nn.Module):
    def __init__(self, cfg: TransGANConfig, out_ch: int, resolution: int) -> None:
        super().__init__()
        n = len(cfg.g_depths)
        self.bottom = resolution >> (n - 1)
        if self.bottom << (n - 1) != resolution:
            raise GanbenchError(f"transgan: resolution {resolution} is not divisible by 2^{n - 1}")
        dims = [cfg.g_dim // 4 ** i for i in range(n)]
        sides = [self.bottom << i for i in range(n)]
        self.l1 = nn.Linear(cfg.z_dim, self.bottom ** 2 * cfg.g_dim)
        self.pos = nn.ParameterList([nn.Parameter(torch.zeros(1, s * s, d)) for s, d in zip(sides, dims)])
        self.stages = nn.ModuleList(
            nn.Sequential(*[Block(d, cfg.g_heads, cfg.mlp_ratio, s if cfg.rel_pos else 0) for _ in range(depth)])
            for d, s, depth in zip(dims, sides, cfg.g_depths))
        self.to_rgb = nn.Conv2d(dims[-1], out_ch, 1)
        for p in self.pos:
            nn.init.trunc_normal_(p, std=0.02)
        nn.init.xavier_uniform_(self.to_rgb.weight)

    def local_attentions(self, blocks: int) -> list[Attention]:
        """The attention modules that carry the locality-aware mask: the last ``blocks`` blocks of the last stage."""
        last = list(self.stages[-1])
        return [b.attn for b in last[len(last) - blocks:]] if blocks else []

    def tokens(self, z: Tensor) -> list[tuple[Tensor, int]]:
        """Token maps after each stage: [(B x side² x dim, side), ...] (for inspection and tests)."""
        x = self.l1(z).view(z.shape[0], self.bottom ** 2, -1) + self.pos[0]
        side, out = self.bottom, []
        for i, stage in enumerate(self.stages):
            if i:
                x, side, _ = pixel_upsample(x, side, side)
                x = x + self.pos[i]
            x = stage(x)
            out.append((x, side))
        return out

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        x, side = self.tokens(z)[-1]
        return self.to_rgb(x.transpose(1, 2).reshape(z.shape[0], -1, side, side))  # no tanh, as the official G


class Discriminator(nn.Module):
    def __init__(self, cfg: TransGANConfig, in_ch: int, resolution: int) -> None:
        super().__init__()
        p, d = cfg.patch_size, cfg.d_dim
        self.side = resolution // p
        if self.side * p != resolution or self.side % 2:
            raise GanbenchError(f"transgan: resolution {resolution} must be divisible by 2 x patch_size {p}")
        da = 3 * d // 4
        block = lambda dim, side: Block(dim, cfg.d_heads, cfg.mlp_ratio, side if cfg.rel_pos else 0,  # noqa: E731
                                        cfg.d_noise)  # explicit only in the GP pass
        self.from_rgb_1 = nn.Conv2d(in_ch, da, p, p)
        self.from_rgb_2 = nn.Conv2d(in_ch, d - da, 2 * p, 2 * p)
        self.pos_1 = nn.Parameter(torch.zeros(1, self.side ** 2, da))
        self.pos_2 = nn.Parameter(torch.zeros(1, (self.side // 2) ** 2, d))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.blocks_1 = nn.Sequential(*[block(da, self.side) for _ in range(cfg.d_depth)])
        self.blocks_2 = nn.Sequential(*[block(d, self.side // 2) for _ in range(cfg.d_depth)])
        self.last = Block(d, cfg.d_heads, cfg.mlp_ratio, 0, cfg.d_noise)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
        for t in (self.pos_1, self.pos_2, self.cls_token):
            nn.init.trunc_normal_(t, std=0.02)

    def features(self, x: Tensor) -> Tensor:
        """The final normalised tokens (B x (1 + (r/4)²) x d_dim); index 0 is the [cls] token."""
        b, s = x.shape[0], self.side
        t = self.blocks_1(self.from_rgb_1(x).flatten(2).transpose(1, 2) + self.pos_1)
        t = nn.functional.avg_pool2d(t.transpose(1, 2).reshape(b, -1, s, s), 2).flatten(2).transpose(1, 2)
        t = torch.cat([t, self.from_rgb_2(x).flatten(2).transpose(1, 2)], dim=2) + self.pos_2
        t = torch.cat([self.cls_token.expand(b, -1, -1), self.blocks_2(t)], dim=1)
        return self.norm(self.last(t))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.head(self.features(x)[:, 0]).squeeze(1)


@register_model("transgan")
class TransGAN(GAN):
    __doc__ = __doc__
    Config = TransGANConfig
    _recipe = dict(lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.99, loss="wgan", gp_weight=10.0, drift_weight=1e-3,
                   diffaug="translation,cutout,color", translation_ratio=0.2, cutout_ratio=0.5, ema_rampup=0.1,
                   grad_clip=5.0)
    presets = {
        # exps/cifar_train.py (v2): latent 256, gf_dim 1024, g_depth 5,4,2, df_dim 384, d_depth 3, 4 heads,
        # patch 2, n_critic 4, dis_bs 64 / gen_bs 128, ema_kimg 500 + warm-up 0.1.
        "paper": TransGANConfig(z_dim=256, batch_size=64, n_dis=4, ema_kimg=500.0, **_recipe),
        # Capacity-matched with the other models' tiny presets: gf 64 (64/16/4), depths 1/1/1, 2 heads, latent 16
        # (the z -> 8x8 x gf linear is most of a small G); D 48 (36 + 12), depth 1, n_dis 2. Same token counts as
        # the paper. D batch 16 (official per-GPU batch is 8) and G batch = D batch: the 1024-token 32x32 stage
        # dominates the CPU cost. lr 3e-3 (ganbench tune, x30) instead of 1e-4: at 1e-4 the critic barely moves in a
        # few kimg (see the docstring); the rates are the tuned ones. Same 32x32 top stage, so the same band
        # widths; the mask is gone at 10 kimg.
        "tiny": TransGANConfig(**{**_recipe, **dict(
            z_dim=16, batch_size=16, n_dis=2, g_batch_ratio=1, lr_g=3e-3, lr_d=3e-3, ema_kimg=10.0, g_dim=64,
            g_depths=(1, 1, 1), g_heads=2, d_dim=48, d_depth=1, d_heads=2, local_kimg=(2.5, 5.0, 7.5, 10.0))}),
    }
    variants = {
        "default": {},
        "no_diffaug": {"diffaug": ""},
        "no_local_init": {"local_init": False},
        "no_rel_pos": {"rel_pos": False},  # v2 ablation: absolute position embeddings only
    }
    paper = PaperRef(
        title="TransGAN: Two Pure Transformers Can Make One Strong GAN, and That Can Scale Up (Jiang et al., 2021)",
        url="https://arxiv.org/abs/2102.07074", code="https://github.com/VITA-Group/TransGAN",
        params_g=83_312_495, params_d=10_210_400,
        params_note="v2 CIFAR-10 config of the official code (exps/cifar_train.py, ViT_custom_rp G, "
                    "ViT_custom_scale2_rp_noise D), counted from the architecture; the paper prints no counts. The "
                    "model card's D 10,210,393 leaves out the 7 scalar noise strengths of the D attentions.")
    deviations = ("locality-aware init (v1 CIFAR schedule) on by default with the v2 architecture; no multi-task "
                  "co-training; tiny preset: 2 D steps, G batch = D batch (CPU-scale runs)")

    def __init__(self, cfg: TransGANConfig, img: ImageSpec) -> None:
        super().__init__(cfg, img)
        cfg.validate()
        if cfg.conditional:
            raise GanbenchError("transgan is unconditional; drop --conditional")
        self.G = Generator(cfg, img.channels, img.resolution)
        self.D = Discriminator(cfg, img.channels, img.resolution)
        # Real images shown to D so far: drives the local-init mask, and is saved with the model so that a
        # restored checkpoint samples with the right mask.
        self.register_buffer("local_clock", torch.zeros((), dtype=torch.long))
        self._clock = 0  # host copy of local_clock: reading the buffer would sync a GPU in every loss and sample
        self.register_load_state_dict_post_hook(lambda module, keys: module._sync_clock())

    def _sync_clock(self) -> None:
        self._clock = int(self.local_clock)  # once per checkpoint load

    # ---- locality-aware attention initialisation ----------------------------------------------------------------
    def local_width(self, images_seen: int | None = None) -> int | None:
        """Band half-width at ``images_seen`` (default: the model's clock); None once the mask is removed."""
        c = self.cfg
        seen = self._clock if images_seen is None else images_seen
        if c.local_init:
            for w, kimg in zip(c.local_widths, c.local_kimg):
                if seen < kimg * 1000:
                    return w
        return None

    def set_images_seen(self, images_seen: int) -> None:
        self.local_clock.fill_(images_seen)
        self._clock = images_seen
        self._apply_band(self.G)

    def _apply_band(self, G: nn.Module) -> None:
        width = self.local_width()
        for attn in G.local_attentions(self.cfg.local_blocks):
            attn.band = width

    # ---- training and sampling ----------------------------------------------------------------------------------
    def generate(self, z: Tensor, y: Tensor | None = None, G: nn.Module | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        G = G or self.G
        self._apply_band(G)  # the EMA copy follows the training mask schedule, as in the official evaluation
        return G(z)

    def augment(self, x: Tensor) -> Tensor:
        c = self.cfg
        for p in parse_policy(c.diffaug):
            if p == "cutout" and torch.rand(()).item() >= c.cutout_prob:
                continue  # official rand_cutout: the whole batch is cut out with probability 0.3
            x = POLICIES[p](x, translation_ratio=c.translation_ratio, cutout_ratio=c.cutout_ratio)
        return x

    def d_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        self.set_images_seen(info.images_seen)
        return super().d_loss(real, None, info)

    def g_loss(self, real: Tensor, y: Tensor | None, info: StepInfo) -> tuple[Tensor, dict[str, float]]:
        self.set_images_seen(info.images_seen)
        fake = self.generate(self.sample_z(self.cfg.g_batch_ratio * real.shape[0]))
        loss = self._loss.g(self.D(self.augment(fake)))
        return loss, {"loss_g": loss.detach()}
