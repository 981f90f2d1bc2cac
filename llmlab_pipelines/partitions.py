"""The partitions every asset, job and sensor shares, declared once, and their registration.

Only what the lab uses is a partition, so the Dagster UI counts nothing as missing that no
experiment asks for: a generations partition is one ``candidate|dataset`` pair a grid
experiment evaluates (not every candidate x every dataset), a night is a night the nightly
benchmark ran. This module is the only place that knows the ``candidate|dataset`` format.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

import dagster as dg
import pandas as pd

from .lab import Lab

#: Between the candidate and the dataset of a generations key (the string Dagster gave the
#: candidate x dataset multi-partition keys before, so older runs keep their history).
SEPARATOR = "|"

dataset_partitions = dg.DynamicPartitionsDefinition(name="datasets")
generation_partitions = dg.DynamicPartitionsDefinition(name="generations")
night_partitions = dg.DynamicPartitionsDefinition(name="nights")
#: The datasets an adaptive experiment runs on (``adaptive_runs``), and those whose prompts are
#: optimized (``prompt_optimization``): a dataset no experiment of that mode uses is no partition.
adaptive_partitions = dg.DynamicPartitionsDefinition(name="adaptive_datasets")
optimize_partitions = dg.DynamicPartitionsDefinition(name="optimize_datasets")
#: The datasets a grid experiment with a pairwise judge runs on (``pairwise``).
pairwise_partitions = dg.DynamicPartitionsDefinition(name="pairwise_datasets")

#: From a dataset partition to the same dataset in a partitions set of its own (the keys match).
same_dataset = dg.IdentityPartitionMapping()

#: Input metadata: the input holds only the partitions of the downstream partition's dataset.
OF_DATASET = "llmlab/of_dataset"


def generation_key(candidate: str, dataset: str) -> str:
    """The partition of one candidate on one dataset."""
    for part, what in ((candidate, "candidate"), (dataset, "dataset")):
        if not part or SEPARATOR in part:
            raise ValueError(f"{what} key {part!r} is empty or contains {SEPARATOR!r}")
    return f"{candidate}{SEPARATOR}{dataset}"


def split_key(key: str) -> tuple[str, str]:
    """The candidate and dataset of a generations partition key."""
    candidate, sep, dataset = str(key).rpartition(SEPARATOR)
    if not sep or not candidate or not dataset:
        raise ValueError(f"{key!r} is not a generations partition key (candidate|dataset)")
    return candidate, dataset


def is_generation_key(key: str) -> bool:
    """Whether ``key`` is a generations partition key (``candidate|dataset``)."""
    try:
        split_key(key)
    except ValueError:
        return False
    return True


def candidate_of(key: str) -> str:
    """The candidate of a generations partition key."""
    return split_key(key)[0]


def dataset_of(key: str) -> str:
    """The dataset of a generations partition key."""
    return split_key(key)[1]


def path_parts(key: str) -> list[str]:
    """Where a partition's file goes under its asset's folder: ``candidate/dataset`` for a
    generations key (the layout the results explorer reads), the key itself otherwise."""
    return list(split_key(key)) if SEPARATOR in str(key) else [str(key)]


def partition_dataset(key: str) -> str:
    """The dataset a generations or dataset partition key is about."""
    return dataset_of(key) if SEPARATOR in str(key) else str(key)


def of_dataset(asset: str, *, one: bool = False) -> dg.AssetIn:
    """An input holding only ``asset``'s partitions of the dataset being materialized.

    Every partition of ``asset`` is an input for lineage (``AllPartitionMapping``; no supported
    partition mapping goes from a dataset to its ``candidate|dataset`` keys or back), and the
    IO manager loads only this dataset's: with ``one``, the dataset's own partition (a
    dataset-partitioned ``asset``: ``eval_datasets``); else a dict by generations key of those
    materialized (a generations-partitioned ``asset``: ``scores``, ``judge_scores``).
    """
    return dg.AssetIn(
        asset,
        partition_mapping=dg.AllPartitionMapping(),
        metadata={OF_DATASET: "one" if one else "many"},
    )


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
    """The dataset keys every experiment uses and the generations keys the grid experiments
    use (each candidate on its experiment's dataset only)."""
    datasets = sorted({lab.experiment(name).dataset for name in lab.experiments})
    pairs = sorted({generation_key(p.candidate.key, p.dataset) for p in lab.plans()})
    return datasets, pairs


def mode_datasets(lab: Lab, mode: str) -> list[str]:
    """The datasets of the lab's ``mode: <mode>`` experiments."""
    return sorted({e.dataset for e in map(lab.experiment, lab.experiments) if e.mode == mode})


def pairwise_datasets(lab: Lab) -> list[str]:
    """The datasets of the lab's grid experiments that name a pairwise judge."""
    from .judges import judges_producing

    return sorted(
        {
            e.dataset
            for e in map(lab.experiment, lab.experiments)
            if e.mode == "grid" and judges_producing(lab, e.judges, "pairwise")
        }
    )


def partition_requests(
    instance: dg.DagsterInstance,
    lab: Lab | None = None,
    *,
    datasets: Iterable[str] = (),
    generations: Iterable[str] = (),
    optimize: Iterable[str] = (),
) -> list[dg.AddDynamicPartitionsRequest]:
    """The requests adding the dataset and generations partitions the instance lacks.

    A sensor returns them in its ``SensorResult``; :func:`register_partitions` applies them.
    Old keys stay: editing a prompt adds a version, it never deletes one.

    Args:
        instance: The Dagster instance.
        lab: Every dataset and used candidate x dataset pair of this lab (optional).
        datasets: These dataset keys too.
        generations: These generations keys (:func:`generation_key`) too.
        optimize: These datasets' prompts are optimized too (``llmlab run --optimize``).
    """
    want_d, want_g = lab_partition_keys(lab) if lab is not None else ([], [])
    adaptive = mode_datasets(lab, "adaptive") if lab is not None else []
    pairwise = pairwise_datasets(lab) if lab is not None else []
    optimized = [*optimize, *(mode_datasets(lab, "optimize") if lab is not None else [])]
    out = []
    for partitions, keys in (
        (dataset_partitions, {*want_d, *datasets, *optimized}),
        (generation_partitions, {*want_g, *generations}),
        (adaptive_partitions, set(adaptive)),
        (optimize_partitions, set(optimized)),
        (pairwise_partitions, set(pairwise)),
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
    generations: Iterable[str] = (),
    optimize: Iterable[str] = (),
) -> None:
    """Add what :func:`partition_requests` finds missing, now (the CLI; sensors return the
    requests instead)."""
    # read once per attempt
    datasets, generations, optimize = list(datasets), list(generations), list(optimize)
    _add_when_missing(
        instance,
        lambda: [
            (r.partitions_def_name, list(r.partition_keys))
            for r in partition_requests(
                instance, lab, datasets=datasets, generations=generations, optimize=optimize
            )
        ],
    )


def register_night(instance: dg.DagsterInstance, night: str) -> None:
    """Make ``night`` (``YYYY-MM-DD``) a ``nights`` partition: the nightly schedule does it when
    it requests the night, so only nights that ran (or are running) exist. Nights materialized
    before the partitions were dynamic (Dagster instances of older versions) are added too."""
    name = str(night_partitions.name)

    def missing() -> list[tuple[str, list[str]]]:
        ran = instance.get_materialized_partitions(dg.AssetKey("nightly_scores"))
        keys = sorted({night, *ran} - set(instance.get_dynamic_partitions(name)))
        return [(name, keys)] if keys else []

    _add_when_missing(instance, missing)


def _add_when_missing(
    instance: dg.DagsterInstance,
    missing: Callable[[], list[tuple[str, list[str]]]],
) -> None:
    """Add the ``(partitions name, keys)`` that ``missing`` lists.

    Two processes registering at once would both add the same keys (a unique-key violation): on
    this machine they take turns under a lock; across machines, the loser re-reads and adds only
    what is still missing.
    """
    from .locks import partition_lock
    from .settings import get_settings

    with partition_lock(f"dagster-partitions|{get_settings().dagster_home}"):
        for attempt in range(3):
            try:
                for name, keys in missing():
                    instance.add_dynamic_partitions(name, keys)
                return
            except Exception:  # another process added some of them first
                if attempt == 2:
                    raise
