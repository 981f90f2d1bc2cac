"""Parquet artifacts on any fsspec file system: a local folder by default, S3 by URL."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field
from upath import UPath

from .._atomic import write_atomic, write_parquet_atomic
from ..partitions import OF_DATASET, partition_dataset, path_parts
from ..secrets import redact_frame, redact_values
from ..settings import get_settings

__all__ = [
    "ArtifactStore",
    "ParquetIOManager",
    "ParquetUPathIOManager",
    "artifact_root",
    "write_atomic",
]


def artifact_root(base_path: str | None, storage_options: dict[str, Any]) -> UPath:
    """The artifact root as a UPath (``s3://bucket/prefix`` or a folder)."""
    return UPath(base_path or get_settings().artifacts, **storage_options)


class ParquetUPathIOManager(dg.UPathIOManager):
    """Stores DataFrames as Parquet: ``<root>/<asset>/<partition>.parquet``, a generations
    partition as ``<root>/<asset>/<candidate>/<dataset>.parquet``."""

    extension = ".parquet"

    def get_path_for_partition(
        self, context: dg.InputContext | dg.OutputContext, path: UPath, partition: str
    ) -> UPath:
        """``candidate/dataset`` for a generations key, the key itself otherwise."""
        return self.make_safe_partition_path(path, "/".join(path_parts(partition)))

    def load_input(self, context: dg.InputContext) -> Any:
        """As Dagster does, except for an input made by
        :func:`llmlab_pipelines.partitions.of_dataset`: only the upstream partitions of the
        dataset being materialized."""
        kind = context.definition_metadata.get(OF_DATASET)
        if not kind:
            return super().load_input(context)
        dataset = partition_dataset(context.partition_key)
        keys = [k for k in context.asset_partition_keys if partition_dataset(k) == dataset]
        tables = self.load_partitions_of(context.asset_key, keys, context)
        if kind != "one":
            return tables
        if dataset not in tables:
            raise FileNotFoundError(
                f"{context.asset_key.to_user_string()}: partition {dataset!r} is not "
                f"materialized (under {self._base_path}): materialize it first"
            )
        return tables[dataset]

    def load_partitions_of(
        self, asset: dg.AssetKey, keys: list[str], context: dg.InputContext | None = None
    ) -> dict[str, pd.DataFrame]:
        """The materialized ones of ``asset``'s partitions ``keys``, by key (read where
        :meth:`get_path_for_partition` wrote them)."""
        folder = self._base_path.joinpath(*asset.path)
        out = {}
        for key in keys:
            path = self.make_safe_partition_path(folder, "/".join(path_parts(key)))
            path = path.with_name(path.name + self.extension)
            if path.exists():
                if context is not None:
                    context.log.debug(self.get_loading_input_log_message(path))
                out[key] = _read_parquet(path)
        return out

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        """Write one partition, replacing only that partition's file (in row chunks)."""
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: expected a DataFrame, got "
                f"{type(obj).__name__}"
            )
        write_parquet_atomic(path, redact_frame(obj))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        """Read one partition."""
        return _read_parquet(path)


def _read_parquet(path: UPath) -> pd.DataFrame:
    with path.open("rb") as fh:
        return pd.read_parquet(fh)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Every asset as Parquet under ``LLMLAB_ARTIFACTS`` (a folder or ``s3://bucket/prefix``)."""

    base_path: str | None = Field(default=None, description="Default: LLMLAB_ARTIFACTS")
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec options, e.g. {'endpoint_url': ...} for MinIO"
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> ParquetUPathIOManager:
        """Build the IO manager for a run."""
        return ParquetUPathIOManager(base_path=artifact_root(self.base_path, self.storage_options))


class ArtifactStore(dg.ConfigurableResource):
    """Reports, plots and other files beside the Parquet artifacts."""

    base_path: str | None = Field(default=None, description="Default: LLMLAB_ARTIFACTS")
    storage_options: dict[str, Any] = Field(default_factory=dict)

    def path(self, *parts: str) -> UPath:
        """A path under the artifact root."""
        return artifact_root(self.base_path, self.storage_options).joinpath(*parts)

    def write(self, data: bytes | str, *parts: str) -> UPath:
        """Write a file atomically and return where it went."""
        target = self.path(*parts)
        data = redact_values(data) if isinstance(data, str) else data
        write_atomic(target, data.encode() if isinstance(data, str) else data)
        return target
