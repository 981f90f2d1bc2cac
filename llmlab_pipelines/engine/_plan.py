"""From a lab partition plan to the list of requests to make."""

from __future__ import annotations

from typing import Any

from ..lab import Lab, PartitionPlan
from ._types import GenerationRequest


def build_requests(
    lab: Lab, plan: PartitionPlan, records: list[dict[str, Any]], *, limit: int | None = None
) -> list[GenerationRequest]:
    """Render the prompt for every item (up to the limits) and every repeat.

    Args:
        lab: The lab (for the prompt and the model entry).
        plan: The partition to produce.
        records: The dataset's records, in order.
        limit: Evaluate at most this many items (on top of the experiment's own limit).

    Raises:
        TemplateRenderError: naming the template, the item and the missing variable.
    """
    cap = min(x for x in (plan.limit, limit, len(records)) if x is not None)
    prompt = lab.prompts[plan.candidate.prompt]
    config = lab.models[plan.candidate.model]
    fallbacks = tuple((name, lab.models[name]) for name in config.fallbacks)
    requests = []
    for record in records[:cap]:
        text = prompt.render(record, item_id=record["id"])
        for repeat in range(plan.repeats):
            requests.append(
                GenerationRequest(
                    item_id=record["id"],
                    repeat=repeat,
                    prompt=text,
                    model_name=plan.candidate.model,
                    config=config,
                    params=plan.candidate.params,
                    fallbacks=fallbacks,
                )
            )
    return requests
