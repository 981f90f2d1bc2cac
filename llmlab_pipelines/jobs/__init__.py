"""Jobs: one per partitioning of the graph (Dagster runs one partitions definition per job)."""

from __future__ import annotations

import dagster as dg

eval_datasets_job = dg.define_asset_job(
    "eval_datasets_job",
    selection=dg.AssetSelection.assets("eval_datasets"),
    description="Validate and snapshot lab datasets (one run per dataset).",
)

generations_job = dg.define_asset_job(
    "generations_job",
    selection=dg.AssetSelection.assets("generations", "scores"),
    description="Generate and score one candidate on one dataset.",
    tags={"llmlab/kind": "generation"},
)

analysis_job = dg.define_asset_job(
    "analysis_job",
    selection=dg.AssetSelection.assets("comparisons", "leaderboard"),
    description="Compare every candidate with its baseline and publish the leaderboard.",
)

ALL_JOBS = [eval_datasets_job, generations_job, analysis_job]

__all__ = ["ALL_JOBS", "analysis_job", "eval_datasets_job", "generations_job"]
