"""The generation engine as a Dagster resource."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import dagster as dg
from pydantic import Field
from upath import UPath

from .. import ledger, tags
from ..engine import Budget, Engine, LLMClient, Progress, ResponseCache, RoutingClient, Usage
from ..lab import Lab
from ..settings import get_settings
from .artifacts import ArtifactStore, artifact_root


class LLMResource(dg.ConfigurableResource):
    """Calls models through litellm with the engine's limits, retries, cache and accounting."""

    backoff_base: float = Field(default=0.5, ge=0, description="First retry delay (s)")
    backoff_cap: float = Field(default=30.0, ge=0, description="Longest retry delay (s)")
    retry_after_cap: float | None = Field(
        default=None,
        ge=0,
        description="Longest wait a provider's Retry-After may impose (s); default: backoff_cap",
    )
    rate_limit_patience_s: float = Field(
        default=600.0,
        gt=0,
        description="Rate-limited calls are retried until a model has had no successful call "
        "for this long (s); other errors get the model's max_retries",
    )
    max_output_chars: int = Field(
        default=100_000,
        ge=1,
        description="Longer replies are stored cut to this many characters, marked, with "
        "output_truncated set",
    )
    max_error_rate: float = Field(
        default=0.2, ge=0, le=1, description="Error rate above which the generations check fails"
    )
    cache: Literal["use", "refresh", "off"] = Field(
        default="use",
        description="use: reuse cached answers; refresh: call again (fresh samples) and store; "
        "off: neither. The cache is also the crash journal that makes re-runs resume.",
    )
    cache_path: str | None = Field(
        default=None,
        description="Default: cache/ in the artifact store (LLMLAB_ARTIFACTS unless the artifacts "
        "resource sets base_path); a folder or s3:// URL",
    )
    redis_url: str | None = Field(
        default=None,
        description="Share rpm limits across processes (e.g. redis://127.0.0.1:6379/0); "
        "default: limits hold within each run",
    )
    progress_bar: bool = Field(default=False, description="Draw a terminal progress bar")
    budget_usd: float | None = Field(
        default=None,
        description="The most this run may spend (on top of budgets.yaml and budget_usd in the "
        "experiment: the tightest wins)",
    )

    fast_path: bool = Field(
        default=True,
        description="Call OpenAI-compatible models (openai/... strings, any api_base) over "
        "HTTP directly, without litellm's per-call work; false: litellm for every model",
    )

    def client(self) -> LLMClient:
        """The client that makes the calls; subclasses swap in another."""
        return RoutingClient(fast_path=self.fast_path)

    def response_cache(self, artifacts_root: UPath | None = None) -> ResponseCache:
        """The cache folder beside the artifacts (``artifacts_root``, default
        ``LLMLAB_ARTIFACTS``), unless ``cache_path`` says otherwise; rows an unreachable object
        store refused wait in a local spill folder, keyed by the store's URL."""
        root = (
            artifact_root(self.cache_path, {})
            if self.cache_path
            else (artifacts_root or artifact_root(None, {})) / "cache"
        )
        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        return ResponseCache(root, spill=get_settings().home / "cache-spill" / key)

    def engine(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        budget: Budget | None = None,
        *,
        usage: Usage | None = None,
        artifacts_root: UPath | None = None,
    ) -> Engine:
        """A ready engine (assets that pay for calls get theirs from :meth:`paying`)."""
        return Engine(
            self.client(),
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            on_progress=on_progress,
            cache=None if self.cache == "off" else self.response_cache(artifacts_root),
            cache_mode=self.cache,
            redis_url=self.redis_url,
            budget=budget,
            retry_after_cap=self.retry_after_cap,
            rate_limit_patience_s=self.rate_limit_patience_s,
            max_output_chars=self.max_output_chars,
            usage=usage,
        )

    @contextmanager
    def paying(
        self,
        context: dg.AssetExecutionContext,
        artifacts: ArtifactStore,
        lab: Lab,
        *,
        model: str,
        candidate: str,
        dataset: str,
        experiments: str,
        candidate_key: str | None = None,
        experiment: str | None = None,
        partition: str | None = None,
    ) -> Iterator[Wallet]:
        """Engines for an asset's paid calls, all under one budget, their spend in the ledger.

        The budget is the tightest of this resource's ``budget_usd``, the experiment's
        (``experiment``, or those using ``candidate_key`` on ``dataset``) and what is left of
        each period budget; spend is read from and written to the ledger in ``artifacts``. What
        the engines paid is recorded on leaving, also when the asset fails part-way.

        Args:
            context: The asset's context (run id, asset key, partition, log).
            artifacts: The configured artifact store: the ledger and the cache live there.
            lab: The loaded lab (its budgets).
            model: Ledger ids: the models called, the candidate(s), the dataset and the
                experiments the spend counts for.
            candidate: See ``model``.
            dataset: See ``model``; with ``candidate_key``, also selects the run budget.
            experiments: See ``model``.
            candidate_key: Cap by the run budget of the experiments using this candidate.
            experiment: Cap by this experiment's ``budget_usd``.
            partition: Ledger id of the partition (default: the context's partition key).
        """
        root = artifacts.path()
        invocation = invocation_of(context.run.tags, context.run.run_id)
        budget = ledger.budget_for(
            lab,
            root,
            candidate_key=candidate_key,
            dataset=dataset if candidate_key else None,
            run_limit=self.budget_usd,
            experiment=experiment,
            invocation=invocation,
        )
        if budget is not None:
            context.log.info(f"budget: ${budget.limit_usd:.4f} ({budget.label})")
        if partition is None:
            partition = str(context.partition_key) if context.has_partition_key else ""
        ids = {
            "asset": context.asset_key.to_user_string(),
            **{"partition": partition, "model": model, "candidate": candidate},
            **{"dataset": dataset, "experiments": experiments, "invocation": invocation},
            "candidate_key": candidate_key or "",
        }
        wallet = Wallet(self, context, root, budget, ids=ids)
        try:
            yield wallet
        finally:
            wallet.record()


def invocation_of(run_tags: Mapping[str, str], run_id: str) -> str:
    """The invocation a run belongs to: its ``llmlab run`` (the tag), else the run itself.

    An experiment's ``budget_usd`` holds for one invocation, across its runs and partitions.
    """
    return run_tags.get(tags.INVOCATION) or run_id


@dataclass
class Wallet:
    """What :meth:`LLMResource.paying` yields: engines sharing one budget and one tally."""

    llm: LLMResource
    context: dg.AssetExecutionContext
    root: UPath
    budget: Budget | None
    ids: dict[str, str]
    usage: Usage = field(default_factory=Usage)

    def engine(self, on_progress: Callable[[Progress], None] | None = None) -> Engine:
        """An engine paying from this wallet: under its budget, its calls in its tally."""
        return self.llm.engine(
            on_progress=on_progress,
            budget=self.budget,
            usage=self.usage,
            artifacts_root=self.root,
        )

    @property
    def stopped_by(self) -> str | None:
        """Why calls were refused (the budget and its limit), or None when none was."""
        if self.budget is None or not self.budget.refused:
            return None
        return (
            f"{self.budget.refused} calls not made: {self.budget.label} of "
            f"${self.budget.limit_usd:.4f} reached"
        )

    def record(self) -> None:
        """Write what was paid to the ledger (nothing when nothing was)."""
        spend = ledger.spend_from(self.usage, run_id=self.context.run.run_id, **self.ids)
        if ledger.record(self.root, spend) is not None:
            self.context.log.info(
                f"spent ${spend.cost_usd:.4f} on {spend.calls} calls (recorded in the ledger)"
            )
