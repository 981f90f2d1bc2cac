"""One optimization round: show the optimizer the incumbent's failures, check its proposals, and
race the new variants against the pool on the training split (successive elimination)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..adaptive import SuccessiveElimination, run_adaptive
from ..adaptive._lab import evaluation_rows, score_candidates
from ..adaptive._run import AdaptiveOutcome, Batch
from ..engine import Engine, GenerationRequest
from ..lab import Candidate, ExperimentConfig, GenerationParams, Lab, ModelConfig
from ..lab._sandbox import LabSandbox, make_environment
from ..lab._schema import OptimizeConfig
from ..lab._templates import prompt_from_source
from ._propose import (
    END,
    INSTRUCTIONS_VERSION,
    Failure,
    Proposal,
    check_variant,
    optimizer_prompt,
    parse_proposal,
)
from ._result import RoundResult
from ._split import Split, content_split, fingerprint_parts
from ._state import OptimizeState


@dataclass
class Setup:
    """What an optimization is of, resolved from the lab once: the experiment, its first model,
    seed prompt, optimizer model, metric and the content split of its items."""

    lab: Lab
    experiment: str
    config: ExperimentConfig
    alpha: float
    model_name: str
    model: ModelConfig
    optimizer_name: str
    optimizer: ModelConfig  # the models.yaml entry that proposes variants
    seed_name: str
    seed_source: str
    records: list[dict[str, Any]]  # the items optimized on (the first ``cap``)
    split: Split
    fields: list[str]  # the fields a prompt may read
    env: LabSandbox = field(repr=False)

    @classmethod
    def resolve(
        cls,
        lab: Lab,
        experiment: str,
        records: list[dict[str, Any]],
        limit: int | None,
        alpha: float | None,
    ) -> Setup:
        """The setup of ``experiment`` on ``records`` (at most ``limit`` of them)."""
        config = lab.experiment(experiment)
        opt = config.optimize
        cap = min(x for x in (limit, config.limit, opt.max_items, len(records)) if x is not None)
        model_name = config.models[0]
        optimizer_name = opt.optimizer or model_name
        seed_name = opt.seed_prompt or config.prompts[0]
        return cls(
            lab=lab,
            experiment=experiment,
            config=config,
            alpha=config.alpha if alpha is None else alpha,
            model_name=model_name,
            model=lab.models[model_name],
            optimizer_name=optimizer_name,
            optimizer=lab.models[optimizer_name],
            seed_name=seed_name,
            seed_source=lab.prompts[seed_name].source,
            records=records[:cap],
            split=content_split(records[:cap], train_fraction=opt.train_fraction, seed=opt.seed),
            fields=sorted({k for r in records for k in r} - {"expected"}),
            env=make_environment(lab.root / "prompts"),
        )

    @property
    def opt(self) -> OptimizeConfig:
        """The experiment's ``optimize:`` settings."""
        return self.config.optimize

    @property
    def metric(self) -> str:
        """The metric optimized (the experiment's primary one)."""
        return self.config.metric

    def fingerprint_parts(self) -> dict[str, str]:
        """What a checkpoint must match to be resumed."""
        return fingerprint_parts(
            self.lab,
            self.experiment,
            self.records,
            optimizer=self.optimizer_name,
            seed_prompt=self.seed_name,
            version=INSTRUCTIONS_VERSION,
        )

    def candidate(self, name: str) -> Candidate:
        """Prompt ``name`` on the experiment's model, with the experiment's settings."""
        model = self.model
        params = model.generation_params().merged(self.config.params)
        return Candidate(
            prompt=name,
            prompt_hash=self.lab.prompts[name].hash,
            model=self.model_name,
            params=params,
            tweaked=params != model.generation_params(),
        )

    def register(self, source: str) -> str:
        """Add a variant to the lab's prompts (in memory), named for its content."""
        digest = hashlib.sha256(source.encode()).hexdigest()[:8]
        name = f"{self.seed_name}_opt_{digest}"
        if name not in self.lab.prompts:
            self.lab.prompts[name] = prompt_from_source(
                self.env, name, source, self.lab.root / "prompts" / f"{name}.jinja"
            )
        return name


@dataclass
class Evaluator:
    """Scores prompts on items in one engine run, keeping every evaluation row."""

    setup: Setup
    engine: Engine
    judge_engine_for: Callable[[str], Engine] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0

    def __call__(
        self, names: list[str], items: list[dict[str, Any]], positions: list[int], rnd: int
    ) -> tuple[pd.DataFrame, str | None]:
        """Score prompts ``names`` on ``items[positions]``: the scores, and why calls stopped."""
        s = self.setup
        picked = {n: [(p, items[p]) for p in positions] for n in names}
        by_label = {n: s.candidate(n) for n in names}
        scored, stopped = score_candidates(
            s.lab, s.config.dataset, s.metric, by_label, picked, self.engine, self.judge_engine_for
        )
        self.rows.extend(evaluation_rows(scored, s.experiment, rnd))
        self.calls += len(scored)
        return scored, stopped


def run_round(
    state: OptimizeState, evaluate: Evaluator, optimizer_engine: Engine
) -> tuple[RoundResult | None, str | None]:
    """Run the round after ``state.round`` and record it in ``state``.

    Returns:
        The round, and why calls stopped (a budget), if they did; no round when the
        incumbent's evaluation was stopped (then nothing is recorded).
    """
    setup, train = evaluate.setup, evaluate.setup.split.train
    rnd = state.round + 1
    best = state.pool[0]
    scored, stopped = evaluate([best], train, list(range(len(train))), rnd)
    if stopped:
        return None, stopped
    # the incumbent's failures on the training split show the optimizer what to fix
    score = float(scored["score"].mean()) if len(scored) else 0.0
    failures = _failures(setup, scored)
    proposals = _proposals(setup, state, optimizer_engine, rnd, best, score, failures)
    accepted = [p.name for p in proposals if p.accepted and p.name is not None]
    new = [name for name in accepted if name not in state.pool]
    leaderboard: list[dict[str, Any]] = []
    improved = False
    if new:
        leaderboard, improved, stopped = _race(state, evaluate, new, rnd)
    result = RoundResult(rnd, proposals, leaderboard, improved, evaluate.calls, stopped)
    state.rounds.append(result)
    state.round = rnd
    state.done = not improved
    state.stopped = stopped
    return result, stopped


def _failures(setup: Setup, scored: pd.DataFrame) -> list[Failure]:
    """The incumbent's first wrong answers on the training split, with their items."""
    wrong = scored[scored["score"] < 1].head(setup.opt.failures_shown)
    by_id = {str(r["id"]): r for r in setup.split.train}
    failures = []
    for w in wrong.itertuples(index=False):
        item = by_id[str(w.item_id)]
        failures.append(
            Failure(
                inputs=", ".join(f"{k}={item[k]}" for k in setup.fields if k in item),
                output=str(w.output),
                expected=str(item.get("expected")),
            )
        )
    return failures


def _proposals(
    setup: Setup,
    state: OptimizeState,
    engine: Engine,
    rnd: int,
    best: str,
    score: float,
    failures: list[Failure],
) -> list[Proposal]:
    """Ask the optimizer for variants of ``best`` and check each (accepted ones are added to
    the lab's prompts and to ``state``)."""
    lab = setup.lab

    def text(index: int) -> str:
        return optimizer_prompt(
            template=lab.prompts[best].source,
            fields=setup.fields,
            metric=setup.metric,
            score=score,
            failures=failures,
            rubric=_rubric(lab, setup.metric),
            index=index,
            tried=sorted(state.tried)[:3],
            example_field=min(lab.prompts[best].variables, default=None),
        )

    proposals = _propose(engine, setup, rnd, text)
    for p in proposals:
        check_variant(
            p,
            lambda source: lab.prompts[setup.register(source)],
            set(setup.fields),
            setup.split.train,
            state.tried,
        )
        if p.accepted and p.name is not None and p.template is not None:
            state.sources[p.name] = p.template
            state.rationales[p.name] = p.rationale
    return proposals


def _race(
    state: OptimizeState, evaluate: Evaluator, new: list[str], rnd: int
) -> tuple[list[dict[str, Any]], bool, str | None]:
    """Race the pool and the new variants on the training split; keep the best in the pool.

    Returns:
        The leaderboard, whether a new variant beat the incumbent, and why calls stopped.
    """
    opt, train = evaluate.setup.opt, evaluate.setup.split.train
    best = state.pool[0]
    arms = list(dict.fromkeys([*state.pool, *new]))
    policy = SuccessiveElimination(arms, len(train), opt.round_size, delta=opt.delta)

    def batch(plan: dict[str, list[int]]) -> Batch:
        positions = sorted({p for ps in plan.values() for p in ps})
        scored, halt = evaluate(list(plan), train, positions, rnd)
        out: dict[str, dict[int, float]] = {}
        for row in scored.itertuples(index=False):
            out.setdefault(str(row.candidate), {})[int(row.position)] = float(row.score)
        return Batch(out, stopped=halt)

    outcome = run_adaptive(policy, batch)
    survivors = [a for a in arms if a in policy.active]
    ranked = sorted(survivors, key=lambda a: -outcome.means[a])
    leaderboard = _leaderboard(arms, new, survivors, ranked[: opt.keep], outcome)
    improved = bool(ranked) and ranked[0] in new and outcome.means[ranked[0]] > outcome.means[best]
    if ranked:
        state.pool = ranked[: opt.keep]
    return leaderboard, improved, outcome.stopped


def _leaderboard(
    arms: list[str],
    new: list[str],
    survivors: list[str],
    kept: list[str],
    outcome: AdaptiveOutcome,
) -> list[dict[str, Any]]:
    """One row per prompt raced, best training mean first."""
    means = outcome.means
    return [
        {
            "prompt": a,
            "train_mean": round(means[a], 4),
            "items": outcome.items_seen[a],
            "status": "kept"
            if a in kept
            else ("dropped early" if a not in survivors else "not kept"),
            "new": a in new,
        }
        for a in sorted(arms, key=lambda a: -means[a])
    ]


def _propose(engine: Engine, setup: Setup, rnd: int, text: Callable[[int], str]) -> list[Proposal]:
    """Ask the optimizer model for ``variants`` proposals (one call each)."""
    opt, config = setup.opt, setup.optimizer
    requests = [
        GenerationRequest(
            item_id=f"{setup.experiment}:round{rnd}:proposal{i}",
            repeat=0,
            prompt=text(i),
            model_name=setup.optimizer_name,
            config=config,
            params=config.generation_params().merged(
                GenerationParams(
                    temperature=opt.temperature,
                    max_tokens=opt.max_tokens,
                    stop=[END],
                    seed=opt.seed * 10_000 + rnd * 100 + i,
                )
            ),
        )
        for i in range(opt.variants)
    ]
    out = []
    for i, result in enumerate(engine.run(requests)):
        if result.output is None:
            out.append(Proposal(i, None, "", refused=f"the optimizer call failed: {result.error}"))
        else:
            out.append(parse_proposal(result.output, i))
    return out


def _rubric(lab: Lab, metric: str) -> str | None:
    """The rubric text of the judge dimension the metric is (a panel's: its first member's)."""
    for name, judge in lab.judges.items():
        for dimension, column in lab.judge_columns(name).items():
            if column != metric:
                continue
            scorer = lab.judges.get(judge.members[0]) if judge.rules.combines else judge
            return scorer.rubric(dimension) if scorer is not None else None
    return None
