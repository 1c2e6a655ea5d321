"""Metric maths: closed forms, streaming statistics, and agreement with torch-fidelity and clean-fid on identical
feature arrays (their own statistics functions, not copies)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from cleanfid.fid import frechet_distance as cf_frechet, kernel_distance as cf_kid
from torch_fidelity.metric_fid import fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from ganbench.errors import GanbenchError
from ganbench.metrics import (FEATURES, PROTOCOLS, Moments, feature_stats, frechet_distance, inception_score, kid,
                              prdc)

REL = 1e-4


def _features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    return (rng.normal(size=(n, d)) @ mix + shift).astype(np.float32)  # correlated, like network features


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


# ---- Frechet distance ------------------------------------------------------------------------------------------
def test_fd_closed_form_diagonal():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-12)


def test_fd_closed_form_scaled_identity_vs_full():
    # S1 = a I commutes with any S2: tr((S1 S2)^1/2) = sqrt(a) * sum(sqrt(eig(S2)))
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    eig = np.array([0.1, 0.5, 1.0, 2.0, 3.0, 7.0])
    s2 = q @ np.diag(eig) @ q.T
    a = 2.5
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + 6 * a + eig.sum() - 2 * np.sqrt(a) * np.sqrt(eig).sum()
    assert frechet_distance(mu1, a * np.eye(6), mu2, s2) == pytest.approx(expected, rel=1e-10)


def test_fd_identical_is_zero_and_symmetric():
    mu, s = feature_stats(_features(400, 32, 0))
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-9 * np.trace(s)
    mu2, s2 = feature_stats(_features(400, 32, 1, shift=0.3))
    assert frechet_distance(mu, s, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu, s), rel=1e-9)


@pytest.mark.parametrize("n,d", [(2000, 64), (50, 64)])  # well conditioned, and rank-deficient (n < d)
def test_fd_matches_torch_fidelity(n, d):
    a, b = _features(n, d, 0), _features(n, d, 1, shift=0.2)
    # torch-fidelity's own statistics on the same features
    from torch_fidelity.metric_fid import fid_features_to_statistics
    sa, sb = fid_features_to_statistics(torch.from_numpy(a)), fid_features_to_statistics(torch.from_numpy(b))
    ref = fid_statistics_to_metric(sa, sb, verbose=False)["frechet_inception_distance"]
    (mu1, s1), (mu2, s2) = feature_stats(a), feature_stats(b)
    assert _rel(frechet_distance(mu1, s1, mu2, s2), ref) < REL


def test_fd_matches_clean_fid():
    a, b = _features(3000, 64, 2), _features(3000, 64, 3, shift=-0.1)
    (mu1, s1), (mu2, s2) = feature_stats(a), feature_stats(b)
    ref = cf_frechet(mu1, s1, mu2, s2)
    assert _rel(frechet_distance(mu1, s1, mu2, s2), ref) < REL


def test_fd_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_moments_stream_equals_numpy_with_offset():
    x = _features(1000, 16, 4, shift=1e4).astype(np.float64)  # large common offset: the shift keeps precision
    m = Moments()
    for chunk in np.array_split(x, 7):
        m.update(chunk)
    mu, cov = m.stats()
    np.testing.assert_allclose(mu, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False), rtol=1e-8, atol=1e-10)


# ---- KID --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["subsets", "indicator"])
def test_kid_matches_torch_fidelity_same_subsets(method):
    a, b = _features(700, 32, 5), _features(600, 32, 6, shift=0.2)
    ref = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20, kid_subset_size=300,
                                 kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                                 kid_kernel_poly_coef0=1, rng_seed=7, verbose=False)
    mean, std, m = kid(a, b, n_subsets=20, subset_size=300, seed=7, method=method)
    assert m == 300
    assert _rel(mean, ref["kernel_inception_distance_mean"]) < REL
    assert _rel(std, ref["kernel_inception_distance_std"]) < REL


def test_kid_matches_clean_fid_full_subset():
    # with one subset holding every sample, the subset RNG cannot matter (MMD is permutation invariant)
    a, b = _features(400, 32, 7), _features(400, 32, 8, shift=0.3)
    mean, _, m = kid(a, b, n_subsets=1, subset_size=400)
    assert m == 400
    assert _rel(mean, cf_kid(a.astype(np.float64), b.astype(np.float64), num_subsets=1, max_subset_size=400)) < REL


def test_kid_subset_size_clamped_and_separates():
    x = _features(900, 16, 9)  # one distribution: two independent halves, and a shifted third
    a, a2, b = x[:300], x[300:600], x[600:] + 0.5
    same, _, m = kid(a, a2, n_subsets=50)
    diff, _, _ = kid(a, b, n_subsets=50)
    assert m == 300
    assert diff > 10 * abs(same) and diff > 0


# ---- Inception Score --------------------------------------------------------------------------------------------
def test_is_matches_torch_fidelity():
    logits = _features(1000, 10, 11) * 3
    ref = isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=False)
    mean, std = inception_score(logits, splits=10)
    assert _rel(mean, ref["inception_score_mean"]) < REL
    assert _rel(std, ref["inception_score_std"]) < REL


def test_is_extremes():
    k = 10
    confident = np.tile(np.eye(k) * 50, (20, 1))  # every class equally often, each image certain
    assert inception_score(confident)[0] == pytest.approx(k, rel=1e-6)
    assert inception_score(np.zeros((200, k)))[0] == pytest.approx(1.0)


# ---- precision / recall / density / coverage --------------------------------------------------------------------
def _prdc_bruteforce(fake: np.ndarray, real: np.ndarray, k: int = 3) -> dict[str, float]:
    def dist(a, b):
        return np.sqrt(((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(-1))
    r_real = np.sort(dist(real, real), axis=1)[:, k]
    r_fake = np.sort(dist(fake, fake), axis=1)[:, k]
    d_fr = dist(fake, real)
    return {"precision": (d_fr <= r_real[None]).any(1).mean(), "recall": (d_fr.T <= r_fake[None]).any(1).mean(),
            "density": (d_fr < r_real[None]).sum() / (k * len(fake)),
            "coverage": (d_fr.min(0) < r_real).mean()}


def test_prdc_matches_torch_fidelity_and_bruteforce():
    fake, real = _features(500, 16, 12, shift=0.3), _features(450, 16, 13)
    ours = prdc(fake, real, k=3, chunk=128)
    ref = prc_features_to_metric(torch.from_numpy(fake).double(), torch.from_numpy(real).double(),
                                 prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    # torch-fidelity averages in float32: agreement to float32 rounding of count / n
    assert ours["precision"] == pytest.approx(ref["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(ref["recall"], abs=1e-6)
    brute = _prdc_bruteforce(fake, real)
    for key in brute:
        assert ours[key] == pytest.approx(brute[key], abs=1e-12), key
    assert 0 < ours["precision"] < 1 and 0 < ours["recall"] < 1


def test_prdc_identical_sets():
    x = _features(200, 8, 14)
    r = prdc(x, x)
    assert r["precision"] == r["recall"] == r["coverage"] == 1.0


# ---- presets ----------------------------------------------------------------------------------------------------
def test_presets_are_consistent():
    names = PROTOCOLS.names()
    for required in ("fd_domain2k_train", "fd_domain10k_train", "kid_domain2k_train", "is_domain2k",
                     "pr_domain2k_train", "fd_effnet10k_train", "fid10k_train", "fid50k_train", "is50k"):
        assert required in names
    for n in names:
        p = PROTOCOLS.get(n)
        assert p.extractor in FEATURES
        assert (p.split is None) == (p.kind == "is")
        assert p.higher_is_better == (p.kind in ("is", "pr", "ct"))  # C_T: above -3 is no sign of copying
        assert str(p.n_gen // 1000) + "k" in n
    assert PROTOCOLS.get("fid50k_train").n_real is None  # FD: whole reference split
    assert PROTOCOLS.get("kid_domain2k_train").n_real == 2000


def test_unknown_preset_one_line_error():
    with pytest.raises(GanbenchError, match="did you mean 'fd_domain2k_train'") as e:
        PROTOCOLS.get("fd_domain2k_trian")
    assert "\n" not in str(e.value)
