"""The lab's git repository, watched by the git sensor."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
from pydantic import Field

from ..settings import get_settings
from ..vcs import Commit, GitError, git, head, repo_root


class LabRepository(dg.ConfigurableResource):
    """Where the lab's history lives: the repository holding the lab folder, or a remote clone.

    With ``url`` set, the repository is cloned once under ``LLMLAB_HOME/git/`` and fetched on
    every sensor tick; point ``LLMLAB_LAB`` at the clone's lab folder so runs read the same files.
    """

    path: str | None = Field(
        default=None, description="A folder inside the repository; default: the lab folder"
    )
    url: str | None = Field(default=None, description="A remote to clone and fetch instead")
    branch: str = Field(default="HEAD", description="The branch (or ref) to follow")
    subdir: str | None = Field(
        default=None, description="The lab folder inside the repository; default: found from path"
    )

    def checkout(self) -> Path:
        """The local repository, cloned or fetched first when ``url`` is set."""
        if not self.url:
            return Path(self.path).resolve() if self.path else get_settings().lab
        name = hashlib.sha256(self.url.encode()).hexdigest()[:12]
        local = get_settings().home / "git" / name
        if not (local / ".git").exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            git(local.parent, "clone", "--quiet", self.url, str(local))
        else:
            git(local, "fetch", "--quiet", "origin")
            ref = "origin/HEAD" if self.branch == "HEAD" else f"origin/{self.branch}"
            git(local, "reset", "--quiet", "--hard", ref)
        return local

    def locate(self) -> tuple[Path, str]:
        """The repository's top folder and the lab folder inside it."""
        where = self.checkout()
        top, found = repo_root(where)
        if self.subdir is not None:
            return top, self.subdir
        return top, found or lab_folder_at_top(top)

    def latest(self, top: Path) -> Commit:
        """The commit the followed branch points at."""
        try:
            return head(top, self.branch)
        except GitError:
            return head(top, "HEAD")


def lab_folder_at_top(top: Path) -> str:
    """The lab inside a repository named by its top folder: the top itself when it holds
    ``models.yaml`` (a lab kept in its own repository), else its ``lab/`` folder, if any."""
    if not (top / "models.yaml").is_file() and (top / "lab").is_dir():
        return "lab"
    return ""
