"""``ganbench train --log tensorboard``: event files read back match metrics.csv (the source of truth)."""
from __future__ import annotations


import pandas as pd
import pytest

from conftest import one_line_error

pytest.importorskip("tensorboard")


def test_tensorboard_events_mirror_the_csv(cli, tmp_path):
    from tensorboard.backend.event_processing import event_accumulator as ea

    out = tmp_path / "run"
    p = cli("train", "--model", "dcgan", "--kimg", "0.5", "--eval-every", "0.25", "--log", "tensorboard",
            "--log-every", "2", "--out", str(out), "--quiet", "--device", "cpu", env={"OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    acc = ea.EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    csv = pd.read_csv(out / "metrics.csv")
    got = sorted((e.step, e.value) for e in acc.Scalars("metrics/fd_domain2k_train"))
    want = sorted((int(r.images_seen), r.value) for r in csv.itertuples())
    assert [s for s, _ in got] == [s for s, _ in want] == [0, 256, 512]
    assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6)  # event files hold float32
    losses = acc.Scalars("loss/loss_d")
    assert len(losses) >= 3 and {"loss/loss_g"} <= set(tags["scalars"])
    assert [e.step for e in acc.Images("samples")] == sorted(csv.images_seen)
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "dcgan-default-tiny" in text and "model_config" in text


def test_off_by_default_and_missing_package_is_one_line(cli, tmp_path, monkeypatch):
    out = tmp_path / "run"
    p = cli("train", "--model", "dcgan", "--kimg", "0.25", "--out", str(out), "--quiet", "--device", "cpu")
    assert p.returncode == 0 and not (out / "tensorboard").exists(), p.stderr
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['torch.utils.tensorboard'] = None\n")
    p = cli("train", "--model", "dcgan", "--kimg", "0.25", "--log", "tensorboard", "--out", str(tmp_path / "r2"),
            "--quiet", env={"PYTHONPATH": str(tmp_path)})
    assert "pip install 'ganbench[tensorboard]'" in one_line_error(p)
    assert not (tmp_path / "r2").exists()
