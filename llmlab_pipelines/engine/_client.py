"""Calling models through litellm, and sorting what goes wrong into kinds."""

from __future__ import annotations

import datetime
import math
import time
from pathlib import Path
from typing import Any, Protocol

from ..lab import ModelConfig
from ..secrets import read_secret, redact
from ._local import PROVIDER as LOCAL_PROVIDER
from ._local import prompt_of
from ._types import Completion, GenerationRequest

RETRYABLE = frozenset({"rate_limit", "server", "timeout", "connection", "malformed"})


class ProviderError(Exception):
    """A call that failed, with its kind and (for 429s) how long the provider asked us to wait."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(redact(message))
        self.kind = kind
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed."""
        return self.kind in RETRYABLE


class LLMClient(Protocol):
    """Anything that turns a request into a completion (litellm, or a test double)."""

    async def complete(self, request: GenerationRequest) -> Completion:
        """Make one call; raise ProviderError on failure."""
        ...


def _import_provider_sdks() -> None:
    """Import what litellm's first call would import lazily (the openai SDK's resources, ~1 s,
    several on a loaded machine), so that time never counts against a call's ``timeout``
    deadline: 32 first calls with ``timeout: 0.5`` all timed out before reaching the server."""
    import contextlib
    import importlib

    for module in ("openai.resources.chat", "openai.resources.completions"):
        with contextlib.suppress(ImportError):  # an SDK litellm no longer ships
            importlib.import_module(module)


class LiteLLMClient:
    """The real client: any litellm model string, with costs from litellm's price map."""

    def __init__(self, models_dir: Any = None) -> None:
        from ._litellm import before_importing_litellm

        before_importing_litellm()
        import litellm

        from ..settings import get_settings
        from ._local import register_local_provider

        litellm.suppress_debug_info = True
        litellm.drop_params = True
        _import_provider_sdks()
        self._models_dir = Path(models_dir or get_settings().models_dir)
        register_local_provider(self._models_dir)
        self._litellm = litellm

    def _kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        config = request.config
        kwargs: dict[str, Any] = {
            "model": config.model,
            "timeout": config.timeout,
            "max_retries": 0,
            **config.extra,
            **request.params.as_kwargs(),
        }
        if config.api_base:
            kwargs["api_base"] = config.api_base
        if config.api_key_env:
            key = read_secret(config.api_key_env)
            if not key:
                raise ProviderError(
                    "auth",
                    f"model {request.model_name!r} needs the environment variable "
                    f"{config.api_key_env} (set it; never put the key in the lab)",
                )
            kwargs["api_key"] = key
        return kwargs

    def keeps_own_deadline(self, request: GenerationRequest) -> bool:
        """Whether this call times itself: the in-process model counts its ``timeout`` from when
        its one worker starts the call, not while the call waits behind others."""
        return request.config.model.startswith(f"{LOCAL_PROVIDER}/")

    async def complete(self, request: GenerationRequest) -> Completion:
        """Call the model once."""
        if self.keeps_own_deadline(request):
            return await self._complete_local(request)
        kwargs = self._kwargs(request)
        try:
            if request.config.mode == "completion":
                resp = await self._litellm.atext_completion(prompt=request.prompt, **kwargs)
                text = resp.choices[0].text
            else:
                messages = [{"role": "user", "content": request.prompt}]
                resp = await self._litellm.acompletion(messages=messages, **kwargs)
                text = resp.choices[0].message.content
        except ProviderError:
            raise
        except Exception as exc:
            raise classify(exc) from None
        if text is None:
            raise ProviderError("malformed", "the provider returned no text")
        return self._completion(request, resp, text)

    async def _complete_local(self, request: GenerationRequest) -> Completion:
        """The in-process model, without litellm's per-call bookkeeping."""
        from ._local import LocalModelError, complete_local

        name = request.config.model.split("/", 1)[1]
        prompt = request.prompt
        if request.config.mode == "chat":
            prompt = prompt_of([{"role": "user", "content": prompt}])
        timeout = request.config.timeout
        params = request.params.as_kwargs()
        try:
            out = await complete_local(
                name,
                prompt,
                params,
                self._models_dir,
                timeout=timeout,
                width=request.config.concurrency,
            )
        except LocalModelError as exc:
            raise ProviderError("not_found", str(exc)) from None
        except ValueError as exc:  # llama.cpp: the prompt does not fit the context
            raise ProviderError("bad_request", str(exc)) from None
        except TimeoutError:
            raise ProviderError(
                "timeout",
                f"no complete reply within {timeout:g}s of the local model starting the call "
                "(the model's `timeout`); its generation was stopped",
            ) from None
        usage = out.get("usage", {})
        p_tok, c_tok = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        return Completion(
            text=out["choices"][0]["text"],
            prompt_tokens=p_tok,
            completion_tokens=c_tok,
            cost_usd=self._cost(request, None, p_tok, c_tok),
            model=request.config.model,
            finish_reason=str(out["choices"][0].get("finish_reason") or ""),
        )

    def _completion(self, request: GenerationRequest, resp: Any, text: str) -> Completion:
        usage = getattr(resp, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self._cost(request, resp, prompt_tokens, completion_tokens),
            model=str(getattr(resp, "model", "") or request.config.model),
            finish_reason=str(getattr(resp.choices[0], "finish_reason", "") or ""),
        )

    def _cost(self, request: GenerationRequest, resp: Any, p_tok: int, c_tok: int) -> float:
        config = request.config
        configured = configured_cost(config, p_tok, c_tok)
        if configured is not None:
            return configured
        if config.model.startswith("llmlab/"):
            return 0.0
        try:
            return float(self._litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # a model missing from the price map costs what models.yaml says: 0
            return 0.0


def configured_cost(config: ModelConfig, p_tok: int, c_tok: int) -> float | None:
    """The cost at the prices the model entry sets, or None when it sets none (then the price
    map decides)."""
    if config.input_cost_per_token is None and config.output_cost_per_token is None:
        return None
    return p_tok * (config.input_cost_per_token or 0.0) + c_tok * (
        config.output_cost_per_token or 0.0
    )


#: How litellm (through the openai SDK) says no key was found; not worth a retry.
_MISSING_KEY = "Missing credentials"


def classify(exc: BaseException) -> ProviderError:
    """Sort a litellm / HTTP exception into a ProviderError kind."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    message = f"{name}: {exc}"
    if name == "RateLimitError" or status == 429:
        return ProviderError("rate_limit", message, retry_after=_retry_after(exc))
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return ProviderError("timeout", message)
    if _MISSING_KEY in str(exc):  # litellm says so in a 500 before sending anything
        return ProviderError(
            "auth",
            message + " (no API key: set the provider's key variable, or name it in the model's "
            "api_key_env)",
        )
    if name in {"APIConnectionError", "ServiceUnavailableError", "InternalServerError"} or (
        isinstance(status, int) and status >= 500
    ):
        kind = "malformed" if _looks_malformed(str(exc)) else "server"
        return ProviderError(kind if name != "APIConnectionError" else _conn_kind(exc), message)
    if name in {"AuthenticationError", "PermissionDeniedError"} or status in (401, 403):
        return ProviderError("auth", message)
    if name == "NotFoundError" or status == 404:
        return ProviderError("not_found", message)
    if (
        name
        in {
            "BadRequestError",
            "UnprocessableEntityError",
            "ContextWindowExceededError",
            "ContentPolicyViolationError",
            "UnsupportedParamsError",
        }
        or status == 400
    ):
        return ProviderError("bad_request", message)
    if _looks_malformed(str(exc)) or isinstance(exc, (ValueError, KeyError, IndexError)):
        return ProviderError("malformed", message)
    return ProviderError("other", message)


def _conn_kind(exc: BaseException) -> str:
    return "malformed" if _looks_malformed(str(exc)) else "connection"


def _looks_malformed(text: str) -> bool:
    lowered = text.lower()
    return "json" in lowered and (
        "decode" in lowered or "expecting" in lowered or "invalid" in lowered
    )


def _retry_after(exc: BaseException) -> float | None:
    for source in (getattr(exc, "response", None), exc):
        headers = getattr(source, "headers", None) or getattr(
            source, "litellm_response_headers", None
        )
        if not headers:
            continue
        value = headers.get("retry-after") or headers.get("Retry-After")
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            return _http_date_delay(value)
    return None


def _http_date_delay(value: str) -> float | None:
    """Seconds until an HTTP date; ``inf`` for one beyond what a datetime holds (past the year
    9999: the wait is capped like any long one); None for no date."""
    from email.utils import parsedate_to_datetime, parsedate_tz

    try:
        parts = parsedate_tz(value)
        if parts is not None and parts[0] > datetime.MAXYEAR:
            return math.inf
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):
        return None
