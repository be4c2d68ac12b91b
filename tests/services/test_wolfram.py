"""WolframService against a stand-in for WolframAlpha's LLM API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import html
import json
import socket
import time
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

import pytest

from creator.errors import ConfigError
from creator.sandbox.base import Limits, Sandbox
from creator.services.base import QUERY_CAP, REPLY_CAP, ServiceError, ServiceReply, ToolService
from creator.services.wolfram import WolframService, app_id_from
from tests.services.wolfram_server import Reply, WolframServer

KEY = "SECRET-AppId/4711+x&y"
"""The app id: with characters that URL, HTML and JSON escaping change."""
SOLVE = "solve 3p+4q=8, 4p+3q=13"
NO_SANDBOX = cast(Sandbox, object())  # a remote service never touches it


@pytest.fixture
def server() -> Iterator[WolframServer]:
    with WolframServer(app_id=KEY) as running:
        yield running


def _service(url: str, **options: Any) -> WolframService:
    """A service with tiny timeouts and backoff, so failure tests take milliseconds."""
    settings: dict[str, Any] = {
        "app_id": KEY,
        "base_url": url,
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.05,
    }
    settings.update(options)
    return WolframService(**settings)


def _ask(service: WolframService, query: str) -> ServiceReply:
    return asyncio.run(service.ask(query, sandbox=NO_SANDBOX, limits=Limits()))


def _error(reply: ServiceReply) -> str:
    assert not reply.ok
    assert reply.text is None
    assert reply.error is not None
    assert "\n" not in reply.error
    assert KEY not in reply.error
    return reply.error


def _dead_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


# answers ---------------------------------------------------------------------------------------


def test_answer_and_what_was_sent(server: WolframServer) -> None:
    service = _service(server.url)
    assert isinstance(service, ToolService)
    assert service.name == "wolfram"
    reply = _ask(service, f"  {SOLVE}\n")
    assert reply.ok, reply.error
    assert reply.service == "wolfram"
    assert reply.query == SOLVE
    assert reply.text is not None
    assert reply.text.startswith('Query:\n"solve 3p+4q=8, 4p+3q=13"')
    assert "Result:\np = 4 and q = -1" in reply.text
    assert 0 < reply.duration_s < 5
    (request,) = server.requests
    assert request.path == "/api/v1/llm-api"
    assert request.params == {"input": SOLVE, "maxchars": str(REPLY_CAP)}
    # url-encoded: "+", "=" and "," are escaped, so the server reads the query unchanged
    assert "3p%2B4q%3D8%2C" in request.raw_query
    assert request.headers["authorization"] == f"Bearer {KEY}"
    # the key travels in the header only: never in the URL, a reply or the service's repr
    assert "appid" not in request.params
    assert KEY not in request.raw_query and quote(KEY, safe="") not in request.raw_query
    assert KEY not in reply.model_dump_json()
    assert KEY not in repr(service) and "127.0.0.1" in repr(service)


def test_max_chars_is_sent(server: WolframServer) -> None:
    _ask(_service(server.url, max_chars=500), "2+2")
    assert server.requests[0].params["maxchars"] == "500"


def test_long_answer_is_clipped(server: WolframServer) -> None:
    server.queue(Reply(body="Result:\n" + "7" * 10_000))
    reply = _ask(_service(server.url), "2+2")
    assert reply.text is not None
    assert len(reply.text) <= REPLY_CAP
    assert reply.text.startswith("Result:\n777")
    assert "characters cut" in reply.text


def test_non_utf8_body_is_decoded_with_replacement(server: WolframServer) -> None:
    server.queue(Reply(body=b"Result:\ncaf\xe9 \xff", content_type="text/plain"))
    server.queue(
        Reply(body="Result:\ncafé".encode("latin-1"), content_type="text/plain; charset=latin-1")
    )
    first, second = _ask(_service(server.url), "2+2"), _ask(_service(server.url), "2+2")
    assert first.text == "Result:\ncaf\ufffd \ufffd"
    assert second.text == "Result:\ncafé"


def test_a_key_echoed_in_an_answer_is_redacted(server: WolframServer) -> None:
    server.queue(Reply(body=f"Result:\n4 (asked with {KEY}, {quote(KEY, safe='')})"))
    reply = _ask(_service(server.url), "2+2")
    assert reply.text == "Result:\n4 (asked with <app id>, <app id>)"


def test_concurrent_asks_from_several_tasks() -> None:
    with WolframServer(app_id=KEY, delay_s=0.3) as server:
        service = _service(server.url)
        queries = [SOLVE, "2+2", "what is love"] * 2

        async def main() -> list[ServiceReply]:
            asks = [service.ask(q, sandbox=NO_SANDBOX, limits=Limits()) for q in queries]
            return await asyncio.gather(*asks)

        started = time.monotonic()
        replies = asyncio.run(main())
        elapsed = time.monotonic() - started
    assert elapsed < 1.2  # six replies of 0.3 s each, answered side by side
    assert len(server.requests) == 6
    for query, reply in zip(queries, replies, strict=True):
        assert reply.query == query
        if query == "what is love":
            assert _error(reply).startswith("WolframAlpha could not interpret the query")
        else:
            assert reply.text is not None and f'Query:\n"{query}"' in reply.text


# queries that get no answer --------------------------------------------------------------------


def test_uninterpretable_query_is_an_error_reply_with_the_hint(server: WolframServer) -> None:
    reply = _ask(_service(server.url), "what is love")
    error = _error(reply)
    assert error.startswith("WolframAlpha could not interpret the query: ")
    assert "Things to try instead" in error and "2+2" in error
    assert len(server.requests) == 1  # not tried again


def test_501_hint_is_clipped(server: WolframServer) -> None:
    server.queue(Reply(status=501, body="suggestion\n" * 500))
    error = _error(_ask(_service(server.url), "?"))
    assert len(error) < 300 and error.endswith("...")


def test_refused_query_gives_the_servers_words(server: WolframServer) -> None:
    server.queue(Reply(status=400, body="Error: the input\nis malformed"))
    error = _error(_ask(_service(server.url), "2+2"))
    assert error == "WolframAlpha refused the query (400): Error: the input; is malformed"
    assert len(server.requests) == 1


def test_empty_or_overlong_query_sends_nothing(server: WolframServer) -> None:
    service = _service(server.url)
    assert "empty" in _error(_ask(service, " \n\t "))
    error = _error(_ask(service, "x" * (QUERY_CAP + 1)))
    assert "2,001 characters" in error and "2,000" in error
    assert _ask(service, "2+2" + " " * QUERY_CAP).ok  # the cap counts the stripped query
    assert len(server.requests) == 1


def test_redirect_is_not_followed(server: WolframServer) -> None:
    elsewhere = f"http://127.0.0.1:{_dead_port()}/moved?appid={KEY}"
    server.queue(Reply(status=302, headers={"Location": elsewhere}))
    error = _error(_ask(_service(server.url), "2+2"))
    assert "redirected the query (302 to http://127.0.0.1:" in error
    assert "/moved" in error and "not followed" in error
    assert len(server.requests) == 1


def test_huge_body_is_refused(server: WolframServer) -> None:
    huge = b"x" * 5_000_000
    server.queue(Reply(body=huge), Reply(body=huge, content_length=False))
    for _ in range(2):  # declared by Content-Length, then found while reading
        assert "larger than 1,000,000 bytes" in _error(_ask(_service(server.url), "2+2"))


def test_html_page_or_empty_body_is_an_error(server: WolframServer) -> None:
    server.queue(Reply(body="<html>log in</html>", content_type="text/html"), Reply(body=" \n"))
    assert "HTML page" in _error(_ask(_service(server.url), "2+2"))
    assert "empty answer" in _error(_ask(_service(server.url), "2+2"))


def test_unknown_route_is_an_error_reply_not_retried(server: WolframServer) -> None:
    url = server.url.replace("llm-api", "nope")
    error = _error(_ask(_service(url), "2+2"))
    assert error.startswith("WolframAlpha answered 404 at http://127.0.0.1:")
    assert len(server.requests) == 1


# the key ---------------------------------------------------------------------------------------


def test_rejected_key_raises_without_the_key(server: WolframServer) -> None:
    wrong = "WRONG-key-123456"
    with pytest.raises(ServiceError) as caught:
        _ask(_service(server.url, app_id=wrong), "2+2")
    message = str(caught.value)
    assert message == (
        "WolframAlpha refused the app id (403: Invalid appid):"
        " check WOLFRAM_APP_ID or --wolfram-app-id"
    )
    assert len(server.requests) == 1  # not tried again


def test_a_key_echoed_in_a_refusal_is_redacted(server: WolframServer) -> None:
    forms = [KEY, html.escape(KEY), quote(KEY), quote(KEY, safe=""), json.dumps(KEY)[1:-1]]
    assert len(set(forms)) == 4  # the JSON form is the key itself
    server.queue(Reply(status=403, body="Error 1: Invalid appid " + " ".join(forms)))
    with pytest.raises(ServiceError) as caught:
        _ask(_service(server.url), "2+2")
    message = str(caught.value)
    assert message == (
        "WolframAlpha refused the app id (403: Invalid appid"
        + " <app id>" * len(forms)
        + "): check WOLFRAM_APP_ID or --wolfram-app-id"
    )


def test_app_id_from() -> None:
    assert app_id_from("  explicit-id ", {"WOLFRAM_APP_ID": "env-id"}) == "explicit-id"
    assert app_id_from(None, {"WOLFRAM_APP_ID": " env-id\n"}) == "env-id"
    assert app_id_from("  ", {"WOLFRAM_APP_ID": "env-id"}) == "env-id"
    for explicit, environ in [(None, {}), ("", {"WOLFRAM_APP_ID": "  "})]:
        with pytest.raises(ConfigError) as caught:
            app_id_from(explicit, environ)
        assert str(caught.value) == (
            "the wolfram service needs an app id: set WOLFRAM_APP_ID or pass --wolfram-app-id"
            " (get one at https://developer.wolframalpha.com)"
        )


@pytest.mark.parametrize(
    "options",
    [
        {"app_id": " "},
        {"base_url": "ftp://example.org/api"},
        {"base_url": "not a url"},
        {"base_url": "http://127.0.0.1:port/api"},
        {"base_url": "http://[::1/api"},
        {"base_url": "http://user:S3cr3tPW@127.0.0.1:9/api"},
        {"app_id": "NEWKEY-AAAA1111\nOLDKEY-BBBB2222"},
        {"app_id": "KEY WITH ZQXW"},
        {"app_id": "K\u00c9Y-AAAA1111"},
        {"timeout_s": 0},
        {"max_retries": -1},
        {"max_chars": 0},
        {"backoff_base_s": -1},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        _service("http://127.0.0.1:9/api/v1/llm-api", **options)
    for secret in ("AAAA1111", "S3cr3tPW", "ZQXW"):
        assert secret.lower() not in str(caught.value).lower()


# retries ---------------------------------------------------------------------------------------


def test_rate_limit_then_answer_honours_retry_after(server: WolframServer) -> None:
    server.queue(Reply(status=429, body="slow down", headers={"Retry-After": "0.3"}))
    reply = _ask(_service(server.url, backoff_max_s=5.0), "2+2")
    assert reply.ok, reply.error
    assert len(server.requests) == 2
    assert reply.duration_s >= 0.3  # measured over both tries and the wait between them


def test_retry_after_is_capped(server: WolframServer) -> None:
    server.queue(Reply(status=503, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    assert _ask(_service(server.url), "2+2").ok
    assert time.monotonic() - started < 2


def test_server_errors_are_retried_then_named(server: WolframServer) -> None:
    server.queue(
        *[Reply(status=503, body="<h1>Service\nUnavailable</h1>", content_type="text/html")] * 3
    )
    error = _error(_ask(_service(server.url), "2+2"))
    assert error == "WolframAlpha answered 503: Service Unavailable (3 tries)"
    assert len(server.requests) == 3


def test_rate_limit_outlasting_the_retries(server: WolframServer) -> None:
    server.queue(Reply(status=429, body="slow down"))
    error = _error(_ask(_service(server.url, max_retries=0), "2+2"))
    assert error == "WolframAlpha answered 429 (rate limited): slow down (1 try)"


def test_slow_reply_times_out(server: WolframServer) -> None:
    server.queue(Reply(delay_s=1.5), Reply(delay_s=1.5))
    started = time.monotonic()
    reply = _ask(_service(server.url, timeout_s=0.2, max_retries=1), "2+2")
    assert time.monotonic() - started < 1.2
    assert _error(reply) == "WolframAlpha did not answer within 0.2 s (2 tries)"
    assert len(server.requests) == 2


def test_trickling_reply_times_out_as_a_whole(server: WolframServer) -> None:
    # every byte comes well within the timeout, the whole answer far beyond it
    server.queue(Reply(body="Result:\n" + "4" * 30, trickle_s=0.05))
    started = time.monotonic()
    reply = _ask(_service(server.url, timeout_s=0.3, max_retries=0), "2+2")
    assert time.monotonic() - started < 1.0
    assert _error(reply) == "WolframAlpha did not answer within 0.3 s (1 try)"


def test_connection_refused() -> None:
    port = _dead_port()
    reply = _ask(_service(f"http://127.0.0.1:{port}/api/v1/llm-api"), "2+2")
    expected = f"cannot reach WolframAlpha at 127.0.0.1:{port}: connection refused (3 tries)"
    assert _error(reply) == expected


# probe -----------------------------------------------------------------------------------------


def test_probe_passes_on_a_working_service(server: WolframServer) -> None:
    asyncio.run(_service(server.url).probe())
    assert server.requests[0].params["input"] == "2+2"


def test_probe_on_a_bad_key(server: WolframServer) -> None:
    with pytest.raises(ServiceError, match=r"refused the app id \(403: Invalid appid\)"):
        asyncio.run(_service(server.url, app_id="WRONG-key-123456").probe())


def test_probe_on_a_dead_port() -> None:
    port = _dead_port()
    service = _service(f"http://127.0.0.1:{port}/api/v1/llm-api")
    with pytest.raises(ServiceError) as caught:
        asyncio.run(service.probe())
    assert str(caught.value) == (
        "the wolfram service is not usable: cannot reach WolframAlpha at"
        f" 127.0.0.1:{port}: connection refused (3 tries)"
    )


def test_a_base_url_keeps_its_own_query_and_its_values_stay_hidden(server: WolframServer) -> None:
    proxy_key = "PROXY-token-9876"
    service = _service(f"{server.url}?token={proxy_key}")
    assert _ask(service, "2+2").ok
    assert server.requests[0].params["token"] == proxy_key
    assert server.requests[0].params["input"] == "2+2"
    assert proxy_key not in repr(service)
    server.queue(Reply(status=400, body=f"bad token {proxy_key}"))
    assert (
        _error(_ask(service, "2+2")) == "WolframAlpha refused the query (400): bad token <app id>"
    )
