"""The optimization loop against the provider simulator, without Dagster."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from optimize_helpers import BEST, coin_responder, make_lab, scripted_optimizer

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.optimize import optimize_experiment, write_winner
from llmlab_pipelines.resources import LLMResource
from llmlab_pipelines.testing import Simulator, SimulatorConfig

pytestmark = pytest.mark.integration
OPT = "  variants: 4\n  rounds: 3\n  keep: 2\n  round_size: 10\n"


def test_the_loop_finds_the_known_best_prompt_and_the_holdout_confirms_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=scripted_optimizer)) as sim:
        lab = load_lab(make_lab(tmp_path / "lab", sim, OPT))
        records = lab.datasets["arithmetic"].records
        saved: list[dict[str, Any]] = []
        run = optimize_experiment(
            lab, "tune", records, LLMResource().engine(), save_state=saved.append
        )
    assert run.confirmed, run.verdict
    assert lab.prompts[run.winner].source == BEST
    assert run.split is not None and run.split.records == 200
    assert f"improvement confirmed on {len(run.split.holdout)} held-out items" in run.verdict
    first = run.rounds[0]
    refused = {p.index + 1: p.refused for p in first.proposals}
    assert refused[1] is None and refused[2] is None
    assert "no TEMPLATE" in str(refused[3]) and "may not see the answer" in str(refused[4])
    assert first.improved
    # round 2 gets the same script: every proposal repeats one already tried -> no improvement
    assert len(run.rounds) == 2 and not run.rounds[1].improved
    assert all(p.refused for p in run.rounds[1].proposals)
    assert saved and saved[-1]["round"] == 2
    assert run.rationales[run.winner].startswith("Drop the distracting sum")
    # held-out items were never used while optimizing
    train_items = set(run.evaluations.query("round <= 2")["item_id"])
    held = set(run.evaluations.query("round == 3")["item_id"])
    assert held and not train_items & held
    report = run.markdown()
    assert "biased upward" in report and "Held-out split" in report


def test_random_variants_are_not_declared_an_improvement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=coin_responder)) as sim:
        lab = load_lab(make_lab(tmp_path / "lab", sim, OPT + "  delta: 0.5\n", 300, True))
        run = optimize_experiment(
            lab, "tune", lab.datasets["arithmetic"].records, LLMResource().engine()
        )
    assert not run.confirmed, run.verdict
    assert run.winner == "seed"


def test_a_killed_optimization_resumes_after_its_last_finished_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=scripted_optimizer)) as sim:
        lab = load_lab(make_lab(tmp_path / "lab", sim, OPT))
        records = lab.datasets["arithmetic"].records
        state: dict[str, Any] = {}

        class Killed(Exception):
            pass

        def die(_: object) -> None:
            raise Killed

        with pytest.raises(Killed):
            optimize_experiment(
                lab,
                "tune",
                records,
                LLMResource().engine(),
                save_state=state.update,
                on_round=die,
            )
        assert state["round"] == 1
        asked = sim.total_requests
        lab = load_lab(tmp_path / "lab")
        run = optimize_experiment(
            lab, "tune", records, LLMResource().engine(), load_state=lambda: dict(state)
        )
        assert run.resumed_from == 1 and run.confirmed
        # round 1's proposals and evaluations were not asked again (round 2 and the held-out
        # test are new)
        new = sim.total_requests - asked
        assert run.split is not None
        assert new <= 4 + len(run.split.train) + len(run.split.holdout) * 2


def test_the_winner_is_written_and_committed_on_a_branch_without_touching_the_checkout(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    (repo / "lab" / "prompts").mkdir(parents=True)
    (repo / "lab" / "prompts" / "seed.jinja").write_text("Q: {{ question }}\n")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lab")
    out = write_winner(repo / "lab", "seed_opt_1", BEST, "Optimized seed\n\nevidence: +0.9")
    assert out.path.read_text() == BEST + "\n"
    assert out.branch == "llmlab/optimize/seed_opt_1"
    assert git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git("status", "--porcelain") == "?? lab/prompts/seed_opt_1.jinja"
    assert git("show", f"{out.branch}:lab/prompts/seed_opt_1.jinja") == BEST
    assert "evidence: +0.9" in git("log", "-1", "--format=%B", out.branch)
