"""The explorer's data layer: matrix, pagination, sort, filters and search on generated frames."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from upath import UPath
from view_sample import CANDIDATES, DATASET, write_artifacts

from llmlab_pipelines.web._view_catalog import ALL, Catalog, label_of
from llmlab_pipelines.web._view_data import (
    Query,
    build_matrix,
    diff_ratio,
    diff_segments,
    judge_pairs,
    metric_columns,
    neighbours,
    run_query,
)
from llmlab_pipelines.web._view_links import dagster_link

N = 500


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return Catalog(UPath(write_artifacts(tmp_path_factory.mktemp("art"), N)))


@pytest.fixture(scope="module")
def matrix(catalog: Catalog) -> pl.DataFrame:
    return catalog.matrix(catalog.views()[0])


def frames(catalog: Catalog) -> list[pl.DataFrame]:
    return [catalog.scores(ref.key, DATASET) for ref in catalog.views()[0].candidates]


def test_views_without_a_lab_take_every_candidate_found(catalog: Catalog) -> None:
    (view,) = catalog.views()
    assert (view.experiment, view.dataset) == (ALL, DATASET)
    assert {c.key for c in view.candidates} == {k for k, _ in CANDIDATES}
    assert {c.label for c in view.candidates} == {label for _, label in CANDIDATES}
    assert catalog.view(ALL, DATASET) == view and catalog.view(ALL, "nope") is None


def test_matrix_has_one_row_per_item_with_outputs_scores_and_inputs(
    catalog: Catalog, matrix: pl.DataFrame
) -> None:
    assert matrix.height == N
    assert matrix["item_id"].to_list() == sorted(matrix["item_id"].to_list())
    first = matrix.row(1, named=True)
    assert first["input"] == "What is the capital of Country 1?"
    assert first["expected"] == "City 1"
    a, b = frames(catalog)
    assert matrix["s0"].to_list() == a["exact_match"].to_list()  # exact_match: first metric
    assert matrix["o1"].to_list() == b["output"].to_list()


def test_failures_errors_disagreements_match_a_direct_count(
    catalog: Catalog, matrix: pl.DataFrame
) -> None:
    a, b = frames(catalog)
    fail_a = a["error"].is_not_null() | (a["exact_match"].fill_null(1.0) < 0.5)
    fail_b = b["error"].is_not_null() | (b["exact_match"].fill_null(1.0) < 0.5)
    index = {ref.key: i for i, ref in enumerate(catalog.views()[0].candidates)}
    fa, fb = (fail_a, fail_b) if index[CANDIDATES[0][0]] == 0 else (fail_b, fail_a)
    assert run_query(matrix, Query(filter="failures")).total == int((fa | fb).sum())
    assert run_query(matrix, Query(filter="disagree")).total == int((fa ^ fb).sum())
    errors = run_query(matrix, Query(filter="errors", per_page=500))
    assert errors.total == len(range(0, N, 97))
    assert all(r["e0"] or r["e1"] for r in errors.rows)
    split = sum(
        int(((f["grader"] >= 0.5) != (f["exact_match"] >= 0.5)).fill_null(False).sum())
        for f in (a, b)
    )
    judged = run_query(matrix, Query(filter="judge_metric", per_page=500))
    assert 0 < judged.total <= split  # an item counts once, though both candidates may split
    for row in judged.rows:
        assert row["jm0"] or row["jm1"]


def test_pages_cover_every_row_once_and_clamp(matrix: pl.DataFrame) -> None:
    seen = []
    for number in range(1, 12):
        page = run_query(matrix, Query(page=number, per_page=50))
        assert page.pages == 10 and page.total == N
        seen += [r["item_id"] for r in page.rows] if number <= 10 else []
    assert seen == matrix["item_id"].to_list()
    assert run_query(matrix, Query(page=99)).page == 10
    assert run_query(matrix, Query(page=-3)).page == 1
    assert "_text" not in run_query(matrix, Query()).rows[0]


def test_sort_by_item_or_a_candidates_score(matrix: pl.DataFrame) -> None:
    desc = run_query(matrix, Query(desc=True, per_page=5)).rows
    assert desc[0]["item_id"] == f"cap-{N - 1:06d}"
    up = run_query(matrix, Query(sort="c1", per_page=500)).rows
    scores = [r["s1"] for r in up if r["s1"] is not None]
    assert scores == sorted(scores) and scores[0] == 0.0
    erring = 1 if matrix["s1"].null_count() else 0  # the candidate with errors
    down = run_query(matrix, Query(sort=f"c{erring}", desc=True, per_page=500)).rows
    assert down[0][f"s{erring}"] == 1.0 and down[-1][f"s{erring}"] is None  # no score: last
    assert run_query(matrix, Query(sort="c9")).rows[0]["item_id"] == "cap-000000"


def test_search_is_case_insensitive_literal_over_inputs_and_outputs(matrix: pl.DataFrame) -> None:
    found = run_query(matrix, Query(q="<SCRIPT>")).rows
    assert [r["item_id"] for r in found] == ["cap-000007"]
    assert run_query(matrix, Query(q="country 123?")).total == 1  # the input, literally
    assert run_query(matrix, Query(q=".*")).total == 0  # not a regular expression
    both = run_query(matrix, Query(q="TOWN 1", filter="failures", per_page=500))
    assert both.total > 0
    assert all("town 1" in f"{r['o0']} {r['o1']}".lower() for r in both.rows)


def test_an_empty_candidate_list_and_missing_columns_still_build() -> None:
    assert build_matrix([]).height == 0
    bare = pl.DataFrame({"item_id": ["a", "b"], "repeat": [0, 0], "output": ["x", None]})
    matrix = build_matrix([bare, bare.head(1)])
    assert matrix.height == 2 and matrix["s0"].null_count() == 2
    nan = bare.with_columns(pl.Series("m", [float("nan"), 1.0]))
    assert build_matrix([nan])["s0"].to_list() == [None, 1.0]  # NaN is "no score" too
    assert run_query(matrix, Query(filter="disagree")).total == 1  # b: missing on one side
    assert metric_columns(bare) == []


def test_diff_segments_mark_words_deleted_and_inserted() -> None:
    segments = diff_segments("The capital is Paris.", "The capital is Lyon.")
    assert ("delete", "Paris.") in segments and ("insert", "Lyon.") in segments
    assert "".join(t for op, t in segments if op != "insert") == "The capital is Paris."
    assert "".join(t for op, t in segments if op != "delete") == "The capital is Lyon."
    assert diff_segments("same", "same") == [("equal", "same")]
    assert diff_ratio("abc", "abc") == 1.0 and diff_ratio("abc", "xyz") == 0.0


def test_links_and_labels() -> None:
    assert label_of("few_shot.1a2b3c4d@local~ab12") == "few_shot@local~ab12"
    link = dagster_link("http://127.0.0.1:3000/", "generations", "p.1a2b3c4d@m", "capitals")
    assert link == (
        "http://127.0.0.1:3000/assets/generations?view=partitions"
        "&partition=p.1a2b3c4d%40m%7Ccapitals"
    )
    assert dagster_link(None, "generations", "k", "d") is None


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    catalog = Catalog(UPath(write_artifacts(tmp_path, 20)))
    view = catalog.views()[0]
    before = catalog.matrix(view)
    path = tmp_path / "scores" / view.candidates[0].key / f"{DATASET}.parquet"
    frame = pl.read_parquet(path).with_columns(pl.lit("changed").alias("output"))
    frame.write_parquet(path)
    after = catalog.matrix(view)
    assert set(after["o0"].to_list()) == {"changed"} and before["o0"][1] != "changed"


def test_a_remote_file_system_reads_the_same(tmp_path: Path) -> None:
    """Through fsspec (``memory://`` standing in for ``s3://``): same views, rows, items."""
    import fsspec

    local = write_artifacts(tmp_path, 30)
    memory = fsspec.filesystem("memory")
    for path in local.rglob("*.parquet"):
        memory.pipe(f"/view-test/{path.relative_to(local).as_posix()}", path.read_bytes())
    remote, here = Catalog(UPath("memory:///view-test")), Catalog(UPath(local))
    assert remote.views() == here.views()
    view = here.views()[0]
    assert remote.matrix(view).equals(here.matrix(view))
    key = view.candidates[0].key
    assert remote.item_scores(key, DATASET, "cap-000003").equals(
        here.item_scores(key, DATASET, "cap-000003")
    )
    memory.rm("/view-test", recursive=True)


def test_judge_metric_pairs_count_and_filter_one_pair() -> None:
    frame = pl.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "repeat": [0, 0, 0],
            "output": ["x", "y", "z"],
            "grader": [1.0, 1.0, 0.0],  # the judge
            "contains": [0.0, 1.0, 0.0],  # a metric: differs on a
            "exact_match": [0.0, 0.0, 1.0],  # another: differs on a, b and c
        }
    )
    matrix = build_matrix([frame], metric="contains", judge_cols={"grader"})
    assert judge_pairs(matrix) == {"grader|contains": 1, "grader|exact_match": 3}
    one = run_query(matrix, Query(filter="judge_metric", pair="grader|contains"))
    assert [r["item_id"] for r in one.rows] == ["a"]
    assert run_query(matrix, Query(filter="judge_metric")).total == 3
    assert run_query(matrix, Query(filter="judge_metric", pair="nope|x")).total == 3
    assert run_query(matrix, Query(filter="all", pair="grader|contains")).total == 3


def test_a_lab_without_these_artifacts_shows_every_candidate_found(tmp_path: Path) -> None:
    from llmlab_pipelines.lab import load_lab

    sample = load_lab(Path(__file__).resolve().parents[2] / "lab", check_datasets=False)
    catalog = Catalog(UPath(write_artifacts(tmp_path, 10)), sample)
    assert [(v.experiment, v.dataset) for v in catalog.views()] == [(ALL, DATASET)]


def test_new_partitions_show_after_the_listing_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llmlab_pipelines.web._view_catalog as module

    catalog = Catalog(UPath(write_artifacts(tmp_path, 10)))
    assert len(catalog.views()[0].candidates) == 2
    extra = tmp_path / "generations" / "third.0badcafe@sim"
    extra.mkdir()
    pl.read_parquet(next((tmp_path / "generations").glob("*/capitals.parquet"))).write_parquet(
        extra / f"{DATASET}.parquet"
    )
    assert len(catalog.views()[0].candidates) == 2  # the listing of a moment ago
    monkeypatch.setattr(module, "LIST_SECONDS", 0.0)
    assert "third@sim" in [c.label for c in catalog.views()[0].candidates]


def test_neighbours_in_item_order(matrix: pl.DataFrame) -> None:
    assert neighbours(matrix, "cap-000000") == (None, "cap-000001")
    assert neighbours(matrix, "cap-000250") == ("cap-000249", "cap-000251")
    assert neighbours(matrix, f"cap-{N - 1:06d}") == (f"cap-{N - 2:06d}", None)
    assert neighbours(matrix.head(0), "x") == (None, None)
