"""Numbers shown in Dagster metadata are rounded; the Parquet data keeps every digit."""

from __future__ import annotations

import math

from llmlab_pipelines.assets._metadata import seconds, shown, usd


def test_latency_is_shown_to_the_millisecond() -> None:
    assert seconds(0.12559006749961554) == 0.126
    assert seconds(2) == 2.0


def test_rates_and_means_get_four_significant_digits() -> None:
    assert shown(0.123456789) == 0.1235
    assert shown(1234.5678) == 1235.0
    assert shown(0.000123456) == 0.0001235
    assert shown(0.0) == 0.0 and math.isnan(shown(float("nan")))


def test_costs_lose_float_noise_only() -> None:
    assert usd(0.0068000000000000005) == 0.0068
    assert usd(0.0123456789) == 0.01234568
    assert abs(usd(0.0123456789) - 0.0123456789) / 0.0123456789 < 1e-6
