"""Fixtures for automation tests (helpers live in automation_helpers.py)."""

from __future__ import annotations

from automation_helpers import lab_repo, simulator

__all__ = ["lab_repo", "simulator"]
