"""Dagster metadata with the configured secrets redacted (the walk itself is in ``secrets``)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..secrets import redact, redact_json


def redact_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata with every text, Markdown and JSON value redacted."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, str):
            value = redact(value)
        elif isinstance(value, dg.MarkdownMetadataValue):
            value = dg.MetadataValue.md(redact(value.md_str or ""))
        elif isinstance(value, dg.TextMetadataValue):
            value = dg.MetadataValue.text(redact(value.text or ""))
        elif isinstance(value, dg.JsonMetadataValue):
            value = dg.MetadataValue.json(redact_json(value.data))
        out[key] = value
    return out


def seconds(value: float) -> float:
    """A duration shown in the UI, to the millisecond (0.12559006749961554 -> 0.126)."""
    return round(float(value), 3)


def shown(value: float, digits: int = 4) -> float:
    """A rate, speed or mean shown in the UI, to ``digits`` significant digits; the Parquet
    data keeps every digit."""
    return float(f"{float(value):.{digits}g}")


def usd(value: float) -> float:
    """A cost shown in the UI, to 7 significant digits: no float noise (0.0068000000000000005
    -> 0.0068), yet within a millionth of the ledger's sum it is checked against."""
    return shown(value, 7)
