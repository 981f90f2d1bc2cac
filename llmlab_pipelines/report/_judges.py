"""The report's judge section: agreement with people, and the judge against the metrics."""

from __future__ import annotations

import pandas as pd

from ._render import fmt, markdown_table


def _interval(value: float, low: float, high: float) -> str:
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def judges_markdown(
    judges: list[str], humans: pd.DataFrame, confusion: pd.DataFrame, labels: str | None
) -> str:
    """The judge section of an experiment's report.

    Args:
        judges: The experiment's judges that score outputs.
        humans: Agreement rows of judges against human labels (``agreement_table`` columns).
        confusion: ``judge_vs_metrics`` rows.
        labels: The human labels file of the dataset, if any (shown as the source).
    """
    if not judges:
        return ""
    parts = ["### Judges"]
    if len(humans):
        view = pd.DataFrame(
            {
                "rater": humans["group"],
                "labels of": humans["dimension"],
                "n": humans["n_items"],
                "Cohen's κ [95% CI]": [
                    _interval(*v)
                    for v in zip(
                        humans["cohen_kappa"],
                        humans["kappa_low"],
                        humans["kappa_high"],
                        strict=True,
                    )
                ],
                "Krippendorff's α [95% CI]": [
                    _interval(*v)
                    for v in zip(
                        humans["krippendorff_alpha"],
                        humans["alpha_low"],
                        humans["alpha_high"],
                        strict=True,
                    )
                ],
            }
        )
        parts += [
            f"**Agreement with people** ({labels}): each judge against the human label of "
            "the same output (same item, same text), then each 0/1 metric against the same "
            "labels, for comparison. n = outputs both rated; 95% percentile-bootstrap "
            "intervals over dataset items.",
            markdown_table(view),
        ]
    labelled = set(humans["group"]) if len(humans) else set()
    missing = [j for j in judges if j not in labelled]
    if missing:
        where = labels or "labels/<dataset>.jsonl"
        parts.append(
            f"No human labels match these judges' outputs: {', '.join(missing)}; their "
            f"agreement with people is unknown (label outputs in {where})."
        )
    if len(confusion):
        view = confusion.rename(
            columns={
                "yes_1": "yes · 1",
                "yes_0": "yes · 0",
                "no_1": "no · 1",
                "no_0": "no · 0",
                "no_verdict": "no verdict",
            }
        )
        parts += [
            "**The judge against the 0/1 metrics** (every output of this experiment's "
            "candidates with a score): judge verdict (yes = its best label) × metric score; "
            "agreement = share of outputs with a verdict where both say the same.",
            markdown_table(view),
        ]
    return "\n\n".join(parts)
