"""Every git command the package runs, in one place. No Dagster here.

The git sensor reads commits and exports a lab as committed, reports record the commit a lab
is at, and the prompt optimizer commits a confirmed winner onto a branch of its own.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path


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


def git(
    repo: Path,
    *args: str,
    binary: bool = False,
    env: dict[str, str] | None = None,
    data: str | None = None,
    timeout: float = 120,
) -> str | bytes:
    """Run git in ``repo``; raise GitError with git's stderr on failure.

    Args:
        repo: The folder git runs in (``git -C repo``).
        args: git's arguments.
        binary: Return stdout as bytes (else as stripped text).
        env: Variables set for this command, on top of the process environment.
        data: Text written to git's standard input.
        timeout: Seconds before the command is abandoned (``subprocess.TimeoutExpired``).
    """
    out = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        input=None if data is None else data.encode(),
        env={**os.environ, **env} if env else None,
        timeout=timeout,
        check=False,
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


def head_sha(path: Path) -> str | None:
    """The sha of the commit a folder's repository is at, or None outside git (or without git)."""
    try:
        return str(git(path, "rev-parse", "HEAD", timeout=10)) or None
    except (GitError, OSError, subprocess.SubprocessError):
        return None


def changed_paths(repo: Path, old: str, new: str, subdir: str) -> list[str]:
    """Files under ``subdir`` that differ between two commits."""
    out = str(git(repo, "diff", "--name-only", old, new, "--", subdir or "."))
    return [line for line in out.splitlines() if line]


def export_tree(repo: Path, sha: str, subdir: str, target: Path) -> Path:
    """Write the folder ``subdir`` as it is at ``sha`` into ``target`` and return its path."""
    blob = git(repo, "archive", "--format=tar", sha, *([subdir] if subdir else []), binary=True)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as fh:
        fh.write(blob)  # type: ignore[arg-type]
        fh.seek(0)
        with tarfile.open(fileobj=fh) as tar:
            tar.extractall(target, filter="data")
    return target / subdir if subdir else target


def commit_to_branch(
    repo: Path, path: Path, branch: str, message: str, *, name: str, email: str
) -> str | None:
    """Commit the file ``path`` as it is on disk onto ``branch`` of the repository holding
    ``repo``: one commit on top of HEAD.

    Git's plumbing does it (a private index, ``commit-tree``, ``update-ref``), so the working
    tree, the index and the checked-out branch are never touched. ``GIT_AUTHOR_*`` and
    ``GIT_COMMITTER_*`` in the environment win over ``name`` and ``email``.

    Returns:
        The new commit's sha, or None when ``repo`` is not in a git repository with a commit.
    """
    try:
        top = Path(str(git(repo, "rev-parse", "--show-toplevel", timeout=30)))
        parent = str(git(repo, "rev-parse", "--verify", "HEAD", timeout=30))
    except (GitError, OSError, subprocess.SubprocessError):
        return None
    rel = path.resolve().relative_to(top.resolve()).as_posix()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", name),
            "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", email),
            "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", name),
            "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", email),
        }
        git(top, "read-tree", parent, env=env, timeout=30)
        blob = str(git(top, "hash-object", "-w", "--", rel, timeout=30))
        entry = f"100644,{blob},{rel}"
        git(top, "update-index", "--add", "--cacheinfo", entry, env=env, timeout=30)
        tree = str(git(top, "write-tree", env=env, timeout=30))
        args = ("commit-tree", tree, "-p", parent, "-F", "-")
        commit = str(git(top, *args, env=env, data=message, timeout=30))
        git(top, "update-ref", f"refs/heads/{branch}", commit, timeout=30)
    return commit
