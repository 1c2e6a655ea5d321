"""Efficiency of a generator at sampling time: the measurements (``measure``: parameters, FLOPs per image, seconds
for n images) and the efficiency runs of ``task: efficiency`` suites (``job``)."""
from .job import PARAM_METRICS, EfficiencySpec, run_efficiency, time_metric
from .measure import count_flops, efficiency

__all__ = ["PARAM_METRICS", "EfficiencySpec", "count_flops", "efficiency", "run_efficiency", "time_metric"]
