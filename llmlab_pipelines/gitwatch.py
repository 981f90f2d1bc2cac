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
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .lab import Lab, LabError, load_lab


class GitError(RuntimeError):
    """A git command failed; the message holds git's own words."""


@dataclass(frozen=True)
class Commit:
    """One commit: its sha, author and subject line."""

    sha: str
    author: str
    message: str

    def tags(self) -> dict[str, str]:
        """Run tags naming the commit (Dagster shows them on every run it triggers)."""
        return {
            "llmlab/git_sha": self.sha,
            "llmlab/git_author": self.author[:200],
            "llmlab/git_message": self.message[:200],
        }


def git(repo: Path, *args: str, binary: bool = False) -> str | bytes:
    """Run git in ``repo``; raise GitError with git's stderr on failure."""
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, timeout=120, check=False
    )
    if out.returncode != 0:
        raise GitError(f"git {' '.join(args)} in {repo}: {out.stderr.decode(errors='replace')}")
    return out.stdout if binary else out.stdout.decode(errors="replace").strip()


def repo_root(path: Path) -> tuple[Path, str]:
    """The repository holding ``path`` and the path's folder inside it (``lab``)."""
    top = Path(str(git(path, "rev-parse", "--show-toplevel"))).resolve()
    return top, path.resolve().relative_to(top).as_posix() if path.resolve() != top else ""


def head(repo: Path, ref: str = "HEAD") -> Commit:
    """The commit ``ref`` points at."""
    sha, author, message = str(git(repo, "log", "-1", "--format=%H%n%an <%ae>%n%s", ref)).split(
        "\n", 2
    )
    return Commit(sha, author, message)


def commit_of(path: Path) -> Commit | None:
    """The commit a folder's repository is at, or None outside git."""
    try:
        return head(path)
    except (GitError, OSError, subprocess.SubprocessError):
        return None


def changed_paths(repo: Path, old: str, new: str, subdir: str) -> list[str]:
    """Files under ``subdir`` that differ between two commits."""
    out = str(git(repo, "diff", "--name-only", old, new, "--", subdir or "."))
    return [line for line in out.splitlines() if line]


def export_lab(repo: Path, sha: str, subdir: str, target: Path) -> Path:
    """Write the lab folder as it is at ``sha`` into ``target`` and return its path."""
    blob = git(repo, "archive", "--format=tar", sha, *([subdir] if subdir else []), binary=True)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as fh:
        fh.write(blob)  # type: ignore[arg-type]
        fh.seek(0)
        with tarfile.open(fileobj=fh) as tar:
            tar.extractall(target, filter="data")
    return target / subdir if subdir else target


@dataclass(frozen=True)
class Snapshot:
    """What the sensor needs of a lab at one commit (its files are gone once it is built)."""

    fingerprints: dict[tuple[str, str], str]
    providers: dict[str, dict[str, str]]  # candidate key -> run tags naming its provider
    datasets: dict[str, str]  # dataset -> hash of its file


def snapshot(lab: Lab) -> Snapshot:
    """Fingerprint every generations partition of ``lab``."""
    from .runner import run_tags

    return Snapshot(
        fingerprints(lab),
        {p.candidate.key: run_tags(lab, p.candidate.model) for p in lab.plans()},
        {n: hashlib.sha256(d.path.read_bytes()).hexdigest() for n, d in lab.datasets.items()},
    )


def snapshot_at(repo: Path, sha: str, subdir: str) -> Snapshot:
    """The lab as committed at ``sha`` (raises LabError naming the problem, file and line)."""
    tmp = Path(tempfile.mkdtemp(prefix="llmlab-git-"))
    try:
        root = export_lab(repo, sha, subdir, tmp)
        if not root.is_dir():
            raise LabError.single(subdir or ".", f"commit {sha[:10]} has no lab folder {subdir!r}")
        return snapshot(load_lab(root))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fingerprints(lab: Lab) -> dict[tuple[str, str], str]:
    """``(candidate key, dataset) -> hash`` of everything that partition's generations read."""
    data = {n: hashlib.sha256(d.path.read_bytes()).hexdigest() for n, d in lab.datasets.items()}
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
