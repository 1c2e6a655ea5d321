"""Does a generator copy its training set? Copying metrics on feature arrays of any registered extractor.

Every FD-type number ganbench reports is measured against the training split, so a generator that returns training
images scores best (issue #34: random Fashion-MNIST train images score fd_domain2k_train = 0.058). The functions here
ask a different question: is the generated set closer to the *training* images than fresh images of the same
distribution are? Inputs are feature arrays (numpy or torch, [N, D]; e.g. ``ext(images)[ext.fd_layer]``): ``train``
(the split the generator was trained on), ``held_out`` (images of the same distribution the generator never saw) and
``gen`` (generated). All distances are Euclidean in float64, computed in chunks on ``device`` (CPU or CUDA: inputs may
be CUDA tensors and nothing assumes the CPU), so 10k x 60k nearest-neighbour searches fit in memory.

Metrics (each returns a ``CopyResult``; ``flagged`` is the verdict, its rule is in ``CopyResult.rule``):

``copy_rate`` (nearest-neighbour copy rate)
    tau = the ceil(q n_h)-th smallest distance from a held-out image to its nearest training image (q = ``COPY_Q`` =
    0.05); the copy rate is the share of generated samples whose nearest training image is closer than tau. A
    generator whose samples are as far from train as fresh images are scores about q; exact copies score 1. Reported
    with a 95% Clopper-Pearson (binomial) interval and the one-sided binomial test against q. The verdict uses the
    exact test instead: under "gen is exchangeable with held-out" the number of generated samples below the r-th
    held-out order statistic is negative-hypergeometric (``scipy.stats.nhypergeom``), which also counts the noise of
    tau itself (the binomial test ignores it and is ~15% too narrow at n_h = 5000, n_g = 2000).
    **Flagged when the exact one-sided p < ALPHA = 1e-3.** Both tests assume independent samples; a mode-collapsed
    set (a few images repeated) breaks that, so the row reports ``distinct_generated`` and
    ``distinct_train_neighbours_of_close``.

``c_t`` (Meehan, Chaudhuri & Dasgupta, AISTATS 2020, "A Non-Parametric Test to Detect Data-Copying in Generative
Models"; official code casey-meehan/data-copying)
    k-means partition of the training features into ``CT_CELLS`` = 50 cells (their MNIST default; fitted with
    ``scipy.cluster.vq.kmeans2``, k-means++ init, seeded). In each cell, the 1-NN distances of the generated and the
    held-out samples of that cell *to the training samples of that cell*; Mann-Whitney U of generated vs held-out
    (scipy, U = #pairs with generated distance > held-out distance), z-scored as in their code:
    Z = (U - (n m / 2 - 0.5)) / sqrt(n m (n + m + 1) / 12) (continuity correction, no tie correction). Cells with
    more than ``CT_MIN_GEN`` = 20 generated samples (their tau = 20 / m) are averaged, weighted by their share of
    held-out samples. C_T << 0: generated samples are closer to train than held-out ones (copying); >> 0:
    under-fitting. **Flagged when C_T < CT_THRESHOLD = -3** (the paper's threshold).

``authenticity`` (Alaa et al., ICML 2022, "How Faithful is your Synthetic Data?")
    A generated sample is unauthentic when it is at least as close to its nearest training point t as t is to its
    own nearest other training point (the paper's definition; the official evaluating-generative-models code indexes
    the train-train radii with synthetic-sample indices, which we do not reproduce). Value = share of unauthentic
    samples (Alaa's authenticity is 1 minus it). Fresh images are unauthentic at a rate of their own, so the
    baseline is the held-out set's share. **Flagged when Fisher's exact one-sided test (gen share > held-out share)
    gives p < ALPHA.**

``fd_gap`` (the issue's train/test gap, literally) and ``nn_gap`` (its sample-level variant)
    The same distance from the generated set to an equal-size random subset of train (n_h images, seeded) and to
    the held-out set: ``fd_gap`` = FD(gen, train subset) - FD(gen, held-out); ``nn_gap`` = (mean NN distance to the
    train subset - mean NN distance to held-out) / mean NN distance to held-out. A copier should be closer to train
    (gap < 0). Null: under no copying, the train subset and the held-out set are exchangeable, so a permutation test
    (``N_PERMUTATIONS`` random re-splits of their union) gives z = (gap - null mean) / null sd.
    **Flagged when z < GAP_Z = -3.** Measured on the copy ladder (``weights/fmnist-cnn.copying.md``): ``fd_gap``
    fails. A copier of random images of a 60k split has only n_h / 60k (8%) of its copies in the subset and the rest
    are distributed like test images, so at 100% exact copies the FD gap is -0.005 against a null sd of 0.028
    (z = -0.1). ``nn_gap`` passes (z = -10.1 at 100%, -3.5 at 25% copies): the 8% sit at distance 0.

Why two disjoint halves of the test split (``heldout_halves``): the held-out set is the metrics' baseline for "what
fresh images look like" (tau, the Mann-Whitney baseline, the gap). A control that claims to be a perfect generaliser
must be *another* sample of fresh images: if it were the held-out images themselves, every held-out-based statistic
would compare a set with itself (copy rate exactly q by construction, U exactly nm/2, gap of the identical set), so
the control could not fail and would prove nothing. The Fashion-MNIST test split (10k) is split once with a fixed
seeded permutation (``HALVES_SEED``) into the held-out half and the control half.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from .. import rand
from .frechet import frechet_distance

COPY_Q = 0.05  # the held-out quantile that defines "close" for the copy rate
ALPHA = 1e-3  # one-sided significance level of the copy-rate and authenticity verdicts
CT_CELLS = 50  # k-means cells (Meehan et al.'s MNIST experiments)
CT_MIN_GEN = 20  # a cell counts when it holds more than this many generated samples (their tau = 20 / m)
CT_THRESHOLD = -3.0  # C_T below this: data-copying (Meehan et al.)
HELD_PER_CELL = 100  # copying_sets uses at most one cell per this many held-out images (50 for Fashion-MNIST's 5,000)
GAP_Z = -3.0  # permutation z of a train/test gap below this: flagged
N_PERMUTATIONS = 100  # permutation re-splits for the gaps' null
HALVES_SEED = 0  # the fixed permutation that splits the test split into held-out / control halves
SUBSET_SALT = 1_000_003  # added to the seed of the gaps' train subset, so a caller's randperm(seed) of the train
# split (e.g. the copies of a control) is never the subset itself
GAP_TOPK = 64  # nearest pooled neighbours kept per generated sample for the nn_gap permutations
_CHUNK_ELEMENTS = 1 << 25  # float64 distance block of at most 32M entries (256 MB)

METRICS = ("copy_rate", "c_t", "authenticity", "nn_gap", "fd_gap")
RULES = {
    "copy_rate": f"flagged when the exact one-sided p (negative hypergeometric, gen exchangeable with held-out) < "
                 f"{ALPHA:g}",
    "c_t": f"flagged when C_T < {CT_THRESHOLD:g} (Meehan et al. 2020)",
    "authenticity": f"flagged when Fisher's exact one-sided p (gen unauthentic share > held-out share) < {ALPHA:g}",
    "nn_gap": f"flagged when the permutation z of the gap < {GAP_Z:g}",
    "fd_gap": f"flagged when the permutation z of the gap < {GAP_Z:g}",
}
HIGHER_MEANS_COPYING = {"copy_rate": True, "c_t": False, "authenticity": True, "nn_gap": False, "fd_gap": False}


# ----------------------------------------------------------------------------------------------- primitives

def as_features(x: Any, device: str | torch.device | None = None) -> Tensor:
    """numpy / torch [N, D] -> float64 tensor on ``device`` (default: the tensor's own device, else the CPU)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    x = torch.as_tensor(x)
    if x.dim() != 2:
        raise ValueError(f"features must be [N, D], got {list(x.shape)}")
    return x.to(device=device if device is not None else x.device, dtype=torch.float64)


def _np(x: Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def nn_search(queries: Any, pool: Any, *, k: int = 1, device: str | torch.device | None = None,
              exclude_self: bool = False, chunk_elements: int = _CHUNK_ELEMENTS) -> tuple[Tensor, Tensor]:
    """The k nearest ``pool`` rows of every query row: (distances float64 [Nq, k], indices int64 [Nq, k]), sorted.

    Chunked over queries and pool (blocks of at most ``chunk_elements`` squared distances), float64 on
    ``device``. Candidates come from |q|^2 + |r|^2 - 2 q.r; the returned distances are recomputed directly as
    |q - r| (no cancellation: an exact copy is at distance exactly 0). ``exclude_self``: queries are the pool
    itself; row i never returns index i (a duplicate elsewhere still counts, at distance 0)."""
    q = as_features(queries, device)
    r = as_features(pool, q.device if device is None else device)
    q = q.to(r.device)
    nq, nr = len(q), len(r)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"feature dimensions differ: {q.shape[1]} vs {r.shape[1]}")
    if exclude_self and nq != nr:
        raise ValueError("exclude_self needs the pool as queries")
    k_eff = min(k, nr - (1 if exclude_self else 0))
    if k_eff < 1:
        raise ValueError("the pool has too few rows")
    cq = max(1, min(nq, 1024))
    cr = max(k_eff + 1, min(nr, chunk_elements // cq))
    rn = (r * r).sum(1)
    out_d, out_i = [], []
    for qs in range(0, nq, cq):
        qq = q[qs:qs + cq]
        qn = (qq * qq).sum(1)
        best_d = best_i = None
        for rs in range(0, nr, cr):
            d2 = qn[:, None] + rn[None, rs:rs + cr] - 2.0 * (qq @ r[rs:rs + cr].T)
            if exclude_self:
                rows = torch.arange(len(qq), device=r.device)
                cols = rows + qs - rs
                ok = (cols >= 0) & (cols < d2.shape[1])
                d2[rows[ok], cols[ok]] = math.inf
            kk = min(k_eff, d2.shape[1])
            v, i = d2.topk(kk, dim=1, largest=False)
            i = i + rs
            if best_d is not None:
                v, j = torch.cat([best_d, v], 1).topk(min(k_eff, best_d.shape[1] + kk), dim=1, largest=False)
                i = torch.cat([best_i, i], 1).gather(1, j)
            best_d, best_i = v, i
        step = max(1, chunk_elements // max(1, best_i.shape[1] * r.shape[1]))
        exact = torch.cat([(qq[a:a + step, None, :] - r[best_i[a:a + step]]).norm(dim=2)  # direct float64
                           for a in range(0, len(qq), step)])
        exact, j = exact.sort(dim=1, stable=True)
        out_d.append(exact)
        out_i.append(best_i.gather(1, j))
    return torch.cat(out_d), torch.cat(out_i)


def nn_distances(queries: Any, pool: Any, *, device: str | torch.device | None = None,
                 exclude_self: bool = False) -> tuple[Tensor, Tensor]:
    """Distance to and index of the nearest ``pool`` row (float64 [Nq], int64 [Nq])."""
    d, i = nn_search(queries, pool, k=1, device=device, exclude_self=exclude_self)
    return d[:, 0], i[:, 0]


def heldout_halves(n: int = 10_000, seed: int = HALVES_SEED) -> tuple[Tensor, Tensor]:
    """(held-out indices, control indices): a fixed seeded permutation of ``n`` test images cut in two disjoint
    halves. The held-out half is the metrics' held-out set; the control half supplies "perfect generaliser" images,
    which must never be the held-out images themselves (see the module docstring)."""
    perm = rand.randperm(n, torch.Generator().manual_seed(seed))
    return perm[:n // 2].clone(), perm[n // 2:].clone()


def _moments(x: Tensor) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(0)
    xc = x - mu
    return _np(mu), _np(xc.T @ xc / (len(x) - 1))


# ----------------------------------------------------------------------------------------------- results

@dataclass
class CopyResult:
    """One copying metric of one generated set, with everything needed to label the row."""

    metric: str  # copy_rate | c_t | authenticity | nn_gap | fd_gap
    value: float
    flagged: bool
    rule: str
    extractor: str
    n_gen: int
    n_train: int
    n_held_out: int
    seed: int
    quantile: float | None = None  # copy_rate's q
    cells: int | None = None  # C_T: cells of the partition
    cells_used: int | None = None  # C_T: cells with more than CT_MIN_GEN generated samples
    baseline: float | None = None  # the value expected without copying (q, 0, the held-out share)
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    z: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def higher_means_copying(self) -> bool:
        return HIGHER_MEANS_COPYING[self.metric]

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


# -------------------------------------------------------------------------------------------------- real sets

@dataclass
class CopyingSets:
    """Train and held-out features with everything the metrics reuse across generated sets (computed once)."""

    train: Tensor
    held_out: Tensor
    extractor: str
    seed: int
    held_nn: Tensor  # held-out -> nearest train distance (copy rate)
    centroids: Tensor  # C_T partition
    train_cells: Tensor
    held_cells: Tensor
    held_cell_nn: Tensor  # held-out -> nearest train of the same cell
    subset: Tensor  # the equal-size random train subset of the gaps
    subset_moments: tuple[np.ndarray, np.ndarray]
    held_moments: tuple[np.ndarray, np.ndarray]
    train_radius: Tensor | None = None  # train -> nearest other train (authenticity)
    held_unauthentic: int | None = None

    @property
    def device(self) -> torch.device:
        return self.train.device

    @property
    def cells(self) -> int:
        return len(self.centroids)


def fit_cells(train: Any, cells: int = CT_CELLS, seed: int = 0, device: str | torch.device | None = None
              ) -> tuple[Tensor, Tensor]:
    """k-means partition of the training features: (centroids [k', D], train cell labels), with
    ``scipy.cluster.vq.kmeans2`` (k-means++ init, 10 iterations, numpy rng ``seed``) on the CPU; cells left empty
    are dropped (k' <= k) and labels are nearest-centroid assignments on ``device``."""
    from scipy.cluster.vq import kmeans2

    t = as_features(train, device)
    cent, _ = kmeans2(_np(t), cells, iter=10, minit="++", seed=np.random.default_rng(seed))
    cent = torch.from_numpy(cent).to(t.device)
    labels = assign_cells(t, cent)
    keep = torch.unique(labels)
    if len(keep) < len(cent):
        cent = cent[keep]
        labels = assign_cells(t, cent)
    return cent, labels


def assign_cells(x: Any, centroids: Tensor) -> Tensor:
    """Nearest-centroid cell of every row."""
    return nn_distances(x, centroids, device=centroids.device)[1]


def _cell_nn(x: Tensor, x_cells: Tensor, train: Tensor, train_cells: Tensor, cells: int) -> Tensor:
    """Distance of every row of x to the nearest training row of its own cell."""
    out = torch.full((len(x),), math.nan, dtype=torch.float64, device=x.device)
    for c in range(cells):
        sel = x_cells == c
        if sel.any():
            tc = train[train_cells == c]
            out[sel] = nn_distances(x[sel], tc)[0]
    return out


def prepare_sets(train: Any, held_out: Any, *, extractor: str = "", device: str | torch.device | None = None,
                      cells: int = CT_CELLS, seed: int = 0, authenticity: bool = True) -> CopyingSets:
    """Everything on the train/held-out side, once: held-out NN distances to train, the C_T partition (and the
    held-out in-cell distances), the gaps' equal-size random train subset (seed ``seed``) and its moments, and with
    ``authenticity`` the train-to-train NN radii (an N_train^2 search: about a minute for 60k x 128 on 2 CPU
    cores). Raises ValueError when a cell holds no held-out sample (as Meehan et al.'s code: use fewer cells)."""
    t = as_features(train, device)
    h = as_features(held_out, t.device)
    if t.shape[1] != h.shape[1]:
        raise ValueError(f"feature dimensions differ: train {t.shape[1]}, held-out {h.shape[1]}")
    if len(h) > len(t):
        raise ValueError("the held-out set must not be larger than train (the gaps use an equal-size train subset)")
    held_nn, _ = nn_distances(h, t)
    cent, tcells = fit_cells(t, cells, seed)
    hcells = assign_cells(h, cent)
    missing = sorted(set(range(len(cent))) - set(torch.unique(hcells).tolist()))
    if missing:
        raise ValueError(f"C_T cells {missing[:5]} hold no held-out sample; use fewer cells than {cells}")
    held_cell_nn = _cell_nn(h, hcells, t, tcells, len(cent))
    g = torch.Generator().manual_seed(seed + SUBSET_SALT)  # salted: never the randperm(seed) that picks images
    subset = rand.randperm(len(t), g, device=t.device)[:len(h)]
    ref = CopyingSets(t, h, extractor, seed, held_nn, cent, tcells, hcells, held_cell_nn, subset,
                           _moments(t[subset]), _moments(h))
    if authenticity:
        ref.train_radius = nn_distances(t, t, exclude_self=True)[0]
        d, i = nn_distances(h, t)
        ref.held_unauthentic = int((d <= ref.train_radius[i]).sum())
    return ref


# ----------------------------------------------------------------------------------------------- statistics

def zu_statistic(l_gen: Any, l_held: Any) -> float:
    """Meehan et al.'s Z_U: Mann-Whitney U of generated vs held-out NN distances (U = #pairs gen > held-out, ties
    half; ``scipy.stats.mannwhitneyu``), z-scored as (U - (n m / 2 - 0.5)) / sqrt(n m (n + m + 1) / 12)."""
    lq = np.asarray(l_gen, np.float64).ravel()
    lp = np.asarray(l_held, np.float64).ravel()
    m, n = len(lq), len(lp)
    u = stats.mannwhitneyu(lq, lp, alternative="less").statistic
    return float((u - (n * m / 2 - 0.5)) / math.sqrt(n * m * (n + m + 1) / 12))


def c_t_from_cells(l_gen: Any, gen_cells: Any, l_held: Any, held_cells: Any, cells: int,
                   min_gen: int = CT_MIN_GEN) -> tuple[float, np.ndarray, np.ndarray]:
    """C_T from in-cell NN distances: (C_T, per-cell Z_U (nan where unused), used-cell mask). A cell is used when it
    holds more than ``min_gen`` generated samples; weights are the held-out shares of the used cells. C_T is nan
    when no cell is used."""
    lq, qc = np.asarray(l_gen, np.float64), np.asarray(gen_cells)
    lp, pc = np.asarray(l_held, np.float64), np.asarray(held_cells)
    z = np.full(cells, np.nan)
    q_ct = np.bincount(qc, minlength=cells)
    p_share = np.bincount(pc, minlength=cells) / len(lp)
    used = q_ct > min_gen
    for c in np.flatnonzero(used):
        if not (pc == c).any():
            raise ValueError(f"C_T cell {c} has generated but no held-out samples")
        z[c] = zu_statistic(lq[qc == c], lp[pc == c])
    if not used.any():
        return math.nan, z, used
    return float(p_share[used] @ z[used] / p_share[used].sum()), z, used


def copy_rate_from_distances(d_gen: Any, d_held: Any, q: float = COPY_Q) -> dict[str, float]:
    """The copy rate and its tests from NN distances to train of generated and held-out samples.

    tau = the r-th smallest held-out distance, r = ceil(q n_h); k = #generated with distance < tau. Returns rate
    k / n_g, tau, r, the 95% Clopper-Pearson interval, the one-sided binomial p against q, and the exact one-sided p:
    P(K >= k) for K ~ nhypergeom(n_g + n_h, n_g, r), the law of k when generated and held-out distances are
    exchangeable (no copying)."""
    dg = np.asarray(d_gen, np.float64).ravel()
    dh = np.sort(np.asarray(d_held, np.float64).ravel())
    ng, nh = len(dg), len(dh)
    r = max(1, math.ceil(q * nh))
    tau = float(dh[r - 1])
    k = int((dg < tau).sum())
    bt = stats.binomtest(k, ng, q, alternative="greater")
    ci = stats.binomtest(k, ng).proportion_ci(0.95, method="exact")
    p_exact = float(stats.nhypergeom.sf(k - 1, ng + nh, ng, r)) if k > 0 else 1.0
    return {"rate": k / ng, "k": k, "tau": tau, "r": r, "ci_low": float(ci.low), "ci_high": float(ci.high),
            "p_binomial": float(bt.pvalue), "p_exact": p_exact,
            "expected_null": ng * r / (nh + 1) / ng}


# ----------------------------------------------------------------------------------------------- metrics

def _base(ref: CopyingSets, metric: str, gen: Tensor, value: float, flagged: bool, **kw) -> CopyResult:
    return CopyResult(metric, float(value), bool(flagged), RULES[metric], ref.extractor, len(gen), len(ref.train),
                      len(ref.held_out), ref.seed, **kw)


def copy_rate(gen: Any, ref: CopyingSets, q: float = COPY_Q) -> CopyResult:
    """Share of generated samples closer to their nearest training image than the q-quantile of held-out images'
    nearest-training distances (see the module docstring for the tests and the verdict)."""
    g = as_features(gen, ref.device)
    d, i = nn_distances(g, ref.train)
    s = copy_rate_from_distances(_np(d), _np(ref.held_nn), q)
    close = d < s["tau"]
    # the tests assume independent samples: repeated samples (mode collapse) break that, so say how many there are
    return _base(ref, "copy_rate", g, s["rate"], s["p_exact"] < ALPHA, quantile=q, baseline=s["expected_null"],
                 ci_low=s["ci_low"], ci_high=s["ci_high"], p_value=s["p_exact"],
                 extra={"tau": s["tau"], "k": s["k"], "r": s["r"], "p_binomial": s["p_binomial"],
                        "median_nn_gen": float(d.median()), "median_nn_held_out": float(ref.held_nn.median()),
                        "distinct_generated": len(torch.unique(g, dim=0)),
                        "distinct_train_neighbours_of_close": len(torch.unique(i[close])),
                        **({"warning": f"tau = 0: at least {q:g} of the held-out images duplicate training images, "
                                       f"so exact copies cannot be told from fresh images"} if s["tau"] == 0 else {})})


def c_t(gen: Any, ref: CopyingSets, min_gen: int = CT_MIN_GEN) -> CopyResult:
    """Meehan et al.'s C_T on the sets' k-means partition (see the module docstring)."""
    g = as_features(gen, ref.device)
    gcells = assign_cells(g, ref.centroids)
    lq = _cell_nn(g, gcells, ref.train, ref.train_cells, ref.cells)
    val, z, used = c_t_from_cells(_np(lq), _np(gcells), _np(ref.held_cell_nn), _np(ref.held_cells), ref.cells,
                                  min_gen)
    flagged = math.isfinite(val) and val < CT_THRESHOLD
    return _base(ref, "c_t", g, val, flagged, cells=ref.cells, cells_used=int(used.sum()), baseline=0.0,
                 z=val, extra={"min_gen": min_gen, "cell_z_min": float(np.nanmin(z)) if used.any() else None,
                               "cell_z_max": float(np.nanmax(z)) if used.any() else None,
                               "gen_share_in_used_cells": float(np.bincount(_np(gcells), minlength=ref.cells)[used]
                                                                .sum() / len(g))})


def authenticity(gen: Any, ref: CopyingSets) -> CopyResult:
    """Alaa et al.'s unauthentic share against the held-out set's own share (see the module docstring)."""
    if ref.train_radius is None:
        raise ValueError("the sets were prepared without authenticity=True")
    g = as_features(gen, ref.device)
    d, i = nn_distances(g, ref.train)
    k = int((d <= ref.train_radius[i]).sum())
    ng, nh, kh = len(g), len(ref.held_out), ref.held_unauthentic
    p = float(stats.fisher_exact([[k, ng - k], [kh, nh - kh]], alternative="greater").pvalue)
    ci = stats.binomtest(k, ng).proportion_ci(0.95, method="exact")
    return _base(ref, "authenticity", g, k / ng, p < ALPHA, baseline=kh / nh, ci_low=float(ci.low),
                 ci_high=float(ci.high), p_value=p, extra={"authenticity": 1 - k / ng, "k": k, "held_out_k": kh})


def _perm_z(obs: float, null: np.ndarray) -> tuple[float, float]:
    sd = float(null.std(ddof=1))
    z = (obs - float(null.mean())) / sd if sd > 0 else (-math.inf if obs < null.mean() else 0.0)
    p = (1 + int((null <= obs).sum())) / (1 + len(null))
    return z, p


def nn_gap(gen: Any, ref: CopyingSets, n_permutations: int = N_PERMUTATIONS, seed: int | None = None
           ) -> CopyResult:
    """Sample-level train/test gap: (mean NN distance to the equal-size train subset - mean NN distance to the
    held-out set) / mean NN distance to held-out, with a permutation null (random re-splits of subset + held-out)."""
    g = as_features(gen, ref.device)
    m = len(ref.held_out)
    pooled = torch.cat([ref.train[ref.subset], ref.held_out])
    d, idx = nn_search(g, pooled, k=min(GAP_TOPK, len(pooled)))

    def gap(in_a: Tensor) -> float:
        mask = in_a[idx]
        if not (mask.any(1) & (~mask).any(1)).all():
            raise RuntimeError(f"a generated sample has no neighbour of one side among its {idx.shape[1]} nearest")
        da = d.gather(1, mask.int().argmax(1, keepdim=True))
        db = d.gather(1, (~mask).int().argmax(1, keepdim=True))
        return float((da.mean() - db.mean()) / db.mean())

    side = torch.zeros(2 * m, dtype=torch.bool, device=ref.device)
    side[:m] = True
    obs = gap(side)
    gen_ = torch.Generator().manual_seed(ref.seed if seed is None else seed)
    null = np.array([gap(side[rand.randperm(2 * m, gen_, device=ref.device)]) for _ in range(n_permutations)])
    z, p = _perm_z(obs, null)
    return _base(ref, "nn_gap", g, obs, z < GAP_Z, baseline=0.0, z=z, p_value=p,
                 extra={"n_permutations": n_permutations, "null_sd": float(null.std(ddof=1)),
                        "train_subset": m})


def fd_gap(gen: Any, ref: CopyingSets, n_permutations: int = N_PERMUTATIONS, seed: int | None = None
           ) -> CopyResult:
    """The issue's gap, literally: FD(gen, equal-size random train subset) - FD(gen, held-out), with a permutation
    null (random re-splits of subset + held-out)."""
    g = as_features(gen, ref.device)
    mg, sg = _moments(g)
    obs_a = frechet_distance(mg, sg, *ref.subset_moments)
    obs_b = frechet_distance(mg, sg, *ref.held_moments)
    obs = obs_a - obs_b
    m = len(ref.held_out)
    pooled = torch.cat([ref.train[ref.subset], ref.held_out])
    gen_ = torch.Generator().manual_seed(ref.seed if seed is None else seed)
    null = []
    for _ in range(n_permutations):
        perm = rand.randperm(2 * m, gen_, device=ref.device)
        null.append(frechet_distance(mg, sg, *_moments(pooled[perm[:m]]))
                    - frechet_distance(mg, sg, *_moments(pooled[perm[m:]])))
    z, p = _perm_z(obs, np.array(null))
    return _base(ref, "fd_gap", g, obs, z < GAP_Z, baseline=0.0, z=z, p_value=p,
                 extra={"fd_train_subset": obs_a, "fd_held_out": obs_b, "n_permutations": n_permutations,
                        "null_sd": float(np.std(null, ddof=1)), "train_subset": m})


def evaluate_copying(gen: Any, ref: CopyingSets, metrics: tuple[str, ...] = METRICS, *, q: float = COPY_Q,
                     n_permutations: int = N_PERMUTATIONS) -> dict[str, CopyResult]:
    """Every requested copying metric of one generated feature set against prepared sets."""
    out: dict[str, CopyResult] = {}
    for name in metrics:
        if name == "copy_rate":
            out[name] = copy_rate(gen, ref, q)
        elif name == "c_t":
            out[name] = c_t(gen, ref)
        elif name == "authenticity":
            out[name] = authenticity(gen, ref)
        elif name == "nn_gap":
            out[name] = nn_gap(gen, ref, n_permutations)
        elif name == "fd_gap":
            out[name] = fd_gap(gen, ref, n_permutations)
        else:
            raise ValueError(f"unknown copying metric {name!r}; choose from {', '.join(METRICS)}")
    return out


# ------------------------------------------------------------------------------------------------ cached sets

CACHE_VERSION = 1
_CACHED = ("held_nn", "centroids", "train_cells", "held_cells", "held_cell_nn", "subset", "train_radius")


def copying_sets(train: Any, test: Any, ext: Any, *, device: str | torch.device | None = None, seed: int = 0,
                      cells: int = CT_CELLS, authenticity: bool = True, use_cache: bool = True) -> CopyingSets:
    """The real sets of a dataset in an extractor's space: features of the whole ``train`` split and of the
    held-out half of the ``test`` split (``heldout_halves``), taken from the cached real-split statistics
    (``real_stats(..., keep_features=True)``), prepared by ``prepare_sets`` once and cached under
    ``<ganbench cache>/copying/`` (key: both statistics keys, the halves' seed, cells, seed, authenticity).
    ``train`` / ``test`` are ``ImageData``; ``ext`` an ``Extractor``. Returns the sets on ``device``."""
    import hashlib
    import json
    import zipfile

    from ..io import atomic_write
    from ..paths import cache_dir
    from .real_stats import real_stats_key, real_stats

    tr = real_stats(train, ext, None, keep_features=True)
    te = real_stats(test, ext, None, keep_features=True)
    ref_idx, _ = heldout_halves(len(test))
    held = te.features[ref_idx.numpy()]
    cells = min(cells, max(2, len(held) // HELD_PER_CELL))  # small test splits: fewer cells, none left empty
    key = {"version": CACHE_VERSION, "train": real_stats_key(train, ext, None, True),
           "test": real_stats_key(test, ext, None, True), "halves_seed": HALVES_SEED, "cells": cells, "seed": seed,
           "authenticity": authenticity}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "copying" / f"{train.name}-{ext.name}-{digest}.npz"
    if use_cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                if json.loads(str(z["key"])) == key:
                    t = as_features(tr.features, device)
                    h = as_features(held, t.device)
                    arr = {k: torch.from_numpy(z[k]).to(t.device) for k in _CACHED if k in z}
                    subset = arr["subset"]
                    return CopyingSets(t, h, ext.name, seed, arr["held_nn"], arr["centroids"],
                                            arr["train_cells"], arr["held_cells"], arr["held_cell_nn"], subset,
                                            _moments(t[subset]), _moments(h), arr.get("train_radius"),
                                            int(z["held_unauthentic"]) if "held_unauthentic" in z else None)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # unreadable or stale: recompute
    ref = prepare_sets(tr.features, held, extractor=ext.name, device=device, cells=cells, seed=seed,
                            authenticity=authenticity)
    if use_cache:
        arrays = {k: _np(getattr(ref, k)) for k in _CACHED if getattr(ref, k) is not None}
        if ref.held_unauthentic is not None:
            arrays["held_unauthentic"] = np.array(ref.held_unauthentic)
        arrays["key"] = np.array(json.dumps(key, sort_keys=True))
        atomic_write(path, lambda f: np.savez(f, **arrays))
    return ref


def nearest_pairs(images: Tensor, train_data: Any, protocol: str, device: str | torch.device = "cpu",
                  closest: int = 8, others: int = 8) -> Tensor:
    """(generated, nearest training image) pairs, interleaved, float [-1, 1] [2 (closest + others), C, H, W]: the
    ``closest`` generated images nearest to the training set first, then ``others`` of the rest, each followed by its
    nearest training image in ``protocol``'s feature space (the first thing a reviewer asks to see)."""
    from ..images import to_float, to_uint8
    from .features import get_extractor
    from .protocols import PROTOCOLS
    from .real_stats import real_stats

    p = PROTOCOLS.get(protocol)
    ext = get_extractor(p.extractor, device)
    train = real_stats(train_data, ext, None, keep_features=True)
    feats = ext(to_uint8(images.clamp(-1, 1)))[ext.fd_layer]
    d, idx = nn_distances(feats, train.features, device=device)
    order = torch.argsort(d.cpu())
    pick = torch.cat([order[:closest], order[closest:closest + others]])
    near = to_float(train_data.images[idx.cpu()[pick]]).to(images.dtype)
    return torch.stack([images[pick], near], dim=1).flatten(0, 1)
