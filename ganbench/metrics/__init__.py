"""The metric harness: feature extractors (``FEATURES``), metric presets (``PRESETS`` = ``METRICS``), pure metric
functions (FD, KID, IS, precision/recall/density/coverage), cached reference statistics and ``evaluate``.

    from ganbench.metrics import evaluate
    rows = evaluate(sample_fn, train_data, ["fd_domain2k_train"], seed=0, device="cpu", batch_size=250)
"""
from .evaluate import evaluate, reference_data
from .features import FEATURES, Extractor, get_extractor
from .frechet import Moments, feature_stats, frechet_distance
from .inception_score import inception_score
from .kid import kid
from .prdc import prdc
from .presets import METRICS, PRESETS, Preset
from .reference import reference_stats

__all__ = ["evaluate", "reference_data", "FEATURES", "Extractor", "get_extractor", "Moments", "feature_stats",
           "frechet_distance", "inception_score", "kid", "prdc", "METRICS", "PRESETS", "Preset", "reference_stats"]
