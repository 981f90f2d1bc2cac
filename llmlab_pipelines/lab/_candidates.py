"""Candidates: prompt version x model x parameters, each with a stable partition key."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import shorten
from ._schema import DEFAULT_MAX_CANDIDATES, ExperimentConfig, GenerationParams, ModelConfig
from ._templates import Prompt

#: hex digits of the parameter hash in a key: 64 bits, and load_lab checks for collisions anyway
PARAMS_HASH_LENGTH = 16


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
    def params_json(self) -> str:
        """The resolved parameters, canonical: what :attr:`params_hash` hashes."""
        return json.dumps(self.params.as_kwargs(), sort_keys=True, default=str)

    @property
    def params_hash(self) -> str:
        """A hash of the resolved parameters (64 bits; see :func:`key_collisions`)."""
        return hashlib.sha256(self.params_json.encode()).hexdigest()[:PARAMS_HASH_LENGTH]

    @property
    def key(self) -> str:
        """The partition key: ``few_shot.1a2b3c4d@local`` (``~<params hash>`` when tweaked)."""
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


def key_collisions(candidates: Iterable[tuple[str, Candidate]]) -> list[str]:
    """One message per partition key that two different candidates would share.

    Args:
        candidates: ``(experiment, candidate)`` pairs, for every experiment of a lab. The same
            candidate in two experiments shares its key on purpose (it is one partition); two
            that differ in prompt version, model or parameters never may.
    """
    owner: dict[str, tuple[str, Candidate]] = {}
    messages = []
    for experiment, cand in candidates:
        where, first = owner.setdefault(cand.key, (experiment, cand))
        if _identity(first) != _identity(cand):
            messages.append(
                f"{first.label} (experiment {where}) and {cand.label} (experiment "
                f"{experiment}) would share the partition key {cand.key!r}; parameters "
                f"{shorten(first.params_json)} vs {shorten(cand.params_json)} (please report this)"
            )
    return messages


def _identity(cand: Candidate) -> tuple[str, str, str, str]:
    return (cand.prompt, cand.prompt_hash, cand.model, cand.params_json)


def candidate_count(experiment: ExperimentConfig) -> int:
    """How many candidates the experiment makes: prompts x models x grid points."""
    sizes = [len(experiment.prompts), len(experiment.models)]
    return math.prod(sizes + [len(v) for v in experiment.params_grid.values()])


def too_many_candidates(experiment: ExperimentConfig) -> str | None:
    """Why the experiment may not start (too many candidates), or None when it may."""
    count, limit = candidate_count(experiment), experiment.max_candidates
    if count <= limit:
        return None
    shape = " x ".join(
        [f"{len(experiment.prompts)} prompts", f"{len(experiment.models)} models"]
        + [f"{len(v)} {k} values" for k, v in experiment.params_grid.items()]
    )
    default = " (the default)" if limit == DEFAULT_MAX_CANDIDATES else ""
    return (
        f"{count} candidates ({shape}), more than the {limit}{default} an experiment may have "
        f"without asking (each is one run per dataset and one row of the leaderboard); "
        f"to run them all, add `max_candidates: {count}` to this experiment"
    )
