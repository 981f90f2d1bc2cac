"""Sensors."""

from __future__ import annotations

from .lab_partitions import lab_partitions_sensor

ALL_SENSORS = [lab_partitions_sensor]

__all__ = ["ALL_SENSORS", "lab_partitions_sensor"]
