"""The lab format: models, prompts, datasets and experiments, validated. No Dagster here."""

from __future__ import annotations

from ._candidates import Candidate
from ._datasets import Dataset
from ._errors import LabError, LabIssue
from ._lab import Lab, PartitionPlan
from ._load import load_lab
from ._schema import ExperimentConfig, GenerationParams, ModelConfig
from ._templates import Prompt, TemplateRenderError
from ._warnings import lab_warnings

__all__ = [
    "Candidate",
    "Dataset",
    "ExperimentConfig",
    "GenerationParams",
    "Lab",
    "LabError",
    "LabIssue",
    "ModelConfig",
    "PartitionPlan",
    "Prompt",
    "TemplateRenderError",
    "lab_warnings",
    "load_lab",
]
