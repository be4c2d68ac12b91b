"""A chat model behind any OpenAI-compatible endpoint, through the official ``openai`` SDK.

:class:`OpenAIModel` talks to OpenAI itself or to a local server (vLLM, SGLang, Ollama,
llama.cpp, a LiteLLM proxy) given its ``base_url``. It owns what a long evaluation needs from a
client: its own retries (exponential backoff with full jitter on 429, 408, 5xx, connection
errors and timeouts, honouring ``Retry-After``), a cap on requests in flight, and failures mapped
to the one-line typed errors of :mod:`creator.errors`, which name the URL and model and never the
API key. Token counts come from the response's ``usage`` (0 when absent), never from a local
tokenizer.

Deliberately left out: streaming, tool/function calling, the Responses API, per-model parameter
quirks (such as ``max_completion_tokens`` for reasoning models) and cost accounting. Caching is a
separate wrapper (:mod:`creator.models.cache`).
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from creator.errors import (
    ConfigError,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
)
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Usage

__all__ = ["OPENAI_BASE_URL", "PLACEHOLDER_API_KEY", "OpenAIModel"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""Used when neither ``base_url`` nor ``$OPENAI_BASE_URL`` is given."""

PLACEHOLDER_API_KEY = "no-key"
"""Sent to a local server when no key is configured (the SDK insists on some key)."""

_RETRYABLE_STATUS = frozenset({408, 429})
_T = TypeVar("_T")


class _Retryable(Exception):
    """Internal: a failed attempt that may be retried, with the error to raise if it is not."""

    def __init__(self, error: ModelError, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


class OpenAIModel:
    """An async chat model served by an OpenAI-compatible endpoint.

    ``base_url`` falls back to ``$OPENAI_BASE_URL`` and then to OpenAI's; ``api_key`` falls back
    to ``$OPENAI_API_KEY``. Without a key a local server gets :data:`PLACEHOLDER_API_KEY`, while
    OpenAI's own URL raises :class:`ConfigError`. A failed request is tried again up to
    ``max_retries`` times; at most ``max_in_flight`` requests of this instance are open at once.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_in_flight: int = 16,
    ) -> None:
        if not model or not model.strip():
            raise ConfigError("no model name given: pass --model")
        if timeout_s <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout_s}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if max_in_flight < 1:
            raise ConfigError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if backoff_base_s < 0 or backoff_max_s < 0:
            raise ConfigError("backoff times must be >= 0")
        resolved_url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip(
            "/"
        )
        if urlsplit(resolved_url).scheme not in ("http", "https"):
            raise ConfigError(f"base URL must start with http:// or https://, got {resolved_url!r}")
        key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if key is None:
            if _is_openai_url(resolved_url):
                raise ConfigError("no API key: set OPENAI_API_KEY or pass --api-key")
            key = PLACEHOLDER_API_KEY
        self._model = model.strip()
        self._base_url = resolved_url
        self._shown_url = _display_url(resolved_url)
        self._api_key = key
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._semaphore = asyncio.Semaphore(max_in_flight)
        self._client = openai.AsyncOpenAI(
            api_key=key, base_url=resolved_url, timeout=timeout_s, max_retries=0
        )

    @property
    def name(self) -> str:
        """The model name sent to the endpoint."""
        return self._model

    @property
    def base_url(self) -> str:
        """The endpoint's base URL after the environment fallbacks (no trailing slash)."""
        return self._base_url

    def __repr__(self) -> str:
        return f"OpenAIModel({self._model!r}, base_url={self._shown_url!r})"

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        """Send one chat-completions request; ``context`` is ignored.

        ``latency_s`` is the time the successful attempt took, excluding waits for a free slot
        and retries. A reply cut off by the token limit is returned with ``finish_reason``
        ``"length"``; a reply without choices or text raises :class:`ModelResponseError`.
        """
        payload = [_message_param(m) for m in messages]
        extra: dict[str, Any] = {}
        if settings.top_p is not None:
            extra["top_p"] = settings.top_p
        if settings.seed is not None:
            extra["seed"] = settings.seed
        timing: list[float] = []

        async def attempt() -> object:  # optional fields go in **extra, so the SDK says Any
            timing.append(time.perf_counter())
            response: object = await self._client.chat.completions.create(
                model=self._model,
                messages=payload,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                **extra,
            )
            timing.append(time.perf_counter())
            return response

        response = await self._with_retries(attempt, "chat")
        return self._completion(response, latency_s=timing[-1] - timing[-2])

    async def check(self) -> str:
        """Probe the endpoint cheaply (``GET /models``, no retries) and describe it in one line.

        Raises the same typed errors as :meth:`generate`.
        """

        async def attempt() -> list[str]:
            page = await self._client.models.list()
            return [entry.id for entry in page.data or []]

        ids = await self._with_retries(attempt, "models", retries=0)
        listed = "listed" if self._model in ids else "not listed"
        plural = "" if len(ids) == 1 else "s"
        return f"reachable, {len(ids)} model{plural}, '{self._model}' {listed}"

    async def aclose(self) -> None:
        """Close the underlying HTTP client."""
        await self._client.close()

    # retries ---------------------------------------------------------------------------------

    async def _with_retries(
        self, attempt: Callable[[], Awaitable[_T]], route: str, *, retries: int | None = None
    ) -> _T:
        limit = self._max_retries if retries is None else retries
        tries = 0
        while True:
            tries += 1
            try:
                async with self._semaphore:
                    try:
                        return await attempt()
                    except openai.OpenAIError as exc:
                        raise self._map_error(exc, route, tries) from exc
            except _Retryable as failure:
                if tries > limit:
                    raise failure.error from failure.__cause__
                await asyncio.sleep(self._backoff_s(tries - 1, failure.retry_after_s))

    def _backoff_s(self, retry: int, retry_after_s: float | None) -> float:
        """Full jitter, or the server's ``Retry-After`` when it gave one; capped either way."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self._backoff_max_s)
        ceiling = min(self._backoff_max_s, self._backoff_base_s * (2.0**retry))
        return random.uniform(0.0, ceiling)

    # error mapping ---------------------------------------------------------------------------

    def _map_error(self, exc: openai.OpenAIError, route: str, tries: int) -> Exception:
        """A typed error to raise now, or a :class:`_Retryable` wrapping the one to raise last."""
        url = self._shown_url
        after = f" after {tries} attempt{'s' if tries != 1 else ''}"
        if isinstance(exc, openai.APITimeoutError):
            error: ModelError = ModelTimeoutError(
                f"{url} did not answer within {self._timeout_s:g} s (model '{self._model}'){after}"
            )
            return _Retryable(error)
        if isinstance(exc, openai.APIConnectionError):
            error = ModelConnectionError(f"cannot reach {url}: {_connection_reason(exc)}")
            return _Retryable(error)
        if isinstance(exc, openai.APIStatusError):
            return self._map_status(exc, route, after)
        detail = self._one_line(str(exc))
        return ModelResponseError(f"unusable response from {url} (model '{self._model}'): {detail}")

    def _map_status(self, exc: openai.APIStatusError, route: str, after: str) -> Exception:
        url, status = self._shown_url, exc.status_code
        if status in (401, 403):
            return ModelAuthError(f"{url} rejected the API key ({status})")
        if status == 404:
            if route == "models":
                return ModelResponseError(
                    f"{url}/models does not exist (404): check the base URL (often ends in /v1)"
                )
            hint = "" if _names_model(exc.body) else "; check the base URL, often ends in /v1"
            return ModelNotFoundError(f"model '{self._model}' not found at {url} (404{hint})")
        message = self._server_message(exc)
        if status == 429:
            error: ModelError = ModelRateLimitError(
                f"{url} is still rate limiting model '{self._model}'{after} (429){message}"
            )
        else:
            error = ModelResponseError(
                f"{url} answered {status} for model '{self._model}'{after}{message}"
            )
        if status in _RETRYABLE_STATUS or status >= 500:
            return _Retryable(error, _retry_after_s(exc.response.headers))
        return error

    def _server_message(self, exc: openai.APIStatusError) -> str:
        body = exc.body
        text = body.get("message") if isinstance(body, Mapping) else body
        if not isinstance(text, str) or not text.strip():
            return ""
        return ": " + self._one_line(text)

    def _one_line(self, text: str, limit: int = 200) -> str:
        """Collapse whitespace, drop the API key if the server echoed it, and truncate."""
        text = re.sub(r"\s+", " ", text).strip().replace(self._api_key, "<key>")
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def _completion(self, response: Any, *, latency_s: float) -> Completion:
        url = self._shown_url
        choices = getattr(response, "choices", None)
        if not isinstance(response, ChatCompletion) or not choices:
            raise ModelResponseError(f"{url} returned no choices for model '{self._model}'")
        choice = choices[0]
        message = choice.message
        if message is None or message.content is None:
            refusal = getattr(message, "refusal", None)
            why = f"refused: {self._one_line(refusal)}" if refusal else "no text"
            raise ModelResponseError(
                f"{url} returned {why} for model '{self._model}'"
                f" (finish_reason={choice.finish_reason})"
            )
        usage = response.usage
        return Completion(
            text=message.content,
            usage=Usage(
                prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
                completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            ),
            finish_reason=choice.finish_reason,
            model=response.model or self._model,
            latency_s=latency_s,
        )


def _message_param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _is_openai_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


def _display_url(url: str) -> str:
    """The URL without credentials, query or fragment, fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _connection_reason(exc: BaseException) -> str:
    """A short lower-case reason from the exception chain, e.g. ``connection refused``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    fallback = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, OSError) and current.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(current, OSError) and current.errno is not None and current.strerror:
            return current.strerror.lower()
        text = str(current).strip()
        if text and current is not exc:
            fallback = text
        current = current.__cause__ or current.__context__
    return re.sub(r"\s+", " ", fallback).lower()[:200] or "connection error"


def _names_model(body: object) -> bool:
    """Whether a 404 body is an API error about the model (not an unknown route)."""
    if not isinstance(body, Mapping):
        return False
    return body.get("code") == "model_not_found" or "model" in str(body.get("message", "")).lower()


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (a number or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
