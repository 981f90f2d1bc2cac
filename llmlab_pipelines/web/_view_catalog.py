"""What the results explorer shows: experiments x datasets found in the artifacts, read once.

The pipeline writes ``<root>/<asset>/<candidate key>/<dataset>.parquet`` for ``generations``,
``scores`` and ``judge_scores``, and ``<root>/leaderboard/<dataset>.parquet``; ``root`` is a
folder or an ``s3://`` URL (``LLMLAB_ARTIFACTS``). With the lab, each experiment names its
candidates; without it, every candidate found on a dataset forms one view named ``all``.
Frames are cached by file signature (modification time and size), so a re-run shows at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from upath import UPath

from ._view_data import KEYS, build_matrix, metric_columns

if TYPE_CHECKING:
    from ..lab import Lab

#: The view of every candidate found on a dataset, when no lab names experiments.
ALL = "all"
#: How long a listing of the artifact folders is reused.
LIST_SECONDS = 5.0
#: Dataset fields shown as an item's input, first present wins (else the whole record).
INPUT_FIELDS = ("input", "question", "prompt", "text", "query")


@dataclass(frozen=True)
class CandidateRef:
    """One column of the matrix: its partition key and the label people read."""

    key: str
    label: str


@dataclass(frozen=True)
class View:
    """One experiment on one dataset: what a matrix page shows."""

    experiment: str
    dataset: str
    candidates: tuple[CandidateRef, ...]
    metric: str | None = None
    baseline: str | None = None


def label_of(key: str) -> str:
    """A key's label without the prompt hash: ``few_shot.1a2b3c4d@m`` -> ``few_shot@m``."""
    return re.sub(r"\.[0-9a-f]{8}(?=@)", "", key)


def _experiment_views(lab: Lab, found: dict[str, list[str]]) -> list[View]:
    """The lab's experiments, each with its candidates that have artifacts here."""
    out = []
    for name, config in sorted(lab.experiments.items()):
        keys = set(found.get(config.dataset, []))
        refs = tuple(CandidateRef(c.key, c.label) for c in lab.candidates(name) if c.key in keys)
        if refs:
            out.append(View(name, config.dataset, refs, config.metric, lab.baseline(name).label))
    return out


def _all_views(found: dict[str, list[str]]) -> list[View]:
    """One view per dataset of every candidate found on it."""
    return [
        View(ALL, d, tuple(CandidateRef(k, label_of(k)) for k in keys))
        for d, keys in sorted(found.items())
    ]


class Catalog:
    """The artifacts under ``root``, with an LRU cache of the frames read from them.

    Args:
        root: The artifact root (``LLMLAB_ARTIFACTS``).
        lab: The lab, when it loads: experiments, candidates, metrics and judges by name.
        cache_size: How many frames (files and matrices) to keep in memory.
    """

    def __init__(self, root: UPath, lab: Lab | None = None, cache_size: int = 48) -> None:
        self.root, self.lab, self.cache_size = root, lab, cache_size
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._views: tuple[float, list[View]] | None = None

    def partitions(self, asset: str = "generations") -> dict[str, list[str]]:
        """``dataset -> candidate keys`` with a Parquet file of ``asset``."""
        found: dict[str, list[str]] = {}
        folder = self.root / asset
        if not folder.is_dir():
            return found
        for candidate in sorted(folder.iterdir(), key=lambda p: p.name):
            if candidate.is_dir():
                for file in sorted(candidate.glob("*.parquet"), key=lambda p: p.name):
                    found.setdefault(file.stem, []).append(candidate.name)
        return found

    def views(self) -> list[View]:
        """Every experiment x dataset with at least one candidate's artifacts (listed again
        after :data:`LIST_SECONDS`, so a new run shows without a restart).

        With a lab, its experiments; when none of them has artifacts here (the artifacts of
        another lab), every candidate found, as without a lab.
        """
        now = time.monotonic()
        if self._views is None or now - self._views[0] > LIST_SECONDS:
            found = self.partitions()
            views = _experiment_views(self.lab, found) if self.lab is not None else []
            self._views = (now, views or _all_views(found))
        return self._views[1]

    def view(self, experiment: str, dataset: str) -> View | None:
        """One view by its names, or None."""
        return next(
            (v for v in self.views() if v.experiment == experiment and v.dataset == dataset),
            None,
        )

    def _signature(self, path: UPath) -> tuple[Any, ...] | None:
        try:
            info = path.stat()
        except (FileNotFoundError, OSError):
            return None
        return (str(path), getattr(info, "st_mtime", None), getattr(info, "st_size", None))

    def _cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = make()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return value

    def read(self, *parts: str, columns: list[str] | None = None) -> pl.DataFrame | None:
        """A Parquet file under the root (only ``columns``, if given), or None if absent."""
        path = self.root.joinpath(*parts)
        signature = self._signature(path)
        if signature is None:
            return None
        if columns is not None:
            present = set(self.schema(path, signature))
            columns = [c for c in columns if c in present]

        def load() -> pl.DataFrame:
            if path.protocol in ("", "file", "local"):
                return pl.read_parquet(path.path, columns=columns)
            with path.open("rb") as fh:
                return pl.read_parquet(fh, columns=columns)

        key = ("file", *signature, tuple(columns) if columns is not None else None)
        return self._cached(key, load)

    def schema(self, path: UPath, signature: tuple[Any, ...]) -> dict[str, pl.DataType]:
        """A Parquet file's column types, read from its footer only."""

        def load() -> dict[str, pl.DataType]:
            if path.protocol in ("", "file", "local"):
                return dict(pl.read_parquet_schema(path.path))
            with path.open("rb") as fh:
                return dict(pl.read_parquet_schema(fh))

        return self._cached(("schema", *signature), load)

    def scores(self, key: str, dataset: str, *, slim: bool = False) -> pl.DataFrame:
        """A candidate's scored rows on a dataset (its generations when unscored).

        Args:
            key: The candidate's partition key.
            dataset: The dataset.
            slim: Only what the matrix shows (no prompts, tokens, ...): faster to read.
        """
        for asset in ("scores", "generations"):
            path = self.root / asset / key / f"{dataset}.parquet"
            signature = self._signature(path)
            if signature is None:
                continue
            columns = None
            if slim:
                empty = pl.DataFrame(schema=self.schema(path, signature))
                columns = [*KEYS, "output", "error", "expected", *metric_columns(empty)]
            frame = self.read(asset, key, f"{dataset}.parquet", columns=columns)
            if frame is not None:
                return frame
        return pl.DataFrame(schema={"item_id": pl.String, "repeat": pl.Int64})

    def item_frame(self, asset: str, key: str, dataset: str, item_id: str) -> pl.DataFrame | None:
        """One item's rows of a partition file: a filtered scan, not the whole file."""
        path = self.root / asset / key / f"{dataset}.parquet"
        if self._signature(path) is None:
            return None
        if path.protocol in ("", "file", "local"):
            return pl.scan_parquet(path.path).filter(pl.col("item_id") == item_id).collect()
        frame = self.read(asset, key, f"{dataset}.parquet")
        return None if frame is None else frame.filter(pl.col("item_id") == item_id)

    def item_scores(self, key: str, dataset: str, item_id: str) -> pl.DataFrame:
        """One item's scored rows of a candidate (its generations when unscored)."""
        for asset in ("scores", "generations"):
            frame = self.item_frame(asset, key, dataset, item_id)
            if frame is not None:
                return frame
        return pl.DataFrame(schema={"item_id": pl.String, "repeat": pl.Int64})

    def leaderboard(self, view: View) -> pl.DataFrame | None:
        """The dataset's leaderboard rows of this view's experiment."""
        frame = self.read("leaderboard", f"{view.dataset}.parquet")
        if frame is None or frame.height == 0:
            return None
        if view.experiment != ALL and "experiment" in frame.columns:
            frame = frame.filter(pl.col("experiment") == view.experiment)
        return frame if frame.height else None

    def inputs(self, dataset: str) -> pl.DataFrame | None:
        """``item_id``, ``input`` of a dataset's items (``eval_datasets``), if written."""
        frame = self.read("eval_datasets", f"{dataset}.parquet")
        if frame is None or "id" not in frame.columns:
            return None
        field = next((f for f in INPUT_FIELDS if f in frame.columns), None)
        column = field or ("record_json" if "record_json" in frame.columns else None)
        if column is None:
            return None
        return frame.select(
            pl.col("id").cast(pl.String).alias("item_id"),
            pl.col(column).cast(pl.String).alias("input"),
        )

    def record(self, dataset: str, item_id: str) -> dict[str, Any] | None:
        """The dataset record of one item, as written to ``eval_datasets``."""
        frame = self.read("eval_datasets", f"{dataset}.parquet")
        if frame is None or "id" not in frame.columns:
            return None
        rows = frame.filter(pl.col("id").cast(pl.String) == item_id).head(1).to_dicts()
        if not rows:
            return None
        raw = rows[0].get("record_json")
        return json.loads(raw) if isinstance(raw, str) else rows[0]

    def judge_columns(self, view: View) -> set[str]:
        """The score columns judges add (from the lab, else from the verdicts found)."""
        if self.lab is not None and view.experiment in self.lab.experiments:
            names = self.lab.experiments[view.experiment].judges
            judges = [n for n in names if n in self.lab.judges]
            return {c for n in judges for c in self.lab.judge_columns(n).values()}
        out: set[str] = set()
        for ref in view.candidates:
            name = f"{view.dataset}.parquet"
            frame = self.read("judge_scores", ref.key, name, columns=["column"])
            if frame is not None and "column" in frame.columns:
                out.update(str(c) for c in frame["column"].unique().to_list() if c is not None)
        return out

    def matrix(self, view: View) -> pl.DataFrame:
        """The view's items x candidates matrix (cached until a file changes)."""
        files = [
            self._signature(self.root / a / ref.key / f"{view.dataset}.parquet")
            for ref in view.candidates
            for a in ("scores", "generations", "judge_scores")
        ]
        key = ("matrix", view, *files)
        return self._cached(
            key,
            lambda: build_matrix(
                [self.scores(ref.key, view.dataset, slim=True) for ref in view.candidates],
                self.inputs(view.dataset),
                metric=view.metric,
                judge_cols=self.judge_columns(view),
            ),
        )
