"""Helpers for automation tests: a real git repository, a gated simulator lab."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

ROOT = Path(__file__).resolve().parents[2]


class Repo:
    """A real git repository in a temporary folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def commit(self, message: str, author: str = "Ada Lovelace <ada@example.com>") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, f"--author={author}")
        return self.git("rev-parse", "HEAD")

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def append(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.write_text(target.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture
def lab_repo(tmp_path: Path) -> Repo:
    """The sample lab committed at ``lab/`` of a fresh repository."""
    repo = Repo(tmp_path / "repo")
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.email", "ci@example.com")
    repo.git("config", "user.name", "CI")
    shutil.copytree(ROOT / "lab", repo.path / "lab")
    repo.write("README.md", "# our prompts\n")
    repo.commit("initial lab")
    return repo


def graded_responder(prompt: str) -> str:
    """Right on every sum for a 'Careful' prompt, on 80% otherwise, on 40% for a 'Sloppy' one."""
    right = arithmetic_responder(prompt)
    if "Careful" in prompt or not right.lstrip("-").isdigit():
        return right
    bucket = int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 10
    wrong = str(int(right) + 1)
    if "Sloppy" in prompt:
        return wrong if bucket < 6 else right
    return wrong if bucket < 2 else right


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=graded_responder)) as sim:
        yield sim


def write_gated_lab(root: Path, sim: Simulator, prompts: list[str], n: int = 60) -> Path:
    """A lab on the simulator: a baseline prompt, and 'better'/'worse' variants, gated."""
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  temperature: 0\n  max_tokens: 8\n  concurrency: 8\n  max_retries: 1\n"
    )
    texts = {
        "baseline": "Question: {{ question }}\nAnswer:",
        "better": "Careful now.\nQuestion: {{ question }}\nAnswer:",
        "worse": "Sloppy is fine.\nQuestion: {{ question }}\nAnswer:",
    }
    for name in texts:
        (root / "prompts" / f"{name}.jinja").write_text(texts[name])
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:n]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "arith.yaml").write_text(
        f"dataset: arithmetic\nprompts: [{', '.join(['baseline', *prompts])}]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: baseline@sim\nnightly: true\n"
        "gate:\n  margin: 0.05\n"
    )
    return root
