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
