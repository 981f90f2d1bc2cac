"""The partitions every asset, job and sensor shares, declared once, and their registration."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Iterable, Mapping

import dagster as dg
import pandas as pd

from .lab import Lab

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


def candidate_of(key: str) -> str:
    """The candidate of a generations partition key (Dagster reads ``candidate|dataset``)."""
    return generation_partitions.get_partition_key_from_str(key).keys_by_dimension[CANDIDATE]


def tables_by_candidate(
    tables: Mapping[str, pd.DataFrame], known: Collection[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Upstream tables keyed by generations partition, keyed by candidate instead (only the
    ``known`` candidates, when given): what the pure ``report`` package is handed."""
    out = {}
    for key, frame in tables.items():
        candidate = candidate_of(str(key))
        if known is None or candidate in known:
            out[candidate] = frame
    return out


def lab_partition_keys(lab: Lab) -> tuple[list[str], list[str]]:
    """The dataset and candidate keys every experiment of the lab uses."""
    datasets = sorted({lab.experiment(name).dataset for name in lab.experiments})
    return datasets, sorted(lab.all_candidates())


def partition_requests(
    instance: dg.DagsterInstance,
    lab: Lab | None = None,
    *,
    datasets: Iterable[str] = (),
    candidates: Iterable[str] = (),
) -> list[dg.AddDynamicPartitionsRequest]:
    """The requests adding the dataset and candidate partitions the instance does not know yet.

    A sensor returns them in its ``SensorResult``; :func:`register_partitions` applies them.
    Old keys stay: editing a prompt adds a version, it never deletes one.

    Args:
        instance: The Dagster instance.
        lab: Every dataset and candidate of this lab (optional).
        datasets: These dataset keys too.
        candidates: These candidate keys too.
    """
    want_d, want_c = lab_partition_keys(lab) if lab is not None else ([], [])
    out = []
    for partitions, keys in (
        (dataset_partitions, {*want_d, *datasets}),
        (candidate_partitions, {*want_c, *candidates}),
    ):
        missing = sorted(keys - set(instance.get_dynamic_partitions(str(partitions.name))))
        if missing:
            out.append(partitions.build_add_request(missing))
    return out


def register_partitions(
    instance: dg.DagsterInstance,
    lab: Lab | None = None,
    *,
    datasets: Iterable[str] = (),
    candidates: Iterable[str] = (),
) -> None:
    """Add what :func:`partition_requests` finds missing, now (the CLI and assets; sensors
    return the requests instead).

    Two processes registering at once would both add the same keys (a unique-key violation): on
    this machine they take turns under a lock; across machines, the loser re-reads and adds only
    what is still missing.
    """
    from .locks import partition_lock
    from .settings import get_settings

    datasets, candidates = list(datasets), list(candidates)  # read once per attempt
    with partition_lock(f"dagster-partitions|{get_settings().dagster_home}"):
        for attempt in range(3):
            try:
                for request in partition_requests(
                    instance, lab, datasets=datasets, candidates=candidates
                ):
                    instance.add_dynamic_partitions(
                        request.partitions_def_name, list(request.partition_keys)
                    )
                return
            except Exception:  # another process added some of them first
                if attempt == 2:
                    raise
