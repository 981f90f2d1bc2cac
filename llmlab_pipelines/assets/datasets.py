"""eval_datasets: each lab dataset validated with Great Expectations and snapshotted as Parquet."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..lab import Dataset, LabError
from ..lab._quality import QualityReport, missing_fields, records_frame, validate_frame
from ..partitions import dataset_partitions
from ..report import markdown_table
from ..resources import LabResource


@dg.asset(
    partitions_def=dataset_partitions,
    group_name="lab",
    kinds={"python", "parquet"},
    io_manager_key="parquet_io_manager",
    check_specs=[
        dg.AssetCheckSpec(
            "dataset_quality",
            asset="eval_datasets",
            blocking=True,
            description="Great Expectations: unique ids, required fields present and non-empty "
            "(blocks); items that repeat another item's inputs (a warning)",
        )
    ],
)
def eval_datasets(context: dg.AssetExecutionContext, lab: LabResource) -> Iterator[object]:
    """One lab dataset (JSONL, CSV or Parquet), checked and stored as Parquet."""
    the_lab = lab.load()
    name = context.partition_key
    if name not in the_lab.datasets:
        raise dg.Failure(f"dataset {name!r} is not in the lab at {the_lab.root} any more")
    dataset = the_lab.datasets[name]
    try:
        frame = records_frame(dataset.records)
    except LabError as exc:
        raise dg.Failure(description=str(exc)) from None
    required = sorted(
        {
            v
            for e in the_lab.experiments_for(name, mode="any")
            for p in the_lab.experiment(e).prompts
            for v in the_lab.prompts[p].variables
        }
    )
    report = validate_frame(name, frame, required)
    yield dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "file": dataset.display,
            "fields": ", ".join(c for c in frame.columns if c != "record_json"),
            "with_expected": int(frame["expected"].notna().sum()),
            "preview": dg.MetadataValue.md(
                markdown_table(frame.drop(columns="record_json").head(5))
            ),
        },
    )
    clean = report.success and not report.warnings
    yield dg.AssetCheckResult(
        check_name="dataset_quality",
        passed=clean,
        # duplicates alone warn: the check shows them, downstream assets still run
        severity=dg.AssetCheckSeverity.ERROR if not report.success else dg.AssetCheckSeverity.WARN,
        description=None if clean else _problems(dataset, frame, required, report),
        metadata={"expectations": dg.MetadataValue.md(report.markdown())},
    )


def _problems(
    dataset: Dataset, frame: pd.DataFrame, required: list[str], report: QualityReport
) -> str:
    """What failed, located: file, line and item where possible; then the warnings."""
    located = [
        f"{dataset.display}:{dataset.line_of(i) or '?'}: item {i!r}: {field!r} is missing or empty"
        for i, field in missing_fields(frame, required)
    ]
    general = [f"{f.name}({f.column}): {f.detail}" for f in report.failures]
    warned = [
        f"{dataset.display}: warning: {w.name}({w.column}): {w.detail}" for w in report.warnings
    ]
    return "\n".join(located[:20] + general + warned)
