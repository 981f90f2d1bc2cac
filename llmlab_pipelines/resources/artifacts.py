"""Parquet artifacts on any fsspec file system: a local folder by default, S3 by URL."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field
from upath import UPath

from .._atomic import write_atomic, write_parquet_atomic
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
    """Stores DataFrames as Parquet: ``<root>/<asset>/<partition...>.parquet``."""

    extension = ".parquet"

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
