"""Suites: the YAML files in this folder (``suite``: parsing and validation), their expansion into jobs
(``expand``: training runs and efficiency measurements) and their resolved form (``resolve``)."""
from .expand import EXPANDERS, SuiteOptions, apply_profile, expand, expand_efficiency, expand_training, resolve_point
from .resolve import resolved
from .suite import HERE, TASKS, RunEntry, Suite, check_windows, load_suite, names

__all__ = ["EXPANDERS", "HERE", "TASKS", "RunEntry", "Suite", "SuiteOptions", "apply_profile", "check_windows",
           "expand", "expand_efficiency", "expand_training", "load_suite", "names", "resolve_point", "resolved"]
