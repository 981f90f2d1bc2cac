"""Published files kept as they are, mapped by a sidecar: ids, expected answers, renames."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmlab_pipelines.lab import Dataset, LabError

GSM8K = [
    {"question": "Ann has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
    {"question": "A box holds 1,200 pens; 34 are sold.", "answer": "1200 - 34 = 1166\n#### 1,166"},
]
GSM8K_SIDECAR = "id: line\nexpected: \"{{ answer.split('####')[-1] | trim | replace(',', '') }}\"\n"


def dataset(folder: Path, name: str, data: str | bytes, sidecar: str | None = None) -> Dataset:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    if sidecar is not None:
        path.with_suffix(".yaml").write_text(sidecar, encoding="utf-8")
    return Dataset(path.stem, path, f"lab/datasets/{name}")


def jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def problems(data: Dataset) -> str:
    with pytest.raises(LabError) as info:
        _ = data.records
    return str(info.value)


def test_a_gsm8k_file_gets_line_ids_and_the_final_number(tmp_path: Path) -> None:
    data = dataset(tmp_path, "gsm.jsonl", jsonl(GSM8K), GSM8K_SIDECAR)
    assert [(r["id"], r["expected"]) for r in data.records] == [("1", "7"), ("2", "1166")]
    assert data.records[0]["question"] == GSM8K[0]["question"]  # the rest as published
    assert data.line_of("2") == 2


def test_without_a_sidecar_the_missing_id_is_one_problem_naming_the_fix(tmp_path: Path) -> None:
    text = problems(dataset(tmp_path, "gsm.jsonl", jsonl(GSM8K * 20)))
    assert text.count("has an 'id'") == 1
    assert "lab/datasets/gsm.jsonl:1: no record has an 'id' (fields: question, answer)" in text
    assert "lab/datasets/gsm.yaml: `id: line`" in text
    assert "`id: hash`" in text


def test_hash_ids_follow_the_content_and_field_ids_are_read(tmp_path: Path) -> None:
    rows = [{"qid": "a1", "q": "x"}, {"qid": "b2", "q": "y"}]
    by_hash = dataset(tmp_path / "h", "d.jsonl", jsonl(rows), "id: hash\n").records
    moved = dataset(tmp_path / "m", "d.jsonl", jsonl(rows[::-1]), "id: hash\n").records
    assert {r["id"] for r in by_hash} == {r["id"] for r in moved}
    assert len(by_hash[0]["id"]) == 12
    by_field = dataset(tmp_path / "f", "d.jsonl", jsonl(rows), "id: qid\n").records
    assert [r["id"] for r in by_field] == ["a1", "b2"]


def test_repeated_records_under_hash_ids_name_the_line_fix(tmp_path: Path) -> None:
    rows = [{"q": "x"}, {"q": "y"}, {"q": "x"}]
    text = problems(dataset(tmp_path, "d.jsonl", jsonl(rows), "id: hash\n"))
    assert "d.jsonl:3: duplicate id" in text and "(first on line 1)" in text
    assert "use `id: line` in lab/datasets/d.yaml" in text
    # under `id: line` the same file loads, each repeat its own item
    assert len(dataset(tmp_path / "l", "d.jsonl", jsonl(rows), "id: line\n").records) == 3


def test_a_missing_id_field_names_the_sidecar(tmp_path: Path) -> None:
    text = problems(dataset(tmp_path, "d.jsonl", jsonl([{"q": "x"}]), "id: qid\n"))
    assert "d.jsonl:1: record has no 'qid' (the id field lab/datasets/d.yaml names)" in text


def test_renames_filter_and_limit(tmp_path: Path) -> None:
    rows = [{"n": i, "problem": f"q{i}", "level": "easy" if i % 2 else "hard"} for i in range(9)]
    sidecar = (
        "id: n\nfields: {problem: question}\nfilter: \"level == 'easy'\"\nlimit: 3\n"
        "expected: '{{ n * 2 }}'\n"
    )
    records = dataset(tmp_path, "d.jsonl", jsonl(rows), sidecar).records
    assert [(r["id"], r["question"], r["expected"]) for r in records] == [
        ("1", "q1", 2),
        ("3", "q3", 6),
        ("5", "q5", 10),
    ]
    assert "problem" not in records[0]


def test_expected_lists_are_any_of_answers(tmp_path: Path) -> None:
    rows = [{"id": 1, "a": "Paris", "b": "paris, France", "more": ["Lutetia"]}]
    sidecar = "expected: [a, b, more]\n"
    assert dataset(tmp_path, "d.jsonl", jsonl(rows), sidecar).records[0]["expected"] == [
        "Paris",
        "paris, France",
        "Lutetia",
    ]


def test_a_json_array_and_a_tsv_load(tmp_path: Path) -> None:
    rows = [{"id": "a", "q": "x"}, {"id": "b", "q": "y"}]
    assert dataset(tmp_path, "d.json", json.dumps(rows)).records == rows
    assert dataset(tmp_path / "l", "d.json", jsonl(rows)).records == rows  # datasets.to_json
    tsv = dataset(tmp_path, "t.tsv", "id\tq\na\tx, with a comma\n").records
    assert tsv == [{"id": "a", "q": "x, with a comma"}]


def test_a_json_file_holding_one_object_is_refused_with_the_formats(tmp_path: Path) -> None:
    text = problems(dataset(tmp_path, "squad.json", json.dumps({"data": [{"a": 1}]}, indent=2)))
    assert "lab/datasets/squad.json:1: the file is one JSON object, not records" in text


def test_a_semicolon_csv_with_a_bom_and_no_id_loads_through_a_sidecar(tmp_path: Path) -> None:
    data = "\ufeffFrage;Antwort\nHauptstadt von Frankreich?;Paris\nHauptstadt von Spanien?;Madrid\n"
    sidecar = "id: line\nfields: {Frage: question}\nexpected: Antwort\n"
    records = dataset(tmp_path, "de.csv", data.encode(), sidecar).records
    assert [(r["id"], r["question"], r["expected"]) for r in records] == [
        ("2", "Hauptstadt von Frankreich?", "Paris"),
        ("3", "Hauptstadt von Spanien?", "Madrid"),
    ]


def test_a_csv_without_ids_names_its_columns_and_the_fix(tmp_path: Path) -> None:
    text = problems(dataset(tmp_path, "d.csv", "\ufeffq;a\nx;1\n".encode()))
    assert "d.csv:1: the header has no 'id' column (columns: 'q', 'a'); give" in text
    assert "lab/datasets/d.yaml" in text


def squad_parquet(path: Path) -> None:
    """The shape Hugging Face ``datasets`` writes for SQuAD: ``answers`` a struct of lists."""
    answers = pa.struct([("text", pa.list_(pa.string())), ("answer_start", pa.list_(pa.int32()))])
    table = pa.table(
        {
            "id": ["5733be284776f41900661182", "5733be284776f4190066117f"],
            "question": ["Where is the grotto?", "What sits on the main building?"],
            "answers": pa.array(
                [
                    {"text": ["a Marian place of prayer", "the grotto"], "answer_start": [1, 2]},
                    {"text": ["a golden statue"], "answer_start": [3]},
                ],
                type=answers,
            ),
        }
    )
    pq.write_table(table, path)


@pytest.mark.parametrize("expected", ["answers.text", "'{{ answers.text }}'"])
def test_parquet_nested_columns_reach_expected(tmp_path: Path, expected: str) -> None:
    tmp_path.mkdir(exist_ok=True)
    squad_parquet(tmp_path / "squad.parquet")
    (tmp_path / "squad.yaml").write_text(f"expected: {expected}\n")
    data = Dataset("squad", tmp_path / "squad.parquet", "lab/datasets/squad.parquet")
    assert [r["expected"] for r in data.records] == [
        ["a Marian place of prayer", "the grotto"],
        ["a golden statue"],
    ]
    assert data.records[0]["answers"]["answer_start"] == [1, 2]  # the record as published


def test_sidecar_problems_have_file_line_and_key(tmp_path: Path) -> None:
    sidecar = "id: line\nexpectd: answer\nlimit: 0\nfields: {question: item}\n"
    text = problems(dataset(tmp_path, "gsm.jsonl", jsonl(GSM8K), sidecar))
    assert "lab/datasets/gsm.yaml:2: expectd: unknown key (allowed: id, expected, fields" in text
    assert "lab/datasets/gsm.yaml:3: limit: Input should be greater than 0" in text
    assert "lab/datasets/gsm.yaml:4: fields: question: 'item' can't name a field" in text


def test_a_jinja_syntax_error_is_located(tmp_path: Path) -> None:
    text = problems(dataset(tmp_path, "g.jsonl", jsonl(GSM8K), "id: line\nexpected: '{{ a | }}'\n"))
    assert "lab/datasets/g.yaml:2: expected: Jinja syntax error" in text


def test_an_expression_failing_on_a_record_names_the_record(tmp_path: Path) -> None:
    rows = [{"answer": "#### 1"}, {"solution": "#### 2"}]
    sidecar = "id: line\nexpected: \"{{ answer.split('####')[-1] }}\"\n"
    text = problems(dataset(tmp_path, "g.jsonl", jsonl(rows), sidecar))
    assert "lab/datasets/g.yaml:2: expected: the record on line 2 of lab/datasets/g.jsonl" in text
    assert "'answer' is undefined" in text


def test_expressions_are_sandboxed(tmp_path: Path) -> None:
    sidecar = "id: line\nexpected: '{{ answer.__class__.__mro__ }}'\n"
    text = problems(dataset(tmp_path, "g.jsonl", jsonl(GSM8K), sidecar))
    assert "expected: the record on line 1" in text
    assert "refused by the sandbox: access to attribute '__class__'" in text


@pytest.mark.parametrize("key", ["expected", "filter"])
def test_a_runaway_expression_is_stopped_like_a_prompt_render(tmp_path: Path, key: str) -> None:
    loops = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    sidecar = f"id: line\n{key}: '{loops}{{{{ answer }}}}'\n"
    text = problems(dataset(tmp_path, "g.jsonl", jsonl(GSM8K), sidecar))
    assert f"{key}: the record on line 1" in text
    assert "still rendering after" in text


def test_a_missing_renamed_field_is_reported(tmp_path: Path) -> None:
    text = problems(dataset(tmp_path, "g.jsonl", jsonl(GSM8K), "id: line\nfields: {q: input}\n"))
    assert "lab/datasets/g.yaml:2: fields.q: the record on line 1 of" in text
    assert "has no 'q' (fields: question, answer)" in text


def test_the_digest_covers_the_sidecar(tmp_path: Path) -> None:
    data = dataset(tmp_path, "gsm.jsonl", jsonl(GSM8K))
    plain = hashlib.sha256(data.path.read_bytes()).hexdigest()
    assert data.digest() == plain  # a lab without sidecars keeps its fingerprints
    (tmp_path / "gsm.yaml").write_text("id: line\n")
    with_sidecar = data.digest()
    (tmp_path / "gsm.yaml").write_text("id: line\nlimit: 1\n")
    assert len({data.digest(), with_sidecar, plain}) == 3
