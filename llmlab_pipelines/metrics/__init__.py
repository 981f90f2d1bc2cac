"""Deterministic metrics, registered by name. No Dagster here."""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import importlib.util
import inspect
import queue
import threading
from pathlib import Path
from typing import Any

from ..issues import LabError, shorten
from ._builtin import (
    contains,
    exact_match,
    first_number,
    json_schema_match,
    json_valid,
    length_chars,
    normalize,
    numeric_match,
    regex_match,
    token_f1,
)
from ._choice import multiple_choice
from ._extract import final_answer, numbers
from ._options import (
    EXTRACTING,
    MetricOptionError,
    check_columns,
    configure_metric,
    entry_parts,
)
from ._registry import METRICS, Metric, MetricFn, any_of
from ._score import MetricError, score_frame

#: Seconds a lab's own metric may take on one item (``name.timeout_s = ...`` changes it).
USER_METRIC_SECONDS = 30.0


class MetricTimeout(RuntimeError):
    """A lab metric that gave no result in its time limit."""


def load_user_metrics(folder: Path) -> dict[str, Metric]:
    """Every public function of ``metrics/*.py`` in a lab, registered by its name.

    A function ``def name(output, expected, record) -> float``; set ``name.binary = False`` for a
    graded score and ``name.needs_expected = False`` when items need no expected answer. Installed
    packages can add metrics through the ``llmlab.metrics`` entry point group too.

    Raises:
        LabError: naming the file (and line) that fails to import, or a name clash.
    """
    found: dict[str, Metric] = {}
    for entry in importlib.metadata.entry_points(group="llmlab.metrics"):
        fn = entry.load()
        found[entry.name] = _as_metric(entry.name, fn)
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"llmlab_user_metrics.{path.stem}_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: `sys.exit(0)` must not pass as success
            line = exc.lineno if isinstance(exc, SyntaxError) else _line_in(exc, path)
            why = (
                f"it exited (sys.exit({shorten(repr(exc.code))})) while being imported"
                if isinstance(exc, SystemExit)
                else f"{type(exc).__name__}: {shorten(str(exc), 300)}"
            )
            raise LabError.single(
                f"{folder.name}/{path.name}", f"cannot import: {why}", line=line
            ) from None
        for attr, fn in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != name:
                continue
            if attr in METRICS:
                raise LabError.single(
                    f"{folder.name}/{path.name}",
                    f"metric {attr!r} would shadow the built-in one; rename it",
                    line=fn.__code__.co_firstlineno,
                )
            metric = _as_metric(attr, fn)
            seconds = float(getattr(fn, "timeout_s", USER_METRIC_SECONDS))
            found[attr] = Metric(
                attr,
                _TimeLimited(fn, attr, seconds),
                binary=metric.binary,
                needs_expected=metric.needs_expected,
            )
    return found


def _as_metric(name: str, fn: MetricFn) -> Metric:
    return Metric(
        name,
        fn,
        binary=bool(getattr(fn, "binary", True)),
        needs_expected=bool(getattr(fn, "needs_expected", True)),
    )


class _Job:
    def __init__(self, fn: MetricFn, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class _TimeLimited:
    """A lab's metric, run in a worker thread and given ``seconds`` per item.

    A metric stuck in ``while True`` (or waiting on something that never answers) raises
    MetricTimeout in the caller, which names the metric and the item; the stuck thread is
    asked to stop (an asynchronous exception, which pure-Python loops honour) and left behind
    as a daemon, so it can't keep the process alive. Built-in metrics don't pay for this.
    """

    def __init__(self, fn: MetricFn, name: str, seconds: float) -> None:
        functools.update_wrapper(self, fn)
        self.fn, self.name, self.seconds = fn, name, seconds
        self._jobs: queue.SimpleQueue[_Job] | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, output: str, expected: Any, record: dict[str, Any]) -> float:
        if self._thread is None:
            self._jobs = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=_work, args=(self._jobs,), name=f"llmlab-metric-{self.name}", daemon=True
            )
            self._thread.start()
        assert self._jobs is not None
        job = _Job(self.fn, (output, expected, record))
        self._jobs.put(job)
        if not job.done.wait(self.seconds):
            self._abandon()
            raise MetricTimeout(
                f"no result after {self.seconds:g} s (the limit per item; set "
                f"`{self.name}.timeout_s = ...` in the metric's file to allow more)"
            )
        if isinstance(job.error, SystemExit):
            raise RuntimeError(f"the metric called sys.exit({job.error.code!r})")
        if job.error is not None:
            raise job.error
        return job.value

    def _abandon(self) -> None:
        thread, self._thread, self._jobs = self._thread, None, None
        if thread is not None and thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(thread.ident), ctypes.py_object(_Abandon)
            )


class _Abandon(BaseException):
    """Raised inside a metric's worker thread once its caller stopped waiting."""


def _work(jobs: queue.SimpleQueue[_Job]) -> None:
    try:
        while True:
            job = jobs.get()
            try:
                job.value = job.fn(*job.args)
            except _Abandon:
                raise
            except BaseException as exc:  # handed to the caller, which raises it
                job.error = exc
            job.done.set()
    except _Abandon:
        return  # the caller has moved on


def _line_in(exc: BaseException, path: Path) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


__all__ = [
    "EXTRACTING",
    "METRICS",
    "Metric",
    "MetricError",
    "MetricFn",
    "MetricOptionError",
    "MetricTimeout",
    "any_of",
    "check_columns",
    "configure_metric",
    "contains",
    "entry_parts",
    "exact_match",
    "final_answer",
    "first_number",
    "json_schema_match",
    "json_valid",
    "length_chars",
    "load_user_metrics",
    "multiple_choice",
    "normalize",
    "numbers",
    "numeric_match",
    "regex_match",
    "score_frame",
    "token_f1",
]
