"""Declarative automation: the analysis follows the generations it reads, with no extra jobs."""

from __future__ import annotations

import dagster as dg

#: Like ``eager()`` without two of its parts: a dataset's analysis does not wait for candidate
#: partitions of *other* datasets (the multi-partition mapping lists every candidate x this
#: dataset, most of which no experiment asks for and so are never materialized), and a newly
#: added dataset partition is not analysed before anything has been generated for it. Nothing
#: runs downstream of a failed blocking check (the regression gate).
ANALYSIS_CONDITION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("after its inputs update")
