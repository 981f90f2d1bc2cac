"""Dataset quality with Great Expectations: unique ids, required fields present, no empties;
and a warning (it never blocks) when items repeat another item's inputs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Expectation:
    """The outcome of one expectation."""

    name: str
    column: str | None
    success: bool
    detail: str
    severity: str = "error"  # "warning": reported, never blocks


@dataclass(frozen=True)
class QualityReport:
    """The outcome of a dataset's suite."""

    dataset: str
    results: list[Expectation]

    @property
    def success(self) -> bool:
        """True when every expectation held (warnings aside)."""
        return not self.failures

    @property
    def failures(self) -> list[Expectation]:
        """The expectations that did not hold."""
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[Expectation]:
        """The warnings raised (a dataset with warnings may still be used)."""
        return [r for r in self.results if not r.success and r.severity == "warning"]

    def markdown(self) -> str:
        """A table for the Dagster UI."""
        mark = {(True, "error"): "✅", (True, "warning"): "✅", (False, "error"): "❌"}
        rows = [
            f"| {mark.get((r.success, r.severity), '⚠️')} | {r.name} | {r.column or ''} "
            f"| {r.detail} |"
            for r in self.results
        ]
        return "\n".join(["| ok | expectation | column | detail |", "|---|---|---|---|", *rows])


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A Parquet-safe table of records: ``id``, ``expected``, scalar fields as text, the record."""
    fields: dict[str, None] = {}
    for record in records:
        fields.update(
            dict.fromkeys(k for k in record if k not in ("id", "expected", "record_json"))
        )
    data: dict[str, list[Any]] = {"id": [r["id"] for r in records]}
    data["expected"] = [
        None if r.get("expected") is None else _text(r["expected"]) for r in records
    ]
    for name in fields:
        data[name] = [None if r.get(name) is None else _text(r[name]) for r in records]
    data["record_json"] = [json.dumps(r, ensure_ascii=False, default=str) for r in records]
    return pd.DataFrame(data)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The records back from :func:`records_frame`."""
    return [json.loads(text) for text in frame["record_json"]]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def missing_fields(frame: pd.DataFrame, required: list[str]) -> list[tuple[str, str]]:
    """(item id, field) for every required field that is absent, null or empty."""
    out = []
    for field in required:
        if field not in frame.columns:
            out += [(str(i), field) for i in frame["id"]]
            continue
        bad = frame[field].isna() | (frame[field].astype(str).str.len() == 0)
        out += [(str(i), field) for i in frame.loc[bad, "id"]]
    return out


def input_columns(frame: pd.DataFrame, required: list[str]) -> list[str]:
    """What makes an item's input: the fields the prompts use, else every field but the answer."""
    skip = {"id", "expected", "record_json"}
    used = [c for c in required if c in frame.columns and c not in skip]
    return used or [c for c in frame.columns if c not in skip]


def duplicate_inputs(frame: pd.DataFrame, columns: list[str]) -> list[tuple[str, list[str]]]:
    """``(input, ids)`` for every input that more than one item has, in file order."""
    if not columns or frame.empty:
        return []
    keys = frame[columns].astype(str).where(frame[columns].notna(), "")
    text = keys.agg(" | ".join, axis=1)
    ids = frame["id"].astype(str)
    groups = ids.groupby(text, sort=False).agg(list)
    return [(str(k), v) for k, v in groups.items() if len(v) > 1]


def duplicates_expectation(frame: pd.DataFrame, columns: list[str]) -> Expectation:
    """A warning when items repeat an earlier item's inputs: count, and a few with their ids."""
    groups = duplicate_inputs(frame, columns)
    if not groups:
        return Expectation("no_duplicate_inputs", ", ".join(columns), True, "ok", "warning")
    repeats = sum(len(ids) - 1 for _, ids in groups)
    examples = "; ".join(
        f"{_clip(text)!r}: {', '.join(ids[:5])}{' …' if len(ids) > 5 else ''}"
        for text, ids in groups[:3]
    )
    detail = (
        f"{repeats} items repeat an earlier item's inputs ({len(groups)} inputs appear more "
        f"than once), e.g. {examples}"
    )
    return Expectation("no_duplicate_inputs", ", ".join(columns), False, detail, "warning")


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def validate_frame(name: str, frame: pd.DataFrame, required: list[str]) -> QualityReport:
    """Run the dataset suite with Great Expectations (an ephemeral context, nothing on disk).

    Duplicate inputs (:func:`input_columns`) are a warning, computed beside the suite.

    Args:
        name: The dataset's name, for the report.
        frame: The table from :func:`records_frame`.
        required: Fields the prompts use; each must exist, be non-null and non-empty.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(f"{name}_source")
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
    data = batch.get_batch(batch_parameters={"dataframe": frame})
    suite: list[Any] = [
        gxe.ExpectColumnValuesToBeUnique(column="id"),
        gxe.ExpectColumnValuesToNotBeNull(column="id"),
    ]
    for column in required:
        suite.append(gxe.ExpectColumnToExist(column=column))
        if column in frame.columns:
            suite.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
            suite.append(gxe.ExpectColumnValueLengthsToBeBetween(column=column, min_value=1))
    results = [_outcome(data.validate(exp)) for exp in suite]
    results.append(duplicates_expectation(frame, input_columns(frame, required)))
    return QualityReport(dataset=name, results=results)


def _outcome(result: Any) -> Expectation:
    config = result.expectation_config
    column = config.kwargs.get("column")
    info = result.result or {}
    if result.success:
        detail = "ok"
    elif "unexpected_count" in info:
        sample = info.get("partial_unexpected_list") or []
        detail = f"{info['unexpected_count']} bad rows, e.g. {sample[:3]}"
    else:
        detail = "column missing" if config.type == "expect_column_to_exist" else "failed"
    return Expectation(config.type, column, bool(result.success), detail)
