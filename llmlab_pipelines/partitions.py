"""The partitions every asset, job and sensor shares, declared once."""

from __future__ import annotations

import warnings

import dagster as dg

DATASET = "dataset"
CANDIDATE = "candidate"

dataset_partitions = dg.DynamicPartitionsDefinition(name="datasets")
candidate_partitions = dg.DynamicPartitionsDefinition(name="candidates")
generation_partitions = dg.MultiPartitionsDefinition(
    {CANDIDATE: candidate_partitions, DATASET: dataset_partitions}
)

#: generations and scores read the dataset partition their key names.
with warnings.catch_warnings():  # beta since Dagster 1.x, stable in use; one warning per process
    warnings.simplefilter("ignore", category=dg.BetaWarning)
    by_dataset = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=DATASET)


def generation_key(candidate: str, dataset: str) -> dg.MultiPartitionKey:
    """The partition of one candidate on one dataset."""
    return dg.MultiPartitionKey({CANDIDATE: candidate, DATASET: dataset})
