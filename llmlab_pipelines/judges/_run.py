"""Run judges through the generation engine (its cache, limits and accounting)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..engine import Engine
from ..engine._types import GenerationRequest, GenerationResult
from ..lab import GenerationParams, Lab
from ..lab._judges import JudgeConfig
from ..stats import StatsError, agreement, mean_ci
from ._parse import ParseError, parse_pairwise, parse_rubric
from ._prompts import pairwise_prompt, retry_prompt, rubric_prompt, task_of, with_reference

JUDGE_COLUMNS = [
    "item_id",
    "repeat",
    "judge",
    "judge_repeat",
    "dimension",
    "column",
    "raw",
    "score",
    "reason",
    "failure",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "cached",
]

PAIRWISE_COLUMNS = [
    "experiment",
    "judge",
    "candidate",
    "baseline",
    "item_id",
    "candidate_first",
    "baseline_first",
    "outcome",
    "score",
    "consistent",
    "reason",
    "failure",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
]

EngineFactory = Callable[[str], Engine]


@dataclass
class _Call:
    key: tuple[Any, ...]
    request: GenerationRequest
    result: GenerationResult | None = None
    verdict: Any = None
    error: str | None = None
    failure: str | None = None
    tokens: tuple[int, int, float] = (0, 0, 0.0)
    cached: bool = True


def _request(
    lab: Lab, judge: JudgeConfig, item: str, repeat: int, prompt: str
) -> GenerationRequest:
    assert judge.model is not None
    config = lab.models[judge.model]
    params = config.generation_params().merged(
        GenerationParams(temperature=judge.temperature, max_tokens=judge.max_tokens)
    )
    return GenerationRequest(
        item_id=item,
        repeat=repeat,
        prompt=prompt,
        model_name=judge.model,
        config=config,
        params=params,
    )


def _run_with_retry(
    engine: Engine, calls: list[_Call], parse: Callable[[str], Any], *, json_reply: bool
) -> None:
    """Call, parse strictly; one retry telling the judge what was wrong; then a recorded failure."""
    for attempt in (0, 1):
        todo = [c for c in calls if c.verdict is None and (attempt == 0 or c.failure == "parse")]
        if not todo:
            return
        results = engine.run([c.request for c in todo])
        for call, result in zip(todo, results, strict=True):
            p, q, cost = call.tokens
            call.tokens = (
                p + result.prompt_tokens,
                q + result.completion_tokens,
                cost + result.cost_usd,
            )
            call.cached = call.cached and result.cached
            if result.error is not None or result.output is None:
                call.failure, call.error = "call", result.error or "no reply"
                continue
            try:
                call.verdict = parse(result.output)
                call.failure = call.error = None
            except ParseError as exc:
                call.failure, call.error = "parse", str(exc)
                call.request = dataclasses.replace(
                    call.request,
                    prompt=retry_prompt(call.request.prompt, str(exc), json_reply=json_reply),
                )


def judge_outputs(
    lab: Lab,
    judge_names: list[str],
    generations: pd.DataFrame,
    records: list[dict[str, Any]],
    engine_for: EngineFactory,
) -> pd.DataFrame:
    """Every rubric judge's verdicts on every output: one row per verdict and dimension."""
    by_id = {str(r["id"]): r for r in records}
    rows: list[dict[str, Any]] = []
    for name in judge_names:
        judge = lab.judges[name]
        template = lab.judge_templates.get(name)
        columns = judge.columns(name)
        groups = (
            [[d] for d in judge.dimensions]
            if (judge.labels or not judge.combine)
            else [judge.dimensions]
        )
        calls: list[_Call] = []
        for row in generations.itertuples(index=False):
            if row.output is None or (isinstance(row.output, float) and np.isnan(row.output)):
                continue  # nothing to judge: the generation failed (scored 0 downstream)
            record = by_id.get(str(row.item_id), {})
            task = task_of(record, getattr(row, "prompt", None))
            reference = with_reference(judge, record)
            for r in range(judge.repeats):
                for dims in groups:
                    prompt = rubric_prompt(
                        judge,
                        dims,
                        task=task,
                        output=str(row.output),
                        reference=reference,
                        template=template,
                        record=record,
                    )
                    key = (str(row.item_id), int(row.repeat), r, tuple(dims))
                    item = f"{row.item_id}#{row.repeat}:{name}:{'+'.join(dims)}"
                    calls.append(_Call(key, _request(lab, judge, item, r, prompt)))
        if not calls:
            continue

        for dims in groups:
            group = [c for c in calls if c.key[3] == tuple(dims)]
            _run_with_retry(
                engine_for(name),
                group,
                lambda reply, d=dims, j=judge: parse_rubric(j, d, reply),
                json_reply=not judge.labels,
            )
        lo, hi = judge.bounds
        for call in calls:
            item_id, repeat, r, dims = call.key
            for n, dim in enumerate(dims):
                raw, reason = call.verdict[dim] if call.verdict else (np.nan, "")
                tokens = call.tokens if n == 0 else (0, 0, 0.0)  # a call's cost, counted once
                rows.append(
                    {
                        "item_id": item_id,
                        "repeat": repeat,
                        "judge": name,
                        "judge_repeat": r,
                        "dimension": dim,
                        "column": columns[dim],
                        "raw": raw,
                        "score": (raw - lo) / (hi - lo) if call.verdict else np.nan,
                        "reason": reason,
                        "failure": call.failure,
                        "error": call.error,
                        "prompt_tokens": tokens[0],
                        "completion_tokens": tokens[1],
                        "cost_usd": tokens[2],
                        "cached": call.cached,
                    }
                )
    return pd.DataFrame(rows, columns=JUDGE_COLUMNS)


def judge_metric_columns(lab: Lab, names: list[str], verdicts: pd.DataFrame) -> pd.DataFrame:
    """``(item_id, repeat)`` -> one column per judge/panel metric, in [0, 1].

    A rubric judge's column is its mean over repeats; a panel's is the mean (or majority) of its
    members. An output no verdict could be parsed for scores 0, like an output that failed.
    """
    wide = (
        verdicts.groupby(["item_id", "repeat", "column"])["score"].mean().unstack("column")
        if len(verdicts)
        else pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["item_id", "repeat"]))
    )
    out = pd.DataFrame(index=wide.index)
    for name in names:
        judge = lab.judges[name]
        for dim, column in lab.judge_columns(name).items():
            if judge.kind == "rubric":
                out[column] = wide.get(column, np.nan)
            elif judge.kind == "panel":
                members = [lab.judge_columns(m)[dim] for m in judge.members]
                values = wide.reindex(columns=members)
                if judge.consensus == "majority":
                    out[column] = (values.round().mean(axis=1) > 0.5).astype(float)
                    out.loc[values.isna().all(axis=1), column] = np.nan
                else:
                    out[column] = values.mean(axis=1)
    return out.fillna(0.0).reset_index()


def agreement_table(
    lab: Lab, names: list[str], verdicts: pd.DataFrame, records: list[dict[str, Any]]
) -> pd.DataFrame:
    """Krippendorff's alpha (and Cohen's kappa for two raters) per judge group and dimension.

    Raters are a judge's repeats (self-consistency), a panel's members, and — when the dataset
    has a ``human_<column>`` (or ``human_<dimension>``) field — each judge against the humans.
    Items are outputs: ``candidate, item, repeat``.
    """
    rows: list[dict[str, Any]] = []
    if verdicts.empty:
        return pd.DataFrame(rows)
    v = verdicts.dropna(subset=["raw"]).assign(
        unit=lambda f: (
            f["candidate"].astype(str)
            + "|"
            + f["item_id"].astype(str)
            + "|"
            + f["repeat"].astype(str)
        )
    )

    def add(group: str, dim: str, ratings: pd.DataFrame, level: str, floor: float, vs: str) -> None:
        try:
            result = agreement(ratings, item="unit", rater="rater", value="value", level=level)  # type: ignore[arg-type]
        except StatsError:
            return
        alpha = float(result["krippendorff_alpha"])
        rows.append(
            {
                "group": group,
                "dimension": dim,
                "raters": vs,
                "n_items": int(result["n_items"]),
                "krippendorff_alpha": alpha,
                "cohen_kappa": float(result.get("cohen_kappa", np.nan)),
                "floor": floor,
                "below_floor": bool(alpha < floor) if not np.isnan(alpha) else False,
            }
        )

    humans = {str(r["id"]): r for r in records}
    for name in names:
        judge = lab.judges[name]
        level = "nominal" if judge.labels else "ordinal"
        if judge.kind == "rubric":
            own = v[v["judge"] == name]
            for dim in judge.dimensions:
                d = own[own["dimension"] == dim]
                if judge.repeats > 1:
                    add(
                        name,
                        dim,
                        d.assign(rater=d["judge_repeat"].astype(str), value=d["raw"]),
                        level,
                        judge.agreement_floor,
                        f"{judge.repeats} repeats of {name}",
                    )
                column = judge.columns(name)[dim]
                field = next(
                    (
                        f
                        for f in (f"human_{column}", f"human_{dim}")
                        if any(f in r for r in records)
                    ),
                    None,
                )
                if field is None:
                    continue
                mean = d.groupby(["unit", "item_id"], as_index=False)["raw"].mean()
                people = [
                    {"unit": u, "rater": "human", "value": float(humans[i][field])}
                    for u, i in zip(mean["unit"], mean["item_id"], strict=True)
                    if humans.get(str(i), {}).get(field) is not None
                ]
                ratings = pd.concat(
                    [
                        mean.assign(rater=name, value=mean["raw"])[["unit", "rater", "value"]],
                        pd.DataFrame(people),
                    ],
                    ignore_index=True,
                )
                add(name, dim, ratings, level, judge.agreement_floor, f"{name} vs humans ({field})")
        elif judge.kind == "panel":
            first = lab.judges[judge.members[0]]
            for dim in first.dimensions:
                d = v[v["judge"].isin(judge.members) & (v["dimension"] == dim)]
                same_scale = len({lab.judges[m].bounds for m in judge.members}) == 1
                value = d["raw"] if same_scale else d["score"]
                ratings = (
                    d.assign(rater=d["judge"], value=value)
                    .groupby(["unit", "rater"], as_index=False)["value"]
                    .mean()
                )
                add(
                    name,
                    dim,
                    ratings,
                    level if same_scale else "interval",
                    judge.agreement_floor,
                    ", ".join(judge.members),
                )
    return pd.DataFrame(rows)


def pairwise_judgements(
    lab: Lab,
    name: str,
    experiment: str,
    outputs: dict[str, pd.DataFrame],
    records: list[dict[str, Any]],
    engine: Engine,
) -> pd.DataFrame:
    """Each candidate against the baseline, item by item, asked in both orders.

    ``outputs`` maps candidate labels to tables with ``item_id``, ``repeat``, ``output``. The
    outcome is the verdict both orders agree on; when they disagree (position bias), a tie.
    """
    judge = lab.judges[name]
    baseline = lab.baseline(experiment).label
    by_id = {str(r["id"]): r for r in records}
    base = outputs[baseline]
    base = base[base["repeat"] == 0].set_index("item_id")["output"]
    calls: list[_Call] = []
    for label, frame in outputs.items():
        if label == baseline:
            continue
        for row in frame[frame["repeat"] == 0].itertuples(index=False):
            other = base.get(row.item_id)
            if row.output is None or other is None or pd.isna(row.output) or pd.isna(other):
                continue
            record = by_id.get(str(row.item_id), {})
            task, ref = task_of(record, getattr(row, "prompt", None)), with_reference(judge, record)
            for order, (first, second) in enumerate(((row.output, other), (other, row.output))):
                prompt = pairwise_prompt(
                    judge, task=task, first=str(first), second=str(second), reference=ref
                )
                item = f"{row.item_id}:{name}:{label}:{order}"
                calls.append(
                    _Call((label, str(row.item_id), order), _request(lab, judge, item, 0, prompt))
                )
    _run_with_retry(
        engine, calls, lambda reply: parse_pairwise(judge, reply), json_reply=judge.labels is None
    )
    by_key = {c.key: c for c in calls}
    rows = []
    for (label, item_id, order), call in by_key.items():
        if order == 1:
            continue
        swapped = by_key[(label, item_id, 1)]
        first = _outcome(call.verdict[0], candidate_is="A") if call.verdict else None
        second = _outcome(swapped.verdict[0], candidate_is="B") if swapped.verdict else None
        failure = call.failure or swapped.failure
        outcome = None if failure else (first if first == second else "tie")
        rows.append(
            {
                "experiment": experiment,
                "judge": name,
                "candidate": label,
                "baseline": baseline,
                "item_id": item_id,
                "candidate_first": first,
                "baseline_first": second,
                "outcome": outcome,
                "score": {"win": 1.0, "tie": 0.5, "loss": 0.0}.get(outcome or "", np.nan),
                "consistent": (first == second) if not failure else None,
                "reason": (call.verdict[1] if call.verdict else "") or "",
                "failure": failure,
                "error": call.error or swapped.error,
                "prompt_tokens": call.tokens[0] + swapped.tokens[0],
                "completion_tokens": call.tokens[1] + swapped.tokens[1],
                "cost_usd": call.tokens[2] + swapped.tokens[2],
            }
        )
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


def _outcome(verdict: str, *, candidate_is: str) -> str:
    if verdict == "tie":
        return "tie"
    return "win" if verdict == candidate_is else "loss"


def pairwise_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per experiment x judge x candidate: wins, ties, losses, win rate with 95% CI, consistency."""
    rows = []
    for (experiment, judge, candidate), group in table.groupby(
        ["experiment", "judge", "candidate"], sort=False
    ):
        ok = group[group["failure"].isna()]
        values = ok["score"].to_numpy(float)
        mean, low, high = mean_ci(values) if len(values) else (np.nan, np.nan, np.nan)
        rows.append(
            {
                "experiment": experiment,
                "judge": judge,
                "candidate": candidate,
                "baseline": group["baseline"].iloc[0],
                "n": len(ok),
                "wins": int((ok["outcome"] == "win").sum()),
                "ties": int((ok["outcome"] == "tie").sum()),
                "losses": int((ok["outcome"] == "loss").sum()),
                "win_rate": mean,
                "ci_low": low,
                "ci_high": high,
                "position_consistency": float(ok["consistent"].astype(float).mean())
                if len(ok)
                else np.nan,
                "failures": int(group["failure"].notna().sum()),
            }
        )
    return pd.DataFrame(rows)
