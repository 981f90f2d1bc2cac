"""``llmlab run`` executes the project's jobs: runs named by job, tagged with the experiment and
one invocation; an experiment's budget holds across the partitions of one invocation through
the ledger; the command prints calls, tokens/s and cost per candidate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from upath import UPath

from llmlab_pipelines import ledger, tags
from llmlab_pipelines.cli import main
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.resources import LLMResource
from llmlab_pipelines.resources.artifacts import artifact_root
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def write_lab(root: Path, sim: Simulator, budget: float | None = None, n: int = 10) -> Path:
    """One priced model, two prompts (two candidate partitions) on ``n`` arithmetic items."""
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  max_tokens: 8\n  concurrency: 1\n"
        "  input_cost_per_token: 0.0001\n  output_cost_per_token: 0.001\n"
    )
    for name in ("zero_shot", "few_shot"):
        (root / "prompts" / f"{name}.jinja").write_text(
            (ROOT / "lab" / "prompts" / f"{name}.jinja").read_text()
        )
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:n]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "arith.yaml").write_text(
        "dataset: arithmetic\nprompts: [zero_shot, few_shot]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: zero_shot@sim\n"
        + (f"budget_usd: {budget}\n" if budget is not None else "")
    )
    return root


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=arithmetic_responder)) as simulator:
        yield simulator  # type: ignore[misc]


def test_runs_are_the_projects_jobs_tagged_with_experiment_and_invocation(
    tmp_path: Path, sim: Simulator
) -> None:
    with dg.instance_for_test() as instance:
        summary = run_lab(
            load_lab(write_lab(tmp_path / "lab", sim)), instance=instance, echo=lambda _: None
        )
        runs = [instance.get_run_by_id(r) for r in summary.dagster_runs]
    assert all(r is not None for r in runs)
    jobs = [r.job_name for r in runs if r is not None]
    assert jobs == [
        "eval_datasets_job",
        "generations_job",
        "generations_job",
        "analysis_job",
        "costs_job",
    ]
    invocations = {r.tags[tags.INVOCATION] for r in runs if r is not None}
    assert len(invocations) == 1 and "" not in invocations
    for run in runs:
        assert run is not None
        assert run.tags[tags.SOURCE] == "cli"
        assert run.tags[tags.EXPERIMENT] == "arith"
    generations = [r for r in runs if r is not None and r.job_name == "generations_job"]
    assert {r.tags["dagster/partition"] for r in generations} == {
        f"{c.key}|arithmetic" for c in load_lab(tmp_path / "lab").candidates("arith")
    }
    assert all(r.tags[tags.PROVIDER] == "openai" for r in generations)
    # the ledger knows which invocation paid
    spent = ledger.read(artifact_root(None, {}))
    assert set(spent["invocation"]) == invocations


def test_an_experiment_budget_holds_across_the_partitions_of_one_invocation(
    tmp_path: Path, sim: Simulator
) -> None:
    with dg.instance_for_test() as instance:
        lab = load_lab(write_lab(tmp_path / "lab", sim, n=10))
        run_lab(lab, instance=instance, echo=lambda _: None)  # learn what one run costs
        full = float(ledger.read(artifact_root(None, {}))["cost_usd"].sum())
        per_partition = full / 2
        budget = round(per_partition * 1.5, 4)  # the first partition fits, the second does not
        lab = load_lab(write_lab(tmp_path / "lab", sim, budget=budget))
        before = len(ledger.read(artifact_root(None, {})))
        with pytest.raises(RunFailed) as info:
            run_lab(lab, instance=instance, echo=lambda _: None, cache="off")
    entries = ledger.read(artifact_root(None, {})).iloc[before:]
    assert entries["invocation"].nunique() == 1
    assert entries["candidate_key"].nunique() == 2  # both partitions paid something
    assert float(entries["cost_usd"].sum()) <= budget + 1e-9  # never more than the budget
    assert "spent earlier in this run" in str(info.value)


def test_budget_for_subtracts_what_the_same_invocation_spent(
    tmp_path: Path, sim: Simulator
) -> None:
    lab = load_lab(write_lab(tmp_path / "lab", sim, budget=1.0))
    root = UPath(tmp_path / "store")
    keys = [c.key for c in lab.candidates("arith")]

    def spend(invocation: str, cost: float, candidate_key: str = "") -> None:
        entry = ledger.Spend(
            "r", "generations", "p", "sim", "c", "arithmetic", "arith", 1, 1, 1, cost
        )
        entry.invocation, entry.candidate_key = invocation, candidate_key
        ledger.record(root, entry, now=datetime(2026, 1, 1, tzinfo=UTC))

    spend("inv-1", 0.25, keys[0])
    spend("inv-1", 0.125)  # no candidate partition: counts for the experiment
    spend("inv-1", 0.5, "another-candidate")  # not one of the experiment's candidates
    spend("inv-2", 0.5, keys[1])  # another invocation
    budget = ledger.budget_for(
        lab, root, candidate_key=keys[1], dataset="arithmetic", invocation="inv-1"
    )
    assert budget is not None
    assert budget.limit_usd == pytest.approx(0.625)
    assert budget.label == "experiment 'arith' run budget ($1, $0.3750 spent earlier in this run)"
    fresh = ledger.budget_for(
        lab, root, candidate_key=keys[1], dataset="arithmetic", invocation="inv-3"
    )
    assert fresh is not None and fresh.limit_usd == 1.0
    assert fresh.label == "experiment 'arith' run budget"
    # the costs asset counts the same entries the budget does, over every invocation
    assert ledger.per_experiment(ledger.read(root), lab, ["arith"]) == {
        "arith": pytest.approx(0.25 + 0.125 + 0.5)
    }


def test_old_ledger_files_without_the_new_columns_still_read(tmp_path: Path) -> None:
    folder = tmp_path / "ledger" / "2026-01-01"
    folder.mkdir(parents=True)
    (folder / "old.jsonl").write_text(
        '{"ts": "2026-01-01T00:00:00+00:00", "day": "2026-01-01", "run_id": "r", '
        '"asset": "generations", "partition": "p", "model": "m", "candidate": "c", '
        '"dataset": "d", "experiments": "e", "calls": 1, "prompt_tokens": 1, '
        '"completion_tokens": 1, "cost_usd": 0.5}\n'
    )
    frame = ledger.read(UPath(tmp_path))
    assert frame["cost_usd"].tolist() == [0.5]
    assert frame["invocation"].isna().all()


def test_llmlab_run_prints_calls_tokens_per_second_and_cost_per_candidate(
    tmp_path: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_lab(tmp_path / "lab", sim)
    assert main(["run", "--lab", str(root)]) == 0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "cost ($)" in out
    lines = [line for line in out.splitlines() if line.startswith("│") and "on arithmetic" in line]
    assert len(lines) == 2, out
    for line in lines:
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        label, items, cached, calls, speed, cost, paid = cells
        assert label.endswith("on arithmetic")
        assert items == "10" and cached == "0" and calls == "10"
        assert float(speed.replace(",", "")) > 0
        assert float(cost) > 0 and paid == cost
    # again: every answer from the cache, so no call is made and nothing is paid
    assert main(["run", "--lab", str(root)]) == 0
    again = capsys.readouterr().out
    lines = [ln for ln in again.splitlines() if ln.startswith("│") and "on arithmetic" in ln]
    assert len(lines) == 2, again
    for line in lines:
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        _, items, cached, calls, _, cost, paid = cells
        assert (items, cached, calls) == ("10", "10", "0")
        assert float(cost) > 0 and float(paid) == 0


def test_llmlab_run_hides_skipped_partition_warnings_only(
    tmp_path: Path, sim: Simulator, capfd: pytest.CaptureFixture[str]
) -> None:
    root = write_lab(tmp_path / "lab", sim, n=4)
    # a second experiment on another dataset: few_shot@sim x arithmetic_b is used by none
    data = root / "datasets"
    (data / "arithmetic_b.jsonl").write_text((data / "arithmetic.jsonl").read_text())
    (root / "experiments" / "arith_b.yaml").write_text(
        "dataset: arithmetic_b\nprompts: [zero_shot]\nmodels: [sim]\n"
        "metrics: [numeric_match]\n"
    )
    assert main(["run", "--lab", str(root)]) == 0
    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "zero_shot@sim on arithmetic_b" in out
    assert "Couldn't load partition" not in out
    # a real warning still shows: replies cut at max_output_chars
    with dg.instance_for_test() as instance:
        run_lab(
            load_lab(root),
            instance=instance,
            resources={"llm": LLMResource(cache="off", max_output_chars=1)},
        )
    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "WARNING" in out and "were longer than max_output_chars" in out
    assert "Couldn't load partition" not in out


def test_generations_metadata_shows_rounded_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    # a real latency: with none, a p50 under half a millisecond rightly rounds to 0.0
    config = SimulatorConfig(responder=arithmetic_responder, latency_s=0.02)
    with Simulator(config) as sim, dg.instance_for_test() as instance:
        run_lab(load_lab(write_lab(tmp_path / "lab", sim, n=4)), instance=instance, echo=print)
        records = instance.fetch_materializations(dg.AssetKey("generations"), limit=10).records
    assert len(records) == 2
    for record in records:
        assert record.asset_materialization is not None
        shown = {k: v.value for k, v in record.asset_materialization.metadata.items()}
        for key in ("latency_p50_s", "latency_p95_s"):
            assert 0 < shown[key] == round(shown[key], 3)  # to the millisecond
        assert shown["tokens_per_s"] == float(f"{shown['tokens_per_s']:.4g}")
        assert shown["cost_usd"] == float(f"{shown['cost_usd']:.7g}")
