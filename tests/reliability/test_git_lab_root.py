"""The git sensor when the lab is its own repository (the lab folder is the repository root)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.resources.git import LabRepository
from llmlab_pipelines.runner import register_partitions
from llmlab_pipelines.sensors import lab_git_sensor

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, "--author=Ada Lovelace <ada@example.com>")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def lab_as_repo(tmp_path: Path) -> Path:
    """The sample lab, committed as the top folder of its own repository."""
    lab = tmp_path / "evals"
    shutil.copytree(ROOT / "lab", lab)
    git(lab, "init", "-q", "-b", "main")
    git(lab, "config", "user.email", "ci@example.com")
    git(lab, "config", "user.name", "CI")
    commit(lab, "initial lab")
    return lab


@pytest.mark.parametrize("configured", ["path", "LLMLAB_LAB"])
def test_a_lab_that_is_its_own_repository_is_watched_and_a_commit_runs(
    lab_as_repo: Path, configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if configured == "path":
        resource = LabRepository(path=str(lab_as_repo))
    else:  # the default resource of the definitions: the lab folder from the environment
        monkeypatch.setenv("LLMLAB_LAB", str(lab_as_repo))
        resource = LabRepository()
    assert resource.locate() == (lab_as_repo.resolve(), "")
    with dg.instance_for_test() as instance:
        register_partitions(instance, load_lab(lab_as_repo))
        context = dg.build_sensor_context(instance=instance, resources={"lab_repo": resource})
        first = lab_git_sensor(context)
        assert isinstance(first, dg.SkipReason), first
        assert "now watching . from commit" in first.skip_message

        prompt = lab_as_repo / "prompts" / "few_shot.jinja"
        prompt.write_text(prompt.read_text() + "\n")
        sha = commit(lab_as_repo, "few_shot: end with a newline")
        context = dg.build_sensor_context(
            instance=instance, cursor=context.cursor, resources={"lab_repo": resource}
        )
        result = lab_git_sensor(context)
        assert isinstance(result, dg.SensorResult), result
        few_shot = {
            c.key for c in load_lab(lab_as_repo).all_candidates().values() if c.prompt == "few_shot"
        }
        keys = {str(r.partition_key).split("|")[0] for r in result.run_requests or []}
        assert keys and keys <= few_shot  # only the edited prompt's partitions
        assert all(r.tags["llmlab/git_sha"] == sha for r in result.run_requests or [])


def test_a_repository_holding_a_lab_folder_still_finds_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "lab", repo / "lab")
    git(repo, "init", "-q", "-b", "main")
    assert LabRepository(path=str(repo)).locate() == (repo.resolve(), "lab")
    assert LabRepository(path=str(repo / "lab")).locate() == (repo.resolve(), "lab")
