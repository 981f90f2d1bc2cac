"""The explorer on real artifacts: a small judged lab run against the simulator, then viewed."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig
from llmlab_pipelines.web import Guard, GuardConfig, ViewerConfig, create_app, open_catalog
from llmlab_pipelines.web._view_data import Query, judge_pairs, run_query

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
N = 12


def judge_helpers() -> ModuleType:
    """The judged lab and scripted simulator of ``tests/judges`` (one definition of both)."""
    path = ROOT / "tests" / "judges" / "judge_helpers.py"
    spec = importlib.util.spec_from_file_location("view_judge_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_judged_simulator_run_opens_in_the_viewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers = judge_helpers()
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=helpers.responder)) as sim:
        lab = load_lab(helpers.write_judged_lab(tmp_path / "lab", sim, n=N))
        with dg.instance_for_test() as instance:
            run_lab(lab, instance=instance, echo=lambda _: None)
    catalog = open_catalog(get_settings().artifacts, str(lab.root), echo=print)
    (view,) = catalog.views()
    assert (view.experiment, view.dataset, view.metric) == ("judged", "arithmetic", "correct")
    assert [c.label for c in view.candidates] == [c.label for c in lab.candidates("judged")]
    assert {"correct", "lenient", "panel"} <= catalog.judge_columns(view)
    matrix = catalog.matrix(view)
    assert matrix.height == N and matrix["input"].null_count() == 0
    assert matrix["expected"].null_count() == 0
    plain = [c.prompt for c in lab.candidates("judged")].index("plain")
    failures = run_query(matrix, Query(filter="failures", per_page=N))
    assert any(r[f"f{plain}"] for r in failures.rows)  # the plain prompt gets some sums wrong

    assert {"correct|numeric_match", "panel|numeric_match"} <= set(judge_pairs(matrix))

    config = ViewerConfig(catalog, tracking_uri=get_settings().mlflow_uri)
    app = Guard(create_app(config), GuardConfig("127.0.0.1", 8080))
    web = TestClient(app, base_url="http://127.0.0.1:8080")
    base = f"/x/{view.experiment}/{view.dataset}"
    page = web.get(base)
    assert page.status_code == 200 and 'id="leaderboard"' in page.text
    assert page.text.count('class="item-link"') == N
    item_id = matrix["item_id"][0]
    item = web.get(f"{base}/item/{item_id}")
    assert item.status_code == 200
    assert "Careful now." in item.text  # the careful candidate's rendered prompt
    assert "checked the number" in item.text  # the judge's reason
    assert "<th>numeric_match</th>" in item.text
    assert item.text.count('">MLflow run</a>') == 2  # each candidate's run, found by its tag
    assert "http://127.0.0.1:5000/#/experiments/" in item.text
    assert web.get(f"{base}/diff/{item_id}?a=0&b=1").status_code == 200
