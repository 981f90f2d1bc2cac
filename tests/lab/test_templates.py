"""Prompt templates: sandboxed, strict about variables, versioned by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmlab_pipelines.lab import LabError, TemplateRenderError
from llmlab_pipelines.lab._sandbox import make_environment
from llmlab_pipelines.lab._templates import load_prompt


def prompt(tmp_path: Path, text: str, name: str = "p"):  # type: ignore[no-untyped-def]
    path = tmp_path / f"{name}.jinja"
    path.write_text(text, encoding="utf-8")
    return load_prompt(make_environment(tmp_path), path, f"prompts/{name}.jinja")


def test_render_and_variables(tmp_path: Path) -> None:
    p = prompt(tmp_path, "Q: {{ question | upper }}{% if hint %} ({{ hint }}){% endif %}\nA:")
    assert p.variables == {"question", "hint"}
    assert p.render({"question": "why", "hint": "h"}) == "Q: WHY (h)\nA:"


def test_missing_variable_names_template_item_and_variable(tmp_path: Path) -> None:
    p = prompt(tmp_path, "Q: {{ question }} {{ context }}")
    with pytest.raises(TemplateRenderError) as info:
        p.render({"question": "x"}, item_id="item-7")
    text = str(info.value)
    assert "prompts/p.jinja" in text and "context" in text and "item-7" in text


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    p = prompt(tmp_path, "{{ question.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateRenderError):
        p.render({"question": "x"})


def test_syntax_error_is_located(tmp_path: Path) -> None:
    with pytest.raises(LabError) as info:
        prompt(tmp_path, "line one\n{% if x %}\nno end")
    assert "prompts/p.jinja" in str(info.value)


def test_hash_follows_content_including_includes(tmp_path: Path) -> None:
    (tmp_path / "_shared.jinja").write_text("shared v1")
    first = prompt(tmp_path, "{% include '_shared.jinja' %} {{ q }}")
    (tmp_path / "_shared.jinja").write_text("shared v2")
    second = prompt(tmp_path, "{% include '_shared.jinja' %} {{ q }}")
    assert first.hash != second.hash
    assert prompt(tmp_path, "{% include '_shared.jinja' %} {{ q }}").hash == second.hash
