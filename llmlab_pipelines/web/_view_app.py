"""``llmlab view``: the results explorer, a Starlette app with server-rendered pages.

Pages (every one a stable URL, so a link shares exactly what it shows):

- ``/``: the experiments x datasets found in the artifacts;
- ``/x/<experiment>/<dataset>?filter=&q=&sort=&desc=&page=``: the leaderboard and the items x
  candidates matrix, filtered, searched, sorted and paginated on the server;
- ``/x/<experiment>/<dataset>/item/<item id>``: every candidate's prompt, output, metrics,
  judge verdicts with reasons, tokens, latency, cost, attempts and error;
- ``/x/<experiment>/<dataset>/diff/<item id>?a=&b=``: two candidates' outputs, word by word.

Templates autoescape everything: outputs are untrusted model text.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

import jinja2
import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ._guard import Guard, GuardConfig
from ._view_catalog import Catalog, View
from ._view_data import (
    FILTER_COLUMNS,
    FILTERS,
    Filter,
    Query,
    diff_ratio,
    diff_segments,
    item_rows,
    judge_pairs,
    judge_verdicts,
    metric_columns,
    neighbours,
    run_query,
)
from ._view_links import dagster_link, mlflow_link

LEADERBOARD_COLUMNS = (
    "rank", "tier", "candidate", "n", "missing", "mean", "ci_low", "ci_high", "diff",
    "diff_low", "diff_high", "p_adjusted", "significant", "error_rate", "cost_usd",
    "latency_p50_s",
)  # fmt: skip
CELL_CHARS = 240


@dataclass(frozen=True)
class ViewerConfig:
    """What the explorer reads and links to.

    Args:
        catalog: The artifacts.
        dagster_url: The Dagster UI (``llmlab ui``) to link asset partitions to, or None.
        mlflow_url: The MLflow UI to link runs to, or None.
        tracking_uri: Where the MLflow runs are looked up.
    """

    catalog: Catalog
    dagster_url: str | None = "http://127.0.0.1:3000"
    mlflow_url: str | None = "http://127.0.0.1:5000"
    tracking_uri: str = ""


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def _shade(score: Any) -> str:
    """A background for a score in [0, 1]: red through amber to green."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "#eeeeee"
    return f"hsl({round(120 * max(0.0, min(1.0, float(score))))}, 70%, 85%)"


def _clip(text: Any, limit: int = CELL_CHARS) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} chars)"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("llmlab_pipelines.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(number=_number, shade=_shade, clip=_clip, q=lambda s: quote(str(s), safe=""))
    return env


class Explorer:
    """The routes, over one :class:`ViewerConfig`.

    Handlers are plain functions: Starlette runs them in its thread pool, so a slow first read
    of a large file never stalls other requests.
    """

    def __init__(self, config: ViewerConfig) -> None:
        self.config, self.catalog, self.env = config, config.catalog, _environment()
        for name in self.env.list_templates():
            self.env.get_template(name)  # compiled once at start, not on the first request

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page from its template, every value escaped."""
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def not_found(self, what: str) -> HTMLResponse:
        """A 404 page naming what was not found."""
        return self.render("error.html", status=404, message=what)

    def _view(self, request: Request) -> View | None:
        return self.catalog.view(request.path_params["experiment"], request.path_params["dataset"])

    def index(self, request: Request) -> Response:
        """The experiments x datasets found."""
        return self.render("index.html", views=self.catalog.views(), root=str(self.catalog.root))

    def matrix(self, request: Request) -> Response:
        """The leaderboard and one page of the items x candidates matrix."""
        view = self._view(request)
        if view is None:
            return self.not_found("no such experiment and dataset in these artifacts")
        params = request.query_params
        query = Query(
            filter=cast(Filter, params["filter"] if params.get("filter") in FILTERS else "all"),
            q=params.get("q", "")[:500],
            sort=params.get("sort", "item"),
            desc=params.get("desc") == "1",
            page=_int(params.get("page"), 1),
            per_page=_int(params.get("per_page"), 50),
            pair=params.get("pair", ""),
        )
        matrix = self.catalog.matrix(view)
        page = run_query(matrix, query)
        counts = matrix.select(pl.col(c).sum() for c in FILTER_COLUMNS.values()).row(0)
        state: dict[str, Any] = {"filter": query.filter, "pair": query.pair, "q": query.q}
        state |= {"sort": query.sort, "desc": query.desc}
        return self.render(
            "matrix.html",
            view=view,
            page=page,
            query=query,
            counts=dict(zip(FILTER_COLUMNS, counts, strict=True)),
            items=matrix.height,
            filters=FILTERS,
            pairs=judge_pairs(matrix),
            board=self._board(view),
            url=lambda **change: _url(request.url.path, {**state, **change}),
            dagster=lambda asset, ref: dagster_link(
                self.config.dagster_url, asset, ref.key, view.dataset
            ),
        )

    def _board(self, view: View) -> list[dict[str, Any]]:
        frame = self.catalog.leaderboard(view)
        if frame is None:
            return []
        return frame.select(c for c in LEADERBOARD_COLUMNS if c in frame.columns).to_dicts()

    def item(self, request: Request) -> Response:
        """Everything about one item, per candidate."""
        view = self._view(request)
        item_id = request.path_params["item_id"]
        if view is None:
            return self.not_found("no such experiment and dataset in these artifacts")
        candidates = [self._candidate(view, i, item_id) for i in range(len(view.candidates))]
        if not any(c["rows"] for c in candidates):
            return self.not_found(f"no item {item_id!r} in {view.dataset}")
        previous, following = neighbours(self.catalog.matrix(view), item_id)
        return self.render(
            "item.html",
            view=view,
            item_id=item_id,
            previous=previous,
            following=following,
            record=self.catalog.record(view.dataset, item_id),
            candidates=candidates,
        )

    def _candidate(self, view: View, index: int, item_id: str) -> dict[str, Any]:
        ref = view.candidates[index]
        frame = self.catalog.item_scores(ref.key, view.dataset, item_id)
        verdicts = self.catalog.item_frame("judge_scores", ref.key, view.dataset, item_id)
        from ..partitions import generation_key  # Dagster's import, paid once, on an item page

        partition = generation_key(ref.key, view.dataset)
        return {
            "index": index,
            "ref": ref,
            "rows": item_rows(frame, item_id),
            "metrics": metric_columns(frame),
            "verdicts": judge_verdicts(verdicts, item_id),
            "links": {
                asset: dagster_link(self.config.dagster_url, asset, ref.key, view.dataset)
                for asset in ("generations", "scores", "judge_scores")
            },
            "mlflow": mlflow_link(
                self.config.mlflow_url, self.config.tracking_uri, view.experiment, partition
            ),
        }

    def diff(self, request: Request) -> Response:
        """Two candidates' outputs on one item, word by word."""
        view = self._view(request)
        item_id = request.path_params["item_id"]
        if view is None:
            return self.not_found("no such experiment and dataset in these artifacts")
        n = len(view.candidates)
        a = max(0, min(_int(request.query_params.get("a"), 0), n - 1))
        b = max(0, min(_int(request.query_params.get("b"), 1 if n > 1 else 0), n - 1))
        outputs = []
        for index in (a, b):
            frame = self.catalog.item_scores(view.candidates[index].key, view.dataset, item_id)
            rows = item_rows(frame, item_id)
            outputs.append(str(rows[0].get("output") or "") if rows else "")
        return self.render(
            "diff.html",
            view=view,
            item_id=item_id,
            a=a,
            b=b,
            outputs=outputs,
            segments=diff_segments(outputs[0], outputs[1]),
            ratio=diff_ratio(outputs[0], outputs[1]),
        )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _url(path: str, state: dict[str, Any]) -> str:
    """``path`` with the non-default query parameters of ``state``."""
    defaults = {"filter": "all", "pair": "", "q": "", "sort": "item", "desc": False, "page": 1}
    kept = {k: ("1" if v is True else v) for k, v in state.items() if v != defaults.get(k)}
    return f"{path}?{urlencode(kept)}" if kept else path


def create_app(config: ViewerConfig) -> Starlette:
    """The explorer's ASGI app (wrap it in :class:`Guard` before serving it)."""
    explorer = Explorer(config)
    base = "/x/{experiment}/{dataset}"
    return Starlette(
        routes=[
            Route("/", explorer.index),
            Route(base, explorer.matrix),
            Route(base + "/item/{item_id:path}", explorer.item),
            Route(base + "/diff/{item_id:path}", explorer.diff),
        ]
    )


def open_catalog(artifacts: str, lab_dir: str | None, echo: Callable[[str], None]) -> Catalog:
    """The artifacts at ``artifacts``, with the lab at ``lab_dir`` when it loads."""
    from pathlib import Path

    from upath import UPath

    from ..lab import LabError, load_lab

    lab = None
    if lab_dir and Path(lab_dir).is_dir():
        try:
            lab = load_lab(lab_dir, check_datasets=False)
        except LabError as exc:
            echo(f"llmlab view: the lab does not load, showing every candidate found: {exc}")
    return Catalog(UPath(artifacts), lab)


def _import_mlflow() -> None:
    with contextlib.suppress(Exception):
        import mlflow.tracking  # noqa: F401


def serve_viewer(
    guard: GuardConfig, config: ViewerConfig, echo: Callable[[str], None] = print
) -> int:
    """Serve the explorer on ``guard.host:guard.port``, behind the guard, until Ctrl-C."""
    import uvicorn

    app = Guard(create_app(config), guard, on_refuse=lambda reason: echo(f"llmlab view: {reason}"))
    host = f"[{guard.host}]" if ":" in guard.host and not guard.host.startswith("[") else guard.host
    echo(f"results explorer on http://{host}:{guard.port} (Ctrl-C stops it)")
    if config.mlflow_url:  # import MLflow (seconds) now, not on the first item page
        threading.Thread(target=_import_mlflow, name="llmlab-view-mlflow", daemon=True).start()
    uvicorn.run(app, host=guard.host, port=guard.port, log_level="warning")
    return 0
