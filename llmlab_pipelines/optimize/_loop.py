"""Prompt optimization: propose variants, test them on a training split with adaptive
allocation, keep the best, and confirm the winner on a held-out split. No Dagster here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..adaptive import SuccessiveElimination, run_adaptive
from ..adaptive._lab import EVALUATION_COLUMNS, evaluation_rows, score_candidates
from ..adaptive._run import Batch
from ..engine import Engine, GenerationRequest
from ..lab import Candidate, GenerationParams, Lab
from ..lab._sandbox import make_environment
from ..lab._templates import prompt_from_source
from ..stats import compare
from ._propose import (
    END,
    INSTRUCTIONS_VERSION,
    Failure,
    Proposal,
    check_variant,
    optimizer_prompt,
    parse_proposal,
)
from ._split import Split, content_split, fingerprint_parts, resume_check

PROPOSAL_COLUMNS = ["experiment", "round", "index", "name", "rationale", "refused", "template"]


@dataclass
class RoundResult:
    """What one round did: its proposals and the running leaderboard on the training split."""

    round: int
    proposals: list[Proposal]
    leaderboard: list[dict[str, Any]]
    improved: bool
    calls: int
    stopped: str | None = None


@dataclass
class OptimizationRun:
    """The outcome of an optimization."""

    experiment: str
    metric: str
    seed: str
    winner: str
    verdict: str
    confirmed: bool
    rounds: list[RoundResult]
    holdout: pd.DataFrame
    train_diff: float | None
    variants_tried: int
    sources: dict[str, str]
    rationales: dict[str, str]
    evaluations: pd.DataFrame
    stopped: str | None = None
    written: str | None = None
    branch: str | None = None
    resumed_from: int = 0
    calls: int = 0
    split: Split | None = None
    restarted: str | None = None  # why a checkpoint was not resumed, when there was one
    candidate_keys: list[str] = field(default_factory=list)
    finished: bool = True  # False: rounds remain (the held-out test comes after the last)

    def proposals_frame(self) -> pd.DataFrame:
        rows = [
            {
                "experiment": self.experiment,
                "round": r.round,
                "index": p.index,
                "name": p.name,
                "rationale": p.rationale,
                "refused": p.refused,
                "template": p.template,
            }
            for r in self.rounds
            for p in r.proposals
        ]
        return pd.DataFrame(rows, columns=PROPOSAL_COLUMNS)

    def markdown(self) -> str:
        lines = [
            f"### {self.experiment}: prompt optimization (metric `{self.metric}`)",
            "",
            f"- seed prompt `{self.seed}`; {self.variants_tried} variants tried in "
            f"{len(self.rounds)} rounds ({self.calls} evaluation calls)"
            + (f"; resumed after round {self.resumed_from}" if self.resumed_from else "")
            + (f"; stopped: {self.stopped}" if self.stopped else ""),
            f"- **verdict: {self.verdict}**",
        ]
        if self.split is not None:
            s = self.split
            lines.append(
                f"- split by content: {s.records} records, {s.distinct} distinct inputs "
                f"({s.duplicates} duplicates grouped with their first record), "
                f"{len(s.train)} training and {len(s.holdout)} held-out items"
            )
        if self.restarted:
            lines.append(f"- started afresh, the checkpoint was not resumed: {self.restarted}")
        if self.train_diff is not None:
            lines.append(
                f"- on the training split the winner gained {self.train_diff:+.3f}; that figure "
                f"is the best of {self.variants_tried} tries and so biased upward: only the "
                "held-out test below counts"
            )
        if len(self.holdout):
            lines += [
                "",
                "Held-out split (never seen while optimizing), Holm-corrected over the finalists:",
                "",
                _table(self.holdout),
            ]
        if self.written:
            lines.append(
                f"\n- written to `{self.written}`"
                + (f" and committed on branch `{self.branch}`" if self.branch else "")
            )
        for r in self.rounds:
            lines += ["", f"#### round {r.round}" + (" (improved)" if r.improved else ""), ""]
            for p in r.proposals:
                state = f"refused: {p.refused}" if p.refused else f"`{p.name}`"
                lines.append(f"- proposal {p.index + 1} ({state}): {p.rationale or '-'}")
            if r.leaderboard:
                lines += ["", _table(pd.DataFrame(r.leaderboard))]
        return "\n".join(lines)


def _table(frame: pd.DataFrame) -> str:
    from ..report import markdown_table

    return markdown_table(frame)


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
    config = lab.experiment(experiment)
    opt = config.optimize
    metric = config.metric
    alpha = config.alpha if alpha is None else alpha
    model_name = config.models[0]
    model = lab.models[model_name]
    optimizer_name = opt.optimizer or model_name
    optimizer = lab.models[optimizer_name]
    seed_name = opt.seed_prompt or config.prompts[0]
    seed_prompt = lab.prompts[seed_name]
    params = model.generation_params().merged(config.params)
    env = make_environment(lab.root / "prompts")
    fields = sorted({k for r in records for k in r} - {"expected"})

    def candidate(name: str) -> Candidate:
        return Candidate(
            prompt=name,
            prompt_hash=lab.prompts[name].hash,
            model=model_name,
            params=params,
            tweaked=params != model.generation_params(),
        )

    def register(source: str) -> str:
        digest = hashlib.sha256(source.encode()).hexdigest()[:8]
        name = f"{seed_name}_opt_{digest}"
        if name not in lab.prompts:
            lab.prompts[name] = prompt_from_source(
                env, name, source, lab.root / "prompts" / f"{name}.jinja"
            )
        return name

    cap = min(x for x in (limit, config.limit, opt.max_items, len(records)) if x is not None)
    split = content_split(records[:cap], train_fraction=opt.train_fraction, seed=opt.seed)
    train, holdout = split.train, split.holdout
    rows: list[dict[str, Any]] = []
    calls = 0

    def evaluate(names: list[str], items: list[dict[str, Any]], positions: list[int], rnd: int):
        nonlocal calls
        picked = {n: [(p, items[p]) for p in positions] for n in names}
        by_label = {n: candidate(n) for n in names}
        scored, stopped = score_candidates(
            lab, config.dataset, metric, by_label, picked, engine, judge_engine_for
        )
        rows.extend(evaluation_rows(scored, experiment, rnd))
        calls += len(scored)
        return scored, stopped

    parts = fingerprint_parts(
        lab,
        experiment,
        records[:cap],
        optimizer=optimizer_name,
        seed_prompt=seed_name,
        version=INSTRUCTIONS_VERSION,
    )
    state = load_state()
    restarted = resume_check(state, parts, split.ids())
    if restarted and on_restart is not None:
        on_restart(restarted)
    if not state or restarted:
        state = {
            "fingerprint": hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest(),
            "parts": parts,
            "split": split.ids(),
            "round": 0,
            "pool": [seed_name],
            "sources": {},
            "rationales": {},
            "rounds": [],
            "tried": [seed_prompt.source.strip()],
            "done": False,
            "stopped": None,
        }
    for source in state["sources"].values():
        register(source)
    resumed_from = int(state["round"])
    rounds = [_round_from(r) for r in state["rounds"]]
    seen = set(state["tried"])

    # the incumbent's failures on the training split show the optimizer what to fix
    stopped: str | None = state.get("stopped")
    ran = 0
    while not state["done"] and state["round"] < opt.rounds and not stopped:
        if rounds_now is not None and ran >= rounds_now:
            break
        ran += 1
        rnd = int(state["round"]) + 1
        best = state["pool"][0]
        scored, stopped = evaluate([best], train, list(range(len(train))), rnd)
        if stopped:
            break
        best_score = float(scored["score"].mean()) if len(scored) else 0.0
        wrong = scored[scored["score"] < 1].head(opt.failures_shown)
        by_id = {str(r["id"]): r for r in train}
        failures = [
            Failure(
                inputs=", ".join(
                    f"{k}={by_id[str(w.item_id)][k]}" for k in fields if k in by_id[str(w.item_id)]
                ),
                output=str(w.output),
                expected=str(by_id[str(w.item_id)].get("expected")),
            )
            for w in wrong.itertuples(index=False)
        ]
        proposals = _propose(
            optimizer_engine or engine,
            optimizer_name,
            optimizer,
            experiment=experiment,
            rnd=rnd,
            n=opt.variants,
            seed=opt.seed,
            temperature=opt.temperature,
            max_tokens=opt.max_tokens,
            text=lambda i, b=best, s=best_score, f=failures: optimizer_prompt(
                template=lab.prompts[b].source,
                fields=fields,
                metric=metric,
                score=s,
                failures=f,
                rubric=_rubric(lab, metric),
                index=i,
                tried=sorted(seen)[:3],
                example_field=min(lab.prompts[b].variables, default=None),
            ),
        )
        for p in proposals:
            check_variant(
                p,
                lambda source: lab.prompts[register(source)],
                set(fields),
                train,
                seen,
            )
            if p.accepted and p.template is not None:
                state["sources"][p.name] = p.template
                state["rationales"][p.name] = p.rationale
        new = [p.name for p in proposals if p.accepted and p.name not in state["pool"]]
        arms = list(dict.fromkeys([*state["pool"], *new]))
        leaderboard: list[dict[str, Any]] = []
        improved = False
        if new:
            policy = SuccessiveElimination(arms, len(train), opt.round_size, delta=opt.delta)

            def batch(plan: dict[str, list[int]], rnd: int = rnd) -> Batch:
                positions = sorted({p for ps in plan.values() for p in ps})
                scored, halt = evaluate(list(plan), train, positions, rnd)
                out: dict[str, dict[int, float]] = {}
                for row in scored.itertuples(index=False):
                    out.setdefault(row.candidate, {})[int(row.position)] = float(row.score)
                return Batch(out, stopped=halt)

            outcome = run_adaptive(policy, batch)
            stopped = outcome.stopped
            means = outcome.means
            survivors = [a for a in arms if a in policy.active]
            ranked = sorted(survivors, key=lambda a: -means[a])
            leaderboard = [
                {
                    "prompt": a,
                    "train_mean": round(means[a], 4),
                    "items": outcome.items_seen[a],
                    "status": "kept"
                    if a in ranked[: opt.keep]
                    else ("dropped early" if a not in survivors else "not kept"),
                    "new": a in new,
                }
                for a in sorted(arms, key=lambda a: -means[a])
            ]
            improved = bool(ranked) and ranked[0] in new and means[ranked[0]] > means[best]
            if ranked:
                state["pool"] = ranked[: opt.keep]
        result = RoundResult(rnd, proposals, leaderboard, improved, calls, stopped)
        rounds.append(result)
        state["rounds"].append(_round_to(result))
        state["tried"] = sorted(seen)
        state["round"] = rnd
        state["done"] = not improved
        state["stopped"] = stopped
        save_state(state)
        if on_round is not None:
            on_round(result)

    train_calls = calls  # the held-out test's calls are reported in its own table
    finished = bool(state["done"] or state["round"] >= opt.rounds or stopped)
    if finished:
        verdict, winner, confirmed, table, train_diff, stopped = _conclude(
            seed_name, state, rounds, holdout, evaluate, alpha, stopped
        )
    else:  # more rounds to go: the next materialization runs the next one
        verdict = f"round {state['round']} of {opt.rounds} done; the next round is pending"
        winner, confirmed, table, train_diff = state["pool"][0], False, pd.DataFrame(), None
    return OptimizationRun(
        experiment=experiment,
        metric=metric,
        seed=seed_name,
        winner=winner,
        verdict=verdict,
        confirmed=confirmed,
        rounds=rounds,
        holdout=table,
        train_diff=train_diff,
        variants_tried=sum(1 for r in rounds for p in r.proposals if p.accepted),
        sources={n: lab.prompts[n].source for n in [seed_name, *state["sources"]]},
        rationales=dict(state["rationales"]),
        evaluations=pd.DataFrame(rows, columns=EVALUATION_COLUMNS),
        stopped=stopped,
        resumed_from=resumed_from,
        calls=train_calls,
        split=split,
        restarted=restarted,
        candidate_keys=[candidate(n).key for n in state["sources"]],
        finished=finished,
    )


def _conclude(
    seed_name: str,
    state: dict[str, Any],
    rounds: list[RoundResult],
    holdout: list[dict[str, Any]],
    evaluate: Callable[..., tuple[pd.DataFrame, str | None]],
    alpha: float,
    stopped: str | None,
) -> tuple[str, str, bool, pd.DataFrame, float | None, str | None]:
    """The finalists against the seed on the held-out split: verdict, winner, confirmed, the
    held-out table, the winner's (optimistic) training gain, and any stop reason."""
    tried = sum(1 for r in rounds for p in r.proposals if p.accepted)
    boards = [r for r in rounds if r.leaderboard]
    last = {row["prompt"]: row["train_mean"] for row in boards[-1].leaderboard} if boards else {}
    # finalists: kept prompts that beat the seed on the training split (all of them once the
    # seed itself was dropped as clearly worse)
    finalists = [
        p
        for p in state["pool"]
        if p != seed_name and (seed_name not in last or last.get(p, 0.0) > last[seed_name])
    ]
    table = pd.DataFrame()
    confirmed, winner = False, seed_name
    train_diff = None
    seed_mean = next(
        (row["train_mean"] for r in boards for row in r.leaderboard if row["prompt"] == seed_name),
        None,
    )
    if finalists and seed_mean is not None and finalists[0] in last:
        train_diff = float(last[finalists[0]] - seed_mean)
    if not finalists:
        verdict = (
            "no variant beat the seed prompt on the training split; nothing to confirm"
            if tried
            else "no usable variant was proposed"
        )
    elif stopped:
        verdict = f"stopped before the held-out test: {stopped}"
    elif not holdout:
        verdict = "no held-out items (train_fraction leaves none)"
    else:
        names = [seed_name, *finalists]
        scored, halt = evaluate(names, holdout, list(range(len(holdout))), len(rounds) + 1)
        if halt:
            stopped = halt
            verdict = f"stopped during the held-out test: {halt}"
        else:
            table = compare(scored, metric="score", baseline=seed_name, alpha=alpha, n_boot=2000)
            table = table[
                [
                    "candidate_b",
                    "n",
                    "mean_a",
                    "mean_b",
                    "diff",
                    "ci_low",
                    "ci_high",
                    "test",
                    "p_value",
                    "p_adjusted",
                    "significant",
                ]
            ].rename(
                columns={"candidate_b": "variant", "mean_a": "seed_mean", "mean_b": "variant_mean"}
            )
            good = table[table["significant"] & (table["diff"] > 0)]
            if len(good):
                top = good.sort_values("diff", ascending=False).iloc[0]
                winner, confirmed = str(top["variant"]), True
                verdict = (
                    f"improvement confirmed on {int(top['n'])} held-out items: "
                    f"{top['seed_mean']:.3f} -> {top['variant_mean']:.3f} "
                    f"({top['diff']:+.3f}, CI [{top['ci_low']:+.3f}, {top['ci_high']:+.3f}], "
                    f"p_adj = {top['p_adjusted']:.3g})"
                )
            else:
                best = table.sort_values("diff", ascending=False).iloc[0]
                verdict = (
                    "not confirmed: on the held-out split the best finalist's difference is "
                    f"{best['diff']:+.3f} (CI [{best['ci_low']:+.3f}, {best['ci_high']:+.3f}], "
                    f"p_adj = {best['p_adjusted']:.3g}); the training gain did not hold"
                )
    return verdict, winner, confirmed, table, train_diff, stopped


def _propose(
    engine: Engine,
    name: str,
    config: Any,
    *,
    experiment: str,
    rnd: int,
    n: int,
    seed: int,
    temperature: float,
    max_tokens: int,
    text: Callable[[int], str],
) -> list[Proposal]:
    requests = [
        GenerationRequest(
            item_id=f"{experiment}:round{rnd}:proposal{i}",
            repeat=0,
            prompt=text(i),
            model_name=name,
            config=config,
            params=config.generation_params().merged(
                GenerationParams(
                    temperature=temperature,
                    max_tokens=max_tokens,
                    stop=[END],
                    seed=seed * 10_000 + rnd * 100 + i,
                )
            ),
        )
        for i in range(n)
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
            scorer = lab.judges.get(judge.members[0]) if judge.kind == "panel" else judge
            return scorer.rubric(dimension) if scorer is not None else None
    return None


def _round_to(r: RoundResult) -> dict[str, Any]:
    return {
        "round": r.round,
        "proposals": [p.__dict__ for p in r.proposals],
        "leaderboard": r.leaderboard,
        "improved": r.improved,
        "calls": r.calls,
        "stopped": r.stopped,
    }


def _round_from(d: dict[str, Any]) -> RoundResult:
    return RoundResult(
        d["round"],
        [Proposal(**p) for p in d["proposals"]],
        d["leaderboard"],
        d["improved"],
        d["calls"],
        d.get("stopped"),
    )
