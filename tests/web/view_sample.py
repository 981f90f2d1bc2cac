"""A generated artifact set in the pipeline's layout, for the explorer's tests and benchmark.

``write_artifacts(root, n)`` writes what ``llmlab run`` leaves for one experiment ``capitals``
on a dataset ``capitals`` with two candidates: ``scores`` and ``generations`` (the same
columns as the pipeline's, plus the ``exact_match`` metric and the judge column ``grader``),
``judge_scores`` with a reason per verdict, ``eval_datasets`` and a ``leaderboard``.
Item 7's output of the second candidate holds a ``<script>`` tag (escaping must show it as
text); every 97th item of the first candidate is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

DATASET = "capitals"
EXPERIMENT = "capitals"
CANDIDATES = (
    ("zero_shot.1a2b3c4d@sim", "zero_shot@sim"),
    ("few_shot.5e6f7a8b@sim", "few_shot@sim"),
)
SCRIPT = "<script>document.title='owned'</script>"


def _ids(n: int) -> list[str]:
    return [f"cap-{i:06d}" for i in range(n)]


def _scores(n: int, index: int, rng: np.random.Generator) -> pl.DataFrame:
    ids = _ids(n)
    expected = [f"City {i}" for i in range(n)]
    right = rng.random(n) < (0.6 if index == 0 else 0.8)
    outputs = [e if ok else f"Town {i}" for i, (e, ok) in enumerate(zip(expected, right))]  # noqa: B905
    errors: list[str | None] = [None] * n
    if index == 0:
        for i in range(0, n, 97):
            errors[i], outputs[i] = "RateLimitError: 429 Too Many Requests", None  # type: ignore[call-overload]
    if index == 1 and n > 7:
        outputs[7] = f"The capital is City 7 {SCRIPT}"
    exact = np.where(right, 1.0, 0.0)
    judge = np.where(rng.random(n) < 0.9, exact, 1.0 - exact)  # the judge differs on ~10%
    failed = np.array([e is not None for e in errors])
    exact[failed], judge[failed] = np.nan, np.nan
    return pl.DataFrame(
        {
            "item_id": ids,
            "repeat": [0] * n,
            "output": outputs,
            "error": errors,
            "error_type": ["rate_limit" if e else None for e in errors],
            "prompt_tokens": rng.integers(20, 60, n),
            "completion_tokens": rng.integers(1, 9, n),
            "cost_usd": rng.random(n) / 10_000,
            "latency_s": rng.random(n),
            "attempts": [2 if e else 1 for e in errors],
            "cached": [False] * n,
            "model": ["sim"] * n,
            "cache_key": [f"k{index}-{i}" for i in range(n)],
            "finish_reason": ["stop"] * n,
            "output_truncated": [False] * n,
            "retry_after_capped_s": [0.0] * n,
            "prompt": [f"Question: what is the capital of Country {i}?\nAnswer:" for i in range(n)],
            "expected": expected,
            "exact_match": exact,
            "grader": judge,
        },
        schema_overrides={"error": pl.String, "error_type": pl.String},
    ).with_columns(pl.col("exact_match", "grader").fill_nan(None))  # as pandas writes NaN


def _judge_scores(scores: pl.DataFrame) -> pl.DataFrame:
    return scores.filter(pl.col("grader").is_not_null()).select(
        "item_id",
        "repeat",
        pl.lit("grader").alias("judge"),
        pl.lit(0).alias("judge_repeat"),
        pl.lit("correct").alias("dimension"),
        pl.lit("grader").alias("column"),
        pl.when(pl.col("grader") >= 0.5).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("raw"),
        pl.col("grader").alias("score"),
        pl.format("The answer names {} as the capital.", pl.col("output")).alias("reason"),
        pl.lit(None, dtype=pl.String).alias("failure"),
        pl.lit(None, dtype=pl.String).alias("error"),
        pl.lit(50).alias("prompt_tokens"),
        pl.lit(20).alias("completion_tokens"),
        pl.lit(0.0).alias("cost_usd"),
        pl.lit(False).alias("cached"),
    )


def _leaderboard(frames: list[pl.DataFrame]) -> pl.DataFrame:
    rows = []
    for rank, ((_, label), frame) in enumerate(zip(CANDIDATES[::-1], frames[::-1], strict=True), 1):
        mean = float(frame["exact_match"].mean())  # type: ignore[arg-type]
        rows.append(
            {"rank": rank, "tier": rank, "candidate": label, "n": frame.height,
             "missing": int(frame["error"].is_not_null().sum()), "mean": mean,
             "ci_low": mean - 0.003, "ci_high": mean + 0.003, "error_rate": 0.0,
             "cost_usd": float(frame["cost_usd"].sum()), "latency_p50_s": 0.5,
             "experiment": EXPERIMENT, "metric": "exact_match"}
        )  # fmt: skip
    return pl.DataFrame(rows)


def write_artifacts(root: Path, n: int = 100_000, seed: int = 7) -> Path:
    """Write the artifact set under ``root`` (an ``LLMLAB_ARTIFACTS`` folder) and return it."""
    rng = np.random.default_rng(seed)
    frames = []
    for index, (key, _) in enumerate(CANDIDATES):
        scores = _scores(n, index, rng)
        frames.append(scores)
        for asset, frame in (
            ("scores", scores),
            ("generations", scores.drop("expected", "exact_match", "grader")),
            ("judge_scores", _judge_scores(scores)),
        ):
            (root / asset / key).mkdir(parents=True, exist_ok=True)
            frame.write_parquet(root / asset / key / f"{DATASET}.parquet")
    for asset in ("eval_datasets", "leaderboard"):
        (root / asset).mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "id": _ids(n),
            "expected": [f"City {i}" for i in range(n)],
            "question": [f"What is the capital of Country {i}?" for i in range(n)],
        }
    ).write_parquet(root / "eval_datasets" / f"{DATASET}.parquet")
    _leaderboard(frames).write_parquet(root / "leaderboard" / f"{DATASET}.parquet")
    return root
