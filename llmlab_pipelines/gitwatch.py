"""What a commit changed in the lab: the generations partitions whose inputs differ.

A partition's *fingerprint* hashes everything its generations depend on: the candidate key
(prompt text hash, model entry, resolved parameters), the model entry's full configuration, the
dataset file's bytes, and the repeats/limit the experiments ask for. Two commits are compared by
fingerprints, so a commit that only touches a README, or reformats an experiment without changing
what is generated, requests nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .lab import Lab, LabError, load_lab
from .tags import run_tags
from .vcs import export_tree


@dataclass(frozen=True)
class Snapshot:
    """What the sensor needs of a lab at one commit (its files are gone once it is built)."""

    fingerprints: dict[tuple[str, str], str]
    providers: dict[str, dict[str, str]]  # candidate key -> run tags naming its provider
    datasets: dict[str, str]  # dataset -> hash of its file


def snapshot(lab: Lab) -> Snapshot:
    """Fingerprint every generations partition of ``lab``."""
    return Snapshot(
        fingerprints(lab),
        {p.candidate.key: run_tags(lab, p.candidate.model) for p in lab.plans()},
        {n: d.digest() for n, d in lab.datasets.items()},
    )


def snapshot_at(repo: Path, sha: str, subdir: str) -> Snapshot:
    """The lab as committed at ``sha`` (raises LabError naming the problem, file and line)."""
    tmp = Path(tempfile.mkdtemp(prefix="llmlab-git-"))
    try:
        root = export_tree(repo, sha, subdir, tmp)
        if not root.is_dir():
            raise LabError.single(subdir or ".", f"commit {sha[:10]} has no lab folder {subdir!r}")
        return snapshot(load_lab(root))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fingerprints(lab: Lab) -> dict[tuple[str, str], str]:
    """``(candidate key, dataset) -> hash`` of everything that partition's generations read."""
    data = {n: d.digest() for n, d in lab.datasets.items()}
    out = {}
    for plan in lab.plans():
        blob = json.dumps(
            {
                "candidate": plan.candidate.key,
                "params": plan.candidate.params.as_kwargs(),
                "model": lab.models[plan.candidate.model].model_dump(mode="json"),
                "dataset": data.get(plan.dataset),
                "repeats": plan.repeats,
                "limit": plan.limit,
            },
            sort_keys=True,
            default=str,
        )
        out[(plan.candidate.key, plan.dataset)] = hashlib.sha256(blob.encode()).hexdigest()
    return out


def affected(old: Snapshot | None, new: Snapshot) -> list[tuple[str, str]]:
    """Partitions of ``new`` that are new or whose inputs changed since ``old``, in plan order."""
    before = old.fingerprints if old is not None else {}
    return [key for key, fp in new.fingerprints.items() if before.get(key) != fp]


def changed_datasets(old: Snapshot | None, new: Snapshot, used: set[str]) -> list[str]:
    """Datasets among ``used`` that are new or whose file changed."""
    before = old.datasets if old is not None else {}
    return sorted(d for d in used if before.get(d) != new.datasets.get(d))
