"""Judges you can check: a label judge's reasons are stored and shown, its agreement with
human labels (matched on the output text) is reported with intervals, and an agreement check
with nothing to compare is never green."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.metrics import cohen_kappa_score

from llmlab_pipelines.assets.judges import agreement_floor_check
from llmlab_pipelines.judges import AGREEMENT_COLUMNS, unmeasured_judges
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

ROOT = Path(__file__).resolve().parents[2]
RECORDS = [
    json.loads(line)
    for line in (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:16]
]
GARBAGE = RECORDS[2]["id"]  # the judge never gives a usable reply on this item
HUMANS_DISAGREE = {RECORDS[4]["id"], RECORDS[7]["id"]}
JUDGE = re.compile(r"Item: (\S+)\nExpected: (.*)\nResponse: (.*)\nDoes it state")


def candidate(prompt: str) -> str:
    """Right, except when the right answer is a multiple of 3 (then one too many)."""
    right = arithmetic_responder(prompt)
    return str(int(right) + 1) if right.lstrip("-").isdigit() and int(right) % 3 == 0 else right


def responder(prompt: str) -> str:
    judged = JUDGE.search(prompt)
    if judged is None:
        return candidate(prompt)
    item, expected, response = judged.groups()
    if item == GARBAGE:
        return "maybe, hard to say"
    if response.strip() == expected.strip():
        return f"yes - it says {expected}."
    return f'no - "{response}" is not "{expected}".'


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=responder)) as sim:
        yield sim


def output_of(record: dict[str, str]) -> str:
    return candidate(f"Question: {record['question']}\nAnswer:")


def write_lab(root: Path, sim: Simulator, labels: bool = True) -> Path:
    files = {
        "models.yaml": f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n"
        "  api_key_env: SIM_API_KEY\n  temperature: 0\n  max_tokens: 32\n  max_retries: 0\n",
        "prompts/plain.jinja": "Question: {{ question }}\nAnswer:",
        "prompts/terse.jinja": "Question: {{ question }}\nA:",
        "datasets/arithmetic.jsonl": "".join(json.dumps(r) + "\n" for r in RECORDS),
        "judges/states.yaml": "model: sim\ndimensions: [states]\n"
        "rubrics: {states: Does the response state the expected answer}\n"
        'labels: {"yes": 1, "no": 0}\ntemplate: states.jinja\nreference: always\n'
        "max_parse_failure_rate: 0.5\n",
        "judges/states.jinja": "Item: {{ id }}\nExpected: {{ expected }}\n"
        "Response: {{ output | trim }}\nDoes it state the expected answer?\nA:",
        "datasets/unjudged.jsonl": "".join(json.dumps(r) + "\n" for r in RECORDS[:4]),
        "experiments/unjudged.yaml": "dataset: unjudged\nprompts: [plain, terse]\n"
        "models: [sim]\nmetrics: [contains]\n",
        "experiments/sums.yaml": "dataset: arithmetic\nprompts: [plain, terse]\nmodels: [sim]\n"
        "metrics: [states, contains, numeric_match]\njudges: [states]\n",
    }
    if labels:  # a person read the first 12 outputs (and one output that never occurs)
        rows = [
            {
                "id": r["id"],
                "output": output_of(r),
                "human_states": "yes"
                if (output_of(r) == str(r["expected"])) != (r["id"] in HUMANS_DISAGREE)
                else "no",
            }
            for r in RECORDS[:12]
        ]
        rows.append({"id": RECORDS[12]["id"], "output": "999", "human_states": "yes"})
        files["labels/arithmetic.jsonl"] = "".join(json.dumps(r) + "\n" for r in rows)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def artifact(asset: str, *parts: str) -> Path:
    matches = [
        p
        for p in (Path(get_settings().artifacts) / asset).rglob("*")
        if p.is_file() and all(part in str(p) for part in parts)
    ]
    assert len(matches) == 1, (parts, matches)
    return matches[0]


@pytest.mark.integration
def test_reasons_and_human_agreement_end_to_end(tmp_path: Path, simulator: Simulator) -> None:
    lab = load_lab(write_lab(tmp_path / "lab", simulator))
    with dg.instance_for_test() as instance:
        summary = run_lab(lab, instance=instance, echo=lambda _: None)
    keys = [c.key for c in lab.candidates("sums")]
    verdicts = {
        k: pd.read_parquet(artifact("judge_scores", k, "arithmetic")).set_index("item_id")
        for k in keys
    }
    scores = {
        k: pd.read_parquet(artifact("scores", k, "arithmetic")).set_index("item_id") for k in keys
    }
    for r in RECORDS:
        row = verdicts[keys[0]].loc[r["id"]]
        if r["id"] == GARBAGE:  # still a parse failure, with the reply's first word named
            assert row["failure"] == "parse" and "got 'maybe,'" in row["error"]
            continue
        right = output_of(r) == str(r["expected"])
        assert row["raw"] == float(right)
        assert row["reason"] == (  # the reason, not the label
            f"it says {r['expected']}." if right else f'"{output_of(r)}" is not "{r["expected"]}".'
        )
    first = RECORDS[0]["id"]
    assert scores[keys[0]].loc[first, "states_reason"] == verdicts[keys[0]].loc[first, "reason"]
    assert (
        scores[keys[0]]
        .loc[GARBAGE, "states_reason"]
        .startswith("no verdict (parse: expected one of")
    )

    # agreement with the humans: the 11 labelled outputs the judge gave a verdict on, for
    # each candidate (both gave the same texts, so the labels count for both)
    labelled = sorted({r["id"] for r in RECORDS[:12]} - {GARBAGE})
    judge = [verdicts[k].loc[i, "raw"] for k in keys for i in labelled]
    human = [j if i not in HUMANS_DISAGREE else 1 - j
             for i, j in zip(labelled * 2, judge, strict=True)]  # fmt: skip
    kappa = cohen_kappa_score(judge, human)
    labelled_all = [r["id"] for r in RECORDS[:12]]
    human_of = {
        r["id"]: float((output_of(r) == str(r["expected"])) != (r["id"] in HUMANS_DISAGREE))
        for r in RECORDS[:12]
    }
    table = pd.read_parquet(artifact("judge_agreement", "arithmetic"))
    assert list(table.columns) == AGREEMENT_COLUMNS
    row = table[table["humans"]].iloc[0]
    assert row["n_items"] == 22 and row["cohen_kappa"] == pytest.approx(kappa, abs=1e-12)
    assert row["kappa_low"] < row["cohen_kappa"] < row["kappa_high"]
    assert row["alpha_low"] < row["krippendorff_alpha"] < row["alpha_high"]
    # measured here; on the dataset no judge scores, a warning saying so, never green
    checks = summary.check("judge_agreement_floor")
    assert len(checks) == 2
    check = next(c for c in checks if c.metadata["measured_groups"].value)
    assert "not measured" not in (check.description or "")
    (unjudged,) = [c for c in checks if c is not check]
    assert not unjudged.passed and unjudged.severity == dg.AssetCheckSeverity.WARN
    assert "no judge scores outputs on this dataset" in (unjudged.description or "")

    # the report: agreement with people, and the judge against `contains`
    report = artifact("reports", "sums", "report.md").read_text()
    assert "**Agreement with people** (lab/labels/arithmetic.jsonl)" in report
    assert f"| states | states | 22 | {kappa:.3f} [" in report
    # and `contains` against the same labels, for comparison (every labelled output has one)
    contains = [scores[k].loc[i, "contains"] for k in keys for i in labelled_all]
    people = [human_of[i] for _ in keys for i in labelled_all]
    assert f"| contains | states | 24 | {cohen_kappa_score(contains, people):.3f} [" in report
    said = pd.concat([verdicts[k].join(scores[k]["contains"]) for k in keys])
    said = said[said["failure"].isna()]
    cells = [
        int(((said["raw"] == j) & (said["contains"] == m)).sum())
        for j, m in ((1, 1), (1, 0), (0, 1), (0, 0))
    ]
    agree = (cells[0] + cells[3]) / len(said)
    assert f"| states | contains | 32 | {' | '.join(map(str, cells))} | 2 | {agree:.3f} |" in report

    # MLflow's per-item table carries the judge's reason
    client = MlflowClient(get_settings().mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("sums").experiment_id])
    run = next(r for r in runs if "states_mean" in r.data.metrics)
    items = json.loads(Path(client.download_artifacts(run.info.run_id, "items.json")).read_text())
    assert "states_reason" in items["columns"]
    reasons = [row[items["columns"].index("states_reason")] for row in items["data"]]
    assert set(reasons) == set(scores[keys[0]]["states_reason"])


def test_an_agreement_check_with_nothing_to_compare_is_not_green(
    tmp_path: Path, simulator: Simulator
) -> None:
    lab = load_lab(write_lab(tmp_path / "lab", simulator, labels=False))
    empty = pd.DataFrame([], columns=AGREEMENT_COLUMNS)
    why = unmeasured_judges(lab, "arithmetic", empty)
    assert why == {
        "states": "nothing to compare it with: one verdict per output (repeats: 1) and no "
        "human labels (labels/arithmetic.jsonl)"
    }
    check = agreement_floor_check(empty, why)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "states: not measured: nothing to compare it with" in (check.description or "")
    # labels that match none of the judged outputs: still nothing measured, and it says so
    labelled = load_lab(write_lab(tmp_path / "lab2", simulator))
    why = unmeasured_judges(labelled, "arithmetic", empty)
    assert why["states"].startswith("no output a person labelled in lab2/labels/arithmetic.jsonl")
    # no judge at all on the dataset: a warning too, never a green "nothing to compare"
    none = agreement_floor_check(empty, {})
    assert not none.passed and "nothing to compare" in (none.description or "")
