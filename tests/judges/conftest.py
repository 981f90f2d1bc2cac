"""Fixtures for judge tests (helpers live in judge_helpers.py)."""

from __future__ import annotations

from judge_helpers import simulator

__all__ = ["simulator"]
