"""Hostile and careless labs: each is refused (or contained) with its file and line or key, in
bounded time and memory. The figures printed with ``-s`` feed the README's reliability table."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import pytest
import yaml

from llmlab_pipelines.lab import LabError, TemplateRenderError, load_lab
from llmlab_pipelines.metrics import score_frame

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]

DATA = "".join(
    json.dumps({"id": f"i{k}", "question": f"q{k}", "expected": "a"}) + "\n" for k in range(3)
)


def make_lab(tmp: Path, **files: str) -> Path:
    """A valid lab, with ``files`` (path relative to the lab -> text) written over it."""
    root = tmp / "lab"
    base = {
        "models.yaml": "m:\n  model: openai/m\n  api_key_env: M_KEY\n",
        "prompts/p.jinja": "Q: {{ question }}\nA:",
        "datasets/d.jsonl": DATA,
        "experiments/e.yaml": "dataset: d\nprompts: [p]\nmodels: [m]\nmetrics: [exact_match]\n",
    }
    for name, text in {**base, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def refusal(root: Path) -> str:
    with pytest.raises(LabError) as info:
        load_lab(root)
    return str(info.value)


CHILD = """
import json, resource, sys, time
t = time.perf_counter()
from llmlab_pipelines.lab import LabError, load_lab
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    load_lab(sys.argv[1])
    out = {"outcome": "ok"}
except LabError as exc:
    out = {"outcome": "refused", "error": str(exc)}
out["seconds"] = time.perf_counter() - t
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["import_mib"] = base / 1024
print(json.dumps(out))
"""


def run_child(
    script: str, root: Path, *, what: str, memory_gib: float, timeout: float
) -> dict[str, Any]:
    """Run ``script`` on ``root`` in a fresh process capped at ``memory_gib`` of address space;
    the JSON its last line of output holds."""

    def cap() -> None:
        limit = int(memory_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"the {what} crashed:\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def load_in_child(root: Path, *, memory_gib: float = 2.0, timeout: float = 120) -> dict[str, Any]:
    """Load a lab in a fresh process capped at ``memory_gib`` of address space; its outcome,
    seconds to the outcome and peak RSS (MiB, imports included)."""
    result = run_child(CHILD, root, what="loader", memory_gib=memory_gib, timeout=timeout)
    print(f"\n{root.name}: {result}")
    return result


# --- 3. a metrics module that exits at import ---------------------------------------------


def test_a_metrics_module_calling_sys_exit_fails_validate(tmp_path: Path) -> None:
    root = make_lab(tmp_path, **{"metrics/bad.py": "import sys\nsys.exit(0)\n"})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run(
        [sys.executable, "-m", "llmlab_pipelines.cli", "validate", "--lab", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "metrics/bad.py:2" in proc.stderr and "exited" in proc.stderr, proc.stderr
    assert "ok" not in proc.stdout


# --- 4. a judge template outside the lab ---------------------------------------------------

JUDGE = "model: m\ntemplate: {}\n"


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
def test_a_judge_template_outside_the_lab_is_refused(tmp_path: Path, where: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret")
    root = make_lab(tmp_path)
    (root / "judges").mkdir()
    template = {"absolute": str(secret), "dotdot": "../../secret.txt", "symlink": "link.jinja"}
    if where == "symlink":
        (root / "judges" / "link.jinja").symlink_to(secret)
    (root / "judges" / "j.yaml").write_text(JUDGE.format(template[where]))
    text = refusal(root)
    assert "judges/j.yaml:2: template:" in text, text
    assert "absolute path" in text if where == "absolute" else "outside the lab" in text


def test_a_judge_template_inside_the_lab_still_loads(tmp_path: Path) -> None:
    root = make_lab(tmp_path, **{"judges/t.jinja": "Grade {{ output }}", "prompts/x.jinja": "x"})
    (root / "judges" / "j.yaml").write_text(JUDGE.format("t.jinja"))
    (root / "judges" / "k.yaml").write_text(JUDGE.format("../prompts/x.jinja"))
    assert set(load_lab(root).judge_templates) == {"j", "k"}


def test_an_include_or_prompt_linked_outside_the_lab_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    root = make_lab(tmp_path, **{"prompts/p.jinja": "{% include 'shared.jinja' %} {{ question }}"})
    (root / "prompts" / "shared.jinja").symlink_to(secret)
    (root / "prompts" / "q.jinja").symlink_to(secret)
    text = refusal(root)
    assert "prompts/shared.jinja" in text and "prompts/q.jinja" in text, text
    (root / "prompts" / "shared.jinja").unlink()
    (root / "prompts" / "q.jinja").unlink()
    (root / "prompts" / "shared.jinja").write_text("ok")
    lab = load_lab(root)
    (root / "prompts" / "shared.jinja").unlink()
    (root / "prompts" / "shared.jinja").symlink_to(secret)  # swapped after validation
    with pytest.raises(TemplateRenderError, match="outside the lab"):
        lab.prompts["p"].render({"id": "i0", "question": "q"}, item_id="i0")


# --- 5. YAML alias bombs, deep nesting, recursion, size ------------------------------------


def billion_laughs(levels: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, f"dataset: *a{levels}", "prompts: [p]", "models: [m]"]) + "\n"


@pytest.mark.parametrize("levels", [8, 9])
def test_a_yaml_alias_bomb_is_refused_fast_in_little_memory(tmp_path: Path, levels: int) -> None:
    bomb = billion_laughs(levels)
    assert len(bomb) < 1024
    root = make_lab(tmp_path, **{"experiments/e.yaml": bomb})
    result = load_in_child(root)
    assert result["outcome"] == "refused"
    assert "experiments/e.yaml:" in result["error"] and "aliases" in result["error"]
    assert result["seconds"] < 2
    assert result["peak_mib"] - result["import_mib"] < 50


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &a [1, *a]\n", "refers to its own anchor"),
        ("dataset: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than"),
        ("dataset: d\n#" + "x" * 1_000_001 + "\n", "the limit is 1,000,000"),
    ],
    ids=["recursive-alias", "deep-nesting", "1-mb"],
)
def test_hostile_yaml_shapes_are_refused(tmp_path: Path, text: str, says: str) -> None:
    root = make_lab(tmp_path, **{"models.yaml": text})
    message = refusal(root)
    assert "lab/models.yaml" in message and says in message, message


def test_non_utf8_yaml_is_refused(tmp_path: Path) -> None:
    root = make_lab(tmp_path)
    (root / "experiments" / "e.yaml").write_bytes(b"dataset: d\xff\n")
    assert "lab/experiments/e.yaml: not UTF-8" in refusal(root)


MODEL_WITH = "m:\n  model: openai/m\n  api_key_env: M_KEY\n  temperature: {}\n"


def test_a_base_60_number_bomb_is_read_as_text_at_once(tmp_path: Path) -> None:
    bomb = "1" + ":59" * 330_000  # one YAML 1.1 sexagesimal int of ~1 MB: 27 s of CPU to build
    root = make_lab(tmp_path, **{"models.yaml": MODEL_WITH.format(bomb)})
    result = load_in_child(root, timeout=20)
    assert result["outcome"] == "refused"
    assert "lab/models.yaml:4" in result["error"] and "temperature" in result["error"], result
    assert len(result["error"]) < 3_000
    assert result["seconds"] < 2


def test_a_5000_digit_number_is_refused_with_file_and_line(tmp_path: Path) -> None:
    root = make_lab(tmp_path, **{"models.yaml": MODEL_WITH.format("9" * 5000)})
    text = refusal(root)
    assert "lab/models.yaml:4: cannot read the value 9999" in text and "5,000 chars" in text, text


def test_yaml_numbers_read_as_before_except_base_60(tmp_path: Path) -> None:
    from llmlab_pipelines.lab._yaml import load_yaml

    values = {
        "a": "1", "b": "-0x1F", "c": "010", "d": "0b101", "e": "1_000", "f": "1.5", "g": "1e3",
        "h": "1.0e+3", "i": "-.inf", "j": "+12", "k": "true", "l": "no", "m": "2024-01-02",
        "n": "null", "o": "-.5", "p": "'7'", "q": "2001-12-14t21:59:43.10-05:00",
        "sexagesimal_int": "1:30", "sexagesimal_float": "190:20:30.15",
    }  # fmt: skip
    text = "".join(f"{key}: {value}\n" for key, value in values.items())
    (tmp_path / "n.yaml").write_text(text)
    data, _ = load_yaml(tmp_path / "n.yaml", "n.yaml")
    expected = yaml.safe_load(text)
    expected.update(sexagesimal_int="1:30", sexagesimal_float="190:20:30.15")
    assert data == expected
    assert [type(v) for v in data.values()] == [type(v) for v in expected.values()]


# --- 6. templates that render for minutes or make a gigabyte -------------------------------

HOSTILE_TEMPLATES = {
    "nested-range": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}{{ question }}",
    "nested-loops-within-caps": "{% set r = range(10000)|list %}{% for i in r %}{% for j in r %}"
    "{% endfor %}{% endfor %}{{ question }}",
    "lipsum": "{{ lipsum(n=10**7) }}{{ question }}",
    "format-width": "{{ '{0:>1000000000}'.format('x') }}{{ question }}",
    "percent-width": "{{ '%1000000000s' % question }}",
    "repeat": "{{ question * 1000000000 }}",
    "center": "{{ question|center(1000000000) }}",
    "slice": "{{ [question]|slice(1000000000)|list }}",
    "replace": "{% set a = 'x' * 100000 %}{{ a|replace('x', a) }}{{ question }}",
    "power": "{{ 10 ** 100000000 }}{{ question }}",
    "recursion": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}{{ question }}",
    "output-size": "{% for i in range(10000) %}{% for j in range(10000) %}xxxxxxxxxx"
    "{% endfor %}{% endfor %}{{ question }}",
}


@pytest.mark.parametrize("name", list(HOSTILE_TEMPLATES))
def test_a_hostile_template_is_stopped_naming_template_and_item(tmp_path: Path, name: str) -> None:
    root = make_lab(tmp_path, **{"prompts/p.jinja": HOSTILE_TEMPLATES[name]})
    prompt = load_lab(root).prompts["p"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(TemplateRenderError) as info:
        prompt.render({"id": "i7", "question": "q"}, item_id="i7")
    seconds = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"\n{name}: refused after {seconds:.3f} s, peak RSS +{grown:.0f} MiB: {info.value}")
    assert "lab/prompts/p.jinja" in str(info.value) and "'i7'" in str(info.value)
    assert seconds < 5
    assert grown < 200


def test_ordinary_templates_render_as_before(tmp_path: Path) -> None:
    text = (
        "{% for x in item.choices %}{{ loop.index }}. {{ x|upper }}{% if not loop.last %}\n"
        "{% endif %}{% endfor %}\n{{ '{:>5}'.format(question) }} {{ '%-4s|' % 'ab' }}"
        " {{ 'ab' * 3 }} {{ 2 ** 10 }} {{ range(3)|list|join(',') }}"
        " {{ lipsum(1, False, 3, 5)|length > 0 }}"
    )
    root = make_lab(tmp_path, **{"prompts/p.jinja": text})
    out = load_lab(root).prompts["p"].render({"id": "a", "question": "q", "choices": ["a", "b"]})
    assert out == "1. A\n2. B\n    q ab  | ababab 1024 0,1,2 True"


# --- 6b. templates that allocate a gigabyte in one step the caps did not see ----------------

RENDER_CHILD = """
import json, resource, sys, time
from llmlab_pipelines.lab import LabError, load_lab
prompt = load_lab(sys.argv[1]).prompts["p"]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    prompt.render({"id": "i7", "question": "q"}, item_id="i7")
    out = {"outcome": "ok"}
except LabError as exc:
    out = {"outcome": "refused", "error": str(exc)[:500]}
out["seconds"] = time.perf_counter() - t
out["grown_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps(out))
"""


def render_in_child(root: Path, *, memory_gib: float = 1.5, timeout: float = 120) -> dict[str, Any]:
    """Render prompt ``p`` for one item in a fresh process capped at ``memory_gib`` of address
    space; its outcome, seconds and peak RSS grown during the render (MiB)."""
    return run_child(RENDER_CHILD, root, what="render", memory_gib=memory_gib, timeout=timeout)


S10M = "{% set s = 'x' * 10000000 %}"
ONE_STEP_TEMPLATES = {
    "ljust": "{{ 'x'.ljust(1500000000)[:1] }}{{ question }}",
    "rjust": "{{ 'x'.rjust(400000000)[:1] }}{{ question }}",
    "center": "{{ 'x'.center(400000000)[:1] }}{{ question }}",
    "zfill": "{{ '1'.zfill(400000000)[:1] }}{{ question }}",
    "expandtabs": "{{ ('\\t' * 1000000).expandtabs(400)[:1] }}{{ question }}",
    "str-replace": "{{ ('x' * 10000000).replace('x', 'x' * 40)[:1] }}{{ question }}",
    "str-join": S10M + "{{ ''.join([s] * 40)[:1] }}{{ question }}",
    "str-join-generator": S10M + "{{ ''.join(([s] * 40)|map('lower'))[:1] }}{{ question }}",
    "tilde-doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s[:1] }}{{ question }}",
    "plus-doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s[:1] }}{{ question }}",
    "tilde-list": S10M + "{{ ('' ~ [s] * 40)[:1] }}{{ question }}",
    "format-fields": S10M + "{{ ('{0}' * 40).format(s)[:1] }}{{ question }}",
    "percent-fields": S10M + "{{ ('%s' * 40 % ((s,) * 40))[:1] }}{{ question }}",
    "output-list": S10M + "{{ [s] * 40 }}{{ question }}",
    "many-just-under": "{% set s = 'x' * 5000000 %}{% set ns = namespace(l=[]) %}"
    "{% for i in range(400) %}{% set ns.l = ns.l + [s ~ i] %}{% endfor %}{{ question }}",
    "join-filter": S10M + "{{ ([s] * 40)|join|length }}{{ question }}",
    "escape-filter": "{{ ('<' * 9000000 ~ '\\U0001F600')|escape|length }}{{ question }}",
    "urlencode-filter": "{{ ('\u20ac' * 9000000)|urlencode|length }}{{ question }}",
    "indent-filter": "{{ ('x\\n' * 4500000)|indent(1000)|length }}{{ question }}",
}


@pytest.mark.parametrize("name", list(ONE_STEP_TEMPLATES))
def test_a_template_allocating_in_one_step_is_refused_before_it_allocates(
    tmp_path: Path, name: str
) -> None:
    root = make_lab(tmp_path, **{"prompts/p.jinja": ONE_STEP_TEMPLATES[name]})
    result = render_in_child(root)
    print(f"\n{name}: {result}")
    assert result["outcome"] == "refused", result
    assert "lab/prompts/p.jinja" in result["error"] and "'i7'" in result["error"], result
    assert "the limit is" in result["error"] and "MemoryError" not in result["error"], result
    assert result["seconds"] < 5
    assert result["grown_mib"] < 100, result


def test_ordinary_string_operations_render_as_in_jinjas_own_sandbox(tmp_path: Path) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    text = (
        "{{ 'a'.ljust(3) }}|{{ 'b'.rjust(3) }}|{{ 'c'.center(5) }}|{{ '7'.zfill(3) }}|"
        "{{ 'a\\tb'.expandtabs(4) }}|{{ 'aba'.replace('a', 'xy') }}|"
        "{{ 'aba'.replace('a', 'z', 1) }}|"
        "{{ '-'.join(['a', question]) }}|{{ ','.join(item.choices|map('upper')) }}|"
        "{{ question ~ 1 ~ [1, 'x'] ~ none }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}|"
        "{{ '%s-%s' % ('a', question) }}|{{ '%(k)s' % {'k': 'v'} }}|"
        "{{ '{0}{0}{1!r}'.format('z', 'w') }}|"
        "{{ 'é<&>'|e }}|{{ 'a b/é'|urlencode }}|{{ 'a\\nb'|indent(2) }}|"
        "{{ item.choices|join('/') }}|"
        "{{ 'one two three'|wordwrap(4) }}|{{ item.choices }}|{{ {'a': 1} }}|{{ 3 }}"
    )
    root = make_lab(tmp_path, **{"prompts/p.jinja": text})
    record = {"id": "a", "question": "q", "choices": ["a", "b"]}
    out = load_lab(root).prompts["p"].render(record, item_id="a")
    plain = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    assert out == plain.from_string(text).render({**record, "item": record})


# --- 7. a lab metric that never returns ----------------------------------------------------


def test_a_stuck_lab_metric_is_stopped_naming_metric_and_item(tmp_path: Path) -> None:
    metric = (
        "def stuck(output, expected, record):\n"
        "    while record['id'] == 'i1':\n"
        "        pass\n"
        "    return 1.0\n"
        "stuck.timeout_s = 1\n"
    )
    root = make_lab(
        tmp_path,
        **{
            "metrics/mine.py": metric,
            "experiments/e.yaml": "dataset: d\nprompts: [p]\nmodels: [m]\nmetrics: [stuck]\n",
        },
    )
    lab = load_lab(root)
    records = lab.datasets["d"].records
    frame = pd.DataFrame({"item_id": ["i0", "i1", "i2"], "output": ["a", "a", "a"]})
    start = time.perf_counter()
    with pytest.raises(Exception, match=r"metric 'stuck' raised on item 'i1'.*no result after 1 s"):
        score_frame(frame, records, ["stuck"], lab.metrics)
    seconds = time.perf_counter() - start
    print(f"\nstuck metric: refused after {seconds:.2f} s (limit 1 s)")
    assert seconds < 5
    scored = score_frame(frame.iloc[[0, 2]], records, ["stuck"], lab.metrics)  # still usable
    assert scored["stuck"].tolist() == [1.0, 1.0]


def test_lab_metrics_get_a_default_time_limit_and_builtins_none(tmp_path: Path) -> None:
    from llmlab_pipelines.metrics import METRICS, USER_METRIC_SECONDS

    root = make_lab(tmp_path, **{"metrics/mine.py": "def mine(o, e, r):\n    return 1.0\n"})
    assert load_lab(root).metrics["mine"].fn.seconds == USER_METRIC_SECONDS  # type: ignore[attr-defined]
    assert not hasattr(METRICS["exact_match"].fn, "seconds")


# --- 10. echoed values are shortened -------------------------------------------------------


def test_a_50_kb_name_is_echoed_shortened(tmp_path: Path) -> None:
    name = "x" * 50_000
    root = make_lab(
        tmp_path,
        **{
            "models.yaml": f"m:\n  model: openai/m\n? '{name}!'\n:\n  model: openai/m\n",
            "experiments/e.yaml": f"dataset: d\nprompts: [p]\nmodels: [m, {name}]\n",
            "datasets/d.jsonl": DATA
            + json.dumps({"id": "i0" + name})
            + "\n"
            + json.dumps({"id": "i0" + name})
            + "\n",
        },
    )
    text = refusal(root)
    print(f"\n50 KB names: message of {len(text):,} characters")
    assert "(50,001 chars)" in text and "(50,002 chars)" in text, text
    assert len(text) < 3_000


# --- smaller defects -----------------------------------------------------------------------


def test_an_experiment_in_both_yaml_and_yml_is_refused(tmp_path: Path) -> None:
    root = make_lab(tmp_path)
    (root / "experiments" / "e.yml").write_text((root / "experiments" / "e.yaml").read_text())
    assert "two files define experiment 'e': e.yaml and e.yml" in refusal(root)


def test_a_csv_with_bom_and_semicolons_loads(tmp_path: Path) -> None:
    root = make_lab(tmp_path)
    (root / "datasets" / "d.jsonl").unlink()
    (root / "datasets" / "d.csv").write_bytes(
        "\ufeffid;question;expected\ni0;q0;a\ni1;q1;a\n".encode()
    )
    records = load_lab(root).datasets["d"].records
    assert records == [
        {"id": "i0", "question": "q0", "expected": "a"},
        {"id": "i1", "question": "q1", "expected": "a"},
    ]


def test_a_csv_without_an_id_column_says_what_it_found(tmp_path: Path) -> None:
    root = make_lab(tmp_path)
    (root / "datasets" / "d.jsonl").unlink()
    (root / "datasets" / "d.csv").write_text("ident,question\ni0,q0\n")
    text = refusal(root)
    assert "lab/datasets/d.csv:1: the header has no 'id' column (columns: 'ident'" in text


def test_an_unknown_timezone_is_refused_at_validation(tmp_path: Path) -> None:
    root = make_lab(tmp_path, **{"budgets.yaml": "daily: 5\ntimezone: Mars/Olympus_Mons\n"})
    assert "lab/budgets.yaml:2: timezone: unknown time zone 'Mars/Olympus_Mons'" in refusal(root)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_jsonl_are_refused(tmp_path: Path, constant: str) -> None:
    data = DATA + f'{{"id": "i9", "question": "q", "expected": {constant}}}\n'
    text = refusal(make_lab(tmp_path, **{"datasets/d.jsonl": data}))
    assert f"lab/datasets/d.jsonl:4: invalid JSON: {constant} is not a number" in text, text


def test_a_dataset_field_named_item_is_refused(tmp_path: Path) -> None:
    data = DATA + json.dumps({"id": "i9", "question": "q", "item": "x"}) + "\n"
    text = refusal(make_lab(tmp_path, **{"datasets/d.jsonl": data}))
    assert "lab/datasets/d.jsonl:4: field 'item' is reserved" in text, text
