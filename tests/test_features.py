"""Feature extractors, reference statistics and ``evaluate`` on real Fashion-MNIST data, the Inception loading path,
efficiency measurement, and the metric CLI commands."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ganbench.data import ImageData, load_dataset
from ganbench.errors import GanbenchError
from ganbench.metrics import FEATURES, MetricProtocol, evaluate, frechet_distance, get_extractor
from ganbench.metrics import fmnist_cnn, inception
from ganbench.metrics.features import clear_extractors
from ganbench.metrics.real_stats import cache_path, load_stats_file, real_stats_key, real_stats
from ganbench.images import to_float


@pytest.fixture(scope="module")
def fm_test() -> ImageData:
    return load_dataset("fashion-mnist", "test", 32, 1)


@pytest.fixture(scope="module")
def fm_train() -> ImageData:
    return load_dataset("fashion-mnist", "train", 32, 1)


@pytest.fixture(scope="module")
def hermetic_cache(tmp_path_factory):
    """One statistics cache for this module (reference statistics computed once, then read back)."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("GANBENCH_CACHE", str(path))
    yield path
    mp.undo()


# ---- fmnist-cnn -------------------------------------------------------------------------------------------------
def test_fmnist_cnn_accuracy_matches_record(fm_test):
    meta = json.loads(fmnist_cnn.WEIGHTS.with_suffix(".json").read_text())
    assert meta["sha256"] == fmnist_cnn.SHA256
    acc = fmnist_cnn.accuracy(fmnist_cnn.load(), fm_test.images, fm_test.labels)
    assert acc >= 0.90  # v2 trades ~2.5 points of accuracy for corruption robustness (see fmnist_cnn docstring)
    assert acc == pytest.approx(meta["test_accuracy"], abs=2e-3)  # recorded on another CPU / torch build


def test_fmnist_cnn_rejects_tampered_weights(tmp_path):
    bad = tmp_path / "fmnist-cnn.pt"
    shutil.copy(fmnist_cnn.WEIGHTS, bad)
    with open(bad, "ab") as f:
        f.write(b"\0")
    with pytest.raises(GanbenchError, match="do not match sha256"):
        fmnist_cnn.load(bad)


def test_fmnist_cnn_channel_and_size_handling(fm_test):
    ext = get_extractor("fmnist-cnn")
    x = fm_test.images[:8]
    grey = ext(x)
    rgb = ext(x.expand(-1, 3, -1, -1).contiguous())
    assert grey["pool"].shape == (8, 128) and grey["logits"].shape == (8, 10)
    torch.testing.assert_close(grey["pool"], rgb["pool"])  # replicated grey averages back to itself
    assert ext(torch.zeros(2, 1, 64, 64, dtype=torch.uint8))["pool"].shape == (2, 128)
    with pytest.raises(ValueError):
        ext(x.float())


def test_domain_fd_sanity(fm_train, fm_test, hermetic_cache):
    ext = get_extractor("fmnist-cnn")
    tr = real_stats(fm_train, ext, n_real=2000)
    te = real_stats(fm_test, ext, n_real=2000)  # evaluate() below reads this back from the cache
    noise = ImageData("noise", "train", torch.randint(0, 256, (500, 1, 32, 32), dtype=torch.uint8,
                                                      generator=torch.Generator().manual_seed(0)), None, 0, "noise")
    nz = real_stats(noise, ext)
    fd_tt = frechet_distance(tr.mu, tr.sigma, te.mu, te.sigma)
    fd_noise = frechet_distance(tr.mu, tr.sigma, nz.mu, nz.sigma)
    assert abs(frechet_distance(te.mu, te.sigma, te.mu, te.sigma)) < 1e-8
    assert 0 < fd_tt < 0.02 * fd_noise, (fd_tt, fd_noise)
    # the cache file exists, loads without pickle and holds the same statistics
    path = cache_path(real_stats_key(fm_test, ext, 2000, False))
    z = load_stats_file(path)
    np.testing.assert_array_equal(z.mu, te.mu)
    assert z.meta["fingerprint"] == fm_test.fingerprint and z.meta["n"] == 2000


def _real_sampler(images: torch.Tensor):
    """sample_fn drawing random real images: an ideal 'generator' (seeded by the generator it is given)."""
    def sample(n: int, g: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(images), (n,), generator=g)
        return to_float(images[idx])
    return sample


def _noise_sampler(n: int, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, 32, 32, generator=g) * 2 - 1


def test_evaluate_rows_and_sanity(fm_train, fm_test, hermetic_cache):
    fd_test = MetricProtocol("fd_domain2k_test2k", "fd", "fmnist-cnn", 2000, "test", 2000)  # another split than `data`
    presets = ["fd_domain2k_train", "kid_domain2k_train", "is_domain2k", "pr_domain2k_train", fd_test]
    small = ImageData(fm_train.name, "train", fm_train.images[:2500], fm_train.labels[:2500], 10, fm_train.source)
    real = evaluate(_real_sampler(fm_test.images), small, presets, seed=0, batch_size=500)
    by = {(r["protocol"], r["metric"]): r for r in real}
    assert set(p for p, _ in by) == set(presets[:4]) | {fd_test.name}
    fd = by[("fd_domain2k_train", "fd_domain")]
    assert fd["n_samples"] == 2000 and fd["n_real"] == 2500 and fd["split"] == "train"
    assert fd["extractor"] == "fmnist-cnn" and fd["dataset"] == "fashion-mnist" and fd["resolution"] == 32
    assert by[(fd_test.name, "fd_domain")]["split"] == "test"  # the test split was loaded
    kid_row = by[("kid_domain2k_train", "kid_domain")]
    assert kid_row["subset_size"] == 1000 and kid_row["n_real"] == 2000
    is_row = by[("is_domain2k", "is_domain")]
    assert 5 < is_row["value"] <= 10 and is_row["std"] > 0
    noise = {(r["protocol"], r["metric"]): r["value"]
             for r in evaluate(_noise_sampler, small, presets, seed=0, batch_size=500)}
    assert fd["value"] < 0.05 * noise[("fd_domain2k_train", "fd_domain")]
    assert kid_row["value"] < 0.05 * noise[("kid_domain2k_train", "kid_domain")]
    assert is_row["value"] > 2 * noise[("is_domain2k", "is_domain")]
    assert by[("pr_domain2k_train", "precision_domain")]["value"] > 0.5
    assert noise[("pr_domain2k_train", "precision_domain")] < 0.1


def test_evaluate_deterministic_and_batch_independent(fm_test, hermetic_cache):
    small = ImageData(fm_test.name, "train", fm_test.images[:1000], fm_test.labels[:1000], 10, fm_test.source)
    fd500 = MetricProtocol("fd_domain_500", "fd", "fmnist-cnn", 500, "train", None)  # a small ad-hoc protocol
    sampler = _real_sampler(fm_test.images)
    a = evaluate(sampler, small, [fd500], seed=3, batch_size=250)[0]["value"]
    b = evaluate(sampler, small, [fd500], seed=3, batch_size=250)[0]["value"]
    c = evaluate(sampler, small, [fd500], seed=4, batch_size=250)[0]["value"]
    assert a == b and a != c
    # a different batch size changes how samples are drawn, so compare on a sampler indexed by position
    stream = to_float(fm_test.images[1000:1500])

    def ordered():
        pos = [0]

        def sample(n, g):
            out = stream[pos[0]:pos[0] + n]
            pos[0] += n
            return out
        return sample
    x = evaluate(ordered(), small, [fd500], batch_size=250)[0]["value"]
    y = evaluate(ordered(), small, [fd500], batch_size=96)[0]["value"]
    assert x == pytest.approx(y, rel=1e-6)


def test_evaluate_rejects_bad_samples(fm_test):
    small = ImageData(fm_test.name, "train", fm_test.images[:100], None, 0, fm_test.source)
    with pytest.raises(GanbenchError, match="expected"):
        evaluate(lambda n, g: torch.zeros(n, 3, 32, 32), small, ["fd_domain2k_train"])
    with pytest.raises(GanbenchError, match="NaN"):
        evaluate(lambda n, g: torch.full((n, 1, 32, 32), float("nan")), small, ["fd_domain2k_train"])
    with pytest.raises(GanbenchError, match="unknown metric protocol"):
        evaluate(lambda n, g: torch.zeros(n, 1, 32, 32), small, ["fid_domain"])


# ---- effnet-lite0 -----------------------------------------------------------------------------------------------
def test_effnet_extractor_shapes_and_flag(fm_test):
    ext = get_extractor("effnet-lite0")
    f = ext(fm_test.images[:2])
    assert f["pool"].shape == (2, 1280) and f["logits"].shape == (2, 1000)
    assert "projected_gan" in FEATURES.get("effnet-lite0").shares_backbone_with
    assert len(ext.weights_sha256) == 64


# ---- inception-v3 -----------------------------------------------------------------------------------------------
def test_inception_missing_weights_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)
    clear_extractors()
    with pytest.raises(GanbenchError) as e:
        get_extractor("inception-v3")
    msg = str(e.value)
    assert "\n" not in msg and inception.FILE in msg and str(tmp_path / "torch") in msg


def test_inception_missing_weights_cli(tmp_path, monkeypatch, capsys):
    from ganbench.cli import main

    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)
    clear_extractors()
    with pytest.raises(SystemExit) as e:
        main(["fid", "fashion-mnist:test", "fashion-mnist:test", "--extractor", "inception-v3"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert e.value.code == 2 and len(lines) == 1 and lines[0].startswith("ganbench: error: ")
    assert inception.FILE in lines[0] and "--inception-weights" in lines[0]


@pytest.fixture(scope="module")
def random_inception_file(tmp_path_factory):
    """A weights file from a randomly initialised torch-fidelity Inception: tests the LOADING PATH only."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    mp = pytest.MonkeyPatch()
    mp.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
    mp.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None)
    torch.manual_seed(0)
    net = fe.FeatureExtractorInceptionV3("random-init", ["2048"])
    mp.undo()
    path = tmp_path_factory.mktemp("inc") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path


def test_inception_loading_path_with_random_weights(random_inception_file, monkeypatch):
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(random_inception_file))
    clear_extractors()
    with pytest.raises(GanbenchError, match="not the FID Inception weights"):
        get_extractor("inception-v3")  # hash check refuses other files
    monkeypatch.setenv("GANBENCH_UNVERIFIED_WEIGHTS", "1")
    clear_extractors()
    ext = get_extractor("inception-v3")
    f = ext(torch.randint(0, 256, (1, 1, 32, 32), dtype=torch.uint8))
    assert f["pool"].shape == (1, 2048) and f["logits"].shape == (1, 1008)
    assert ext.provenance()["sha256"] == inception.sha256_file(random_inception_file)
    clear_extractors()


# ---- efficiency -------------------------------------------------------------------------------------------------
def test_efficiency_counts_generator_flops():
    from torch import nn

    from ganbench.efficiency.measure import efficiency
    from ganbench.models import ImageSpec, create_model

    model = create_model("dcgan", "tiny", img=ImageSpec(1, 32, 0))
    expected = 0  # multiply-adds x 2 of every linear / conv / transposed conv in G, from its layer shapes
    hooks = []

    def hook(m, inp, out):
        nonlocal expected
        if isinstance(m, nn.Linear):
            expected += 2 * m.in_features * m.out_features * inp[0].shape[0]
        elif isinstance(m, nn.ConvTranspose2d):
            expected += 2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * inp[0][0, 0].numel()
        elif isinstance(m, nn.Conv2d):
            expected += 2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * out[0, 0].numel()
    for m in model.G.modules():
        hooks.append(m.register_forward_hook(hook))
    model.sample(1)
    for h in hooks:
        h.remove()
    r = efficiency(model, n_images=16, device="cpu")
    assert r["flops_per_image"] == expected > 0
    assert r["params_g"] == model.param_counts()["params_g"] and r["seconds"] > 0
    assert r["device"].startswith("cpu: ") and r["n_images"] == 16


# ---- CLI --------------------------------------------------------------------------------------------------------
def test_cli_stats_then_fid(cli, tmp_path, monkeypatch, capsys):
    from ganbench.cli import main

    env = {"GANBENCH_CACHE": str(tmp_path / "c")}
    p = cli("stats", "--dataset", "fashion-mnist", "--split", "test", "--extractor", "fmnist-cnn", "--n", "500",
            "--device", "cpu", env=env)  # the real entry point, in a subprocess
    assert p.returncode == 0, p.stderr
    path = p.stdout.strip()
    assert path.endswith(".npz") and str(tmp_path / "c" / "stats") in path
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "c"))
    main(["fid", path, "fashion-mnist:test", "--n", "500", "--device", "cpu", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert r["metric"] == "fd_domain" and abs(r["value"]) < 1e-8 and r["n_b"] == 500
    with pytest.raises(SystemExit):
        main(["fid", path, "no-such-thing"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "neither an image folder" in err[0]


def test_cli_listings():
    from click.testing import CliRunner

    from ganbench.cli import _load_commands, cli

    _load_commands()
    r = CliRunner().invoke(cli, ["metrics", "fid*"])
    assert r.exit_code == 0 and "fid50k_train" in r.output and "kid" not in r.output
    r = CliRunner().invoke(cli, ["extractors"])
    assert r.exit_code == 0 and "shares backbone with: projected_gan" in r.output
