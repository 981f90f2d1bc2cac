"""A lab and a scripted optimizer for the optimization tests."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from llmlab_pipelines.testing import Simulator, arithmetic_responder

ROOT = Path(__file__).resolve().parents[2]
SEED = "Question: {{ question }}\nFirst work out 0 + 0.\nAnswer:"  # answers 0: mostly wrong
BEST = "Question: {{ question }}\nAnswer:"  # the simulator then answers the sum: all right

SCRIPT = {
    1: "Drop the distracting sum so the model answers the question.\nTEMPLATE:\n"
    + BEST
    + "\n### END",
    2: "Add a second sum for practice.\nTEMPLATE:\nQuestion: {{ question }} Also 5 + 5?\n"
    "Answer:\n### END",
    3: "I think the prompt is fine as it is.",  # no template: refused
    4: "Show the answer as a hint.\nTEMPLATE:\nQ: {{ question }} (hint: {{ expected }})\n"
    "A:\n### END",  # reads the answer: refused
}


def scripted_optimizer(prompt: str) -> str:
    """Optimizer replies by proposal number; task prompts are answered like arithmetic."""
    found = re.search(r"write improved template number (\d+)", prompt)
    if found:
        return SCRIPT.get(int(found.group(1)), "no idea")
    return arithmetic_responder(prompt)


def coin_responder(prompt: str) -> str:
    """Right half of the time, decided by a hash of the prompt: every variant is as good as
    the seed, and any variant's lead on the training split is luck."""
    found = re.search(r"write improved template number (\d+)", prompt)
    if found:
        salt = hashlib.sha256(prompt.encode()).hexdigest()[:6]
        return (
            f"Reword it (variant {salt}).\nTEMPLATE:\nQuestion ({salt}, #{found.group(1)}): "
            "{{ question }}\nAnswer:\n### END"
        )
    right = int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 2 == 0
    question = re.search(r"What is ([^?]+)\?", prompt)  # the item's own sum, whatever else
    return arithmetic_responder(question.group(1)) if right and question else "-1"


def distinct_sums(n: int) -> str:
    """``n`` items with distinct questions (the sample set repeats some: 95 distinct of 200)."""
    rows = [
        json.dumps(
            {"id": f"s{k:04d}", "question": f"What is {k} + {k % 7}?", "expected": str(k + k % 7)}
        )
        for k in range(n)
    ]
    return "\n".join(rows) + "\n"


def repeated_sums(records: int, distinct: int) -> str:
    """``records`` items cycling through ``distinct`` questions, each with its own id."""
    rows = [
        json.dumps(
            {
                "id": f"r{k:04d}",
                "question": f"What is {k % distinct} + {k % distinct % 7}?",
                "expected": str(k % distinct + k % distinct % 7),
            }
        )
        for k in range(records)
    ]
    return "\n".join(rows) + "\n"


RUBRIC = "Is the number in the response exactly the reference answer? (marker 7f3a)"


def judged_responder(prompt: str) -> str:
    """A yes/no judge comparing the response's number with the reference; else like
    :func:`scripted_optimizer`."""
    if "impartial grader" in prompt:
        response = re.search(r"<response>\n(.*?)\n</response>", prompt, re.S)
        reference = re.search(r"<reference>\n(.*?)\n</reference>", prompt, re.S)
        same = bool(response and reference and response.group(1).strip() == reference.group(1))
        return "yes" if same else "no"
    return scripted_optimizer(prompt)


def make_lab(
    root: Path,
    sim: Simulator,
    optimize: str,
    items: int = 200,
    distinct: bool = False,
    dataset: str | None = None,
    judged: bool = False,
) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  max_tokens: 8\n  concurrency: 16\n"
    )
    (root / "prompts" / "seed.jinja").write_text(SEED)
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:items]
    (root / "datasets" / "arithmetic.jsonl").write_text(
        dataset or (distinct_sums(items) if distinct else "\n".join(lines) + "\n")
    )
    metrics = "[numeric_match]"
    if judged:  # the primary metric is a yes/no judge with its own rubric
        (root / "judges").mkdir(exist_ok=True)
        (root / "judges" / "exact.yaml").write_text(
            f"model: sim\ndimensions: [exact]\nrubrics:\n  exact: {RUBRIC!r}\n"
            'labels: {"yes": 1, "no": 0}\n'
        )
        metrics = "[exact]\njudges: [exact]"
    (root / "experiments" / "tune.yaml").write_text(
        f"dataset: arithmetic\nprompts: [seed]\nmodels: [sim]\nmetrics: {metrics}\n"
        f"mode: optimize\noptimize:\n{optimize}"
    )
    return root
