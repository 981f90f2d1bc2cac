"""Regenerate the sample lab's arithmetic dataset (deterministic: same seed, same file)."""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "lab" / "datasets" / "arithmetic.jsonl"


def main(n: int = 200, seed: int = 20261124) -> None:
    """Write ``n`` single-digit addition and subtraction questions with their answers.

    Single digits: the sample model (Gemma 3 270M, a base model) can learn the format from a few
    examples, which is the effect the sample experiment measures.
    """
    rng = random.Random(seed)
    with OUT.open("w", encoding="utf-8") as fh:
        for index in range(n):
            a, b = rng.randint(1, 9), rng.randint(1, 9)
            op = "+" if index % 2 == 0 else "-"
            if op == "-" and b > a:
                a, b = b, a
            answer = a + b if op == "+" else a - b
            record = {
                "id": f"arith-{index:03d}",
                "question": f"What is {a} {op} {b}?",
                "expression": f"{a} {op} {b}",
                "expected": str(answer),
            }
            fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
