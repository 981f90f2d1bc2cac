"""Jobs: one per partitioning of the graph (Dagster runs one partitions definition per job)."""

from __future__ import annotations

import dagster as dg

from .. import tags

eval_datasets_job = dg.define_asset_job(
    "eval_datasets_job",
    selection=dg.AssetSelection.assets("eval_datasets"),
    description="Validate and snapshot lab datasets (one run per dataset).",
)

generations_job = dg.define_asset_job(
    "generations_job",
    selection=dg.AssetSelection.assets("generations", "judge_scores", "scores"),
    description="Generate, judge and score one candidate on one dataset.",
    tags={tags.KIND: "generation"},
)

analysis_job = dg.define_asset_job(
    "analysis_job",
    selection=dg.AssetSelection.assets("comparisons", "leaderboard", "promoted", "judge_agreement"),
    description="Compare every candidate with its baseline, publish the leaderboard, and promote "
    "the best candidate when the regression gate passes.",
)

pairwise_job = dg.define_asset_job(
    "pairwise_job",
    selection=dg.AssetSelection.assets("pairwise"),
    description="Pairwise judges on one dataset: each candidate against its baseline, both "
    "orders (paid calls; run only when asked, never by automation).",
    tags={tags.KIND: "pairwise"},
)

nightly_job = dg.define_asset_job(
    "nightly_job",
    selection=dg.AssetSelection.assets("nightly_scores"),
    description="The nightly benchmark: `nightly: true` experiments, fresh samples, one day.",
    tags={tags.KIND: "nightly"},
)

costs_job = dg.define_asset_job(
    "costs_job",
    selection=dg.AssetSelection.assets("costs"),
    description="Spend per model, candidate, experiment and day, against the budgets.",
)

adaptive_job = dg.define_asset_job(
    "adaptive_job",
    selection=dg.AssetSelection.assets("adaptive_runs"),
    description="`mode: adaptive` experiments on one dataset: rounds of calls until the "
    "decision is made (sequential A/B test, successive elimination or Thompson sampling).",
    tags={tags.KIND: "adaptive"},
)

optimize_job = dg.define_asset_job(
    "optimize_job",
    selection=dg.AssetSelection.assets("prompt_optimization"),
    description="Prompt optimization on one dataset: rounds of proposals tested on a training "
    "split, the winner confirmed on a held-out split and written back to the lab.",
    tags={tags.KIND: "optimize"},
)

ALL_JOBS = [
    eval_datasets_job,
    generations_job,
    analysis_job,
    nightly_job,
    costs_job,
    adaptive_job,
    optimize_job,
    pairwise_job,
]

__all__ = [
    "ALL_JOBS",
    "adaptive_job",
    "analysis_job",
    "costs_job",
    "eval_datasets_job",
    "generations_job",
    "nightly_job",
    "optimize_job",
    "pairwise_job",
]
