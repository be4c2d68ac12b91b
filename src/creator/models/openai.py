"""A chat model behind any OpenAI-compatible endpoint, through the official ``openai`` SDK.

:class:`OpenAIModel` talks to OpenAI itself or to a local server (vLLM, SGLang, Ollama,
llama.cpp, a LiteLLM proxy) given its ``base_url``. It owns what a long evaluation needs from a
client:

- retries (exponential backoff with full jitter on 429, 408, 5xx, connection errors, timeouts
  and malformed 200 replies, honouring ``Retry-After``), each told to the call context's
  ``on_retry`` as it happens, and a cap on requests in flight;
- request parameters per model (:mod:`creator.models.openai_request`): OpenAI's reasoning
  models get ``max_completion_tokens`` and no sampling parameters; any server's 400 that refuses
  one such parameter is adapted to once, the request sent again, and remembered
  (:attr:`OpenAIModel.adaptations`);
- timeouts that measure the server's silence, not its queue: a request fails only when the
  endpoint finished none of this client's requests for ``timeout_s`` since it was sent, so
  requests queued behind others at a one-slot server (llama.cpp) are never abandoned;
- replies split into answer text and reasoning (``reasoning_content``/``reasoning`` fields or
  inline ``<think>`` sections), with reasoning tokens, and why a reply stopped early;
- failures mapped to the one-line typed errors of :mod:`creator.errors`
  (:mod:`creator.models.openai_errors`), naming the URL and model and never the API key.

Token counts come from the response's ``usage`` (0 when absent), never from a local tokenizer.
Deliberately left out: streaming (llama-cpp-python's server cuts streamed replies short when
another request arrives), tool/function calling, the Responses API and cost accounting.
Caching is a separate wrapper (:mod:`creator.models.cache`); several endpoints of one model
are :mod:`creator.models.replicas`, which sends each try through :meth:`OpenAIModel.send_once`
and decides about retries itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

import openai

from creator.errors import ConfigError
from creator.models.base import (
    CallContext,
    Completion,
    GenerationSettings,
    Message,
    RetryNotice,
    RetryObserver,
)
from creator.models.openai_errors import (
    ErrorReader,
    Retryable,
    display_url,
    is_openai_url,
    refused_parameter,
)
from creator.models.openai_reply import read_completion
from creator.models.openai_request import RequestParameters, message_params
from creator.models.reasoning import is_reasoning_model

__all__ = ["OPENAI_BASE_URL", "PLACEHOLDER_API_KEY", "OpenAIModel", "is_reasoning_model"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""Used when neither ``base_url`` nor ``$OPENAI_BASE_URL`` is given."""

PLACEHOLDER_API_KEY = "no-key"
"""Sent to a local server when no key is configured (the SDK insists on some key)."""

_T = TypeVar("_T")


class OpenAIModel:
    """An async chat model served by an OpenAI-compatible endpoint.

    ``base_url`` falls back to ``$OPENAI_BASE_URL`` and then to OpenAI's; ``api_key`` falls back
    to ``$OPENAI_API_KEY``. Without a key a local server gets :data:`PLACEHOLDER_API_KEY`, while
    OpenAI's own URL raises :class:`ConfigError`. ``headers`` are sent with every request
    (gateways, Azure's ``api-key``). A failed request is tried again up to ``max_retries``
    times; at most ``max_in_flight`` requests of this instance are open at once.
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
        headers: Mapping[str, str] | None = None,
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
        try:
            parts = urlsplit(resolved_url)
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError as exc:  # the URL may hold a password: never repeat it
            raise ConfigError(f"the base URL is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = display_url(resolved_url) if parts.hostname else resolved_url.split("@")[-1]
            raise ConfigError(f"base URL must be http:// or https:// and a host, got {shown!r}")
        key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if key is None:
            if is_openai_url(resolved_url):
                raise ConfigError("no API key: set OPENAI_API_KEY or pass --api-key")
            key = PLACEHOLDER_API_KEY
        self._model = model.strip()
        self._base_url = resolved_url
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._semaphore = asyncio.Semaphore(max_in_flight)
        self._errors = ErrorReader(
            model=self._model,
            url=display_url(resolved_url),
            secrets=[key, *(headers or {}).values(), *_url_secrets(resolved_url)],
            timeout_s=timeout_s,
        )
        self._parameters = RequestParameters(self._model)
        self._in_flight = 0
        self._progress_at = 0.0
        # The SDK's own timeout only bounds a silent connection; ours watches the endpoint.
        ceiling = timeout_s * (max_in_flight + 1)
        self._client = openai.AsyncOpenAI(
            api_key=key,
            base_url=resolved_url,
            timeout=openai.Timeout(ceiling, connect=timeout_s),
            max_retries=0,
            default_headers=dict(headers or {}),
            # A redirect would carry --header values (an api-key) to whatever host it names.
            http_client=openai.DefaultAsyncHttpxClient(follow_redirects=False),
        )

    @property
    def name(self) -> str:
        """The model name sent to the endpoint."""
        return self._model

    @property
    def base_url(self) -> str:
        """The endpoint's base URL after the environment fallbacks (no trailing slash)."""
        return self._base_url

    @property
    def adaptations(self) -> dict[str, str]:
        """Request parameters renamed or left out for this model, and how (a copy)."""
        return self._parameters.adaptations

    def __repr__(self) -> str:
        return f"OpenAIModel({self._model!r}, base_url={self._errors.url!r})"

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        settings: GenerationSettings,
        context: CallContext | None = None,
    ) -> Completion:
        """Send one chat-completions request; of ``context`` only ``on_retry`` is used.

        A reply cut off early is returned with ``finish_reason`` ``"length"`` and ``cut_off``
        saying whether the token limit or the server's context stopped it. A refusal raises
        :class:`ModelResponseError`; a request the server refuses as invalid raises
        :class:`~creator.errors.ModelRequestError` (not retried).
        """
        on_retry = context.on_retry if context is not None else None
        return await self._chat(messages, settings, on_retry=on_retry)

    async def send_once(
        self, messages: Sequence[Message], *, settings: GenerationSettings, attempt: int = 1
    ) -> Completion:
        """Send one chat-completions request once, without retries, for a caller that decides
        about trying again itself (:class:`~creator.models.replicas.ReplicaModel`, which may
        try another endpoint).

        A failure that another try may cure (what :meth:`generate` would retry) raises
        :class:`~creator.models.openai_errors.Retryable`: the typed error to raise if no try is
        left, and the server's ``Retry-After``. Any other failure raises its typed error.
        ``attempt`` is this try's number in the caller's count (messages say "after N
        attempts").
        """
        return await self._once(self._chat_attempt(messages, settings), "chat", attempt)

    async def probe(self, settings: GenerationSettings) -> str:
        """One tiny chat request with ``settings`` (its token limit lowered), so that a rejected
        key, an unknown model, an unreachable URL or a refused parameter shows in seconds.

        Parameters the server refuses are adapted to here, once. Raises the typed errors of
        :meth:`generate`; returns a one-line description of what answered, with the reply
        (clipped, non-printable characters escaped) and the server's time on it.
        """
        small = settings.model_copy(update={"max_tokens": min(settings.max_tokens, 32)})
        message = Message(role="user", content="Reply with the single word OK.")
        reply = await self._chat([message], small, retries=1)
        adaptations = self._parameters.adaptations
        adapted = f"; adapted: {', '.join(sorted(adaptations))}" if adaptations else ""
        said = " ".join(reply.text.split())
        said = said if len(said) <= 40 else said[:39] + "…"
        return (
            f"chat answers as '{reply.model or self._model}'{adapted}; "
            f"replied {said!r} in {reply.latency_s:.2f} s"
        )

    async def served_models(self) -> list[str]:
        """The model names the endpoint lists (``GET /models``, no retries)."""

        async def attempt() -> list[str]:
            page = await self._client.models.list()
            return [entry.id for entry in page.data or []]

        return await self._with_retries(attempt, "models", retries=0)

    async def check(self) -> str:
        """Probe the endpoint cheaply (``GET /models``, no retries) and describe it in one line.

        Raises the same typed errors as :meth:`generate`.
        """

        ids = await self.served_models()
        listed = "listed" if self._model in ids else "not listed"
        plural = "" if len(ids) == 1 else "s"
        return f"reachable, {len(ids)} model{plural}, '{self._model}' {listed}"

    async def aclose(self) -> None:
        """Close the underlying HTTP client."""
        await self._client.close()

    # requests --------------------------------------------------------------------------------

    async def _chat(
        self,
        messages: Sequence[Message],
        settings: GenerationSettings,
        *,
        retries: int | None = None,
        on_retry: RetryObserver | None = None,
    ) -> Completion:
        attempt = self._chat_attempt(messages, settings)
        return await self._with_retries(attempt, "chat", retries=retries, on_retry=on_retry)

    def _chat_attempt(
        self, messages: Sequence[Message], settings: GenerationSettings
    ) -> Callable[[], Awaitable[Completion]]:
        """One try of a chat request, to be run by :meth:`_once`."""
        payload = message_params(messages)

        async def attempt() -> Completion:
            sent = time.monotonic()
            response: object = await self._client.chat.completions.create(
                model=self._model, messages=payload, **self._parameters.for_settings(settings)
            )
            done = time.monotonic()
            started = self._progress_before(done, sent)  # the queue ahead of it was served
            self._progress_at = done
            return read_completion(
                response,
                settings,
                errors=self._errors,
                model=self._model,
                wall_s=done - sent,
                queue_s=started - sent,
            )

        return attempt

    def _progress_before(self, done: float, sent: float) -> float:
        """When the server last finished another request of ours, if after ``sent``."""
        return self._progress_at if sent < self._progress_at <= done else sent

    # retries ---------------------------------------------------------------------------------

    async def _with_retries(
        self,
        attempt: Callable[[], Awaitable[_T]],
        route: str,
        *,
        retries: int | None = None,
        on_retry: RetryObserver | None = None,
    ) -> _T:
        limit = self._max_retries if retries is None else retries
        tries = 0
        while True:
            tries += 1
            try:
                return await self._once(attempt, route, tries)
            except Retryable as failure:
                if tries > limit:
                    raise failure.error from failure.__cause__
                delay = self._backoff_s(tries - 1, failure.retry_after_s)
                if on_retry is not None:
                    on_retry(RetryNotice(attempt=tries, error=str(failure.error), delay_s=delay))
                await asyncio.sleep(delay)

    async def _once(self, attempt: Callable[[], Awaitable[_T]], route: str, tries: int) -> _T:
        """One try of a request (sent again at once when a refused parameter was adapted to:
        the request changed, so that was not a failed try of it)."""
        while True:
            try:
                async with self._semaphore:
                    return await self._watched(attempt, route, tries)
            except _Adapted:
                continue

    async def _watched(self, attempt: Callable[[], Awaitable[_T]], route: str, tries: int) -> _T:
        """Run ``attempt``; time it out only after ``timeout_s`` without progress at the server."""
        sent = time.monotonic()
        # A server works on at most the requests of ours in flight alongside this one: past
        # their share of time, progress elsewhere excuses nothing. Those sent after this one
        # count too, since a server need not take requests in the order they were sent (the
        # connections of a burst reach it in any order).
        self._in_flight += 1
        peak = self._in_flight
        task = asyncio.ensure_future(self._mapped(attempt, route, tries))
        try:
            while True:
                peak = max(peak, self._in_flight)
                since = max(sent, self._progress_at)
                now = time.monotonic()
                remaining = min(since + self._timeout_s, sent + self._timeout_s * peak) - now
                if remaining <= 0:
                    task.cancel()
                    raise self._errors.timeout(tries, waited_s=now - sent)
                done, _ = await asyncio.wait({task}, timeout=remaining)
                if done:
                    return task.result()
        finally:
            self._in_flight -= 1
            if not task.done():
                task.cancel()

    async def _mapped(self, attempt: Callable[[], Awaitable[_T]], route: str, tries: int) -> _T:
        try:
            return await attempt()
        except openai.APIStatusError as exc:
            self._progress_at = time.monotonic()  # the server is alive and answering
            parameter = refused_parameter(exc.body) if exc.status_code == 400 else None
            if parameter is not None and self._parameters.adapt(parameter):
                raise _Adapted from exc
            raise self._errors.map(exc, route, tries) from exc
        except openai.OpenAIError as exc:
            raise self._errors.map(exc, route, tries) from exc
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # A 200 that is not a chat completion: broken JSON, an HTML page from a proxy.
            raise self._errors.malformed(f"{type(exc).__name__}: {exc}") from exc

    def _backoff_s(self, retry: int, retry_after_s: float | None) -> float:
        """Full jitter, or the server's ``Retry-After`` when it gave one; capped either way."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self._backoff_max_s)
        ceiling = min(self._backoff_max_s, self._backoff_base_s * (2.0**retry))
        return random.uniform(0.0, ceiling)


class _Adapted(Exception):
    """Internal: a refused parameter was adapted to; send the request again at once."""


def _url_secrets(url: str) -> list[str]:
    """What a base URL may carry that must never be shown: a password, query values."""
    parts = urlsplit(url)
    return [parts.password or "", *(value for _, value in parse_qsl(parts.query))]
