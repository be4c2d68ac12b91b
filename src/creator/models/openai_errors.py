"""Reading an OpenAI-compatible server's failures: typed errors, adaptable parameters, context.

:class:`ErrorReader` turns what the SDK raised into the one-line typed errors of
:mod:`creator.errors` (naming the URL and model, never the API key), tells which failures are
worth another attempt (:class:`Retryable`), recognises a 400 that refuses one request
parameter (:func:`refused_parameter`) and a prompt that does not fit the model's context
(:func:`context_error`, with the token counts the server gave). The client that sends requests
is :mod:`creator.models.openai`.

Deliberately left out: sending anything, and guessing token counts the server did not say.
"""

from __future__ import annotations

import email.utils
import errno
import html
import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import openai

from creator.errors import (
    ModelAuthError,
    ModelConnectionError,
    ModelContextError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelRequestError,
    ModelResponseError,
    ModelTimeoutError,
)

__all__ = [
    "ADAPTABLE",
    "ErrorReader",
    "Retryable",
    "context_error",
    "display_url",
    "failure_reason",
    "is_openai_url",
    "refused_parameter",
    "retry_after_s",
]

ADAPTABLE = frozenset({"max_tokens", "max_completion_tokens", "temperature", "top_p", "seed"})
"""Request parameters the client may rename or leave out when a server refuses them."""

_RETRYABLE_STATUS = frozenset({408, 409, 429})
_REQUEST_STATUS = frozenset({400, 413, 422})
_REFUSAL_WORDS = re.compile(
    r"unsupported|not supported|unrecognized|unknown|extra (?:fields|inputs)|not permitted|"
    r"extra_forbidden|only the default|does not support",
    re.IGNORECASE,
)
_CONTEXT_WORDS = re.compile(
    r"context[ _](?:length|window|size)|maximum context|n_ctx|exceeds? the available context",
    re.IGNORECASE,
)
_AVAILABLE = re.compile(
    r"(?:maximum context length is|context window of|context (?:length|size|window) (?:is|of)|"
    r"\bn_ctx\b\W{0,4})\s*(\d[\d,]*)",
    re.IGNORECASE,
)
_IN_MESSAGES = re.compile(r"\(\s*(\d[\d,]*) in the messages", re.IGNORECASE)
_IN_COMPLETION = re.compile(r"(\d[\d,]*) in the completion", re.IGNORECASE)
_NEEDED = re.compile(
    r"(?:resulted in|you requested|requested tokens \(|requested|your request has|"
    r"\bn_prompt_tokens\b\W{0,4})\s*(\d[\d,]*)",
    re.IGNORECASE,
)


class Retryable(Exception):
    """A failed attempt that may be tried again, with the error to raise if it is not."""

    def __init__(self, error: ModelError, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


def refused_parameter(body: object) -> str | None:
    """The adaptable request parameter a 400 body refuses, if it refuses exactly one."""
    if not isinstance(body, Mapping):
        return None
    message = str(body.get("message") or "")
    code = str(body.get("code") or "")
    param = body.get("param")
    if code not in ("unsupported_parameter", "unsupported_value") and not _REFUSAL_WORDS.search(
        message
    ):
        return None
    if isinstance(param, str) and param in ADAPTABLE:
        return param
    named = [p for p in ADAPTABLE if re.search(rf"['\"`]?\b{p}\b['\"`]?", message)]
    if "max_completion_tokens" in named and "max_tokens" in named:
        # "max_tokens is not supported ... use max_completion_tokens instead"
        first = min(named, key=message.find)
        return first
    return named[0] if len(named) == 1 else None


def context_error(message: str, body: object, *, model: str, url: str) -> ModelContextError | None:
    """A :class:`ModelContextError` when the server says the prompt does not fit its context."""
    fields = body if isinstance(body, Mapping) else {}
    code = f"{fields.get('code') or ''} {fields.get('type') or ''}"
    said_so = "context_length" in code or "exceed_context" in code
    if not said_so and not _CONTEXT_WORDS.search(message):
        return None
    # vLLM and llama-cpp-python: "you requested 1547 tokens (1531 in the messages, 16 in the
    # completion)": the prompt alone is what must fit; the reply's share can be lowered.
    prompt = _first(_IN_MESSAGES, message)
    reply = _first(_IN_COMPLETION, message)
    needed = _number(fields.get("n_prompt_tokens")) or prompt or _first(_NEEDED, message)
    available = _number(fields.get("n_ctx")) or _first(_AVAILABLE, message)
    plus = f" (plus {reply:,} for the reply)" if prompt is not None and reply else ""
    if needed is not None and available is not None:
        counts = (
            f"the prompt needs {needed:,} tokens{plus} but the server's context holds {available:,}"
        )
    elif available is not None:
        counts = f"the prompt does not fit the server's context of {available:,} tokens"
    else:
        counts = "the prompt does not fit the server's context"
    fix = "start the server with a larger context (llama.cpp: -c/--n_ctx, vLLM: --max-model-len)"
    if needed is None or available is None or needed < available:
        fix += " or lower --max-tokens"
    text = f"{counts} (model '{model}' at {url}): {fix}; server said: {message}"
    return ModelContextError(text, needed=needed, available=available)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1).replace(",", "")) if match else None


class ErrorReader:
    """Maps SDK failures of requests to ``url`` for ``model`` to typed errors."""

    def __init__(self, *, model: str, url: str, secrets: Sequence[str], timeout_s: float) -> None:
        self.model = model
        self.url = url
        self._secrets = sorted(
            {form for s in secrets if len(s) >= 4 for form in _echoed_forms(s)},
            key=len,
            reverse=True,
        )
        self._timeout_s = timeout_s

    def one_line(self, text: str, limit: int = 300) -> str:
        """Collapse whitespace, drop the API key (or a header's value) if the server echoed
        it, and truncate."""
        text = self.redact(re.sub(r"\s+", " ", text).strip())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def redact(self, text: str) -> str:
        """``text`` with the API key and header values replaced, also where a server echoed
        them escaped (HTML, JSON, URL encoding)."""
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        return text

    def timeout(self, tries: int, *, waited_s: float | None = None) -> Retryable:
        """A request that got no answer: ``waited_s`` is how long it waited in all, when the
        server's progress on other requests had let it wait longer than the timeout."""
        waited = ""
        if waited_s is not None and waited_s >= self._timeout_s + 1:
            waited = f", {waited_s:.0f} s in all"
        error = ModelTimeoutError(
            f"{self.url} did not answer within {self._timeout_s:g} s{waited}"
            f" (model '{self.model}'){_after(tries)}"
        )
        return Retryable(error)

    def malformed(self, detail: str) -> Retryable:
        """A 200 reply that is not a usable chat completion (broken JSON, an HTML page)."""
        error = ModelResponseError(
            f"unusable reply from {self.url} (model '{self.model}'): {self.one_line(detail)}"
        )
        return Retryable(error)

    def map(self, exc: openai.OpenAIError, route: str, tries: int) -> Exception:
        """A typed error to raise now, or a :class:`Retryable` wrapping the one to raise last."""
        if isinstance(exc, openai.APITimeoutError):
            return self.timeout(tries)
        if isinstance(exc, openai.APIConnectionError):
            reason = failure_reason(exc)
            return Retryable(ModelConnectionError(f"cannot reach {self.url}: {reason}"))
        if isinstance(exc, openai.APIStatusError):
            return self._status(exc, route, tries)
        return self.malformed(f"{type(exc).__name__}: {exc}")

    def _status(self, exc: openai.APIStatusError, route: str, tries: int) -> Exception:
        url, status, model = self.url, exc.status_code, self.model
        message = self.server_message(exc.body) or self.one_line(exc.response.text or "")
        said = f": {message}" if message else ""
        if status in (401, 403):
            return ModelAuthError(f"{url} rejected the API key ({status}){said}")
        if status == 404:
            if route == "models":
                return ModelResponseError(
                    f"{url}/models does not exist (404): check the base URL (often ends in /v1)"
                )
            hint = "" if _names_model(exc.body) else "; check the base URL, often ends in /v1"
            return ModelNotFoundError(f"model '{model}' not found at {url} (404{hint}){said}")
        context = context_error(message, exc.body, model=model, url=url) if message else None
        if context is not None:
            return context
        if status == 429:
            error: ModelError = ModelRateLimitError(
                f"{url} is still rate limiting model '{model}'{_after(tries)} (429){said}"
            )
        elif status in _REQUEST_STATUS:
            return ModelRequestError(
                f"{url} refused the request for model '{model}' ({status}){said}"
            )
        else:
            error = ModelResponseError(
                f"{url} answered {status} for model '{model}'{_after(tries)}{said}"
            )
        if status in _RETRYABLE_STATUS or status >= 500:
            return Retryable(error, retry_after_s(exc.response.headers))
        return error

    def server_message(self, body: object) -> str:
        """The server's own message in an error body, on one line ("" if none)."""
        text = body.get("message") if isinstance(body, Mapping) else body
        if isinstance(text, Mapping):  # {"error": {"message": ...}} nested once more
            text = text.get("message")
        if not isinstance(text, str) or not text.strip():
            return ""
        return self.one_line(text)


def _echoed_forms(secret: str) -> set[str]:
    """The ways a server may echo ``secret``: as is, HTML- or JSON-escaped, URL-encoded."""
    json_form = json.dumps(secret)[1:-1]
    return {
        secret,
        html.escape(secret),
        html.escape(secret, quote=False),
        json_form,
        json_form.replace("/", "\\/"),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }


def _after(tries: int) -> str:
    return f" after {tries} attempt{'s' if tries != 1 else ''}"


def is_openai_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


def display_url(url: str) -> str:
    """The URL without credentials, query or fragment, fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def failure_reason(exc: BaseException) -> str:
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


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (a number or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            seconds = float(millis) / 1000.0
        except ValueError:
            pass
        else:
            return max(seconds, 0.0) if math.isfinite(seconds) else None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
