"""Sensors: partitions follow the lab, commits trigger runs, scores trigger their dataset's
analysis, failures are summed up."""

from __future__ import annotations

from .analysis import analysis_sensor
from .git_commits import lab_git_sensor
from .lab_partitions import lab_partitions_sensor
from .optimization_rounds import next_round_request, optimization_rounds_sensor
from .run_failures import run_failure_summary

ALL_SENSORS = [
    lab_partitions_sensor,
    lab_git_sensor,
    run_failure_summary,
    optimization_rounds_sensor,
    analysis_sensor,
]

__all__ = [
    "ALL_SENSORS",
    "analysis_sensor",
    "lab_git_sensor",
    "lab_partitions_sensor",
    "next_round_request",
    "optimization_rounds_sensor",
    "run_failure_summary",
]
