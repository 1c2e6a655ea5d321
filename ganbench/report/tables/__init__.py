"""The report's tables, built from the tidy results, one module per table: ``main`` (the main comparison),
``ablation`` (LRM GAN in its paper's shape, a generic per-model table otherwise), ``convergence``, ``efficiency``,
``paper`` (paper vs ours) and ``status`` (the runs that did not complete); ``_shared`` holds what they share.

Conventions (stated in every caption): values are taken at the final evaluation of each run; every table shows
mean ± the half-width of the 95% Student-t interval over complete seeds (one seed: the value); the Rank column is each
row's rank interval from Welch's t-tests of every pair with Holm correction over all pairs (``analysis.ranks``), and
only a row significantly better than every other is bold; copy rates are checks, never ranked; the direction is
taken from each metric protocol. Model names carry marks (``marks.Marks``): [n] deviations, ‡ samples from real data.
"""
from __future__ import annotations

from ._shared import CI, FROZEN_NOTE, LRM_LABELS, NO_MARKS, PARAM_NAMES, EfficiencyIndex
from .ablation import ablation_tables, generic_ablation, lrm_table
from .convergence import auto_thresholds, convergence_tables
from .efficiency import efficiency_tables
from .main import main_entries, main_table
from .paper import paper_tables
from .status import status_table

__all__ = ["CI", "FROZEN_NOTE", "LRM_LABELS", "NO_MARKS", "PARAM_NAMES", "EfficiencyIndex", "ablation_tables",
           "auto_thresholds", "convergence_tables", "efficiency_tables", "generic_ablation", "lrm_table",
           "main_entries", "main_table", "paper_tables", "status_table"]
