"""Shared fixtures: every test gets its own state folder; nothing touches ./.llmlab."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LAB = ROOT / "lab"


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("LLMLAB_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("LLMLAB_ARTIFACTS", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("LLMLAB_LAB", raising=False)
    return home


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """One assembled copy of the local model for the whole session."""
    return ROOT / ".llmlab" / "models"


@pytest.fixture
def sample_lab(tmp_path: Path) -> Path:
    """A private copy of the shipped sample lab."""
    target = tmp_path / "lab"
    shutil.copytree(SAMPLE_LAB, target)
    return target


@pytest.fixture
def write_lab(tmp_path: Path) -> Iterator[object]:
    """Write a lab from a {relative path: text} mapping; returns its folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "lab"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for folder in ("prompts", "datasets", "experiments"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        return root

    yield write
