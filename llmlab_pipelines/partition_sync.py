"""Which dynamic partitions a lab needs that an instance does not have yet."""

from __future__ import annotations

from dataclasses import dataclass

from .lab import Lab


@dataclass(frozen=True)
class PartitionDelta:
    """Dataset and candidate partition keys to add."""

    datasets: list[str]
    candidates: list[str]

    def __bool__(self) -> bool:
        return bool(self.datasets or self.candidates)


def lab_partition_keys(lab: Lab) -> tuple[list[str], list[str]]:
    """The dataset and candidate keys every experiment of the lab uses."""
    datasets = sorted({lab.experiment(name).dataset for name in lab.experiments})
    return datasets, sorted(lab.all_candidates())


def missing_partitions(lab: Lab, has_dataset: set[str], has_candidate: set[str]) -> PartitionDelta:
    """Keys to register. Old keys stay: editing a prompt adds a version, it never deletes one."""
    datasets, candidates = lab_partition_keys(lab)
    return PartitionDelta(
        [d for d in datasets if d not in has_dataset],
        [c for c in candidates if c not in has_candidate],
    )
