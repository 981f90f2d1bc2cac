"""An adaptive experiment of a lab: rounds of real calls through the engine, scored by the
experiment's metric (a deterministic metric or a judge). No Dagster here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..engine import Engine, GenerationRequest, build_requests
from ..lab import Candidate, ExperimentConfig, Lab, PartitionPlan
from ..metrics import score_frame
from ._policies import Policy, RoundLog
from ._run import AdaptiveOutcome, Batch, run_adaptive
from ._strategies import grid_decision, make_policy, resolve_strategy

EVALUATION_COLUMNS = [
    "experiment",
    "round",
    "candidate",
    "item_id",
    "position",
    "output",
    "score",
    "error_type",
    "cached",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
]


@dataclass
class AdaptiveRun:
    """What an adaptive experiment did: its outcome and every evaluation it made."""

    experiment: str
    metric: str
    outcome: AdaptiveOutcome
    evaluations: pd.DataFrame

    def markdown(self) -> str:
        o = self.outcome
        s = o.summary()
        same = {True: "yes", False: "**no**", None: "grid not run"}[o.same_as_grid]
        lines = [
            f"### {self.experiment} (adaptive, {o.strategy}, metric `{self.metric}`)",
            "",
            f"- decision: **{s['verdict']}**"
            + (f", winner `{s['winner']}`" if s["winner"] else ""),
            f"- calls: {o.calls} of the full grid's {o.grid_calls} "
            f"({o.call_fraction:.0%}), {len(o.rounds)} rounds"
            + (f"; stopped: {o.stopped}" if o.stopped else ""),
            f"- full grid's decision: {s['grid_verdict'] or 'n/a'}"
            + (f", winner `{s['grid_winner']}`" if s["grid_winner"] else "")
            + f"; same decision: {same}",
            "",
            "| candidate | items | mean |",
            "|---|---:|---:|",
            *[f"| {a} | {o.items_seen[a]} | {o.means[a]:.3f} |" for a in o.arms],
        ]
        return "\n".join(lines)

    def metadata(self) -> dict[str, str | int | float | bool]:
        """The outcome in a few flat values, keyed ``<experiment>/<what>``."""
        s = self.outcome.summary()
        values: dict[str, str | int | float | bool] = {
            "decision": str(s["verdict"]),
            "winner": str(s["winner"] or "none"),
            "calls": int(s["calls"]),
            "grid_calls": int(s["grid_calls"]),
            "call_fraction": float(s["call_fraction"]),
            "same_as_grid": str(s["same_as_grid"]),
            "partial": bool(self.outcome.stopped),
        }
        return {f"{self.experiment}/{k}": v for k, v in values.items()}

    def tracked_metrics(self) -> dict[str, float]:
        """What a tracking run records: calls against the grid's, rounds, each mean."""
        o, s = self.outcome, self.outcome.summary()
        return {
            "calls": float(s["calls"]),
            "grid_calls": float(s["grid_calls"]),
            "call_fraction": float(s["call_fraction"]),
            "rounds": float(s["rounds"]),
            **{f"mean/{a.replace('@', ':')}": v for a, v in o.means.items()},
        }


def adaptive_arms(lab: Lab, experiment: str) -> list[Candidate]:
    """The experiment's candidates, baseline first (the A of an A/B test)."""
    baseline = lab.baseline(experiment)
    return [baseline, *[c for c in lab.candidates(experiment) if c.key != baseline.key]]


def run_lab_experiment(
    lab: Lab,
    experiment: str,
    records: list[dict[str, Any]],
    engine: Engine,
    *,
    judge_engine_for: Callable[[str], Engine] | None = None,
    grid_scores: dict[str, pd.DataFrame] | None = None,
    on_round: Callable[[RoundLog], None] | None = None,
    limit: int | None = None,
) -> AdaptiveRun:
    """Run one ``mode: adaptive`` experiment.

    Args:
        lab: The lab.
        experiment: Its name.
        records: The dataset's records.
        engine: Makes the generation calls (its budget stops the run cleanly).
        judge_engine_for: Engines for judges, when the metric is a judge's score.
        grid_scores: Scores tables by candidate key, when the full grid has been run: the
            outcome then says whether the grid reached the same decision.
        on_round: Called after every round.
        limit: Use only the first ``limit`` items (as the grid's ``limit`` does), in random order.
    """
    config = lab.experiment(experiment)
    settings = config.adaptive
    arms = adaptive_arms(lab, experiment)
    items = [records[int(i)] for i in _item_order(config, len(records), limit)]
    strategy = resolve_strategy(settings.strategy, len(arms))
    policy = make_policy(
        strategy,
        [c.label for c in arms],
        len(items),
        round_size=settings.round_size,
        alpha=config.alpha,
        delta=settings.delta,
        margin=settings.margin,
        seed=settings.seed,
    )
    rounds = _Rounds(lab, experiment, arms, items, engine, judge_engine_for, policy)
    outcome = run_adaptive(policy, rounds.evaluate, on_round)
    metric = config.adaptive_metric
    if grid_scores:
        table = _grid_table(arms, grid_scores, metric, [r["id"] for r in items])
        if table is not None:
            outcome.grid = grid_decision(
                strategy, table, alpha=config.alpha, margin=settings.margin
            )
    evaluations = pd.DataFrame(rounds.rows, columns=EVALUATION_COLUMNS)
    return AdaptiveRun(experiment, metric, outcome, evaluations)


def _item_order(config: ExperimentConfig, n_records: int, limit: int | None) -> np.ndarray:
    """The positions of the records to use, in the experiment's random order (its ``seed``):
    the first ``limit`` records (the grid's limit too), at most ``max_items`` of them."""
    pool = min(x for x in (limit, config.limit, n_records) if x is not None)
    n = min(pool, config.adaptive.max_items or pool)
    return np.random.default_rng(config.adaptive.seed).permutation(pool)[:n]


@dataclass
class _Rounds:
    """Evaluates the rounds a policy asks for, keeping every evaluation's row."""

    lab: Lab
    experiment: str
    arms: list[Candidate]
    items: list[dict[str, Any]]
    engine: Engine
    judge_engine_for: Callable[[str], Engine] | None
    policy: Policy
    rows: list[dict[str, Any]] = field(default_factory=list)

    def evaluate(self, plan: dict[str, list[int]]) -> Batch:
        """Generate and score ``candidate -> item positions``; the scores the policy sees."""
        config = self.lab.experiment(self.experiment)
        picked = {label: [(p, self.items[p]) for p in ps] for label, ps in plan.items()}
        by_label = {c.label: c for c in self.arms}
        scored, stopped = score_candidates(
            self.lab,
            config.dataset,
            config.adaptive_metric,
            by_label,
            picked,
            self.engine,
            self.judge_engine_for,
        )
        round_no = len(self.policy.rounds) + 1
        self.rows.extend(evaluation_rows(scored, self.experiment, round_no))
        scores: dict[str, dict[int, float]] = {}
        for row in scored.itertuples(index=False):
            scores.setdefault(row.candidate, {})[int(row.position)] = float(row.score)
        if stopped:  # keep only items every candidate of the round finished
            common = set.intersection(*(set(v) for v in scores.values())) if scores else set()
            scores = {a: {p: v for p, v in s.items() if p in common} for a, s in scores.items()}
        return Batch(scores, stopped=stopped)


def score_candidates(
    lab: Lab,
    dataset: str,
    metric: str,
    by_label: dict[str, Candidate],
    picked: dict[str, list[tuple[int, dict[str, Any]]]],
    engine: Engine,
    judge_engine_for: Callable[[str], Engine] | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Generate and score ``candidate label -> [(position, record)]`` in one engine run.

    Returns:
        One row per finished evaluation (``candidate``, ``position``, ``score`` and the
        generation's columns), and the reason calls were refused (a budget), if any.
    """
    requests: list[GenerationRequest] = []
    owners: list[tuple[str, int]] = []
    for label, items in picked.items():
        plan = PartitionPlan(by_label[label], dataset, 1, None)
        requests.extend(build_requests(lab, plan, [r for _, r in items]))
        owners.extend((label, p) for p, _ in items)
    if not requests:
        return pd.DataFrame(columns=["candidate", "position", "score"]), None
    frame = pd.DataFrame([r.row() for r in engine.run(requests)])
    frame["candidate"] = [o[0] for o in owners]
    frame["position"] = [o[1] for o in owners]
    refused = frame.loc[frame["error_type"] == "budget", "error"]
    done = frame[frame["error_type"] != "budget"].copy()
    records = [r for items in picked.values() for _, r in items]
    scored = _score(lab, metric, _judge_of(lab, metric), done, records, judge_engine_for)
    return scored, (str(refused.iloc[0]) if len(refused) else None)


def evaluation_rows(scored: pd.DataFrame, experiment: str, round_no: int) -> list[dict[str, Any]]:
    """Rows of the evaluations table (:data:`EVALUATION_COLUMNS`)."""
    return [
        {
            "experiment": experiment,
            "round": round_no,
            "candidate": row.candidate,
            "item_id": str(row.item_id),
            "position": int(row.position),
            "output": row.output,
            "score": float(row.score),
            "error_type": row.error_type,
            "cached": bool(row.cached),
            "prompt_tokens": int(row.prompt_tokens),
            "completion_tokens": int(row.completion_tokens),
            "cost_usd": float(row.cost_usd),
        }
        for row in scored.itertuples(index=False)
    ]


def _judge_of(lab: Lab, metric: str) -> str | None:
    if metric in lab.metrics:
        return None
    for name in lab.judges:
        if metric in lab.judge_columns(name).values():
            return name
    raise ValueError(f"metric {metric!r} is neither a metric nor a judge's score")


def _score(
    lab: Lab,
    metric: str,
    judge: str | None,
    frame: pd.DataFrame,
    records: list[dict[str, Any]],
    judge_engine_for: Callable[[str], Engine] | None,
) -> pd.DataFrame:
    if frame.empty:
        return frame.assign(score=pd.Series(dtype=float))
    if judge is None:
        return score_frame(frame, records, [metric], lab.metrics).rename(columns={metric: "score"})
    from ..judges import judge_metric_columns, judge_outputs

    if judge_engine_for is None:
        raise ValueError(f"metric {metric!r} is judge {judge!r}'s score: a judge engine is needed")
    # judges key verdicts by (item, repeat): give each candidate's row a distinct repeat
    keyed = frame.assign(repeat=range(len(frame)))
    verdicts = judge_outputs(lab, [judge], keyed, records, judge_engine_for)
    wide = judge_metric_columns(lab, [judge], verdicts) if len(verdicts) else None
    if wide is None or metric not in wide:
        return keyed.assign(score=0.0)
    merged = keyed.merge(wide[["item_id", "repeat", metric]], on=["item_id", "repeat"], how="left")
    return merged.rename(columns={metric: "score"}).assign(score=lambda f: f["score"].fillna(0.0))


def _grid_table(
    arms: list[Candidate], grid: dict[str, pd.DataFrame], metric: str, item_ids: list[Any]
) -> dict[str, np.ndarray] | None:
    """Every candidate's full-grid score on the same items, or None if the grid lacks any."""
    table: dict[str, np.ndarray] = {}
    wanted = [str(i) for i in item_ids]
    for cand in arms:
        frame = grid.get(cand.key)
        if frame is None or metric not in frame or frame.empty:
            return None
        means = frame.assign(item_id=frame["item_id"].astype(str)).groupby("item_id")[metric].mean()
        if not set(wanted) <= set(means.index):
            return None
        table[cand.label] = means.loc[wanted].to_numpy(dtype=float)
    return table
