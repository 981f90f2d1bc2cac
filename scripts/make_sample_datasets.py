"""Regenerate the sample lab's arithmetic dataset (deterministic: same seed, same file)."""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "lab" / "datasets" / "arithmetic.jsonl"


def facts() -> tuple[list[tuple[int, str, int]], list[tuple[int, str, int]]]:
    """The 100 single-digit addition facts and the 100 subtraction facts that undo them.

    ``a + b`` for a, b in 0..9, and ``(a + b) - b``: every addend, subtrahend and difference
    is a single digit, and no two questions are the same.
    """
    digits = range(10)
    additions = [(a, "+", b) for a in digits for b in digits]
    subtractions = [(a + b, "-", b) for a in digits for b in digits]
    return additions, subtractions


def main(seed: int = 20261204) -> None:
    """Write the 200 facts in a seeded random order, alternating sums and differences.

    Single digits: the sample model (Gemma 3 270M, a base model) can learn the format from a few
    examples, which is the effect the sample experiment measures.
    """
    rng = random.Random(seed)
    additions, subtractions = facts()
    rng.shuffle(additions)
    rng.shuffle(subtractions)
    questions = [q for pair in zip(additions, subtractions, strict=True) for q in pair]
    with OUT.open("w", encoding="utf-8") as fh:
        for index, (a, op, b) in enumerate(questions):
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
