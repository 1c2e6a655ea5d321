"""Resume from a checkpoint whose tensors come back on another device than the one they were saved from.

A CUDA run loaded its checkpoint with ``map_location=cuda``, so ``torch.set_rng_state`` got a CUDA tensor ("RNG state
must be a torch.ByteTensor") and a killed GPU run could not resume. A CPU-only machine has no second device, so the
test loads every checkpoint tensor as ``_OnGpu``: a tensor that torch's C++ checks see on ``cuda`` (as a CUDA tensor
is), backed by CPU memory, that computes on the CPU and copies to the CPU like a CUDA tensor does.
"""
from __future__ import annotations

import pytest
import torch
from torch.utils._pytree import tree_map

from ganbench.training import TrainSpec, checkpoint, train

SPEC = dict(model="dcgan", dataset="synthetic", kimg=0.064, ckpt_every_kimg=0.032, metrics=(),
            overrides={"batch_size": 16}, device="cpu", seed=4)


class _OnGpu(torch.Tensor):
    """A CPU tensor that says it lives on ``cuda``."""

    inner: torch.Tensor

    @staticmethod
    def __new__(cls, inner: torch.Tensor) -> "_OnGpu":
        t = torch.Tensor._make_wrapper_subclass(cls, inner.shape, strides=inner.stride(), dtype=inner.dtype,
                                                device="cuda", requires_grad=inner.requires_grad)
        t.inner = inner
        return t

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        unwrap = lambda t: t.inner if isinstance(t, _OnGpu) else t  # noqa: E731
        kwargs = {k: (torch.device("cpu") if k == "device" else v) for k, v in (kwargs or {}).items()}
        return func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs))

    def __reduce_ex__(self, protocol):  # saved as the values it holds (a CUDA tensor is saved with its values)
        return self.inner.__reduce_ex__(protocol)


class Interrupt(Exception):
    """The process is killed right after a checkpoint."""


def test_the_stand_in_fails_like_a_cuda_tensor():
    state = _OnGpu(torch.get_rng_state())
    assert state.device.type == "cuda"
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        torch.set_rng_state(state)
    assert torch.equal(state.cpu(), torch.get_rng_state())


def test_resume_with_checkpoint_tensors_on_another_device(tmp_path, monkeypatch):
    ref = train(TrainSpec(**SPEC, out_dir=str(tmp_path / "ref")), progress=False)

    save = checkpoint.save

    def save_then_die(run_dir, state, keep=0):
        p = save(run_dir, state, keep)
        if state["images_seen"] == 32:
            raise Interrupt
        return p
    monkeypatch.setattr(checkpoint, "save", save_then_die)
    run = tmp_path / "run"
    with pytest.raises(Interrupt):
        train(TrainSpec(**SPEC, out_dir=str(run)), progress=False)
    monkeypatch.undo()

    load, loaded = checkpoint.load, []

    def load_elsewhere(path, map_location="cpu"):
        loaded.append(path)
        return tree_map(lambda v: _OnGpu(v) if isinstance(v, torch.Tensor) else v, load(path, map_location))
    monkeypatch.setattr(checkpoint, "load", load_elsewhere)
    done = train(TrainSpec(**SPEC, out_dir=str(run)), progress=False)
    monkeypatch.undo()
    assert [p.name for p in loaded] == ["ckpt-000000032.pt"] and done.status == "complete"

    a, b = (checkpoint.load(checkpoint.list_checkpoints(d)[-1]) for d in (ref.run_dir, run))
    assert a["images_seen"] == b["images_seen"] == 64
    for part in ("rng", "data_rng"):
        assert torch.equal(a[part], b[part]), part
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])  # bit-identical on the CPU
