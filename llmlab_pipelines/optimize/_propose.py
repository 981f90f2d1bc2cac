"""Asking an optimizer model for prompt variants, and refusing the unusable ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..lab import LabError

#: a proposal's reply: a rationale line, then the template, then the end marker
_RATIONALE = re.compile(r"^\s*RATIONALE:\s*(?P<text>.+?)\s*$", re.MULTILINE)
_TEMPLATE = re.compile(r"TEMPLATE:[ \t]*\n(?P<body>.*?)(?:\n?###\s*END|\Z)", re.DOTALL)
END = "### END"
#: bump when the optimizer's instructions change: a checkpoint of other instructions is not resumed
INSTRUCTIONS_VERSION = 2
#: fields a variant may never read: that would hand the model the answer
FORBIDDEN_FIELDS = frozenset({"expected"})


@dataclass(frozen=True)
class Failure:
    """An item the current best prompt got wrong, shown to the optimizer."""

    inputs: str
    output: str
    expected: str


@dataclass
class Proposal:
    """One proposed variant: its template and rationale, or why it was refused."""

    index: int
    template: str | None
    rationale: str
    refused: str | None = None
    name: str | None = None  # the prompt name once accepted

    @property
    def accepted(self) -> bool:
        return self.refused is None and self.name is not None


def optimizer_prompt(
    *,
    template: str,
    fields: list[str],
    metric: str,
    score: float,
    failures: list[Failure],
    rubric: str | None,
    index: int,
    tried: list[str],
    example_field: str | None = None,
) -> str:
    """The optimizer's instructions, written to work as a chat message and as text to continue
    (the example shows the exact reply format, and the reply starts right after it)."""
    shown = "\n".join(
        f"- input: {f.inputs[:300]!r}\n  its answer: {f.output[:200]!r}\n  expected: "
        f"{f.expected[:200]!r}"
        for f in failures
    )
    avoid = "\n".join(f"<<<\n{t}\n>>>" for t in tried[-3:])
    example_field = example_field or (fields[0] if fields else "input")
    return (
        "You improve prompt templates for a language-model task.\n"
        "A template is Jinja: an item's fields appear as {{ field }}. "
        f"Fields you may use: {', '.join(fields)}. Never use the expected answer.\n\n"
        f"The current best template scores {score:.3f} on `{metric}` (0 to 1, higher is better):\n"
        f"<<<\n{template}\n>>>\n\n"
        + (f"Items it got wrong:\n{shown}\n\n" if shown else "")
        + (f"Scoring rubric:\n{rubric}\n\n" if rubric else "")
        + (f"Templates already tried (do not repeat them):\n{avoid}\n\n" if avoid else "")
        + "A reply looks like this example:\n"
        "RATIONALE: Name the input and ask for the bare answer, so it is easy to check.\n"
        f"TEMPLATE:\nInput: {{{{ {example_field} }}}}\nThe answer alone:\n{END}\n\n"
        f"Now write improved template number {index + 1}, in the same form.\n\n"
        "RATIONALE:"
    )


def parse_proposal(reply: str, index: int) -> Proposal:
    """Read a reply; a reply without a template is refused with the reason."""
    text = reply if "RATIONALE:" in reply else "RATIONALE:" + reply
    rationale = _RATIONALE.search(text)
    body = _TEMPLATE.search(text)
    why = rationale.group("text")[:500] if rationale else ""
    if body is None or not body.group("body").strip():
        return Proposal(index, None, why, refused="no TEMPLATE: section in the reply")
    return Proposal(index, body.group("body").strip("\n"), why)


def check_variant(
    proposal: Proposal,
    compile_: Any,
    fields: set[str],
    records: list[dict[str, Any]],
    seen: set[str],
) -> Proposal:
    """Refuse a variant that does not compile, reads a forbidden or missing field, fails to
    render for a training item, or repeats one already tried; else return it compiled."""
    if proposal.refused or proposal.template is None:
        return proposal
    source = proposal.template
    if source.strip() in seen:
        proposal.refused = "the same template was tried before"
        return proposal
    try:
        prompt = compile_(source)
    except LabError as exc:
        proposal.refused = f"does not compile: {exc.issues[0].message if exc.issues else exc}"
        return proposal
    leaked = sorted(prompt.variables & FORBIDDEN_FIELDS)
    if leaked:
        proposal.refused = f"reads {', '.join(leaked)}: a variant may not see the answer"
        return proposal
    unknown = sorted(prompt.variables - fields)
    if unknown:
        proposal.refused = f"uses fields the dataset does not have: {', '.join(unknown)}"
        return proposal
    if not prompt.variables:
        proposal.refused = "uses no field of the item: it would ask every item the same thing"
        return proposal
    for record in records[:50]:
        try:
            prompt.render(record, item_id=str(record.get("id")))
        except LabError as exc:
            proposal.refused = f"does not render: {exc.issues[0].message if exc.issues else exc}"
            return proposal
    proposal.name = prompt.name
    seen.add(source.strip())
    return proposal
