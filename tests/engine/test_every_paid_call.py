"""Every paid call, whatever asset makes it, passes the budget and lands in the spend ledger of
the configured artifact store; no asset that calls a model is started by automation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from upath import UPath

from llmlab_pipelines import ledger
from llmlab_pipelines.assets import ALL_ASSETS
from llmlab_pipelines.definitions import build_resources, defs
from llmlab_pipelines.lab import Lab, load_lab
from llmlab_pipelines.partitions import generation_key, register_night
from llmlab_pipelines.resources import ArtifactStore, LabResource, LLMResource, ParquetIOManager
from llmlab_pipelines.runner import register_partitions
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PLAIN = "Question: {{ question }}\nAnswer:"
NIGHT = "2026-11-20"


def responder(prompt: str) -> str:
    """Rubric and pairwise judges, a prompt optimizer, and arithmetic for everything else."""
    if "impartial grader" in prompt:
        return json.dumps({"correctness": {"score": 5, "reason": "checked"}})
    if "You compare two outputs" in prompt:
        return json.dumps({"winner": "tie", "reason": "both fine"})
    if re.search(r"write improved template number \d+", prompt):
        return f"Say less.\nTEMPLATE:\n{PLAIN}\n### END"
    return arithmetic_responder(prompt)


def write_lab(root: Path, sim: Simulator) -> Path:
    """One priced model; a judged, nightly grid, an adaptive A/B test and an optimization."""
    for folder in ("prompts", "datasets", "experiments", "judges"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  max_tokens: 8\n  concurrency: 4\n  max_retries: 0\n"
        "  input_cost_per_token: 0.0001\n  output_cost_per_token: 0.001\n"
    )
    (root / "prompts" / "plain.jinja").write_text(PLAIN)
    (root / "prompts" / "careful.jinja").write_text("Careful now.\n" + PLAIN)
    (root / "prompts" / "seed.jinja").write_text("Question: {{ question }}\nWork out 0 + 0.\n")
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:20]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "judges" / "correct.yaml").write_text(
        "model: sim\ndimensions: [correctness]\nscale: [1, 5]\n"
    )
    (root / "judges" / "prefer.yaml").write_text("kind: pairwise\nmodel: sim\n")
    both = "dataset: arithmetic\nprompts: [plain, careful]\nmodels: [sim]\nbaseline: plain@sim\n"
    (root / "experiments" / "grid.yaml").write_text(
        both + "metrics: [numeric_match, correct]\njudges: [correct, prefer]\nnightly: true\n"
    )
    (root / "experiments" / "ab.yaml").write_text(
        both + "metrics: [numeric_match]\nmode: adaptive\nadaptive:\n  round_size: 10\n"
    )
    (root / "experiments" / "tune.yaml").write_text(
        "dataset: arithmetic\nprompts: [seed]\nmodels: [sim]\nmetrics: [numeric_match]\n"
        "mode: optimize\noptimize:\n  variants: 1\n  rounds: 1\n  round_size: 10\n"
    )
    return root


def grid_keys(lab: Lab) -> list[str]:
    return [generation_key(c.key, "arithmetic") for c in lab.candidates("grid")]


#: asset -> (what it reads, materialized first: [(selection, partition)], its own partition)
def plan(asset: str, lab: Lab) -> tuple[list[tuple[list[str], str]], str]:
    dataset = [(["eval_datasets"], "arithmetic")]
    first = grid_keys(lab)[0]
    return {
        "generations": (dataset, first),
        "judge_scores": ([*dataset, (["generations"], first)], first),
        "pairwise": (
            [*dataset, *((["generations", "judge_scores", "scores"], k) for k in grid_keys(lab))],
            "arithmetic",
        ),
        "nightly_scores": ([], NIGHT),
        "adaptive_runs": (dataset, "arithmetic"),
        "prompt_optimization": (dataset, "arithmetic"),
    }[asset]


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=responder)) as sim:
        yield sim


def materialize(
    instance: dg.DagsterInstance,
    lab: Lab,
    store: Path,
    selection: list[str],
    key: str | None,
    budget_usd: float | None = None,
) -> dg.ExecuteInProcessResult:
    """One run, with artifacts (Parquet, files, ledger, cache) in ``store``, not the default."""
    return dg.materialize(
        ALL_ASSETS,
        selection=selection,
        partition_key=key,
        instance=instance,
        raise_on_error=False,
        resources={
            **build_resources(),
            "lab": LabResource(path=str(lab.root)),
            "llm": LLMResource(budget_usd=budget_usd),
            "artifacts": ArtifactStore(base_path=str(store)),
            "parquet_io_manager": ParquetIOManager(base_path=str(store)),
        },
    )


def spent_by(store: Path, asset: str) -> tuple[int, float]:
    entries = ledger.read(UPath(store))
    own = entries[entries["asset"] == asset]
    return int(own["calls"].sum()), float(own["cost_usd"].sum())


PAYING_ASSETS = [
    "generations",
    "judge_scores",
    "pairwise",
    "nightly_scores",
    "adaptive_runs",
    "prompt_optimization",
]


@pytest.mark.parametrize("asset", PAYING_ASSETS)
def test_a_zero_budget_stops_every_call_and_every_paid_call_is_in_the_ledger(
    asset: str, tmp_path: Path, simulator: Simulator
) -> None:
    lab = load_lab(write_lab(tmp_path / "lab", simulator))
    store = tmp_path / "store"
    upstream, key = plan(asset, lab)
    with dg.instance_for_test() as instance:
        register_partitions(instance, lab)
        register_night(instance, NIGHT)  # what the nightly schedule does
        # pairwise: only the dataset whose experiment names a pairwise judge is a partition
        assert instance.get_dynamic_partitions("pairwise_datasets") == ["arithmetic"]
        for selection, partition in upstream:
            assert materialize(instance, lab, store, selection, partition).success
        before, paid_before = simulator.total_requests, spent_by(store, asset)

        # a budget of $0: not one call goes out, the asset still saves what it has
        stopped = materialize(instance, lab, store, [asset], key, budget_usd=0.0)
        assert simulator.total_requests == before
        assert stopped.asset_materializations_for_node(asset), "the asset stopped uncleanly"
        assert spent_by(store, asset) == paid_before == (0, 0.0)

        # no cap: every call the provider saw is in the ledger, with its cost
        paid = materialize(instance, lab, store, [asset], key)
        assert paid.asset_materializations_for_node(asset)
        made = simulator.total_requests - before
        calls, cost = spent_by(store, asset)
        assert made > 0 and calls == made and cost > 0
    # the configured store holds the ledger; the default artifact root was never written
    assert not (UPath(get_settings().artifacts) / "ledger").exists()


def test_costs_reads_the_ledger_of_the_configured_store(
    tmp_path: Path, simulator: Simulator
) -> None:
    lab = load_lab(write_lab(tmp_path / "lab", simulator))
    store = tmp_path / "store"
    spend = ledger.Spend("r1", "generations", "p", "sim", "c", "arithmetic", "", 3, 30, 3, 0.25)
    ledger.record(UPath(store), spend)
    with dg.instance_for_test() as instance:
        result = materialize(instance, lab, store, ["costs"], None)
        [mat] = result.asset_materializations_for_node("costs")
    assert mat.metadata["total_usd"].value == pytest.approx(0.25)
    assert mat.metadata["model/sim"].value == pytest.approx(0.25)


def test_no_asset_that_calls_a_model_runs_by_automation() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if "litellm" in node.kinds:
            assert node.automation_condition is None, key.to_user_string()
    assert graph.get(dg.AssetKey("pairwise")).group_name == "evaluation"
    for job, has_pairwise in (("analysis_job", False), ("pairwise_job", True)):
        selected = defs.resolve_job_def(job).asset_layer.selected_asset_keys
        assert ("pairwise" in {k.to_user_string() for k in selected}) == has_pairwise, job
