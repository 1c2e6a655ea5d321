"""Fault injection: the disk fills (a writer raising OSError(ENOSPC)) in the middle of a checkpoint. Every earlier
result stays readable, no half-written file is left, and the run resumes to the same final state as an
uninterrupted run."""
from __future__ import annotations

import errno
import json

import pytest
import torch

import ganbench.io as gio
from ganbench import results
from ganbench.training import TrainSpec, train
from ganbench.training.checkpoint import list_checkpoints, load

SPEC = dict(model="dcgan", dataset="synthetic", kimg=0.128, metrics=(), overrides={"batch_size": 16}, device="cpu",
            ckpt_every_kimg=0.032)


def full_disk_on_checkpoint(monkeypatch, nth: int) -> list[str]:
    """From the ``nth`` checkpoint on, the writer puts half the bytes on disk and then raises ENOSPC."""
    real, seen = gio.atomic_write, []

    def atomic_write(path, write, mode="wb"):
        if "checkpoints" in str(path):
            seen.append(str(path))
            if len(seen) >= nth:
                def half_then_full(f):
                    class Partial:
                        def write(self, data):
                            f.write(data[: len(data) // 2])
                            raise OSError(errno.ENOSPC, "No space left on device")
                    write(Partial())
                return real(path, half_then_full, mode)
        return real(path, write, mode)

    monkeypatch.setattr(gio, "atomic_write", atomic_write)
    return seen


def test_disk_full_mid_checkpoint_keeps_earlier_results_and_resumes(tmp_path, monkeypatch):
    ref = train(TrainSpec(**SPEC, out_dir=str(tmp_path / "ref")), progress=False)
    run = tmp_path / "full"
    seen = full_disk_on_checkpoint(monkeypatch, nth=3)
    with pytest.raises(OSError) as e:
        train(TrainSpec(**SPEC, out_dir=str(run)), progress=False)
    assert e.value.errno == errno.ENOSPC and len(seen) == 3
    ckpts = list_checkpoints(run)
    assert len(ckpts) == 2  # the two written before the disk filled, each loadable
    for c in ckpts:
        assert set(load(c)) >= {"model", "opt_g", "opt_d", "images_seen"}
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]  # the half-written temp is gone
    status = json.loads((run / "status.json").read_text())
    assert status["status"] != "complete"
    (run / "config.yaml").read_text()

    monkeypatch.undo()  # space freed: the same command resumes to completion
    done = train(TrainSpec(**SPEC, out_dir=str(run)), progress=False)
    assert done.status == "complete" and results.read_status(run)["status"] == "complete"
    a, b = load(list_checkpoints(run)[-1]), load(list_checkpoints(tmp_path / "ref")[-1])
    assert a["images_seen"] == b["images_seen"] == ref.images_seen
    for k, v in b["model"].items():
        assert torch.equal(a["model"][k], v), k  # bit-identical to the uninterrupted run
