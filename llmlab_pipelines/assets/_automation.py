"""Declarative automation: the analysis follows its dataset-partitioned inputs, with no extra
jobs; the step from a ``candidate|dataset`` partition to its dataset's analysis is the
``analysis_sensor``'s (``sensors/analysis.py``)."""

from __future__ import annotations

import dagster as dg

#: Read by the analysis with every partition as input (for lineage): declarative automation
#: would see any of them update as an update of *every* dataset's analysis, so it ignores them.
GENERATION_TABLES = dg.AssetSelection.assets("generations", "judge_scores", "scores")

#: Like ``eager()`` without two of its parts: a dataset's analysis does not wait for the
#: generations of every dataset (see :data:`GENERATION_TABLES`), and a newly added dataset
#: partition is not analysed before anything has been generated for it. Nothing runs downstream
#: of a failed blocking check (the regression gate).
ANALYSIS_CONDITION = (
    dg.AutomationCondition.any_deps_updated().ignore(GENERATION_TABLES).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress().ignore(GENERATION_TABLES)
    & ~dg.AutomationCondition.in_progress()
    & dg.AutomationCondition.all_deps_blocking_checks_passed().ignore(GENERATION_TABLES)
).with_label("after its inputs update")
