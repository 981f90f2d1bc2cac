"""The one error type of the statistics package."""

from __future__ import annotations


class StatsError(ValueError):
    """Input the statistics cannot honestly work with (and say why, instead of returning NaN)."""
