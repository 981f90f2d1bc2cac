"""The regression gate: each gated candidate must be non-inferior to the baseline."""

from __future__ import annotations

import pandas as pd

from ..lab import Lab
from ..lab._candidates import match_baseline
from ..stats import StatsError, non_inferiority
from ._leaderboard import item_means

GATE_COLUMNS = [
    "candidate",
    "baseline",
    "metric",
    "n",
    "mean_baseline",
    "mean_candidate",
    "diff",
    "ci_low",
    "margin",
    "p_value",
    "passed",
]


def gate_table(lab: Lab, experiment: str, long: pd.DataFrame) -> pd.DataFrame | None:
    """One row per gated candidate (None when the experiment has no ``gate:``).

    A candidate passes when the one-sided ``1 - alpha`` lower bound of its paired difference
    from the baseline lies above ``-margin``; too few items is a failure, never a pass.
    """
    config = lab.experiment(experiment)
    gate = config.gate
    if gate is None:
        return None
    metric = gate.metric or config.metric
    baseline = lab.baseline(experiment).label
    candidates = lab.candidates(experiment)
    if gate.candidates:
        labels = [c.label for spec in gate.candidates for c in match_baseline(spec, candidates)]
    else:
        labels = [c.label for c in candidates if c.label != baseline]
    wide = item_means(long, metric).pivot(index="item_id", columns="candidate", values=metric)
    rows = []
    for label in dict.fromkeys(labels):
        pair = wide[[baseline, label]].dropna()
        row: dict[str, object] = {
            "candidate": label,
            "baseline": baseline,
            "metric": metric,
            "n": len(pair),
            "mean_baseline": float(pair[baseline].mean()) if len(pair) else float("nan"),
            "mean_candidate": float(pair[label].mean()) if len(pair) else float("nan"),
            "margin": gate.margin,
        }
        try:
            result = non_inferiority(
                pair[baseline].to_numpy(float),
                pair[label].to_numpy(float),
                margin=gate.margin,
                alpha=gate.alpha,
            )
            row.update(
                diff=result["diff"],
                ci_low=result["ci_low"],
                p_value=result["p_value"],
                passed=bool(result["non_inferior"]),
            )
        except StatsError:
            row.update(diff=float("nan"), ci_low=float("nan"), p_value=1.0, passed=False)
        rows.append(row)
    return pd.DataFrame(rows, columns=GATE_COLUMNS)


def gate_summary(table: pd.DataFrame) -> str:
    """One line per candidate, plain words."""
    lines = []
    for row in table.itertuples():
        verdict = "passes" if row.passed else "FAILS"
        lines.append(
            f"{row.candidate} {verdict}: {row.metric} {row.mean_candidate:.3f} vs baseline "
            f"{row.baseline} {row.mean_baseline:.3f} (diff {row.diff:+.3f}, one-sided lower "
            f"bound {row.ci_low:+.3f} vs margin -{row.margin:g}, n={row.n})"
        )
    return "\n".join(lines)
