"""Statistics for paired evaluation data. Pure Python: usable from a notebook; no Dagster."""

from __future__ import annotations

from ._agreement import agreement, cohen_kappa
from ._agreement_ci import agreement_ci
from ._bayes import prob_b_better
from ._ci import clustered_mean_ci, mean_ci
from ._compare import COLUMNS as COMPARISON_COLUMNS
from ._compare import compare
from ._errors import StatsError
from ._noninferiority import non_inferiority
from ._power import minimum_detectable_effect, sample_size
from ._tiers import rank_tiers, tiers_from_comparisons

__all__ = [
    "COMPARISON_COLUMNS",
    "StatsError",
    "agreement",
    "agreement_ci",
    "clustered_mean_ci",
    "cohen_kappa",
    "compare",
    "mean_ci",
    "minimum_detectable_effect",
    "non_inferiority",
    "prob_b_better",
    "rank_tiers",
    "sample_size",
    "tiers_from_comparisons",
]
