"""Prompt optimization: propose variants, test them on a training split with adaptive
allocation, keep the best, and confirm the winner on a held-out split. No Dagster here.

The steps live in their own modules: ``_rounds`` (one round), ``_state`` (the checkpoint),
``_conclude`` (the held-out test), ``_result`` (what is reported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ..adaptive._lab import EVALUATION_COLUMNS
from ..engine import Engine
from ..lab import Lab
from ._conclude import Conclusion, conclude
from ._result import PROPOSAL_COLUMNS, OptimizationRun, RoundResult
from ._rounds import Evaluator, Setup, run_round
from ._state import OptimizeState, start_state

__all__ = ["PROPOSAL_COLUMNS", "OptimizationRun", "RoundResult", "optimize_experiment"]


def optimize_experiment(
    lab: Lab,
    experiment: str,
    records: list[dict[str, Any]],
    engine: Engine,
    *,
    optimizer_engine: Engine | None = None,
    load_state: Callable[[], dict[str, Any] | None] = lambda: None,
    save_state: Callable[[dict[str, Any]], None] = lambda state: None,
    on_round: Callable[[RoundResult], None] | None = None,
    on_restart: Callable[[str], None] | None = None,
    judge_engine_for: Callable[[str], Engine] | None = None,
    limit: int | None = None,
    alpha: float | None = None,
    rounds_now: int | None = None,
) -> OptimizationRun:
    """Optimize the seed prompt of ``experiment`` (see the module's docstring).

    Args:
        lab: The lab (variants are added to its prompts, in memory).
        experiment: The experiment: its first model, its primary metric, its dataset.
        records: The dataset's records.
        engine: Makes the evaluation calls (its budget stops the run cleanly).
        optimizer_engine: Makes the proposal calls (default: ``engine``).
        load_state: Returns the last checkpoint, to resume after the last finished round.
        save_state: Stores a checkpoint after every round.
        on_round: Called after every round.
        on_restart: Called with the reason when a checkpoint exists but is not resumed (it
            belongs to another lab, dataset, model, prompt, metric, setting or split).
        judge_engine_for: Engines for judges, when the metric is a judge's score.
        limit: Use only the first ``limit`` items.
        alpha: The held-out test's level (default: the experiment's).
        rounds_now: Run at most this many rounds now (Dagster runs one per materialization);
            the held-out test runs once no round remains.
    """
    setup = Setup.resolve(lab, experiment, records, limit, alpha)
    evaluate = Evaluator(setup, engine, judge_engine_for)
    state, restarted = start_state(
        load_state(),
        setup.fingerprint_parts(),
        setup.split.ids(),
        setup.seed_name,
        setup.seed_source,
    )
    if restarted and on_restart is not None:
        on_restart(restarted)
    for source in state.sources.values():
        setup.register(source)
    resumed_from = state.round
    stopped = _run_rounds(
        state, evaluate, optimizer_engine or engine, save_state, on_round, rounds_now
    )
    train_calls = evaluate.calls  # the held-out test's calls are reported in its own table
    finished = bool(state.done or state.round >= setup.opt.rounds or stopped)
    if finished:
        outcome = conclude(state, evaluate, stopped)
    else:  # more rounds to go: the next materialization runs the next one
        verdict = f"round {state.round} of {setup.opt.rounds} done; the next round is pending"
        outcome = Conclusion(verdict, state.pool[0], stopped=stopped)
    run = _report(setup, state, evaluate, outcome, finished)
    run.resumed_from, run.calls, run.restarted = resumed_from, train_calls, restarted
    return run


def _run_rounds(
    state: OptimizeState,
    evaluate: Evaluator,
    optimizer_engine: Engine,
    save_state: Callable[[dict[str, Any]], None],
    on_round: Callable[[RoundResult], None] | None,
    rounds_now: int | None,
) -> str | None:
    """Run the rounds that remain (at most ``rounds_now``), saving a checkpoint after each;
    why calls stopped (a budget), if they did."""
    stopped = state.stopped
    ran = 0
    while not state.done and state.round < evaluate.setup.opt.rounds and not stopped:
        if rounds_now is not None and ran >= rounds_now:
            break
        ran += 1
        result, stopped = run_round(state, evaluate, optimizer_engine)
        if result is None:
            break
        save_state(state.checkpoint())
        if on_round is not None:
            on_round(result)
    return stopped


def _report(
    setup: Setup,
    state: OptimizeState,
    evaluate: Evaluator,
    outcome: Conclusion,
    finished: bool,
) -> OptimizationRun:
    """The run's outcome as reported (resume and call counts are filled in by the caller)."""
    lab = setup.lab
    return OptimizationRun(
        experiment=setup.experiment,
        metric=setup.metric,
        seed=setup.seed_name,
        winner=outcome.winner,
        verdict=outcome.verdict,
        confirmed=outcome.confirmed,
        rounds=state.rounds,
        holdout=outcome.holdout,
        train_diff=outcome.train_diff,
        variants_tried=state.variants_tried,
        sources={n: lab.prompts[n].source for n in [setup.seed_name, *state.sources]},
        rationales=dict(state.rationales),
        evaluations=pd.DataFrame(evaluate.rows, columns=EVALUATION_COLUMNS),
        stopped=outcome.stopped,
        split=setup.split,
        candidate_keys=[setup.candidate(n).key for n in state.sources],
        finished=finished,
    )
