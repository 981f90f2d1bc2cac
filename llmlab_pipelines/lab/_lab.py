"""The validated lab: what it holds, and the questions the pipelines ask of it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..metrics import METRICS, Metric
from ..vcs import head_sha
from ._candidates import Candidate, expand_candidates, match_baseline
from ._datasets import Dataset
from ._errors import LabError, shown, unknown
from ._judges import JudgeConfig
from ._labels import HumanLabels
from ._schema import BudgetsConfig, ExperimentConfig, ModelConfig
from ._templates import Prompt


@dataclass(frozen=True)
class PartitionPlan:
    """What one generations partition (candidate x dataset) must produce."""

    candidate: Candidate
    dataset: str
    repeats: int
    limit: int | None


@dataclass
class Lab:
    """A validated lab: models, prompts, datasets and experiments."""

    root: Path
    models: dict[str, ModelConfig]
    prompts: dict[str, Prompt]
    datasets: dict[str, Dataset]
    experiments: dict[str, ExperimentConfig]
    judges: dict[str, JudgeConfig] = field(default_factory=dict)
    judge_templates: dict[str, Prompt] = field(default_factory=dict)
    user_metrics: dict[str, Metric] = field(default_factory=dict)
    budgets: BudgetsConfig = field(default_factory=BudgetsConfig)
    configured_metrics: dict[str, Metric] = field(default_factory=dict)
    human_labels: dict[str, HumanLabels] = field(default_factory=dict)  # by dataset
    _candidates: dict[str, list[Candidate]] = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> dict[str, Metric]:
        """Built-in metrics, the lab's own (``metrics/*.py``) and entries with options."""
        return {**METRICS, **self.user_metrics, **self.configured_metrics}

    def judge_columns(self, name: str) -> dict[str, str]:
        """``dimension -> metric column`` a judge (or panel) adds to the scores."""
        judge = self.judges[name]
        if judge.rules.combines:
            first = self.judges.get(judge.members[0])
            dims = first.dimensions if first else []
            return {d: name if len(dims) == 1 else f"{name}.{d}" for d in dims}
        return judge.columns(name)

    def experiment_metrics(self, experiment: str) -> dict[str, bool]:
        """Every metric name an experiment may rank by, with whether it is binary (0/1)."""
        config = self.experiment(experiment)
        out = {name: m.binary for name, m in self.metrics.items()}
        for judge in config.judges:
            if judge in self.judges:
                binary = self._judge_binary(judge)
                out.update(dict.fromkeys(self.judge_columns(judge).values(), binary))
        return out

    def _judge_binary(self, name: str) -> bool:
        judge = self.judges[name]
        if judge.rules.combines:
            return judge.consensus == "majority" and all(
                self.judges[m].binary for m in judge.members if m in self.judges
            )
        return judge.binary and judge.repeats == 1

    def judge_names_for(self, candidate_key: str, dataset: str) -> list[str]:
        """Rubric judges and panels whose scores this candidate gets on this dataset."""
        names: dict[str, None] = {}
        for experiment in self.experiments_for(dataset):
            if any(c.key == candidate_key for c in self.candidates(experiment)):
                for name in self.experiments[experiment].judges:
                    if self.judges[name].rules.columns:
                        names[name] = None
        return list(names)

    def candidates(self, experiment: str) -> list[Candidate]:
        """The candidates of one experiment."""
        if experiment not in self._candidates:
            config = self.experiment(experiment)
            self._candidates[experiment] = expand_candidates(config, self.prompts, self.models)
        return self._candidates[experiment]

    def experiment(self, name: str) -> ExperimentConfig:
        """One experiment by name, with a helpful error for a typo."""
        if name not in self.experiments:
            raise LabError.single(
                str(self.root / "experiments"), unknown("experiment", name, self.experiments)
            )
        return self.experiments[name]

    def baseline(self, experiment: str) -> Candidate:
        """The experiment's baseline candidate (default: its first candidate)."""
        config = self.experiment(experiment)
        candidates = self.candidates(experiment)
        if config.baseline is None:
            return candidates[0]
        return match_baseline(config.baseline, candidates)[0]

    def all_candidates(self) -> dict[str, Candidate]:
        """Every candidate of every experiment, by partition key."""
        return {c.key: c for name in self.experiments for c in self.candidates(name)}

    def experiments_for(self, dataset: str, *, mode: str = "grid") -> list[str]:
        """Names of the experiments that evaluate ``dataset`` (grid ones unless ``mode``)."""
        return [
            name
            for name, e in self.experiments.items()
            if e.dataset == dataset and (mode == "any" or e.mode == mode)
        ]

    def metrics_for(self, candidate_key: str, dataset: str) -> list[str]:
        """Every metric an experiment asks for on this candidate and dataset, in order."""
        names: dict[str, None] = {}
        for name in self.experiments_for(dataset):
            if any(c.key == candidate_key for c in self.candidates(name)):
                names.update(dict.fromkeys(self.experiments[name].metrics))
        return list(names)

    def run_budget(self, candidate_key: str, dataset: str) -> tuple[float, str] | None:
        """The tightest ``budget_usd`` of the experiments using this partition, with its name."""
        found = [
            (self.experiments[e].budget_usd, e)
            for e in self.experiments_for(dataset)
            if self.experiments[e].budget_usd is not None
            and any(c.key == candidate_key for c in self.candidates(e))
        ]
        if not found:
            return None
        limit, name = min(found)
        return float(limit), name  # type: ignore[arg-type]

    def plans(self, experiments: Iterable[str] | None = None) -> list[PartitionPlan]:
        """The generations partitions the experiments need, one per candidate x dataset."""
        plans: dict[tuple[str, str], PartitionPlan] = {}
        for name in self.experiments if experiments is None else experiments:
            config = self.experiment(name)
            if config.mode != "grid":
                continue  # adaptive and optimize experiments make their calls in rounds
            for cand in self.candidates(name):
                key = (cand.key, config.dataset)
                old = plans.get(key)
                repeats = max(config.repeats, old.repeats if old else 0)
                limit = _max_limit(config.limit, old.limit) if old else config.limit
                plans[key] = PartitionPlan(cand, config.dataset, repeats, limit)
        return list(plans.values())

    def plan(self, candidate_key: str, dataset: str) -> PartitionPlan:
        """The plan of one generations partition, or a LabError naming what is unknown."""
        for plan in self.plans():
            if plan.candidate.key == candidate_key and plan.dataset == dataset:
                return plan
        raise LabError.single(
            str(self.root),
            f"no experiment evaluates candidate {shown(candidate_key)} on dataset {shown(dataset)} "
            "(it may belong to an older version of a prompt)",
        )

    def git_sha(self) -> str | None:
        """The commit the lab is at, when it lives in a git repository."""
        return head_sha(self.root)


def _max_limit(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)
