"""Regenerate the sample lab's datasets (deterministic: same seed, same files).

``arithmetic.jsonl``: single-digit sums and differences, in the lab's own format.
``word_problems.jsonl``: our own word problems in GSM8K's published shape (``question``, and
``answer`` a worked solution ending ``#### N``, no id), used unchanged through the sidecar
``word_problems.yaml``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATASETS = Path(__file__).resolve().parent.parent / "lab" / "datasets"
OUT = DATASETS / "arithmetic.jsonl"
WORD_PROBLEMS_OUT = DATASETS / "word_problems.jsonl"

#: (question, worked solution): the last line is GSM8K's ``#### <answer>``
WORD_PROBLEMS = [
    (
        "Lena buys 3 notebooks at $4 each and a pen for $2. How much does she spend?",
        "The notebooks cost 3 * 4 = $12.\nWith the pen she spends 12 + 2 = $14.\n#### 14",
    ),
    (
        "A train carries 145 passengers. At the first stop 38 get off and 27 get on. "
        "How many passengers are on the train now?",
        "145 - 38 = 107 passengers stay on.\n107 + 27 = 134 passengers.\n#### 134",
    ),
    (
        "A garden has 6 rows of 9 tulips. Half of the tulips are red. How many red tulips "
        "are there?",
        "There are 6 * 9 = 54 tulips.\nHalf of them are red: 54 / 2 = 27.\n#### 27",
    ),
    (
        "Omar saves $25 every week. How many weeks does he need to save $1,000?",
        "He needs 1,000 / 25 = 40 weeks.\n#### 40",
    ),
    (
        "A library has 1,250 books. It gives away 180 and buys 75 new ones. How many books "
        "does it have now?",
        "1,250 - 180 = 1,070 books are left.\n1,070 + 75 = 1,145 books.\n#### 1,145",
    ),
    (
        "Two pizzas are cut into 8 slices each. 5 friends eat 3 slices each. How many slices "
        "are left?",
        "There are 2 * 8 = 16 slices.\nThe friends eat 5 * 3 = 15 slices.\n"
        "16 - 15 = 1 slice is left.\n#### 1",
    ),
    (
        "Nina runs 5 km on each of the 5 weekdays and 12 km on Saturday. How many km does she "
        "run in the week?",
        "On weekdays she runs 5 * 5 = 25 km.\nWith Saturday: 25 + 12 = 37 km.\n#### 37",
    ),
    (
        "A shop sells apples at 3 for $2. How much do 18 apples cost?",
        "18 apples are 18 / 3 = 6 groups of 3.\n6 groups cost 6 * 2 = $12.\n#### 12",
    ),
]


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
    write_word_problems()


def write_word_problems() -> None:
    """Write the word problems as GSM8K publishes its files: no id, no ``expected``."""
    with WORD_PROBLEMS_OUT.open("w", encoding="utf-8") as fh:
        for question, answer in WORD_PROBLEMS:
            fh.write(json.dumps({"question": question, "answer": answer}) + "\n")


if __name__ == "__main__":
    main()
