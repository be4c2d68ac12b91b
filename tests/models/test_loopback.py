"""The loopback server speaks enough OpenAI HTTP for clients, using plain urllib here."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from creator.models.loopback import LoopbackServer, ServerReply


def _post(url: str, body: dict[str, Any], *, key: str | None = None) -> tuple[int, Any, Any]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        url + "/chat/completions", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def _chat(model: str = "test-model", text: str = "hi") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def test_port_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = LoopbackServer().url


def test_default_reply_is_an_openai_chat_completion() -> None:
    with LoopbackServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}/v1"
        status, body, _ = _post(server.url, _chat())
    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["model"] == "test-model"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "ok"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def test_models_route_lists_the_configured_models() -> None:
    with (
        LoopbackServer(models=("a", "b")) as server,
        urllib.request.urlopen(server.url + "/models", timeout=5) as response,
    ):
        body = json.loads(response.read())
    assert [entry["id"] for entry in body["data"]] == ["a", "b"]
    assert server.request_count == 0  # only chat requests are counted


def test_queue_first_then_responder_and_requests_are_recorded() -> None:
    def responder(request: dict[str, Any]) -> ServerReply:
        return ServerReply(content="echo: " + request["messages"][-1]["content"])

    with LoopbackServer(responder) as server:
        server.queue(ServerReply(content="one"), ServerReply(content="two", finish_reason="length"))
        replies = [_post(server.url, _chat(text=f"q{i}"))[1] for i in range(3)]
        assert server.request_count == 3
        assert [r["messages"][0]["content"] for r in server.requests] == ["q0", "q1", "q2"]
        assert server.request_headers[0]["content-type"] == "application/json"
    texts = [r["choices"][0]["message"]["content"] for r in replies]
    assert texts == ["one", "two", "echo: q2"]
    assert replies[1]["choices"][0]["finish_reason"] == "length"


def test_scripted_error_has_openai_error_body_and_headers() -> None:
    with LoopbackServer() as server:
        server.queue(ServerReply(status=429, headers={"Retry-After": "3"}, error_message="slow"))
        status, body, headers = _post(server.url, _chat())
    assert status == 429
    assert body["error"]["message"] == "slow"
    assert body["error"]["type"] == "rate_limit_error"
    assert headers["Retry-After"] == "3"


def test_null_content_and_verbatim_body() -> None:
    with LoopbackServer() as server:
        server.queue(ServerReply(content=None), ServerReply(body={"choices": []}))
        _, null_reply, _ = _post(server.url, _chat())
        _, raw_reply, _ = _post(server.url, _chat())
    assert null_reply["choices"][0]["message"]["content"] is None
    assert raw_reply == {"choices": []}


def test_unknown_model_is_404_unless_models_is_empty() -> None:
    with LoopbackServer() as server:
        status, body, _ = _post(server.url, _chat(model="nope"))
    assert status == 404
    assert "'nope'" in body["error"]["message"]
    assert body["error"]["code"] == "model_not_found"
    with LoopbackServer(models=()) as server:
        status, _, _ = _post(server.url, _chat(model="anything"))
    assert status == 200


def test_api_key_is_enforced_when_set() -> None:
    with LoopbackServer(api_key="right") as server:
        assert _post(server.url, _chat(), key="wrong")[0] == 401
        assert _post(server.url, _chat(), key="right")[0] == 200
        assert server.request_headers[1]["authorization"] == "Bearer right"


def test_concurrency_is_measured() -> None:
    with LoopbackServer(delay_s=0.2) as server:
        threads = [threading.Thread(target=_post, args=(server.url, _chat())) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.max_concurrency == 4
        assert server.request_count == 4


def test_close_is_quick_with_a_reply_still_waiting(capfd: pytest.CaptureFixture[str]) -> None:
    server = LoopbackServer().start()
    server.queue(ServerReply(delay_s=30))
    client = threading.Thread(target=lambda: _post_ignoring_errors(server.url), daemon=True)
    client.start()
    while server.request_count == 0:
        time.sleep(0.01)
    started = time.perf_counter()
    server.close()
    assert time.perf_counter() - started < 2
    client.join(timeout=5)
    assert not client.is_alive()
    with pytest.raises(urllib.error.URLError):  # the port is free again
        _post(server.url, _chat())
    assert capfd.readouterr().err == ""


def _post_ignoring_errors(url: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        _post(url, _chat())


def test_a_failing_responder_is_a_500_that_says_why() -> None:
    def broken(request: dict[str, Any]) -> ServerReply:
        raise KeyError("messages")

    with LoopbackServer(broken) as server:
        status, body, _ = _post(server.url, _chat())
    assert status == 500
    assert "KeyError" in body["error"]["message"]


def test_streaming_requests_are_refused() -> None:
    with LoopbackServer() as server:
        status, _, _ = _post(server.url, {**_chat(), "stream": True})
    assert status == 400
