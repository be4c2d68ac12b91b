"""The ``wolfram`` computation service: WolframAlpha's LLM API over HTTP.

:class:`WolframService` sends a model's query to the LLM API (``GET <base_url>?input=...``) and
hands its plain-text answer back, clipped to :data:`~creator.services.base.REPLY_CAP`. It owns
what a long evaluation needs from a remote service:

- the app id travels in an ``Authorization: Bearer`` header, never in the URL (URLs end up in
  proxy and server logs), and is redacted from every message, reply and ``repr`` (also where a
  server echoes it escaped);
- a query WolframAlpha cannot interpret (501), a refused query (400), a redirect (not
  followed: it would carry the key to another host), an oversized or empty body, and a failure
  that outlasted the retries become a one-line ``error`` in the reply; a rejected key
  (401/403) raises :class:`~creator.services.base.ServiceError`, as every later query would
  fail too;
- 408, 429, 5xx (except 501), timeouts and connection errors are tried again, with
  exponential backoff and full jitter, or after the server's ``Retry-After`` (capped);
- each try has a deadline of ``timeout_s`` for the whole exchange (a server that trickles its
  answer byte by byte cannot hold a run), and bodies are read up to :data:`BODY_CAP` bytes.

One HTTP client is opened per :meth:`WolframService.ask` and closed when it returns: the
service holds no connection, so it is usable from any number of concurrent tasks and event
loops and needs no closing. The price, a new TLS handshake per query, is small next to
WolframAlpha's own answer time of a second or more.

:func:`app_id_from` finds the key (``--wolfram-app-id`` or ``$WOLFRAM_APP_ID``);
:meth:`WolframService.probe` checks it with one cheap query before a run starts.

Deliberately left out: the other WolframAlpha APIs (Full Results, Short Answers), the LLM
API's optional parameters besides ``maxchars`` (units, location), caching of answers, and a
cap on requests in flight (the caller's concurrency is the cap; 429s are retried).
"""

from __future__ import annotations

import asyncio
import codecs
import html
import json
import random
import re
import time
import urllib.parse
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx2

from creator.errors import ConfigError
from creator.models.openai_errors import display_url, failure_reason, retry_after_s
from creator.sandbox.base import Limits, Sandbox
from creator.services.base import QUERY_CAP, REPLY_CAP, ServiceError, ServiceReply, clip_reply

__all__ = [
    "BODY_CAP",
    "WOLFRAM_LLM_API_URL",
    "WolframService",
    "app_id_from",
]

WOLFRAM_LLM_API_URL = "https://www.wolframalpha.com/api/v1/llm-api"
"""The LLM API's endpoint (``input``, optional ``maxchars``; the app id as a bearer token)."""

BODY_CAP = 1_000_000
"""Most bytes of an answer read; a longer one is an error (the API's own answers hold a few
thousand characters: anything this large is not one)."""

_ERROR_BODY_CAP = 64_000
"""Most bytes of an error response read (only its start is ever shown)."""

_HINT_CAP = 200
"""Most characters of the server's words quoted in an error."""

_PROBE_QUERY = "2+2"

_APP_ID = re.compile(r"[\x21-\x7e]+")
"""What an app id may hold: printable ASCII, no spaces (it travels in an HTTP header)."""

_NO_KEY = (
    "the wolfram service needs an app id: set WOLFRAM_APP_ID or pass --wolfram-app-id"
    " (get one at https://developer.wolframalpha.com)"
)


def app_id_from(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The WolframAlpha app id from ``--wolfram-app-id`` (``explicit``) or, failing that,
    ``$WOLFRAM_APP_ID``; a :class:`~creator.errors.ConfigError` when neither holds one."""
    for candidate in (explicit, environ.get("WOLFRAM_APP_ID")):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    raise ConfigError(_NO_KEY)


class WolframService:
    """WolframAlpha's LLM API as a :class:`~creator.services.base.ToolService`.

    ``base_url`` may point elsewhere (a proxy, a test server). A failed try is followed by up
    to ``max_retries`` more, waiting ``backoff_base_s * 2**n`` seconds at most (full jitter)
    or what ``Retry-After`` says, never more than ``backoff_max_s``. ``max_chars`` is sent as
    the API's ``maxchars``; whatever arrives is clipped to
    :data:`~creator.services.base.REPLY_CAP` all the same.
    """

    def __init__(
        self,
        *,
        app_id: str,
        base_url: str = WOLFRAM_LLM_API_URL,
        timeout_s: float = 30.0,
        max_retries: int = 3,
        max_chars: int = REPLY_CAP,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        if not app_id or not app_id.strip():
            raise ConfigError(_NO_KEY)
        if not _APP_ID.fullmatch(app_id.strip()):
            raise ConfigError(
                "the WolframAlpha app id must be printable ASCII without spaces or line breaks "
                "(check WOLFRAM_APP_ID or --wolfram-app-id)"
            )
        try:
            parts = urlsplit(base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError(
                "the wolfram service URL is not a valid URL (its host or port)"
            ) from None
        if parts.username is not None or parts.password is not None:
            raise ConfigError(
                "the wolfram service URL must not carry a user name or password: WolframAlpha "
                "takes the app id (--wolfram-app-id), which a URL's credentials would replace"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = display_url(base_url) if parts.hostname else "a URL without a host"
            raise ConfigError(f"the wolfram service URL must be http(s)://host/..., got {shown}")
        if timeout_s <= 0:
            raise ConfigError(f"the wolfram timeout must be positive, got {timeout_s}")
        if max_retries < 0:
            raise ConfigError(f"the wolfram max_retries must be >= 0, got {max_retries}")
        if max_chars < 1:
            raise ConfigError(f"the wolfram max_chars must be >= 1, got {max_chars}")
        if backoff_base_s < 0 or backoff_max_s < 0:
            raise ConfigError("the wolfram backoff times must be >= 0")
        self._app_id = app_id.strip()
        # Sent without its query, whose pairs (a proxy's token, say) go first in every request.
        self._endpoint = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self._base_params = parse_qsl(parts.query, keep_blank_values=True)
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._max_chars = max_chars
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._url = display_url(base_url)
        self._where = f"{parts.hostname}:{port}"
        url_secrets = [value for _, value in parse_qsl(parts.query)]
        self._secrets = sorted(
            {form for s in (self._app_id, *url_secrets) if len(s) >= 4 for form in _echoes(s)},
            key=len,
            reverse=True,
        )

    @property
    def name(self) -> str:
        return "wolfram"

    def __repr__(self) -> str:
        return f"WolframService(base_url={self._url!r})"

    async def ask(self, query: str, *, sandbox: Sandbox, limits: Limits) -> ServiceReply:
        """Ask WolframAlpha; ``sandbox`` and ``limits`` are ignored (nothing runs here).

        Raises :class:`~creator.services.base.ServiceError` only when the app id is refused.
        """
        return await self._ask(query)

    async def probe(self) -> None:
        """One cheap query, so that a refused key or an unreachable service shows before a run
        starts: raises :class:`~creator.services.base.ServiceError` with a one-line message
        unless WolframAlpha answers it."""
        reply = await self._ask(_PROBE_QUERY)
        if reply.error is not None:
            raise ServiceError(f"the wolfram service is not usable: {reply.error}")

    # one query -------------------------------------------------------------------------------

    async def _ask(self, query: str) -> ServiceReply:
        started = time.monotonic()
        text = query.strip()

        def reply(*, answer: str | None = None, error: str | None = None) -> ServiceReply:
            return ServiceReply(
                service=self.name,
                query=text,
                text=answer,
                error=error,
                duration_s=time.monotonic() - started,
            )

        if not text:
            return reply(error="the query is empty: nothing was sent to WolframAlpha")
        if len(text) > QUERY_CAP:
            return reply(
                error=f"the query has {len(text):,} characters, more than the {QUERY_CAP:,}"
                " a query may have: nothing was sent to WolframAlpha"
            )
        tries = 0
        async with self._client() as client:
            while True:
                tries += 1
                try:
                    return reply(answer=await self._attempt(client, text))
                except _Failed as failure:
                    return reply(error=failure.message)
                except _Retry as failure:
                    if tries > self._max_retries:
                        plural = "try" if tries == 1 else "tries"
                        return reply(error=f"{failure.message} ({tries} {plural})")
                    await asyncio.sleep(self._backoff_s(tries - 1, failure.retry_after_s))

    def _client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            timeout=httpx2.Timeout(self._timeout_s),
            # A redirect would carry the Authorization header to whatever host it names.
            follow_redirects=False,
        )

    async def _attempt(self, client: httpx2.AsyncClient, query: str) -> str:
        """The answer's text; raises :class:`_Failed`, :class:`_Retry` or ``ServiceError``."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._exchange(client, query)
        except (TimeoutError, httpx2.TimeoutException) as exc:
            raise _Retry(f"WolframAlpha did not answer within {self._timeout_s:g} s") from exc
        except httpx2.UnsupportedProtocol as exc:
            raise _Failed(f"cannot send to {self._url}: {self._one_line(str(exc))}") from exc
        except httpx2.TransportError as exc:
            message = f"cannot reach WolframAlpha at {self._where}: {self._reason(exc)}"
            raise _Retry(message) from exc
        except httpx2.HTTPError as exc:  # a body that does not decode (Content-Encoding)
            raise _Failed(f"unusable answer from WolframAlpha: {self._reason(exc)}") from exc

    async def _exchange(self, client: httpx2.AsyncClient, query: str) -> str:
        params = (*self._base_params, ("input", query), ("maxchars", str(self._max_chars)))
        headers = {"Authorization": f"Bearer {self._app_id}", "Accept": "text/plain"}
        async with client.stream("GET", self._endpoint, params=params, headers=headers) as got:
            status = got.status_code
            if status == 200:
                body, complete = await _read(got, BODY_CAP)
                if not complete:
                    raise _Failed(
                        f"WolframAlpha's answer is larger than {BODY_CAP:,} bytes: not read"
                    )
                return self._answer(got, body)
            body, _ = await _read(got, _ERROR_BODY_CAP)
            raise self._status_failure(got, body)

    def _answer(self, response: httpx2.Response, body: bytes) -> str:
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith("text/html"):
            raise _Failed(
                "WolframAlpha answered with an HTML page, not an answer"
                f" (a proxy or login page at {self._url}?)"
            )
        text = self.redact(_decode(response, body)).strip()
        if not text:
            raise _Failed("WolframAlpha sent an empty answer")
        return clip_reply(text)

    def _status_failure(self, response: httpx2.Response, body: bytes) -> Exception:
        """What a non-200 status means: :class:`_Failed`, :class:`_Retry` or ``ServiceError``."""
        status = response.status_code
        words = self._words(response, body)
        said = f": {words}" if words else ""
        if status in (401, 403):
            words = re.sub(r"^error\s*\d*\s*:\s*", "", words, flags=re.IGNORECASE)
            detail = f"{status}: {words}" if words else str(status)
            return ServiceError(
                f"WolframAlpha refused the app id ({detail}):"
                " check WOLFRAM_APP_ID or --wolfram-app-id"
            )
        if status == 501:
            return _Failed(f"WolframAlpha could not interpret the query{said}")
        if status == 400:
            return _Failed(f"WolframAlpha refused the query (400){said}")
        if 300 <= status < 400:
            target = _target(response.headers.get("location", ""))
            target = f" to {self._one_line(target)}" if target else ""
            return _Failed(
                f"WolframAlpha redirected the query ({status}{target}), not followed:"
                f" check the service URL ({self._url})"
            )
        if status == 429:
            return _Retry(f"WolframAlpha answered 429 (rate limited){said}", _wait(response))
        if status == 408 or status >= 500:
            return _Retry(f"WolframAlpha answered {status}{said}", _wait(response))
        return _Failed(f"WolframAlpha answered {status} at {self._url}{said}")

    # text ------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` without the app id (or a secret of the URL), also where a server echoed
        it escaped (HTML, JSON, URL encoding)."""
        for secret in self._secrets:
            text = text.replace(secret, "<app id>")
        return text

    def _one_line(self, text: str, limit: int = _HINT_CAP) -> str:
        text = self.redact(re.sub(r"\s+", " ", text).strip())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def _words(self, response: httpx2.Response, body: bytes) -> str:
        """The start of an error body on one line: the server's words, tags dropped."""
        text = _decode(response, body)
        if "html" in response.headers.get("content-type", "").lower():
            return self._one_line(html.unescape(re.sub(r"<[^>]*>", " ", text)))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return self._one_line("; ".join(lines))

    def _reason(self, exc: BaseException) -> str:
        """A short lower-case reason from the exception chain, e.g. ``connection refused``."""
        return self._one_line(failure_reason(exc)) or type(exc).__name__

    def _backoff_s(self, retry: int, retry_after: float | None) -> float:
        """Full jitter, or the server's ``Retry-After`` when it gave one; capped either way."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._backoff_max_s)
        ceiling = min(self._backoff_max_s, self._backoff_base_s * (2.0**retry))
        return random.uniform(0.0, ceiling)


class _Failed(Exception):
    """Internal: the query gets this error reply; trying again cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Retry(Exception):
    """Internal: a failed try worth another; ``message`` is the reply's error if none is left."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after


async def _read(response: httpx2.Response, cap: int) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of the (decompressed) body, and whether that was all of it."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return b"", False
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = cap - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True


def _decode(response: httpx2.Response, body: bytes) -> str:
    """``body`` in its declared charset (UTF-8 if none or unknown), bad bytes replaced."""
    charset = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return body.decode(charset, errors="replace")


def _target(location: str) -> str:
    """A redirect's target without credentials or query ("" if it is not a URL)."""
    try:
        return display_url(location) if location else ""
    except ValueError:  # an invalid port
        return ""


def _wait(response: httpx2.Response) -> float | None:
    return retry_after_s({k.lower(): v for k, v in response.headers.items()})


def _echoes(secret: str) -> set[str]:
    """The ways a server (or an error message) may echo ``secret``: as is, lower-cased, HTML-
    or JSON-escaped, URL-encoded."""
    json_form = json.dumps(secret)[1:-1]
    return {
        secret,
        secret.lower(),
        html.escape(secret),
        json_form,
        json_form.replace("/", "\\/"),
        urllib.parse.quote(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }
