"""The pipeline against the HTTP simulator: cached re-runs call nothing; keys never leak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

SECRET = "sk-llmlab-TOPSECRET-4f9c2a7e81b3d6"
ROOT = Path(__file__).resolve().parents[2]


def sim_lab(tmp_path: Path, sim: Simulator, n: int = 30) -> Path:
    lab = tmp_path / "simlab"
    for folder in ("prompts", "datasets", "experiments"):
        (lab / folder).mkdir(parents=True)
    (lab / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  temperature: 0\n  max_tokens: 8\n  concurrency: 8\n  max_retries: 2\n"
    )
    for name in ("zero_shot", "few_shot"):
        (lab / "prompts" / f"{name}.jinja").write_text(
            (ROOT / "lab" / "prompts" / f"{name}.jinja").read_text()
        )
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:n]
    (lab / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (lab / "experiments" / "arith.yaml").write_text(
        "dataset: arithmetic\nprompts: [zero_shot, few_shot]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: zero_shot@sim\n"
    )
    return lab


def files_containing(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.slow
def test_rerun_calls_nothing_and_the_key_never_leaks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SIM_API_KEY", SECRET)
    config = SimulatorConfig(
        api_key=SECRET, responder=arithmetic_responder, rate_429=0.1, retry_after_s=0.01, seed=3
    )
    with Simulator(config) as sim:
        lab = load_lab(sim_lab(tmp_path, sim))
        first = run_lab(lab, echo=lambda _: None, log_level="DEBUG")
        calls = sim.total_requests
        unique = {  # 2 prompts x 30 items; identical prompts (repeated questions) share a call
            lab.prompts[c.prompt].render(r)
            for c in lab.candidates("arith")
            for r in lab.datasets["arithmetic"].records
        }
        assert len(unique) <= calls <= len(unique) + 20  # plus retries after the 429s
        assert all(sim.successes(p) == 1 for p in unique)
        board = first.leaderboards["arith"].set_index("candidate")
        assert board.loc["few_shot@sim", "mean"] == 1.0  # the simulator answers sums right

        again = run_lab(lab, echo=lambda _: None)
        assert sim.total_requests == calls  # unchanged: zero provider calls
        assert again.leaderboards["arith"]["mean"].tolist() == board["mean"].tolist()

        (Path(lab.root) / "prompts" / "few_shot.jinja").write_text(
            (Path(lab.root) / "prompts" / "few_shot.jinja").read_text() + " "
        )
        edited = load_lab(lab.root)
        run_lab(edited, echo=lambda _: None)
        new_calls = sim.total_requests - calls
        fresh = {
            edited.prompts["few_shot"].render(r) for r in edited.datasets["arithmetic"].records
        }
        # only the edited prompt's items (plus 429 retries)
        assert len(fresh) <= new_calls <= len(fresh) + 10

        monkeypatch.setenv("SIM_API_KEY", SECRET[:-1] + "X")  # a wrong key: errors everywhere
        with pytest.raises(RunFailed, match=r"error rate 100\.0%") as info:
            run_lab(load_lab(lab.root), echo=lambda _: None, cache="refresh")
        assert "auth" in str(info.value) and SECRET[:-1] not in str(info.value)
        assert all(
            h == f"Bearer {SECRET}" or h.startswith("Bearer sk-llmlab")
            for h in sim.authorization_headers
        )

    needle = SECRET.encode()
    assert files_containing(get_settings().home, needle) == []
    assert files_containing(Path(lab.root), needle) == []
    out, err = capfd.readouterr()
    assert SECRET not in out + err and SECRET[:-1] not in out + err
    assert SECRET not in caplog.text
    leaked = json.dumps([r.getMessage() for r in caplog.records])
    assert "TOPSECRET" not in leaked
