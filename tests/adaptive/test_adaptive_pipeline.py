"""Adaptive experiments end to end against the provider simulator: fewer calls than the grid,
the same decision, a budget that stops a run cleanly, and a re-run that repeats no call."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from llmlab_pipelines.lab import LabError, load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

PROMPTS = {
    # the simulator answers the last sum in the prompt: these three are good, half good, bad
    "good": "Question: {{ question }}\nAnswer:",
    "half": "Question: {{ question }}{% if id[-1] not in '01234' %} No: what is 9 + 9?"
    "{% endif %}\nAnswer:",
    "bad": "Question: {{ question }}\nFirst work out 0 + 0.\nAnswer:",
}


def make_lab(root: Path, sim: Simulator, experiments: dict[str, str]) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  max_tokens: 8\n  concurrency: 8\n"
        "  input_cost_per_token: 0.0001\n  output_cost_per_token: 0.001\n"
    )
    for name, text in PROMPTS.items():
        (root / "prompts" / f"{name}.jinja").write_text(text)
    (root / "datasets" / "arithmetic.jsonl").write_text(
        (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text()
    )
    for name, text in experiments.items():
        (root / "experiments" / f"{name}.yaml").write_text(text)
    return root


PICK = (
    "dataset: arithmetic\nprompts: [bad, half, good]\nmodels: [sim]\nmetrics: [numeric_match]\n"
    "mode: adaptive\nadaptive:\n  strategy: successive_elimination\n  round_size: 10\n"
)
GRID = "dataset: arithmetic\nprompts: [bad, half, good]\nmodels: [sim]\nmetrics: [numeric_match]\n"


def adaptive_metadata(instance: dg.DagsterInstance) -> dict[str, object]:
    event = instance.get_latest_materialization_event(dg.AssetKey("adaptive_runs"))
    assert event is not None and event.asset_materialization is not None
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}


def test_successive_elimination_uses_fewer_calls_and_agrees_with_the_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with (
        Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim,
        dg.instance_for_test() as instance,
    ):
        lab = load_lab(make_lab(tmp_path / "lab", sim, {"pick": PICK, "grid_pick": GRID}))
        first = run_lab(lab, experiments=["pick"], instance=instance, echo=lambda _: None)
        info = first.adaptive["pick"]
        assert info["decision"] == "best found" and info["winner"] == "good@sim"
        assert info["grid_calls"] == 600
        # at most one paid call per evaluation (good and half share some prompts: one call)
        assert info["calls"] / 2 < sim.total_requests <= info["calls"] < 300
        assert info["same_as_grid"] == "None"  # no grid scores yet
        report = Path(first.reports["pick"]).read_text()
        assert "best found" in report and "bad@sim" in report

        both = run_lab(
            lab, experiments=["grid_pick", "pick"], instance=instance, echo=lambda _: None
        )
        # the grid pays only for what the adaptive run had not asked yet, the re-run for nothing:
        # over both runs, one paid call per distinct prompt of the grid
        records = lab.datasets["arithmetic"].records
        distinct = {lab.prompts[p].render(r) for p in PROMPTS for r in records}
        assert sim.total_requests == len(distinct)
        again = both.adaptive["pick"]
        assert again["same_as_grid"] == "True"
        assert again["calls"] == info["calls"]  # same seed, same rounds, all from the cache
        assert adaptive_metadata(instance)["pick/partial"] is False


def test_a_budget_stops_an_ab_test_cleanly_and_a_raised_one_resumes_without_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    ab = (
        "dataset: arithmetic\nprompts: [half, good]\nmodels: [sim]\nmetrics: [numeric_match]\n"
        "mode: adaptive\nadaptive:\n  round_size: 10\nbaseline: half@sim\nbudget_usd: {b}\n"
    )
    with (
        Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim,
        dg.instance_for_test() as instance,
    ):
        root = make_lab(tmp_path / "lab", sim, {"ab": ab.format(b=0.05)})
        first = run_lab(load_lab(root), instance=instance, echo=lambda _: None)
        meta = adaptive_metadata(instance)
        assert meta["ab/partial"] is True
        assert first.adaptive["ab"]["decision"] == "undecided"
        paid = sim.total_requests
        assert 0 < paid < 20  # stopped inside the first round (20 evaluations)

        (root / "experiments" / "ab.yaml").write_text(ab.format(b=5))
        second = run_lab(load_lab(root), instance=instance, echo=lambda _: None)
        info = second.adaptive["ab"]
        assert info["decision"] == "b_better" and info["winner"] == "good@sim"
        assert adaptive_metadata(instance)["ab/partial"] is False
        # every call the first run paid for came from the cache the second time: over both runs,
        # no more paid calls than the evaluations the finished run used
        assert sim.total_requests <= int(info["calls"])  # type: ignore[call-overload]


def test_adaptive_settings_are_checked_with_file_and_line(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim:
        bad = PICK.replace("successive_elimination", "sequential") + "repeats: 1\n"
        root = make_lab(tmp_path / "lab", sim, {"pick": bad})
        with pytest.raises(LabError) as info:
            load_lab(root)
        text = str(info.value)
        assert "experiments/pick.yaml" in text and "exactly 2 candidates" in text
        assert ":7" in text  # the line of `strategy:`
        (root / "experiments" / "pick.yaml").write_text(
            PICK.replace("[numeric_match]", "[numeric_match, latency_s]") + "  metric: latency_s\n"
        )
        with pytest.raises(LabError, match="decides on a score in"):
            load_lab(root)
