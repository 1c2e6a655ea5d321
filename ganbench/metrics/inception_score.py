"""Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs"; reference: openai/improved-gan,
torch-fidelity ``isc_features_to_metric``): exp(E_x KL(p(y|x) || p(y))), mean and std over 10 equal splits.

Deviation from torch-fidelity: no shuffle before splitting (torch-fidelity permutes with a fixed seed; generated
samples are i.i.d., so order does not matter); with ``shuffle=False`` the two agree exactly.
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_softmax


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` of the IS of class logits [N, K], in float64."""
    logits = np.asarray(logits, np.float64)
    n = len(logits)
    if n < splits:
        raise ValueError(f"IS needs at least {splits} samples, got {n}")
    log_p = log_softmax(logits, axis=1)
    p = np.exp(log_p)
    scores = []
    for i in range(splits):
        sl = slice(i * n // splits, (i + 1) * n // splits)
        log_q = np.log(p[sl].mean(axis=0, keepdims=True))
        scores.append(np.exp((p[sl] * (log_p[sl] - log_q)).sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
