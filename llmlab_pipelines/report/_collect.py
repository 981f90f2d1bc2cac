"""Gather an experiment's scores from the per-partition tables."""

from __future__ import annotations

import pandas as pd

from ..lab import Lab


class MissingScoresError(RuntimeError):
    """An experiment whose candidates are not all scored yet."""


def experiment_scores(
    lab: Lab, experiment: str, tables: dict[str, pd.DataFrame], dataset: str
) -> pd.DataFrame:
    """One long table of the experiment's candidates' scores, labelled by candidate.

    Args:
        lab: The lab.
        experiment: The experiment's name.
        tables: Score tables by candidate partition key.
        dataset: The dataset (for error messages).

    Raises:
        MissingScoresError: naming every candidate that has no scores yet.
    """
    candidates = lab.candidates(experiment)
    missing = [c for c in candidates if c.key not in tables]
    if missing:
        names = ", ".join(f"{c.label} (partition {c.key}|{dataset})" for c in missing)
        raise MissingScoresError(
            f"experiment {experiment!r}: no scores yet for {names}; "
            "materialize generations and scores for those partitions first"
        )
    frames = [tables[c.key].assign(candidate=c.label, candidate_key=c.key) for c in candidates]
    return pd.concat(frames, ignore_index=True)
