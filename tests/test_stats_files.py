"""Statistics .npz files: ganbench's carry and are checked for extractor, weights sha256, preprocessing, layer and n;
pytorch-fid / clean-fid files (``mu``/``sigma`` only) are used only with ``--foreign-stats`` and labelled foreign."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import one_line_error
from ganbench.data import load_dataset
from ganbench.errors import GanbenchError
from ganbench.metrics import get_extractor
from ganbench.metrics.real_stats import FOREIGN, check_stats, compute_real_stats, export_pytorch_fid, load_stats_file


@pytest.fixture(scope="module")
def ext():
    return get_extractor("fmnist-cnn", "cpu")


@pytest.fixture(scope="module")
def ref(ext):
    return compute_real_stats(load_dataset("synthetic", "train", 32, 1), ext, 300, False)


@pytest.mark.parametrize("key, value", [("extractor", "inception-v3"), ("weights_sha256", "f" * 64),
                                        ("preprocessing", "resize-299"), ("layer", "logits"), ("n", 0)])
def test_each_meta_field_is_checked(ext, ref, key, value):
    assert check_stats(ref, ext) == ext.name
    other = type(ref)(ref.mu, ref.sigma, None, ref.n, {**ref.meta, key: value})
    with pytest.raises(GanbenchError, match=key if key != "n" else "n=0"):
        check_stats(other, ext)


def test_missing_meta_and_foreign(ext, ref):
    partial = type(ref)(ref.mu, ref.sigma, None, ref.n, {"extractor": ext.name})
    with pytest.raises(GanbenchError, match="lacks weights_sha256, preprocessing, layer, n"):
        check_stats(partial, ext)
    foreign = type(ref)(ref.mu, ref.sigma, None, 0, {})
    with pytest.raises(GanbenchError, match="--foreign-stats"):
        check_stats(foreign, ext)
    assert check_stats(foreign, ext, foreign_ok=True) == FOREIGN


def test_export_is_pytorch_fid_layout_and_labelled_foreign(ext, ref, tmp_path, cli):
    from ganbench.metrics.real_stats import save_real_stats

    ours, theirs = save_real_stats(ref, tmp_path / "ours.npz"), export_pytorch_fid(ref, tmp_path / "theirs.npz")
    with np.load(theirs) as z:
        assert sorted(z.files) == ["mu", "sigma"]  # what pytorch-fid's and clean-fid's loaders read
    assert load_stats_file(ours).meta == ref.meta  # ours round-trips its metadata
    one_line_error(cli("fid", str(ours), str(theirs), "--device", "cpu"))  # no flag: refused
    p = cli("fid", str(ours), str(theirs), "--device", "cpu", "--foreign-stats", "--json")
    assert p.returncode == 0, p.stderr
    row = json.loads(p.stdout)
    assert row["value"] == pytest.approx(0, abs=1e-6)  # same numbers, other layout
    assert row["extractor_a"] == ext.name and row["extractor_b"] == FOREIGN and row["n_b"] == "unknown"
    assert FOREIGN in row["extractor"] and "unknown" in row["weights_sha256"]
    p = cli("fid", str(ours), str(ours), "--device", "cpu", "--json")
    assert json.loads(p.stdout)["weights_sha256"] == ext.weights_sha256 and json.loads(p.stdout)["n_a"] == 300
