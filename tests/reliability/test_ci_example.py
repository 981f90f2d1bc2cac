"""The shipped CI example keeps secrets away from untrusted code: a lab's metrics/*.py runs in
`llmlab validate`, so a pull request must be validated without secrets, and the paid gate (with
provider and AWS keys) may run only on trusted events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.reliability]
WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "lab-ci" / "llmlab-gate.yml"
REPO = "our-org/our-lab"
LABEL = "run-llmlab-gate"


def pr(action: str, head_repo: str, label: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "action": action,
        "pull_request": {"head": {"repo": {"full_name": head_repo}, "sha": "abc"}},
    }
    if label is not None:
        event["label"] = {"name": label}
    return {"event_name": "pull_request", "repository": REPO, "event": event}


UNTRUSTED = {
    "fork PR opened": pr("opened", "someone/fork"),
    "fork PR pushed to": pr("synchronize", "someone/fork"),
    "fork PR labelled for the gate": pr("labeled", "someone/fork", LABEL),
    "own-branch PR opened": pr("opened", REPO),
    "own-branch PR pushed to": pr("synchronize", REPO),
    "own-branch PR labelled otherwise": pr("labeled", REPO, "docs"),
}
TRUSTED = {
    "push to main": {"event_name": "push", "repository": REPO, "event": {}},
    "workflow_dispatch": {"event_name": "workflow_dispatch", "repository": REPO, "event": {}},
    "own-branch PR labelled for the gate": pr("labeled", REPO, LABEL),
}


def lookup(github: dict[str, Any], path: str) -> Any:
    value: Any = github
    for part in path.split(".")[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def runs(job: dict[str, Any], github: dict[str, Any]) -> bool:
    """Evaluate a job's ``if:`` (the subset of GitHub's expression language it uses)."""
    condition = str(job.get("if", "true")).strip()
    condition = condition.removeprefix("${{").removesuffix("}}")
    allowed = re.fullmatch(r"[\sA-Za-z0-9_.'()=!&|-]*", condition)
    assert allowed, f"unsupported expression: {condition}"
    names: dict[str, Any] = {}

    def name_of(match: re.Match[str]) -> str:
        key = f"v{len(names)}"
        names[key] = lookup(github, match.group(0))
        return key

    python = re.sub(r"\bgithub(?:\.[A-Za-z_][A-Za-z0-9_]*)+", name_of, condition)
    python = python.replace("||", " or ").replace("&&", " and ")
    python = re.sub(r"!(?!=)", " not ", python).replace("true", "True").replace("false", "False")
    return bool(eval(python, {"__builtins__": {}}, names))  # the tested subset above


def uses_secrets(job: dict[str, Any]) -> bool:
    return "secrets." in yaml.safe_dump(job) or job.get("secrets") == "inherit"


def load() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())  # type: ignore[no-any-return]


def test_the_workflow_never_runs_pull_request_code_with_base_privileges() -> None:
    workflow = load()
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    assert workflow.get("permissions") == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(workflow.get("env", {}))


@pytest.mark.parametrize("event", sorted(UNTRUSTED))
def test_untrusted_pull_requests_are_validated_without_secrets(event: str) -> None:
    jobs = load()["jobs"]
    running = {name: job for name, job in jobs.items() if runs(job, UNTRUSTED[event])}
    assert any("llmlab validate" in yaml.safe_dump(job) for job in running.values())
    assert [name for name, job in running.items() if uses_secrets(job)] == []


@pytest.mark.parametrize("event", sorted(TRUSTED))
def test_the_paid_gate_runs_with_secrets_only_on_trusted_events(event: str) -> None:
    jobs = load()["jobs"]
    gates = [
        job
        for job in jobs.values()
        if runs(job, TRUSTED[event]) and "llmlab gate" in yaml.safe_dump(job)
    ]
    assert gates and all(uses_secrets(job) for job in gates)
    assert all(job.get("environment") for job in gates)  # keys in a protected environment
