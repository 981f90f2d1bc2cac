"""An experiment's metric entries with options, resolved against the lab's metrics."""

from __future__ import annotations

import difflib
from typing import Protocol

from ..metrics import METRICS, Metric, MetricOptionError, configure_metric
from ._errors import shown, shown_names
from ._schema import ExperimentConfig


class Lab(Protocol):
    """What of a lab resolving an entry reads and fills."""

    experiments: dict[str, ExperimentConfig]
    user_metrics: dict[str, Metric]
    configured_metrics: dict[str, Metric]


def resolve_metric_entry(lab: Lab, experiment: str, column: str) -> str | None:
    """Set up the metric an entry with options names, under its column in ``lab.metrics``.

    Returns:
        None when it is set up, else what is wrong: an unknown metric, an option it does not
        take, or a column another experiment scores differently (one column, one meaning).
    """
    metric_name, options = lab.experiments[experiment].metric_options[column]
    registry = {**METRICS, **lab.user_metrics}
    if metric_name not in registry:
        close = difflib.get_close_matches(metric_name, list(registry), n=1)
        hint = f"did you mean {shown(close[0])}? " if close else ""
        known = shown_names(sorted(registry))
        return f"unknown metric {shown(metric_name)} ({hint}known: {known})"
    if column != metric_name and column in registry:
        return f"name: {shown(column)} is already a metric's name; pick another"
    try:
        metric = configure_metric(column, registry[metric_name], options)
    except MetricOptionError as exc:
        return str(exc)
    for other, config in lab.experiments.items():
        if other == experiment or column not in config.metrics:
            continue
        theirs = config.metric_options.get(column)
        if theirs is None or theirs != (metric_name, options):
            said = "without options" if theirs is None else f"as {theirs[0]} with {theirs[1]}"
            return (
                f"experiment {other!r} scores {shown(column)} {said}; one column has one "
                f"meaning in a lab: give this entry its own `name:`"
            )
    lab.configured_metrics[column] = metric
    return None
