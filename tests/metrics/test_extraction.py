"""Answer extraction, metric options, multiple choice and any-of expected answers."""

from __future__ import annotations

import pandas as pd
import pytest

from llmlab_pipelines.metrics import (
    METRICS,
    MetricOptionError,
    configure_metric,
    entry_parts,
    final_answer,
    multiple_choice,
    numbers,
    score_frame,
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("1,234 apples", ["1234"]),
        ("It costs $18.", ["18"]),
        ("-0.5 and 18.", ["-0.5", "18"]),
        ("12 - 5 = 7", ["12", "5", "7"]),  # a minus between numbers is no sign
        ("pages 3-4", ["3", "4"]),
        ("-$18 or \u221218", ["-18", "-18"]),
        ("1,2345", ["1", "2345"]),
        ("2.5e1 and .5", ["2.5e1", ".5"]),
        ("no number", []),
    ],
)
def test_numbers_are_read_as_people_write_them(text: str, found: list[str]) -> None:
    assert numbers(text) == found


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("Ann has 3 and buys 4, so 3 + 4 = 7. So the answer is 7.", "7"),
        ("48 / 2 = 24\n#### 1,166\n", "1,166"),
        ("We get \\boxed{18} in the end, not 20", "18"),
        ("The final answer: $18", "$18"),
        ("First 5, then 9, then 12", "12"),
        ("no idea", None),
        ("So the answer is 20 - 3 = 17.", "17"),
        ("The answer is 4 * 5 - 3 = 17 apples.", "17 apples"),
        ("The answer is 17.\n\nQ: Tom has 5 pens.\nA: 5 + 5 = 10. The answer is 10.", "17"),
        ("\\boxed{7} and then \\boxed{9}", "7"),
    ],
)
def test_final_answer_reads_the_conclusion(reply: str, answer: str | None) -> None:
    assert final_answer(reply) == answer


def scorer(entry: object):  # type: ignore[no-untyped-def]
    column, name, options = entry_parts(entry)
    return configure_metric(column, METRICS[name], options)


@pytest.mark.parametrize(
    ("extract", "reply", "score"),
    [
        ("first", "18 is wrong, 20 is", 0.0),
        ("last", "18 is wrong, 20 is", 1.0),
        ("final_answer", "5 + 15 = 20. The answer is 20.", 1.0),
        ("final_answer", "She pays $20 in total.", 1.0),
        ("final_answer", "2 * 10 = 20\n#### 20", 1.0),
        ("regex:total: (\\d+)", "step 18, total: 20, then 5", 1.0),
        ("regex:total: (\\d+)", "no total here 20", 0.0),
        ("last", "no idea", 0.0),
    ],
)
def test_numeric_match_with_extract(extract: str, reply: str, score: float) -> None:
    metric = scorer({"numeric_match": {"extract": extract}})
    assert metric.name == "numeric_match"
    assert metric.fn(reply, "20", {}) == score


def test_an_entry_may_name_its_column() -> None:
    metric = scorer({"exact_match": {"extract": "final_answer", "name": "em_final"}})
    assert metric.name == "em_final"
    assert metric.fn("Let me think. The answer is Paris.", "paris", {}) == 1.0
    assert dict(metric.options) == {"metric": "exact_match", "extract": "final_answer"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"numeric_match": {"extract": "middle"}}, "extract: unknown kind 'middle' (known: first"),
        ({"numeric_match": {"extract": "regex:(unclosed"}}, "does not compile"),
        ({"numeric_match": {"extarct": "last"}}, "unknown option 'extarct' (options: extract"),
        ({"length": {"extract": "last"}}, "length: unknown option 'extract' (it takes only name)"),
        ({"numeric_match": {"extract": 3}}, "extract: give one kind as text"),
    ],
)
def test_bad_options_say_what_is_allowed(entry: object, message: str) -> None:
    with pytest.raises(MetricOptionError) as info:
        scorer(entry)
    assert message in str(info.value)


def test_an_entry_must_be_a_name_or_one_name_with_options() -> None:
    with pytest.raises(MetricOptionError, match="one name with its options"):
        entry_parts({"a": {}, "b": {}})


MMLU = {"question": "Capital of France?", "choices": ["Berlin", "Paris", "Rome", "Madrid"]}


@pytest.mark.parametrize(
    "reply",
    ["B", "(B)", "B) Paris", "B. Paris", "The answer is B", "the answer is (b).", "Paris", "[B]",
     "I think it is B because Paris is the capital."],
)
@pytest.mark.parametrize("expected", [1, "1", "B", "Paris"])
def test_multiple_choice_whatever_the_form(reply: str, expected: object) -> None:
    assert METRICS["multiple_choice"].fn(reply, expected, MMLU) == 1.0


@pytest.mark.parametrize(
    "reply", ["A", "(C) Rome", "The answer is D", "no idea", "B or C", "The answer is a city"]
)
def test_multiple_choice_wrong_or_unclear_replies_score_zero(reply: str) -> None:
    assert multiple_choice(reply, "B", MMLU) == 0.0


def test_multiple_choice_arc_labels_and_bad_expected() -> None:
    arc = {"choices": {"text": ["dry", "wet"], "label": ["1", "2"]}}
    assert multiple_choice("2", "2", arc) == 1.0
    assert multiple_choice("The answer is 1", "2", arc) == 0.0
    with pytest.raises(ValueError, match="expected 'E' is none of the choices"):
        multiple_choice("A", "E", MMLU)
    with pytest.raises(ValueError, match="needs a field 'choices'"):
        multiple_choice("A", "A", {})


@pytest.mark.parametrize(
    ("name", "reply", "score"),
    [
        ("exact_match", "the grotto", 1.0),
        ("contains", "It is a Marian place of prayer.", 1.0),
        ("token_f1", "grotto", 1.0),
        ("exact_match", "no idea", 0.0),
    ],
)
def test_a_list_of_expected_answers_is_any_of(name: str, reply: str, score: float) -> None:
    gold = ["a Marian place of prayer", "the grotto", "grotto"]
    assert METRICS[name].fn(reply, gold, {}) == score


def test_score_frame_with_a_configured_metric_and_any_of() -> None:
    generations = pd.DataFrame(
        {"item_id": ["a", "b"], "output": ["3 + 4 = 7. The answer is 7.", "I'd say 12"]}
    )
    records = [{"id": "a", "expected": "7"}, {"id": "b", "expected": ["11", "12"]}]
    registry = {**METRICS, "numeric_match": scorer({"numeric_match": {"extract": "last"}})}
    out = score_frame(generations, records, ["numeric_match"], registry)
    assert out["numeric_match"].tolist() == [1.0, 1.0]
    assert out["expected"].tolist() == ["7", '["11", "12"]']
