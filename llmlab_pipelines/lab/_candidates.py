"""Candidates: prompt version x model x parameters, each with a stable partition key."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from ._schema import ExperimentConfig, GenerationParams, ModelConfig
from ._templates import Prompt


@dataclass(frozen=True)
class Candidate:
    """What produces one column of generations.

    Args:
        prompt: The prompt template's name.
        prompt_hash: The template's content hash (its version).
        model: The models.yaml entry's name.
        params: The fully resolved sampling parameters.
        grid: The experiment's grid point, for the label.
        tweaked: True when the experiment changed the model's defaults.
    """

    prompt: str
    prompt_hash: str
    model: str
    params: GenerationParams
    grid: tuple[tuple[str, Any], ...] = ()
    tweaked: bool = False

    @property
    def params_hash(self) -> str:
        """A short hash of the resolved parameters."""
        blob = json.dumps(self.params.as_kwargs(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:6]

    @property
    def key(self) -> str:
        """The partition key: ``few_shot.1a2b3c4d@local`` (``~<params>`` when tweaked)."""
        base = f"{self.prompt}.{self.prompt_hash[:8]}@{self.model}"
        return f"{base}~{self.params_hash}" if self.tweaked else base

    @property
    def label(self) -> str:
        """The name people read: ``few_shot@local`` or ``few_shot@local[temperature=0.7]``."""
        base = f"{self.prompt}@{self.model}"
        if not self.grid:
            return base
        return base + "[" + ",".join(f"{k}={v}" for k, v in self.grid) + "]"


def expand_candidates(
    experiment: ExperimentConfig, prompts: dict[str, Prompt], models: dict[str, ModelConfig]
) -> list[Candidate]:
    """Every candidate of an experiment, in prompt, model, grid order."""
    names = list(experiment.params_grid)
    points = list(itertools.product(*experiment.params_grid.values())) or [()]
    out = []
    for prompt_name, model_name, point in itertools.product(
        experiment.prompts, experiment.models, points
    ):
        model = models[model_name]
        grid = tuple(zip(names, point, strict=True))
        override = experiment.params.merged(GenerationParams(**dict(grid)))
        params = model.generation_params().merged(override)
        out.append(
            Candidate(
                prompt=prompt_name,
                prompt_hash=prompts[prompt_name].hash,
                model=model_name,
                params=params,
                grid=grid,
                tweaked=params != model.generation_params(),
            )
        )
    return out


def match_baseline(spec: str, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates whose label is ``spec``; ``prompt@model`` also matches every grid point."""
    exact = [c for c in candidates if c.label == spec]
    return exact or [c for c in candidates if f"{c.prompt}@{c.model}" == spec]
