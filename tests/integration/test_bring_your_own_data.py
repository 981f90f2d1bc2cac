"""Published benchmark files dropped into a lab unchanged, with a sidecar of a few lines.

GSM8K (JSON Lines, worked solutions ending ``#### N``, no id), MMLU (a JSON array, ``choices``
and an index answer), SQuAD as Hugging Face ``datasets`` writes Parquet (``answers`` a struct of
lists) and a semicolon CSV with a BOM. A simulated model that replies with the gold answer must
score 100 %, one that says "no idea" 0 %; a one-prompt experiment gets a leaderboard too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.testing import Simulator, SimulatorConfig, gold_responder

GSM8K = [
    ("Tom has 12 marbles and wins 7 more. How many marbles does he have?", "12 + 7 = 19\n#### 19"),
    (
        "A farm sells 1,200 eggs a day. How many eggs does it sell in 3 days?",
        "Each day 1,200 eggs are sold.\nIn 3 days: 1,200 * 3 = 3,600\n#### 3,600",
    ),
    ("Mia reads 15 pages a day for 4 days. How many pages?", "15 * 4 = 60 pages.\n#### 60"),
]
MMLU = [
    ("What is the capital of France?", ["Berlin", "Paris", "Rome", "Madrid"], 1, "B"),
    ("Which planet is closest to the Sun?", ["Mercury", "Venus", "Mars", "Earth"], 0, "(A)"),
    ("What is 2 + 2?", ["3", "5", "4", "22"], 2, "C) 4"),
    ("Which gas do plants take in?", ["Oxygen", "Helium", "Argon", "Carbon dioxide"], 3,
     "The answer is D"),
]
SQUAD = [
    ("Where is the grotto at Notre Dame?", ["a Marian place of prayer", "the Grotto"]),
    ("What sits on top of the Main Building?", ["a golden statue of the Virgin Mary"]),
]
CSV_ROWS = [("Hauptstadt von Frankreich?", "Paris"), ("Hauptstadt von Spanien?", "Madrid")]

SIDECARS = {
    "gsm8k": "id: line\nexpected: \"{{ answer.split('####')[-1] | trim | replace(',', '') }}\"\n",
    "mmlu": "id: hash\nexpected: answer\n",
    "squad": "expected: answers.text\n",
    "fragen": "id: line\nfields: {Frage: question}\nexpected: Antwort\n",
}
METRICS = {
    "gsm8k": "\n  - numeric_match: {extract: final_answer}\n",
    "mmlu": " [multiple_choice]\n",
    "squad": " [exact_match, token_f1]\n",
    "fragen": " [exact_match]\n",
}


def write_published_files(datasets: Path) -> None:
    """Each file in the shape its publisher uses; none of them is edited for the lab."""
    (datasets / "gsm8k.jsonl").write_text(
        "".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in GSM8K)
    )
    mmlu = [
        {"question": q, "subject": "misc", "choices": c, "answer": i} for q, c, i, _ in MMLU
    ]
    (datasets / "mmlu.json").write_text(json.dumps(mmlu, indent=2))
    answers = pa.struct([("text", pa.list_(pa.string())), ("answer_start", pa.list_(pa.int32()))])
    table = pa.table(
        {
            "id": [f"56be85543aeaaa14008c90{i:02d}" for i in range(len(SQUAD))],
            "title": ["Notre_Dame"] * len(SQUAD),
            "context": ["Architecturally, the school has a Catholic character."] * len(SQUAD),
            "question": [q for q, _ in SQUAD],
            "answers": pa.array(
                [{"text": t, "answer_start": [0] * len(t)} for _, t in SQUAD], type=answers
            ),
        }
    )
    pq.write_table(table, datasets / "squad.parquet")
    text = "Frage;Antwort\r\n" + "".join(f"{q};{a}\r\n" for q, a in CSV_ROWS)
    (datasets / "fragen.csv").write_bytes(text.encode("utf-8-sig"))


def gold_replies() -> dict[str, str]:
    """What a perfect model says: the published solution, in the forms people write."""
    replies = {q: a for q, a in GSM8K}
    replies.update({q: form for q, _, _, form in MMLU})
    replies.update({q: texts[-1] for q, texts in SQUAD})
    replies.update(dict(CSV_ROWS))
    return replies


def byod_lab(root: Path, sim: Simulator) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  temperature: 0\n  max_tokens: 200\n  concurrency: 8\n"
    )
    (root / "prompts" / "ask.jinja").write_text("{{ question }}")
    (root / "prompts" / "blank.jinja").write_text("Answer briefly.")
    write_published_files(root / "datasets")
    for name, sidecar in SIDECARS.items():
        (root / "datasets" / f"{name}.yaml").write_text(sidecar)
        (root / "experiments" / f"{name}.yaml").write_text(
            f"dataset: {name}\nprompts: [ask, blank]\nmodels: [sim]\nmetrics:{METRICS[name]}"
        )
    (root / "experiments" / "gsm8k_one_prompt.yaml").write_text(
        "dataset: gsm8k\nprompts: [ask]\nmodels: [sim]\nmetrics:" + METRICS["gsm8k"]
    )
    return root


@pytest.mark.slow
def test_published_files_score_right_with_a_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim")
    with Simulator(SimulatorConfig(responder=gold_responder(gold_replies()))) as sim:
        lab = load_lab(byod_lab(tmp_path / "lab", sim))
        summary = run_lab(lab, echo=lambda _: None)
    for name in SIDECARS:
        board = summary.leaderboards[name].set_index("candidate")
        assert board.loc["ask@sim", "mean"] == 1.0, name
        assert board.loc["blank@sim", "mean"] == 0.0, name
        assert board.loc["ask@sim", "n"] == len(lab.datasets[name].records), name
    one = summary.leaderboards["gsm8k_one_prompt"]
    assert one["candidate"].tolist() == ["ask@sim"]
    assert one["mean"].iloc[0] == 1.0
    assert 0 <= one["ci_low"].iloc[0] <= one["ci_high"].iloc[0] <= 1
