"""The metric harness: feature extractors (``FEATURES``), metric protocols (``PROTOCOLS``), pure metric
functions (FD, KID, IS, precision/recall/density/coverage), cached statistics of real splits (``real_stats``) and ``evaluate``.

    from ganbench.metrics import evaluate
    rows = evaluate(sample_fn, train_data, ["fd_domain2k_train"], seed=0, device="cpu", batch_size=250)
"""
from .evaluate import evaluate, real_split_data
from .features import FEATURES, Extractor, get_extractor
from .frechet import Moments, feature_stats, frechet_distance
from .inception_score import inception_score
from .kid import kid
from .prdc import prdc
from .protocols import PROTOCOLS, MetricProtocol
from .real_stats import real_stats

__all__ = ["evaluate", "real_split_data", "FEATURES", "Extractor", "get_extractor", "Moments", "feature_stats",
           "frechet_distance", "inception_score", "kid", "prdc", "PROTOCOLS", "MetricProtocol", "real_stats"]
