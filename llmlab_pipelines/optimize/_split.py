"""The training / held-out split of an optimization, by content, and what a checkpoint must
match to be resumed. No Dagster here."""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..lab import Lab
from ..lab._datasets import RESERVED_FIELDS
from ..secrets import redact

#: model-entry fields that change how a call is made, never what it answers: editing them
#: (a rate limit, a timeout, a price, the name of the key's variable) keeps a checkpoint valid
OPERATIONAL_FIELDS = frozenset(
    {
        "api_key_env",
        "timeout",
        "concurrency",
        "rpm",
        "tpm",
        "max_retries",
        "input_cost_per_token",
        "output_cost_per_token",
        "breaker_threshold",
        "breaker_cooldown_s",
    }
)


@dataclass(frozen=True)
class Split:
    """One item per distinct input, shuffled, then cut into a training and a held-out split.

    Records whose inputs (every field but ``id`` and ``expected``) are the same render the same
    prompt and share one cached answer: they are one item, so a question can never be in both
    splits, nor count twice in a test.
    """

    train: list[dict[str, Any]]
    holdout: list[dict[str, Any]]
    records: int

    @property
    def distinct(self) -> int:
        """Distinct inputs among the records used."""
        return len(self.train) + len(self.holdout)

    @property
    def duplicates(self) -> int:
        """Records folded into an earlier record with the same inputs."""
        return self.records - self.distinct

    def ids(self) -> dict[str, list[str]]:
        """The item ids of each split, in order (stored in the checkpoint)."""
        return {
            "train": [str(r.get("id")) for r in self.train],
            "holdout": [str(r.get("id")) for r in self.holdout],
        }


def input_key(record: dict[str, Any]) -> str:
    """What a prompt can render of a record: every field but its id and its expected answer."""
    inputs = {k: v for k, v in record.items() if k not in RESERVED_FIELDS}
    return json.dumps(inputs, sort_keys=True, default=str)


def content_split(records: list[dict[str, Any]], *, train_fraction: float, seed: int) -> Split:
    """Group ``records`` by :func:`input_key` (the first record of a group stands for it),
    shuffle the groups with ``seed`` and put ``round(groups * train_fraction)`` (at least one)
    in the training split, the rest in the held-out split."""
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        first.setdefault(input_key(record), index)
    groups = list(first.values())
    order = np.random.default_rng(seed).permutation(len(groups))
    n_train = max(1, round(len(groups) * train_fraction))
    train = [records[groups[int(i)]] for i in order[:n_train]]
    holdout = [records[groups[int(i)]] for i in order[n_train:]]
    return Split(train, holdout, len(records))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _model_entry(lab: Lab, name: str) -> dict[str, Any]:
    entry = lab.models[name].model_dump(exclude=set(OPERATIONAL_FIELDS))
    return {"name": name, **json.loads(redact(json.dumps(entry, sort_keys=True, default=str)))}


def _metric_identity(lab: Lab, metric: str) -> Any:
    """A built-in or lab metric's code, or the judge (config, template, model) behind it."""
    found = lab.metrics.get(metric)
    if found is not None:
        try:
            code = inspect.getsource(found.fn)
        except (OSError, TypeError):
            code = getattr(found.fn, "__qualname__", repr(found.fn))
        return {"metric": metric, "code": code, "binary": found.binary}
    for name, judge in lab.judges.items():
        if metric in lab.judge_columns(name).values():
            members = [m for m in [name, *judge.members] if m in lab.judges]
            return {"metric": metric, "judges": {m: _judge_identity(lab, m) for m in members}}
    return {"metric": metric}


def _judge_identity(lab: Lab, name: str) -> dict[str, Any]:
    judge = lab.judges[name]
    template = lab.judge_templates.get(name)
    return {
        "config": judge.model_dump(),
        "template": template.hash if template is not None else None,
        "model": _model_entry(lab, judge.model) if judge.model in lab.models else None,
    }


def fingerprint_parts(
    lab: Lab,
    experiment: str,
    records: list[dict[str, Any]],
    *,
    optimizer: str,
    seed_prompt: str,
    version: int,
) -> dict[str, str]:
    """A digest of each thing that determines an optimization's result, by name (the names
    appear in the log line when a checkpoint does not match)."""
    config = lab.experiment(experiment)
    return {
        "lab folder": _digest(str(lab.root.resolve())),
        "dataset content": _digest([config.dataset, records]),
        "model entry": _digest(_model_entry(lab, config.models[0])),
        "optimizer entry": _digest(_model_entry(lab, optimizer)),
        "seed prompt": _digest([seed_prompt, lab.prompts[seed_prompt].hash]),
        "optimize settings": _digest(
            [config.optimize.model_dump(), config.params.model_dump(), version]
        ),
        "metric": _digest(_metric_identity(lab, config.metric)),
    }


def resume_check(
    state: dict[str, Any] | None, parts: dict[str, str], split: dict[str, list[str]]
) -> str | None:
    """None when ``state`` may be resumed; else why not, in words (a fresh start follows)."""
    if not state:
        return None
    old = state.get("parts")
    if not isinstance(old, dict):
        return "the checkpoint predates content fingerprints (written by an older version)"
    changed = [k for k in parts if old.get(k) != parts[k]]
    if changed:
        return f"{', '.join(changed)} changed since the checkpoint"
    if state.get("split") != split:
        return "the training / held-out split differs from the checkpoint's"
    return None
