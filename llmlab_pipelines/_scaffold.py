"""``llmlab init``: a small, working lab to start from."""

from __future__ import annotations

import json
import random
from pathlib import Path

MODELS = """\
# Models the lab can call: a litellm model string and how to call it.
# A hosted model is one more entry, e.g.
#   gpt-4o-mini:
#     model: openai/gpt-4o-mini
#     api_key_env: OPENAI_API_KEY   # the NAME of the variable, never the key itself
local:
  model: llmlab/gemma3-270m   # small Gemma 3 base model, run in-process by llama.cpp
  mode: completion
  temperature: 0
  max_tokens: 8
  stop: ["\\n"]
  concurrency: 1
"""

ZERO_SHOT = "Question: {{ question }}\nAnswer:"

FEW_SHOT = """\
2 + 3 = 5
9 - 4 = 5
1 + 6 = 7
8 - 8 = 0
4 + 4 = 8
{{ expression }} ="""

EXPERIMENT = """\
description: Does a few-shot prompt teach the base model to do sums?
dataset: arithmetic
prompts: [zero_shot, few_shot]
models: [local]
metrics: [numeric_match]
baseline: zero_shot@local
"""


def arithmetic_records(n: int, seed: int = 7) -> list[dict[str, object]]:
    """Single-digit sums and differences with their answers."""
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    for index in range(n):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        op = rng.choice("+-")
        expression = f"{a} {op} {b}"
        records.append(
            {
                "id": f"q{index:03d}",
                "question": f"What is {expression}?",
                "expression": expression,
                "expected": str(a + b if op == "+" else a - b),
            }
        )
    return records


def scaffold(target: Path, *, n_items: int = 30) -> list[Path]:
    """Write a new lab into ``target`` (which must be empty or absent); returns the files."""
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty; choose a new folder")
    files = {
        "models.yaml": MODELS,
        "prompts/zero_shot.jinja": ZERO_SHOT,
        "prompts/few_shot.jinja": FEW_SHOT,
        "experiments/arithmetic.yaml": EXPERIMENT,
        "datasets/arithmetic.jsonl": "".join(
            json.dumps(r) + "\n" for r in arithmetic_records(n_items)
        ),
    }
    written = []
    for name, text in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
