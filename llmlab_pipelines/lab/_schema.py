"""The lab's configuration files, as validated pydantic models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

from ..metrics import MetricOptionError, check_columns, entry_parts
from ..secrets import KEY_SHAPES, looks_like_key, remember, watch_env
from ._errors import shown, shown_names

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEY_LIKE = re.compile(r"^(sk|pk|rk|key|xai|gsk)[-_]", re.IGNORECASE)
_SECRET_KEY_NAME = re.compile(
    r"(?:^|_)(?:api_?key|apikey|token|secret|password|passwd|authorization|cookie"
    r"|credentials?|access_key|private_key)(?:$|_)",
    re.IGNORECASE,
)
_NO_SECRETS = (
    "keys never go in the lab: export it and name the variable with api_key_env "
    "(revoke the key if it was committed)"
)


def check_name(value: str, what: str) -> str:
    """A name usable in partition keys and file names: letters, digits, ``_ . -``."""
    if not _NAME.match(value):
        raise ValueError(
            f"{what} name {shown(value)} may hold only letters, digits, '_', '.', '-' "
            "and must start with a letter or digit"
        )
    return value


class GenerationParams(BaseModel):
    """Sampling parameters; any of them may be set in models.yaml or an experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0, le=1_000_000)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] | None = Field(default=None, max_length=16)
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)

    def merged(self, other: GenerationParams) -> GenerationParams:
        """These parameters overridden by every field ``other`` sets."""
        return self.model_copy(update=other.model_dump(exclude_none=True))

    def as_kwargs(self) -> dict[str, Any]:
        """The parameters that are set, as keyword arguments for litellm."""
        return self.model_dump(exclude_none=True)


PARAM_NAMES = frozenset(GenerationParams.model_fields)


class ModelConfig(GenerationParams):
    """One entry of ``models.yaml``: a litellm model string and how to call it."""

    model: str = Field(min_length=1, description="litellm model string, e.g. openai/gpt-4o-mini")
    mode: Literal["chat", "completion"] = "chat"
    api_base: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(default=120.0, gt=0, le=3600)
    concurrency: int = Field(default=16, ge=1, le=4096)
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=4, ge=0, le=20)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    fallbacks: list[str] = Field(default_factory=list)
    breaker_threshold: int = Field(
        default=10, ge=1, le=10_000, description="Consecutive failures that open the breaker"
    )
    breaker_cooldown_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="Seconds before an open breaker lets a probe through",
    )
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if _KEY_LIKE.match(value) or looks_like_key(value):
            remember(value)  # so no message or log repeats it
            raise ValueError(
                "this looks like a key, not the name of an environment variable (e.g. "
                f"OPENAI_API_KEY); {_NO_SECRETS}"
            )
        if not _ENV_NAME.match(value):
            raise ValueError(
                "api_key_env names an environment variable (e.g. OPENAI_API_KEY), "
                "never the key itself; keep keys out of the lab"
            )
        watch_env(value)  # its value is redacted from everything written from now on
        return value

    @field_validator("api_base")
    @classmethod
    def _no_key_in_url(cls, value: str | None) -> str | None:
        if value is not None and _secret_in("api_base", value):
            raise ValueError(f"api_base holds a key or password; {_NO_SECRETS}")
        return value

    @field_validator("extra")
    @classmethod
    def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        found = _secret_in("extra", value)
        if found:
            raise ValueError(f"{found} holds a secret; {_NO_SECRETS}")
        return value

    def generation_params(self) -> GenerationParams:
        """The sampling defaults this model entry sets."""
        return GenerationParams(**{k: getattr(self, k) for k in PARAM_NAMES})


def _secret_in(path: str, value: Any) -> str | None:
    """The dotted path of the first secret in ``value`` (a secret-named key, or a key-shaped
    string), or None. Every secret found is remembered, so no error message repeats it."""
    found: str | None = None
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}"
            if _SECRET_KEY_NAME.search(str(key).replace("-", "_")) and inner not in (None, ""):
                for text in _strings(inner):
                    remember(text)
                found = found or where
            found = _secret_in(where, inner) or found
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found = _secret_in(f"{path}[{i}]", inner) or found
    elif isinstance(value, str):
        secret = _url_secret(value) or _shaped_key(value)
        if secret:
            remember(secret)
            found = path
    return found


def _shaped_key(value: str) -> str | None:
    """A string shaped like a provider's or cloud's key inside ``value`` (``hf_...``)."""
    for pattern in KEY_SHAPES:
        match = pattern.search(value)
        if match:
            return match.group(0)
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def _url_secret(value: str) -> str | None:
    """A password in a URL, or a secret-named or key-shaped query parameter (``?key=...``);
    random ids (``?run=3f9a...``) are not secrets."""
    from urllib.parse import parse_qsl, urlsplit

    if "://" not in value:
        return None
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return None
    if password:
        return password
    for name, arg in parse_qsl(parts.query):
        if arg and (_SECRET_KEY_NAME.search(name) or name.lower() in ("key", "sig")):
            return arg
        if _shaped_key(arg):
            return _shaped_key(arg)
    return None


class BudgetsConfig(BaseModel):
    """``budgets.yaml``: spending caps per period (USD), enforced before every paid call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: float | None = Field(default=None, gt=0)
    weekly: float | None = Field(default=None, gt=0)
    monthly: float | None = Field(default=None, gt=0)
    warn_at: float = Field(default=0.8, gt=0, le=1, description="Warn at this share of a cap")
    timezone: str = Field(default="UTC", description="Where a day starts")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {shown(value)} (an IANA name: UTC, Europe/Paris, ...)"
            ) from None
        return value

    def limits(self) -> dict[str, float]:
        """``period -> cap`` for the periods that have one."""
        return {
            p: v
            for p, v in (("daily", self.daily), ("weekly", self.weekly), ("monthly", self.monthly))
            if v is not None
        }


class GateConfig(BaseModel):
    """``gate:`` in an experiment: candidates must be non-inferior to the baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin: float = Field(gt=0, description="The largest acceptable loss, in metric units")
    metric: str | None = Field(default=None, description="Default: the primary metric")
    candidates: list[str] = Field(
        default_factory=list, description="Labels to gate (default: every non-baseline one)"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="One-sided level")


class AdaptiveConfig(BaseModel):
    """``adaptive:`` in an experiment with ``mode: adaptive``: how the calls are spent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Literal["auto", "sequential", "successive_elimination", "thompson"] = Field(
        default="auto",
        description="auto: a sequential test for 2 candidates, successive elimination for more",
    )
    metric: str | None = Field(default=None, description="Default: the primary metric")
    round_size: int = Field(default=20, ge=1, le=100_000, description="Items per round")
    max_items: int | None = Field(default=None, gt=0, description="Default: the whole dataset")
    delta: float = Field(
        default=0.05, gt=0, lt=1, description="Chance of picking a wrong best candidate"
    )
    margin: float = Field(
        default=0.0, ge=0, lt=1, description="A/B: stop as equivalent inside +/- margin"
    )
    seed: int = Field(default=0, description="Order of the items and Thompson's draws")


class OptimizeConfig(BaseModel):
    """``optimize:`` in an experiment with ``mode: optimize`` (or for ``llmlab optimize``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: str | None = Field(
        default=None, description="models.yaml entry that writes variants (default: the first)"
    )
    seed_prompt: str | None = Field(default=None, description="Default: the first prompt")
    variants: int = Field(default=4, ge=1, le=20, description="Proposals per round")
    rounds: int = Field(default=3, ge=1, le=50)
    keep: int = Field(default=2, ge=1, le=10, description="Best prompts that seed the next round")
    train_fraction: float = Field(default=0.5, ge=0.1, le=0.9)
    max_items: int | None = Field(default=None, gt=0, description="Default: the whole dataset")
    failures_shown: int = Field(default=5, ge=0, le=50)
    round_size: int = Field(default=20, ge=1, le=100_000)
    delta: float = Field(
        default=0.1, gt=0, lt=1, description="Elimination error on the train split"
    )
    max_tokens: int = Field(default=400, gt=0, le=100_000, description="Per proposal")
    temperature: float = Field(default=0.9, ge=0, le=2)
    seed: int = 0
    write_back: bool = Field(default=True, description="Write a confirmed winner into prompts/")


def _metric_column(entry: Any) -> Any:
    try:  # the score column of an entry: its name, or its `name:` option
        return entry_parts(entry)[0]
    except MetricOptionError as exc:
        raise ValueError(str(exc)) from None


#: one entry of ``metrics:``: ``exact_match`` or ``{numeric_match: {extract: last}}``
MetricEntry = Annotated[str, BeforeValidator(_metric_column)]

#: the most candidates an experiment may have unless it sets ``max_candidates``
DEFAULT_MAX_CANDIDATES = 64


class ExperimentConfig(BaseModel):
    """One ``experiments/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    dataset: str = Field(min_length=1)
    prompts: list[str] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    params: GenerationParams = Field(default_factory=GenerationParams)
    params_grid: dict[str, list[Any]] = Field(default_factory=dict)
    max_candidates: int = Field(
        default=DEFAULT_MAX_CANDIDATES,
        ge=1,
        description="The most candidates (prompts x models x grid points) it may start",
    )
    metrics: list[MetricEntry] = Field(default_factory=lambda: ["exact_match"], min_length=1)
    primary_metric: str | None = None
    baseline: str | None = None
    repeats: int = Field(default=1, ge=1, le=100)
    limit: int | None = Field(default=None, gt=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    tags: dict[str, str] = Field(default_factory=dict)
    judges: list[str] = Field(default_factory=list, description="judges/<name>.yaml to run")
    budget_usd: float | None = Field(
        default=None, gt=0, description="The most one run of this experiment may spend"
    )
    gate: GateConfig | None = None
    nightly: bool = Field(default=False, description="Part of the nightly benchmark")
    mode: Literal["grid", "adaptive", "optimize"] = Field(
        default="grid",
        description="grid: every candidate on every item; adaptive: in rounds; optimize: "
        "propose and test better prompts",
    )
    adaptive: AdaptiveConfig = Field(default_factory=AdaptiveConfig)
    optimize: OptimizeConfig = Field(default_factory=OptimizeConfig)
    _metric_options: dict[str, tuple[str, dict[str, Any]]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _metric_entries(
        cls, data: Any, handler: ModelWrapValidatorHandler[ExperimentConfig]
    ) -> ExperimentConfig:
        config = handler(data)
        for entry in (data.get("metrics") or []) if isinstance(data, dict) else []:
            column, metric, options = entry_parts(entry)  # valid: the handler checked it
            if (column, options) != (metric, {}):
                config._metric_options[column] = (metric, options)
        return config

    @property
    def metric_options(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """The entries of ``metrics:`` with options: ``column -> (metric, options)``."""
        return self._metric_options

    @field_validator("metrics", mode="before")
    @classmethod
    def _columns_once(cls, entries: Any) -> Any:
        try:
            check_columns(entries)
        except MetricOptionError as exc:
            raise ValueError(str(exc)) from None
        return entries

    @model_validator(mode="after")
    def _adaptive_fits(self) -> ExperimentConfig:
        if self.mode != "grid" and self.repeats != 1:
            raise ValueError(f"mode: {self.mode} evaluates each item once; set repeats: 1")
        if self.mode == "adaptive" and self.adaptive.metric not in (None, *self.metrics):
            raise ValueError(
                f"adaptive.metric {shown(self.adaptive.metric)} is not one of metrics: "
                f"{shown_names(self.metrics)}"
            )
        return self

    @field_validator("params_grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in grid.items():
            if name not in PARAM_NAMES:
                known = ", ".join(sorted(PARAM_NAMES))
                raise ValueError(f"unknown parameter {shown(name)} (known: {known})")
            if not values:
                raise ValueError(f"{name}: needs at least one value")
        return grid

    @property
    def metric(self) -> str:
        """The metric the leaderboard ranks by."""
        return self.primary_metric or self.metrics[0]

    @property
    def adaptive_metric(self) -> str:
        """The metric an adaptive run decides on."""
        return self.adaptive.metric or self.metric
