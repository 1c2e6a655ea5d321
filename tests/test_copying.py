"""Copying metrics (ganbench.metrics.copying) on small synthetic feature sets: hand-computed cases, scipy formulas,
and the behaviours the metrics exist for. Tolerances come from the statistic (sampling sd), never from one CPU's run.

Planted bugs, each seen to fail here and then restored:
  (a) a copy rate that ignores distances (a constant) -> test_copy_rate_of_copies_is_one_and_of_fresh_draws_about_q
  (b) a copy rate against the wrong split (gen -> held-out distances instead of gen -> train)
      -> test_copy_rate_measures_distance_to_train_not_to_held_out (and the copies test)
  (c) a C_T without the cell partition (one global Z_U) -> test_c_t_sees_local_copying_that_a_global_test_misses and
      test_c_t_matches_the_cellwise_formula
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganbench.metrics import copying as C
from ganbench.metrics.frechet import frechet_distance

D = 8


def _brute(q, r, exclude_self=False):
    d = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return d


@pytest.fixture(scope="module")
def toy():
    """Train, held-out and fresh draws of one Gaussian (D = 8), and a prepared reference (10 cells)."""
    rng = np.random.default_rng(0)
    train = rng.normal(size=(4000, D))
    held = rng.normal(size=(2000, D))
    fresh = rng.normal(size=(2000, D))
    ref = C.prepare_sets(train, held, extractor="toy", cells=10, seed=0)
    return train, held, fresh, ref, rng


# ----------------------------------------------------------------------------------------------- nearest neighbours

def test_nn_search_matches_brute_force_across_chunks():
    rng = np.random.default_rng(1)
    q, r = rng.normal(size=(70, 5)), rng.normal(size=(130, 5))
    bd = _brute(q, r)
    # chunk_elements small enough that both queries and reference are split into many blocks
    d, i = C.nn_search(q, r, k=3, chunk_elements=7 * 11)
    order = np.argsort(bd, axis=1)[:, :3]
    np.testing.assert_array_equal(i.numpy(), order)
    np.testing.assert_allclose(d.numpy(), np.take_along_axis(bd, order, 1), rtol=1e-12, atol=1e-12)
    assert d.dtype == torch.float64


def test_nn_exclude_self_and_exact_copies_at_zero():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(90, 4)) * 1e3 + 1e4  # large offset: the |q|^2 + |r|^2 - 2qr expansion would cancel
    d, i = C.nn_search(x, x, k=1, exclude_self=True, chunk_elements=500)
    bd = _brute(x, x, exclude_self=True)
    np.testing.assert_array_equal(i[:, 0].numpy(), bd.argmin(1))
    assert (i[:, 0].numpy() != np.arange(90)).all()
    copies, _ = C.nn_distances(x[[3, 5, 8]], x)
    assert (copies.numpy() == 0).all()  # recomputed directly, not through the expansion


def test_features_stay_on_their_device_and_become_float64():
    x = torch.randn(5, 3, dtype=torch.float32)
    f = C.as_features(x)
    assert f.dtype == torch.float64 and f.device == x.device
    assert C.as_features(x.numpy(), "cpu").dtype == torch.float64
    with pytest.raises(ValueError):
        C.as_features(torch.zeros(3))


def test_heldout_halves_are_disjoint_fixed_and_cover_the_split():
    a, b = C.heldout_halves(10_000)
    assert len(a) == len(b) == 5000
    assert len(set(a.tolist()) & set(b.tolist())) == 0
    assert sorted(a.tolist() + b.tolist()) == list(range(10_000))
    a2, _ = C.heldout_halves(10_000)
    assert torch.equal(a, a2)


# ----------------------------------------------------------------------------------------------- C_T

def test_zu_hand_computed():
    # gen [1, 2] vs held-out [0.5, 3, 4]: U = #(gen > held) = 2; mean = 3 - 0.5; sd = sqrt(6 * 6 / 12)
    assert C.zu_statistic([1, 2], [0.5, 3, 4]) == pytest.approx((2 - 2.5) / math.sqrt(3), abs=1e-12)


def test_zu_agrees_with_scipy_asymptotic_test():
    # Without ties, Meehan's Z_U = Phi^-1(p) of scipy's one-sided ("less") asymptotic test with continuity correction
    rng = np.random.default_rng(3)
    for m, n, shift in [(30, 200, 0.0), (50, 80, -0.5), (400, 300, 0.3)]:
        lq, lp = rng.gamma(2, size=m) + shift, rng.gamma(2, size=n)
        p = stats.mannwhitneyu(lq, lp, alternative="less", method="asymptotic", use_continuity=True).pvalue
        assert C.zu_statistic(lq, lp) == pytest.approx(stats.norm.ppf(p), rel=1e-9, abs=1e-9)


def test_c_t_matches_the_cellwise_formula():
    # Meehan et al.: per cell Z_U of in-cell distances; cells with > 20 generated samples; weights = held-out shares
    rng = np.random.default_rng(4)
    cells = 4
    gc = np.repeat([0, 1, 2, 3], [50, 21, 20, 30])  # cell 2 (exactly 20) is dropped
    hc = np.repeat([0, 1, 2, 3], [100, 300, 50, 150])
    lg = rng.gamma(2, size=len(gc)) * np.array([0.5, 1, 1, 2])[gc]
    lh = rng.gamma(2, size=len(hc))
    val, z, used = C.c_t_from_cells(lg, gc, lh, hc, cells)
    assert used.tolist() == [True, True, False, True]
    zs = [C.zu_statistic(lg[gc == c], lh[hc == c]) for c in (0, 1, 3)]
    w = np.array([100, 300, 150]) / 550  # held-out shares renormalised over the used cells
    assert val == pytest.approx(float(w @ zs), rel=1e-12)
    assert np.isnan(z[2])
    assert val != pytest.approx(C.zu_statistic(lg, lh), abs=0.5)  # plant (c): a global Z_U is another number


def test_c_t_sees_local_copying_that_a_global_test_misses():
    # Two far-apart clusters. Cell 0 holds 80% of the held-out set and 30 exact copies; cell 1 holds 1000 generated
    # samples slightly wider than the data (under-fitting). C_T weights cells by held-out share and flags the copying
    # (about -6.6); one global Mann-Whitney test on all samples is dominated by cell 1 and says the opposite (+4..+6).
    rng = np.random.default_rng(0)
    c1 = np.full(D, 50.0)
    train = np.concatenate([rng.normal(size=(500, D)), rng.normal(size=(500, D)) + c1])
    held = np.concatenate([rng.normal(size=(800, D)), rng.normal(size=(200, D)) + c1])
    gen = np.concatenate([train[rng.choice(500, 30, replace=False)], rng.normal(size=(1000, D)) * 1.1 + c1])
    ref = C.prepare_sets(train, held, cells=2, seed=0, authenticity=False)
    r = C.c_t(gen, ref)
    assert r.cells == 2 and r.cells_used == 2
    assert r.value < -5 and r.flagged  # cell 0's Z_U is about -9.3 (all 30 copies at distance 0)
    global_z = C.zu_statistic(C.nn_distances(gen, train)[0].numpy(), ref.held_nn.numpy())
    assert global_z > 2  # plant (c) would report this and not flag


def test_c_t_of_fresh_draws_is_not_flagged_and_copies_are(toy):
    train, held, fresh, ref, rng = toy
    fresh_r = C.c_t(fresh, ref)
    assert abs(fresh_r.value) < 3.5 and not fresh_r.flagged  # N(0, 1) under the null (Meehan et al.)
    copies = C.c_t(train[rng.choice(len(train), 2000, replace=False)], ref)
    assert copies.value < -10 and copies.flagged


def test_c_t_needs_held_out_in_every_cell():
    rng = np.random.default_rng(5)
    train = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 100])
    held = rng.normal(size=(100, 2))  # nothing near the second cluster
    with pytest.raises(ValueError, match="no held-out"):
        C.prepare_sets(train, held, cells=2, authenticity=False)


# ----------------------------------------------------------------------------------------------- copy rate

def test_copy_rate_hand_computed():
    d_held = np.arange(1, 101, dtype=float)  # q = 0.05 -> r = 5, tau = 5
    d_gen = np.array([0, 1, 4.9, 5, 6, 50, 70, 99, 100, 200], dtype=float)  # 3 below tau (5 itself is not)
    s = C.copy_rate_from_distances(d_gen, d_held, 0.05)
    assert (s["r"], s["tau"], s["k"], s["rate"]) == (5, 5.0, 3, 0.3)
    ci = stats.binomtest(3, 10).proportion_ci(0.95, method="exact")
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert s["p_binomial"] == pytest.approx(stats.binomtest(3, 10, 0.05, alternative="greater").pvalue)
    assert s["p_exact"] == pytest.approx(stats.nhypergeom.sf(2, 110, 10, 5))
    # the exact law: P(K >= k) sums the negative hypergeometric pmf
    assert s["p_exact"] == pytest.approx(sum(stats.nhypergeom.pmf(j, 110, 10, 5) for j in range(3, 11)))


def test_copy_rate_exact_test_is_calibrated_under_exchangeability():
    # gen and held-out distances from one law: the mean rate is r / (n_h + 1); over 400 draws its sd is
    # sqrt(var / 400) with var <= q(1-q)/n_g + q(1-q)/n_h, so 4 sd is a tolerance of about 0.0023
    rng = np.random.default_rng(6)
    rates = [C.copy_rate_from_distances(rng.random(300), rng.random(400), 0.05)["rate"] for _ in range(400)]
    expect = 20 / 401
    tol = 4 * math.sqrt((0.05 * 0.95 / 300 + 0.05 * 0.95 / 400) / 400)
    assert abs(np.mean(rates) - expect) < tol


def test_copy_rate_of_copies_is_one_and_of_fresh_draws_about_q(toy):
    # plant (a): a constant copy rate fails one of the two
    train, held, fresh, ref, rng = toy
    copies = C.copy_rate(train[rng.choice(len(train), 2000, replace=False)], ref)
    assert copies.value == 1.0 and copies.flagged and copies.ci_low > 0.99
    f = C.copy_rate(fresh, ref)
    sd = math.sqrt(0.05 * 0.95 / 2000 + 0.05 * 0.95 / 2000)  # gen noise + tau's noise
    assert abs(f.value - 0.05) < 4 * sd and not f.flagged
    assert f.quantile == 0.05 and f.n_gen == 2000 and f.n_train == 4000 and f.n_held_out == 2000
    assert f.extractor == "toy" and f.seed == 0


def test_copy_rate_measures_distance_to_train_not_to_held_out(toy):
    # plant (b): gen -> held-out distances would score copies of the held-out set as copying (rate 1). Copying the
    # reference held-out images is not training-set copying: their distances to train are the held-out distances
    # themselves, so exactly r - 1 of them fall below tau.
    train, held, fresh, ref, rng = toy
    r = C.copy_rate(held, ref)
    assert r.value == (math.ceil(0.05 * 2000) - 1) / 2000 and not r.flagged


def test_copy_rate_mixture_is_monotone(toy):
    train, held, fresh, ref, rng = toy
    copies = train[rng.choice(len(train), 2000, replace=False)]
    rates = [C.copy_rate(np.concatenate([copies[:k], fresh[k:]]), ref).value for k in (0, 500, 1000, 1500, 2000)]
    assert all(b > a for a, b in zip(rates, rates[1:]))
    # expected p + (1 - p) q at p = 25/50/75 %, within 4 sd of a binomial with n = 2000
    for p, r in zip((0.25, 0.5, 0.75), rates[1:4]):
        e = p + (1 - p) * 0.05
        assert abs(r - e) < 4 * math.sqrt(e * (1 - e) / 2000) + 4 * math.sqrt(0.05 * 0.95 / 2000)


# ----------------------------------------------------------------------------------------------- authenticity

def test_authenticity_hand_computed():
    # train on a line at 0, 1, 3: radii (nearest other train point) 1, 1, 2
    train = np.array([[0.0], [1.0], [3.0]])
    held = np.array([[-0.5], [1.5], [4.0]])  # 0.5 <= 1, 0.5 <= 1, 1 <= 2: all three unauthentic
    ref = C.prepare_sets(train, held, cells=1, authenticity=True)
    np.testing.assert_allclose(ref.train_radius.numpy(), [1, 1, 2])
    assert ref.held_unauthentic == 3
    gen = np.array([[0.5], [2.2], [6.0], [-2.0]])  # 0.5 <= 1 and 0.8 <= 2 unauthentic; 3 > 2 and 2 > 1 authentic
    r = C.authenticity(gen, ref)
    assert r.value == 0.5 and r.extra["authenticity"] == 0.5 and r.baseline == 1.0


def test_authenticity_flags_copies_not_fresh_draws(toy):
    train, held, fresh, ref, rng = toy
    assert C.authenticity(train[rng.choice(len(train), 2000, replace=False)], ref).value == 1.0
    f = C.authenticity(fresh, ref)
    assert not f.flagged
    sd = math.sqrt(f.baseline * (1 - f.baseline) * (1 / 2000 + 1 / 2000))
    assert abs(f.value - f.baseline) < 4 * sd


# ----------------------------------------------------------------------------------------------- gaps

def test_fd_gap_is_the_difference_of_two_fds(toy):
    train, held, fresh, ref, rng = toy
    r = C.fd_gap(fresh, ref, n_permutations=20)
    sub = train[ref.subset.numpy()]

    def fd(a, b):
        return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))

    assert r.extra["fd_train_subset"] == pytest.approx(fd(fresh, sub), rel=1e-9)
    assert r.extra["fd_held_out"] == pytest.approx(fd(fresh, held), rel=1e-9)
    assert r.value == pytest.approx(fd(fresh, sub) - fd(fresh, held), rel=1e-9, abs=1e-12)
    assert len(sub) == len(held) and r.extra["n_permutations"] == 20


def test_nn_gap_value_and_its_null(toy):
    train, held, fresh, ref, rng = toy
    r = C.nn_gap(fresh, ref, n_permutations=30)
    sub = train[ref.subset.numpy()]
    da, dh = _brute(fresh, sub).min(1), _brute(fresh, held).min(1)
    assert r.value == pytest.approx((da.mean() - dh.mean()) / dh.mean(), rel=1e-9)
    assert not r.flagged
    # copies: 2000 of 4000 train images, half of them in the 2000-image subset -> distance 0 -> a large gap
    copies = C.nn_gap(train[rng.choice(len(train), 2000, replace=False)], ref, n_permutations=30)
    assert copies.value < -0.3 and copies.flagged


def test_evaluate_copying_labels_every_row(toy):
    train, held, fresh, ref, rng = toy
    res = C.evaluate_copying(fresh[:500], ref, n_permutations=10)
    assert list(res) == list(C.METRICS)
    for name, r in res.items():
        d = r.to_dict()
        assert d["metric"] == name and d["n_gen"] == 500 and d["extractor"] == "toy" and d["rule"] == C.RULES[name]
    assert res["c_t"].cells == 10
    with pytest.raises(ValueError, match="unknown copying metric"):
        C.evaluate_copying(fresh, ref, ("nope",))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_agrees_with_cpu(toy):
    train, held, fresh, ref, rng = toy
    gpu = C.prepare_sets(torch.from_numpy(train).cuda(), torch.from_numpy(held).cuda(), extractor="toy",
                              cells=10, seed=0)
    g = torch.from_numpy(fresh).cuda()
    for m in C.METRICS:
        a, b = C.evaluate_copying(fresh, ref, (m,), n_permutations=10)[m], \
            C.evaluate_copying(g, gpu, (m,), n_permutations=10)[m]
        assert a.value == pytest.approx(b.value, rel=1e-6, abs=1e-9), m


def test_c_t_equals_meehan_et_al_official_code_on_a_small_case():
    # 3 given cells in 2-D. The expected values come from one run of the official code (casey-meehan/data-copying,
    # data_copying_tests.C_T with tau = 20 / m; its mannwhitneyu fed with raveled (n, 1) arrays, as old scipy did).
    # They depend only on integer U counts and cell sizes (no distance ties here), so no CPU's rounding enters.
    rng = np.random.default_rng(7)
    k, centers = 3, np.array([[0, 0], [20, 0], [0, 20]], float)
    t_cells = np.repeat(np.arange(k), [40, 50, 30])
    t = centers[t_cells] + rng.normal(size=(120, 2))
    p_cells = np.repeat(np.arange(k), [25, 35, 20])
    p = centers[p_cells] + rng.normal(size=(80, 2))
    q_cells = np.repeat(np.arange(k), [30, 22, 15])  # cell 2 (15 <= 20 generated samples) is left out
    q = centers[q_cells] + rng.normal(size=(67, 2)) * np.array([0.5, 1.0, 1.5])[q_cells, None]

    def cell_nn(x, xc):
        out = np.empty(len(x))
        for c in range(k):
            out[xc == c] = C.nn_distances(x[xc == c], t[t_cells == c])[0].numpy()
        return out

    val, z, used = C.c_t_from_cells(cell_nn(q, q_cells), q_cells, cell_nn(p, p_cells), p_cells, k)
    assert used.tolist() == [True, True, False]
    assert z[:2] == pytest.approx([-2.08753101, 2.45060015], abs=1e-8)
    assert val == pytest.approx(0.5597121688454401, rel=1e-12)


def test_copy_rate_reports_repeated_samples(toy):
    # mode collapse: 10 fresh images repeated. The binomial and exact tests assume independent samples, so the
    # result says how many distinct samples and distinct training neighbours stand behind the rate.
    train, held, fresh, ref, rng = toy
    r = C.copy_rate(np.repeat(fresh[:10], 50, axis=0), ref)
    assert r.extra["distinct_generated"] == 10
    assert r.extra["distinct_train_neighbours_of_close"] <= 10
    assert r.extra["k"] % 50 == 0  # whole images are either close or not


def test_copying_reference_is_cached_on_disk(tmp_path, monkeypatch):
    # the synthetic dataset in fmnist-cnn space; a second call reads <cache>/copying/ and gives the same reference
    from ganbench.data import load_dataset
    from ganbench.metrics.features import get_extractor

    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    train, test = load_dataset("synthetic", "train", 32, 1), load_dataset("synthetic", "test", 32, 1)
    ext = get_extractor("fmnist-cnn")
    a = C.copying_sets(train, test, ext, cells=2)  # (synthetic: 256 held-out images allow at most 2 cells)
    assert len(list((tmp_path / "copying").glob("*.npz"))) == 1
    C.copying_sets(train, test, ext, cells=1)  # another key: another file
    assert len(list((tmp_path / "copying").glob("*.npz"))) == 2

    def recompute(*a, **k):
        raise AssertionError("the cached reference was not used")

    monkeypatch.setattr(C, "prepare_sets", recompute)
    b = C.copying_sets(train, test, ext, cells=2)
    for k in ("held_nn", "centroids", "train_cells", "held_cells", "held_cell_nn", "subset", "train_radius"):
        assert torch.equal(getattr(a, k), getattr(b, k)), k
    assert a.held_unauthentic == b.held_unauthentic and len(a.held_out) == len(test) // 2
    gen = torch.from_numpy(ext(test.images[:300])["pool"].numpy())
    assert C.copy_rate(gen, a).value == C.copy_rate(gen, b).value


def test_copy_rate_warns_when_held_out_images_duplicate_train():
    rng = np.random.default_rng(8)
    train = rng.normal(size=(500, 3))
    held = np.concatenate([train[:20], rng.normal(size=(80, 3))])  # 20% of the held-out set are train images
    ref = C.prepare_sets(train, held, cells=2, authenticity=False)
    r = C.copy_rate(train[100:200], ref)
    assert r.extra["tau"] == 0 and r.value == 0 and "duplicate training images" in r.extra["warning"]
    assert "warning" not in C.copy_rate(train[100:200], C.prepare_sets(train, held[20:], cells=2,
                                                                           authenticity=False)).extra
