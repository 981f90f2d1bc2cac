"""The explorer over HTTP: pages, escaping of model text, stable URLs, and the guard."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from upath import UPath
from view_sample import DATASET, SCRIPT, write_artifacts

from llmlab_pipelines.cli import build_parser, cmd_view
from llmlab_pipelines.web import Catalog, Guard, GuardConfig, ViewerConfig, create_app

with warnings.catch_warnings():  # starlette 1.x: "install httpx2"; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "http://127.0.0.1:8080"
MATRIX = f"/x/all/{DATASET}"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_artifacts(tmp_path_factory.mktemp("art"), 300)


def client(artifacts: Path, token: str | None = None, **config: object) -> TestClient:
    app = create_app(ViewerConfig(Catalog(UPath(artifacts)), **config))  # type: ignore[arg-type]
    guarded = Guard(app, GuardConfig("127.0.0.1", 8080, token=token))
    return TestClient(guarded, base_url=BASE, follow_redirects=False)


def test_index_lists_the_view(artifacts: Path) -> None:
    page = client(artifacts).get("/")
    assert page.status_code == 200 and f'href="{MATRIX}"' in page.text


def test_model_text_is_escaped_on_every_page(artifacts: Path) -> None:
    web = client(artifacts)
    for url in (f"{MATRIX}?q=script", f"{MATRIX}/item/cap-000007", f"{MATRIX}/diff/cap-000007"):
        page = web.get(url)
        assert page.status_code == 200, url
        assert SCRIPT not in page.text, url
        assert "&lt;script&gt;document.title=" in page.text, url


def test_matrix_page_shows_leaderboard_filters_and_a_page_of_rows(artifacts: Path) -> None:
    page = client(artifacts).get(f"{MATRIX}?filter=errors")
    assert page.status_code == 200
    assert 'id="leaderboard"' in page.text and "few_shot@sim" in page.text
    assert page.text.count('class="item-link"') == len(range(0, 300, 97))
    assert 'data-filter="judge_metric"' in page.text
    assert "assets/generations?view=partitions&amp;partition=" in page.text  # Dagster link
    full = client(artifacts).get(MATRIX)
    assert full.text.count('class="item-link"') == 50 and 'rel="next"' in full.text
    assert f'href="{MATRIX}?page=2"' in full.text  # a stable URL for every page


def test_query_parameters_survive_in_links(artifacts: Path) -> None:
    page = client(artifacts).get(f"{MATRIX}?filter=failures&q=town&sort=c1&desc=1")
    assert "filter=failures&amp;q=town&amp;sort=c1&amp;desc=1&amp;page=2" in page.text
    bad = client(artifacts).get(f"{MATRIX}?filter=nope&page=x&per_page=-1&sort=zz")
    assert bad.status_code == 200


def test_item_page_shows_prompt_metrics_verdict_reason_and_costs(artifacts: Path) -> None:
    page = client(artifacts).get(f"{MATRIX}/item/cap-000042")
    assert page.status_code == 200
    text = page.text
    assert "Question: what is the capital of Country 42?" in text  # the rendered prompt
    assert "What is the capital of Country 42?" in text  # the dataset record
    assert "The answer names" in text and 'class="reason"' in text  # the judge's reason
    for field in ("exact_match", "grader", "prompt_tokens", "latency_s", "cost_usd", "attempts"):
        assert f"<th>{field}</th>" in text, field
    assert "assets/judge_scores?view=partitions" in text
    assert f'rel="next" href="{MATRIX}/item/cap-000043"' in text
    assert f'rel="prev" href="{MATRIX}/item/cap-000041"' in text


def test_item_page_shows_the_error(artifacts: Path) -> None:
    text = client(artifacts).get(f"{MATRIX}/item/cap-000097").text
    assert "RateLimitError: 429 Too Many Requests" in text


def test_diff_page_marks_changed_words(artifacts: Path) -> None:
    page = client(artifacts).get(f"{MATRIX}/diff/cap-000007?a=0&b=1")
    assert page.status_code == 200 and "<del>" in page.text and "<ins>" in page.text
    assert client(artifacts).get(f"{MATRIX}/diff/cap-000007?a=-5&b=99").status_code == 200


def test_unknown_things_are_404(artifacts: Path) -> None:
    web = client(artifacts)
    assert web.get("/x/nope/capitals").status_code == 404
    assert web.get(f"{MATRIX}/item/no-such-item").status_code == 404
    assert web.get(f"{MATRIX}/diff/x", params={"a": "0"}).status_code == 200  # empty outputs


def test_the_guard_refuses_other_hosts_and_origins(artifacts: Path) -> None:
    web = client(artifacts)
    assert web.get(MATRIX, headers={"Host": "evil.example"}).status_code == 403
    assert web.get(MATRIX, headers={"Origin": "http://evil.example"}).status_code == 403
    assert web.get(MATRIX, headers={"Origin": BASE}).status_code == 200


def test_the_guard_asks_for_the_token_when_one_is_set(artifacts: Path) -> None:
    web = client(artifacts, token="s3cret")
    assert web.get(MATRIX).status_code == 401
    assert web.get(MATRIX, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    opened = web.get(f"{MATRIX}?token=s3cret&filter=errors")
    assert opened.status_code == 303 and opened.headers["location"] == f"{MATRIX}?filter=errors"
    assert web.get(f"{MATRIX}?filter=errors").status_code == 200  # the cookie now


def test_cli_parses_view_and_refuses_a_public_bind_without_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMLAB_UI_TOKEN", raising=False)
    args = build_parser().parse_args(["view"])
    assert (args.host, args.port, args.token, args.func) == ("127.0.0.1", 8080, None, cmd_view)
    public = build_parser().parse_args(["view", "--host", "0.0.0.0"])
    assert cmd_view(public) == 2 and "token" in capsys.readouterr().err
    bad = build_parser().parse_args(["view", "--allow-origin", "evals.example.com"])
    assert cmd_view(bad) == 2 and "--allow-origin" in capsys.readouterr().err


def test_judge_metric_pairs_are_links_that_keep_the_pair(artifacts: Path) -> None:
    page = client(artifacts).get(MATRIX)
    assert 'data-pair="grader|exact_match"' in page.text
    assert "filter=judge_metric&amp;pair=grader%7Cexact_match" in page.text
    chosen = client(artifacts).get(f"{MATRIX}?filter=judge_metric&pair=grader|exact_match")
    assert '<input type="hidden" name="pair" value="grader|exact_match">' in chosen.text
