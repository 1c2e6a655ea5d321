"""A small generator that ganbench has never seen: the worked example of ``ganbench eval/regress --generator``.

It is plain PyTorch (a DCGAN-style G with z of 64 and 1x32x32 output in [-1, 1]); its weights
(``tiny_generator.pt``, a state dict of 108k parameters, 430 kB) were made by ``python examples/tiny_generator.py``,
which trains it against a small D for 600 steps of batch 64 (38.4k real images) on Fashion-MNIST (zero-padded to
32x32 by ganbench's loader) with the non-saturating loss, seed 0: 279 s on one thread of a loaded, shared CPU.
Use it as (from the repository root):

    ganbench eval --generator examples/tiny_generator.py:make_generator --z-dim 64 --metrics fd_domain2k_train
    ganbench regress --generator examples/tiny_generator.py:make_generator \
        --baseline examples/tiny_generator.baseline.json

or ship it as a ``torch.export`` program, the format PyTorch recommends (TorchScript is deprecated upstream):

    python examples/tiny_generator.py export tiny_generator.pt2
    ganbench eval --generator tiny_generator.pt2 --z-dim 64 --metrics fd_domain2k_train
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

Z_DIM = 64
WEIGHTS = Path(__file__).with_name("tiny_generator.pt")


class TinyG(nn.Module):
    """z [N, 64] -> images [N, 1, 32, 32] in [-1, 1]."""

    def __init__(self, z_dim: int = Z_DIM, ch: int = 64) -> None:
        super().__init__()
        self.ch = ch
        self.fc = nn.Linear(z_dim, ch * 4 * 4)
        self.net = nn.Sequential(
            nn.BatchNorm2d(ch), nn.ReLU(),
            nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), nn.BatchNorm2d(ch // 2), nn.ReLU(),  # 8x8
            nn.ConvTranspose2d(ch // 2, ch // 4, 4, 2, 1), nn.BatchNorm2d(ch // 4), nn.ReLU(),  # 16x16
            nn.ConvTranspose2d(ch // 4, 1, 4, 2, 1), nn.Tanh())  # 32x32

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, self.ch, 4, 4))


def make_generator() -> TinyG:
    """The trained example generator (eval mode)."""
    g = TinyG()
    g.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return g.eval()


def export(out: Path, g: nn.Module | None = None, batch: int | None = None) -> None:
    """Save ``g`` (default: the trained example) with ``torch.export.save``: z [N, 64] with N dynamic, or fixed at
    ``batch``."""
    g = (g if g is not None else make_generator()).eval()
    dyn = None if batch else {"z": {0: torch.export.Dim("n")}}
    ep = torch.export.export(g, (torch.randn(batch or 2, Z_DIM),), dynamic_shapes=dyn)
    torch.export.save(ep, str(out))


def _discriminator(ch: int = 32) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, ch, 4, 2, 1), nn.LeakyReLU(0.2),  # 16
        nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.2),  # 8
        nn.Conv2d(ch * 2, ch * 4, 4, 2, 1), nn.LeakyReLU(0.2),  # 4
        nn.Flatten(), nn.Linear(ch * 4 * 16, 1))


def train(steps: int = 600, batch: int = 64, seed: int = 0, out: Path = WEIGHTS) -> None:
    """Train TinyG for ``steps`` G steps and save its state dict."""
    from ganbench.data import load_dataset

    torch.manual_seed(seed)
    real_all = load_dataset("fashion-mnist", "train", 32, 1).images
    G, D = TinyG(), _discriminator()
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    sp = nn.functional.softplus
    t0 = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(0, len(real_all), (batch,))
        real = real_all[idx].float().mul(2 / 255).sub(1)
        fake = G(torch.randn(batch, Z_DIM))
        loss_d = sp(-D(real)).mean() + sp(D(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = sp(-D(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step % 250 == 0:
            print(f"step {step}: loss_d {loss_d.item():.3f} loss_g {loss_g.item():.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    torch.save(G.state_dict(), out)
    print(f"saved {out} after {steps} steps ({steps * batch} real images shown to D) in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["export"]:
        export(Path(sys.argv[2] if len(sys.argv) > 2 else "tiny_generator.pt2"))
    else:
        train(*(int(a) for a in sys.argv[1:2]))
