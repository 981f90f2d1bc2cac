"""Budgets in the pipeline: an experiment's cap stops the run cleanly, a raised one continues
without repeating calls, and the costs asset reports spend against period budgets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from llmlab_pipelines import ledger
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.resources.artifacts import artifact_root
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def priced_lab(root: Path, sim: Simulator, budget: float) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  max_tokens: 8\n  concurrency: 4\n"
        "  input_cost_per_token: 0.0001\n  output_cost_per_token: 0.001\n"
    )
    for name in ("zero_shot", "few_shot"):
        (root / "prompts" / f"{name}.jinja").write_text(
            (ROOT / "lab" / "prompts" / f"{name}.jinja").read_text()
        )
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:40]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "arith.yaml").write_text(
        "dataset: arithmetic\nprompts: [zero_shot, few_shot]\nmodels: [sim]\n"
        f"metrics: [numeric_match]\nbaseline: zero_shot@sim\nbudget_usd: {budget}\n"
    )
    (root / "budgets.yaml").write_text("daily: 1.0\nweekly: 5\nwarn_at: 0.01\n")
    return root


def test_a_budget_stops_cleanly_and_a_raised_one_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with (
        Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim,
        dg.instance_for_test() as instance,
    ):
        root = priced_lab(tmp_path / "lab", sim, budget=0.05)
        with pytest.raises(RunFailed) as info:
            run_lab(load_lab(root), instance=instance, echo=lambda _: None)
        assert "experiment 'arith' run budget of $0.0500 reached" in str(info.value)
        first_calls = sim.total_requests
        assert 0 < first_calls < 80
        spent = ledger.read(artifact_root(None, {}))
        assert 0 < spent["cost_usd"].sum() <= 0.05  # never overshot
        event = instance.get_latest_materialization_event(dg.AssetKey("generations"))
        metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
        assert metadata["partial"].value is True
        assert "raise the budget and re-run" in metadata["stopped_by"].value

        priced_lab(root, sim, budget=10)
        lab = load_lab(root)
        summary = run_lab(lab, instance=instance, echo=lambda _: None)
        prompts = {
            lab.prompts[c.prompt].render(r)
            for c in lab.candidates("arith")
            for r in lab.datasets["arithmetic"].records
        }
        assert sim.total_requests == len(prompts)  # the rest, and nothing paid twice
        assert all(sim.successes(p) == 1 for p in prompts)
        assert summary.leaderboards["arith"]["n"].tolist() == [40, 40]
        [usage] = summary.check("budget_usage")
        assert not usage.passed and "daily: $" in (usage.description or "")
        costs = instance.get_latest_materialization_event(dg.AssetKey("costs"))
        meta = costs.asset_materialization.metadata  # type: ignore[union-attr]
        total = float(ledger.read(artifact_root(None, {}))["cost_usd"].sum())
        assert meta["total_usd"].value == pytest.approx(total)
        assert meta["model/sim"].value == pytest.approx(total)
