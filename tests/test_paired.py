"""Paired designs: one seed gives every variant of a model the same training latents and data order (the global RNG
is reseeded after model construction, whose draws differ between variants), and a different seed different ones."""
from __future__ import annotations

import torch

from ganbench.models.base import GAN
from ganbench.training import TrainSpec, train
from ganbench.training.loop import TrainingLoop
from ganbench.training.trainer import paired_seed


def _first_draws(tmp_path, monkeypatch, name: str, variant: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(first training latent batch, first real batch) of a one-iteration SAGAN run."""
    seen: dict[str, torch.Tensor] = {}
    sample_z, batch = GAN.sample_z, TrainingLoop.batch

    def spy_z(self, n, generator=None, device=None):
        z = sample_z(self, n, generator, device)
        if generator is None:  # training draws (evaluation and grids pass their own generator)
            seen.setdefault("z", z.detach().clone())
        return z

    def spy_batch(self):
        real, y = batch(self)
        seen.setdefault("real", real.detach().clone())
        return real, y

    monkeypatch.setattr(GAN, "sample_z", spy_z)
    monkeypatch.setattr(TrainingLoop, "batch", spy_batch)
    spec = TrainSpec(model="sagan", variant=variant, dataset="synthetic", kimg=0.016, eval_every_kimg=0.016,
                     metrics=(), seed=seed, overrides={"batch_size": 16, "n_dis": 1}, device="cpu",
                     out_dir=str(tmp_path / name))
    assert train(spec, progress=False).status == "complete"
    monkeypatch.undo()
    return seen["z"], seen["real"]


def test_variants_share_latents_and_data_order(tmp_path, monkeypatch):
    # SAGAN default vs no_attn: the attention blocks' init draws shift the global RNG between the two
    z_a, real_a = _first_draws(tmp_path, monkeypatch, "a", "default", 3)
    z_b, real_b = _first_draws(tmp_path, monkeypatch, "b", "no_attn", 3)
    assert torch.equal(z_a, z_b)
    assert torch.equal(real_a, real_b)
    z_c, real_c = _first_draws(tmp_path, monkeypatch, "c", "no_attn", 4)
    assert not torch.equal(z_b, z_c)
    assert not torch.equal(real_b, real_c)


def test_paired_seed_depends_on_the_seed_only():
    assert paired_seed(3) == paired_seed(3) != paired_seed(4)
