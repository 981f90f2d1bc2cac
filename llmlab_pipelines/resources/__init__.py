"""One ConfigurableResource per external system."""

from __future__ import annotations

from .artifacts import ArtifactStore, ParquetIOManager
from .lab import LabResource
from .llm import LLMResource
from .tracking import CandidateRun, MLflowTracking

__all__ = [
    "ArtifactStore",
    "CandidateRun",
    "LLMResource",
    "LabResource",
    "MLflowTracking",
    "ParquetIOManager",
]
