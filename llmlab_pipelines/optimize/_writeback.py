"""Writing a confirmed winner back into the lab, and onto a git branch when the lab is in git.

The branch is made with git's plumbing (a private index, ``commit-tree``, ``update-ref``): the
user's working tree, index and checked-out branch are never touched.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class WriteBack:
    """Where a confirmed winner went."""

    path: Path
    branch: str | None = None
    commit: str | None = None


def _git(root: Path, *args: str, env: dict[str, str] | None = None, data: str | None = None) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        input=data,
        env={**os.environ, **(env or {})},
        timeout=30,
        check=True,
    )
    return out.stdout.strip()


def write_winner(lab_root: Path, name: str, source: str, message: str) -> WriteBack:
    """Write ``prompts/<name>.jinja``; in a git repository also commit it on
    ``llmlab/optimize/<name>`` (one commit on top of HEAD, the message holding the evidence)."""
    path = lab_root / "prompts" / f"{name}.jinja"
    path.write_text(source if source.endswith("\n") else source + "\n", encoding="utf-8")
    try:
        top = Path(_git(lab_root, "rev-parse", "--show-toplevel"))
        head = _git(lab_root, "rev-parse", "--verify", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return WriteBack(path)
    rel = path.resolve().relative_to(top.resolve()).as_posix()
    branch = f"llmlab/optimize/{name}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "llmlab optimize"),
            "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "llmlab@localhost"),
            "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "llmlab optimize"),
            "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "llmlab@localhost"),
        }
        _git(top, "read-tree", head, env=env)
        blob = _git(top, "hash-object", "-w", "--", rel)
        _git(top, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", env=env)
        tree = _git(top, "write-tree", env=env)
        commit = _git(top, "commit-tree", tree, "-p", head, "-F", "-", env=env, data=message)
        _git(top, "update-ref", f"refs/heads/{branch}", commit)
    return WriteBack(path, branch, commit)
