"""The ``llmlab`` command: init, validate, run, gate, ui, view."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ._cli_tables import print_board, print_dry_run, print_generations
from .settings import get_settings


def _lab_dir(value: str | None) -> Path:
    return Path(value).resolve() if value else get_settings().lab


def cmd_init(args: argparse.Namespace) -> int:
    """Scaffold a lab."""
    from ._scaffold import scaffold

    try:
        files = scaffold(Path(args.dir))
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created a lab with {len(files)} files in {args.dir}")
    print(f"next: llmlab validate --lab {args.dir} && llmlab run --lab {args.dir}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a lab, listing every problem; then the warnings, which never fail it."""
    from .lab import LabError, lab_warnings, load_lab

    try:
        lab = load_lab(_lab_dir(args.lab))
    except LabError as exc:
        print(exc, file=sys.stderr)
        return 1
    n_candidates = len(lab.all_candidates())
    n_labels = sum(len(labels.labels) for labels in lab.human_labels.values())
    print(
        f"{lab.root}: ok — {len(lab.models)} models, {len(lab.prompts)} prompts, "
        f"{len(lab.datasets)} datasets, {len(lab.experiments)} experiments, "
        f"{n_candidates} candidates"
        + (f", {len(lab.judges)} judges" if lab.judges else "")
        + (f", {n_labels} human labels" if n_labels else "")
    )
    for warning in lab_warnings(lab):
        print(f"warning: {warning}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Materialize the lab in-process and print the leaderboards."""
    from .lab import LabError, load_lab
    from .runner import RunFailed, run_lab

    try:
        lab = load_lab(_lab_dir(args.lab))
        if args.dry_run:
            return print_dry_run(lab, args.experiment or None, args.limit, args.cache)
        summary = interruptible(
            lambda: run_lab(
                lab,
                experiments=args.experiment or None,
                limit=args.limit,
                cache=args.cache,
                progress_bar=True,
            ),
            on_interrupt=lambda: print(interrupted_line(lab, args), file=sys.stderr),
        )
    except (LabError, RunFailed) as exc:
        print(exc, file=sys.stderr)
        return 1
    for name, board in summary.leaderboards.items():
        print_board(name, board)
        print(f"report: {summary.reports.get(name, '-')}\n")
    for name, info in summary.adaptive.items():
        winner = (
            f", winner {info.get('winner')}" if info.get("winner") not in (None, "none") else ""
        )
        fraction = info.get("call_fraction", 0)
        share = float(fraction) if isinstance(fraction, int | float) else 0.0
        print(
            f"{name} (adaptive): {info.get('decision')}{winner}; "
            f"{info.get('calls')} of {info.get('grid_calls')} grid calls "
            f"({share:.0%}); same as grid: {info.get('same_as_grid')}"
        )
        print(f"report: {summary.reports.get(name, '-')}\n")
    if summary.generations:
        print_generations(summary.generations)
    print(f"{len(summary.dagster_runs)} Dagster runs; open them with `llmlab ui`")
    unanswered = summary.unanswered_text()
    if unanswered:
        print(unanswered, file=sys.stderr)
        return 1
    return 0


T = TypeVar("T")


def interruptible(work: Callable[[], T], on_interrupt: Callable[[], None]) -> T:
    """``work()`` in a worker thread, so Ctrl-C reaches this thread and not Dagster's handlers.

    On Ctrl-C: ``on_interrupt()`` (a second Ctrl-C skips it), then exit 130 at once, as a
    ``kill -9`` would: finished answers are already in the cache and artifacts are written to a
    temporary name and renamed, so nothing half-written is ever read back.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="llmlab-run", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        try:
            on_interrupt()
        except KeyboardInterrupt:
            pass
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def interrupted_line(lab: object, args: argparse.Namespace) -> str:
    """``interrupted: N of M generation rows saved; re-run `llmlab run ...` to resume``."""
    from .engine import estimate_plan
    from .resources import LLMResource

    rerun = " ".join(
        ["llmlab run", "--lab", shlex.quote(str(getattr(lab, "root", args.lab or "lab")))]
        + [f"--experiment {shlex.quote(e)}" for e in args.experiment or []]
        + ([f"--limit {args.limit}"] if args.limit is not None else [])
    )
    if args.cache == "off":
        return f"interrupted: nothing saved (--cache off); re-run `{rerun}` to start again"
    rows = estimate_plan(
        lab,  # type: ignore[arg-type]
        experiments=args.experiment or None,
        limit=args.limit,
        cache=LLMResource(cache="use").response_cache(),
    )
    saved, total = sum(r.cached for r in rows), sum(r.calls for r in rows)
    return (
        f"interrupted: {saved} of {total} generation rows saved; "
        f"re-run `{rerun}` to resume (saved rows are not paid again)"
    )


def cmd_optimize(args: argparse.Namespace) -> int:
    """Optimize an experiment's seed prompt and print the verdict."""
    from .lab import LabError, load_lab
    from .runner import RunFailed, run_lab

    try:
        lab = load_lab(_lab_dir(args.lab))
        summary = run_lab(
            lab,
            experiments=[],
            optimize=[args.experiment],
            limit=args.limit,
            cache=args.cache,
            progress_bar=True,
        )
    except (LabError, RunFailed) as exc:
        print(exc, file=sys.stderr)
        return 1
    info = summary.optimizations.get(args.experiment, {})
    print(f"{args.experiment}: {info.get('verdict', 'no result')}")
    if info.get("written") not in (None, "-"):
        print(
            f"winner written to {info['written']}"
            + (f" (branch {info['branch']})" if info.get("branch") not in (None, "-") else "")
        )
    print(f"report: {summary.reports.get(args.experiment, '-')}")
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    """Run one experiment and its regression gate; exit 1 on a regression (for a lab's CI)."""
    from .lab import LabError, load_lab
    from .runner import RunFailed, run_lab

    try:
        lab = load_lab(_lab_dir(args.lab))
        if lab.experiment(args.experiment).gate is None:
            print(
                f"experiment {args.experiment!r} has no `gate:` "
                "(add e.g. `gate: {margin: 0.02}`)",
                file=sys.stderr,
            )
            return 2
        failed, summary = (
            False,
            run_lab(lab, experiments=[args.experiment], limit=args.limit, cache=args.cache),
        )
    except LabError as exc:
        print(exc, file=sys.stderr)
        return 2
    except RunFailed as exc:
        gates = exc.summary.check("regression_gate") if exc.summary else []
        if not any(not c.passed for c in gates):
            print(exc, file=sys.stderr)
            return 2
        assert exc.summary is not None
        failed, summary = True, exc.summary
    for evaluation in summary.check("regression_gate"):
        table = evaluation.metadata.get("table")
        if table is not None:
            print(getattr(table, "value", table))
        print(evaluation.description or "")
    verdict = "FAILED: a candidate regressed" if failed else "passed"
    print(f"\nregression gate {verdict} (experiment {args.experiment})")
    return 1 if failed else 0


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve the Dagster UI (webserver behind the guard, and the daemon) on this project."""
    from .runner import dagster_instance
    from .web import GuardConfig, is_loopback, serve_dagster_ui

    token = args.token or os.environ.get("LLMLAB_UI_TOKEN") or None
    if token is None and not is_loopback(args.host):
        print(
            f"error: --host {args.host} opens the UI, which launches runs, beyond this machine: "
            "set a token (LLMLAB_UI_TOKEN or --token), or keep 127.0.0.1 behind a reverse "
            "proxy with authentication (README: The web UI)",
            file=sys.stderr,
        )
        return 2
    try:
        config = GuardConfig(
            host=args.host,
            port=args.port,
            token=token,
            allowed_origins=tuple(args.allow_origin or ()),
        )
    except ValueError as err:
        print(f"error: --allow-origin: {err}", file=sys.stderr)
        return 2
    dagster_instance()  # creates DAGSTER_HOME with its dagster.yaml
    # what the UI's processes (webserver, daemon, code server, runs) read from the environment
    os.environ["DAGSTER_HOME"] = str(get_settings().dagster_home)
    os.environ["LLMLAB_LAB"] = str(_lab_dir(args.lab))
    return serve_dagster_ui(config, echo=lambda line: print(line, flush=True))


def cmd_view(args: argparse.Namespace) -> int:
    """Serve the results explorer (items x candidates, item pages, diffs) over the artifacts."""
    from .web import GuardConfig, ViewerConfig, is_loopback, open_catalog, serve_viewer

    token = args.token or os.environ.get("LLMLAB_UI_TOKEN") or None
    if token is None and not is_loopback(args.host):
        print(
            f"error: --host {args.host} shows prompts and outputs beyond this machine: set a "
            "token (LLMLAB_UI_TOKEN or --token), or keep 127.0.0.1 behind a reverse proxy",
            file=sys.stderr,
        )
        return 2
    try:
        guard = GuardConfig(args.host, args.port, token, tuple(args.allow_origin or ()))
    except ValueError as err:
        print(f"error: --allow-origin: {err}", file=sys.stderr)
        return 2
    settings, echo = get_settings(), lambda line: print(line, flush=True)
    catalog = open_catalog(args.artifacts or settings.artifacts, str(_lab_dir(args.lab)), echo)
    config = ViewerConfig(catalog, args.dagster_url, args.mlflow_url, settings.mlflow_uri)
    return serve_viewer(guard, config, echo=echo)


_CACHE = "reuse cached answers (use, the default), call again and store (refresh), or off"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="llmlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="scaffold a new lab folder")
    init.add_argument("dir", help="the folder to create (must be new or empty)")
    init.set_defaults(func=cmd_init)
    for name, func, text in (
        ("validate", cmd_validate, "check a lab and list every problem"),
        ("run", cmd_run, "materialize the lab and print the leaderboard"),
        ("gate", cmd_gate, "run an experiment's regression gate; exit 1 on a regression"),
        ("optimize", cmd_optimize, "propose, test and confirm a better prompt"),
        ("ui", cmd_ui, "open the Dagster UI on this project"),
        ("view", cmd_view, "explore results: items x candidates, item pages, diffs"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--lab", help="lab folder (default: LLMLAB_LAB or ./lab)")
        command.set_defaults(func=func)
    run = sub.choices["run"]
    run.add_argument("--experiment", action="append", help="only this experiment (repeatable)")
    run.add_argument("--limit", type=int, help="at most this many items per dataset")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print calls, estimated tokens and cost per candidate; spend nothing",
    )
    run.add_argument("--cache", choices=["use", "refresh", "off"], default="use", help=_CACHE)
    gate = sub.choices["gate"]
    gate.add_argument("--experiment", required=True, help="the experiment whose gate to run")
    gate.add_argument("--limit", type=int, help="at most this many items per dataset")
    gate.add_argument("--cache", choices=["use", "refresh", "off"], default="use", help=_CACHE)
    opt = sub.choices["optimize"]
    opt.add_argument("--experiment", required=True, help="whose seed prompt to optimize")
    opt.add_argument("--limit", type=int, help="at most this many items of the dataset")
    opt.add_argument("--cache", choices=["use", "refresh", "off"], default="use", help=_CACHE)
    ui = sub.choices["ui"]
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port (default: 3000)")
    ui.add_argument(
        "--token",
        help="require this token (bearer header, or open /?token=... once); "
        "default: LLMLAB_UI_TOKEN; required with a --host beyond this machine",
    )
    ui.add_argument(
        "--allow-origin",
        action="append",
        metavar="URL",
        help="another address browsers use, with its scheme, e.g. a reverse proxy's "
        "https://evals.example.com (repeatable)",
    )
    _view_arguments(sub.choices["view"])
    return parser


def _view_arguments(view: argparse.ArgumentParser) -> None:
    view.add_argument("--artifacts", help="folder or s3:// URL (default: LLMLAB_ARTIFACTS)")
    view.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    view.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    view.add_argument("--token", help="require this token, as for `llmlab ui`")
    view.add_argument("--allow-origin", action="append", metavar="URL", help="as for `llmlab ui`")
    view.add_argument("--dagster-url", default="http://127.0.0.1:3000", help="Dagster UI (links)")
    view.add_argument("--mlflow-url", default="http://127.0.0.1:5000", help="MLflow UI (links)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``llmlab`` script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
