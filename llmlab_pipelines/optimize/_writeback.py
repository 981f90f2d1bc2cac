"""Writing a confirmed winner back into the lab, and onto a git branch when the lab is in git.

The branch is made with git's plumbing (a private index, ``commit-tree``, ``update-ref``): the
user's working tree, index and checked-out branch are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..vcs import commit_to_branch


@dataclass
class WriteBack:
    """Where a confirmed winner went."""

    path: Path
    branch: str | None = None
    commit: str | None = None


def write_winner(lab_root: Path, name: str, source: str, message: str) -> WriteBack:
    """Write ``prompts/<name>.jinja``; in a git repository also commit it on
    ``llmlab/optimize/<name>`` (one commit on top of HEAD, the message holding the evidence)."""
    path = lab_root / "prompts" / f"{name}.jinja"
    path.write_text(source if source.endswith("\n") else source + "\n", encoding="utf-8")
    branch = f"llmlab/optimize/{name}"
    commit = commit_to_branch(
        lab_root, path, branch, message, name="llmlab optimize", email="llmlab@localhost"
    )
    return WriteBack(path) if commit is None else WriteBack(path, branch, commit)
