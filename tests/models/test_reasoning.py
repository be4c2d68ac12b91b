"""Reasoning models and real servers' habits, through OpenAIModel and a loopback server.

Covers: thinking kept apart from the answer text (inline ``<think>``, ``reasoning_content``),
reasoning tokens, replies cut off while reasoning or by the server's context, request
parameters adapted once to a server's 400, context-overflow errors with their token counts,
malformed 200 replies retried, extra headers and body, and timeouts that do not fire while a
request only waits in a one-slot server's queue.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Iterator
from typing import Any

import pytest

from creator.errors import (
    ModelContextError,
    ModelRequestError,
    ModelResponseError,
    ModelTimeoutError,
)
from creator.models.base import Completion, GenerationSettings, Message
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel, is_reasoning_model
from creator.models.reasoning import split_reasoning
from creator.models.scripted import ScriptedModel
from creator.stages.common import no_code_error

MESSAGES = [Message(role="user", content="1+1?")]
SETTINGS = GenerationSettings()

OPENAI_MAX_TOKENS_400 = {
    "error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
}
OPENAI_TEMPERATURE_400 = {
    "error": {
        "message": "Unsupported value: 'temperature' does not support 0.3 with this model. "
        "Only the default (1) value is supported.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_value",
    }
}


@pytest.fixture(autouse=True)
def _no_ambient_openai_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(models=()) as running:
        yield running


def _model(server: LoopbackServer, name: str = "test-model", **options: Any) -> OpenAIModel:
    options.setdefault("backoff_max_s", 0.01)
    return OpenAIModel(name, base_url=server.url, **options)


def _generate(model: OpenAIModel, settings: GenerationSettings = SETTINGS) -> Completion:
    async def main() -> Completion:
        try:
            return await model.generate(MESSAGES, settings=settings)
        finally:
            await model.aclose()

    return asyncio.run(main())


# thinking apart from the answer ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        (
            "<think>draft\n```python\nx = 1\n```\n</think>\n\nFinal Answer: 3",
            "draft\n```python\nx = 1\n```",
            "Final Answer: 3",
        ),
        ("the template opened it</think>answer", "the template opened it", "answer"),
        ("<think>cut off in the middle of a thought", "cut off in the middle of a thought", ""),
        ("<think>\n\n</think>\n\nthinking switched off", None, "thinking switched off"),
        ("◁think▷kimi◁/think▷ans", "kimi", "ans"),
        ("no thinking at all", None, "no thinking at all"),
        ("<think>a</think>text<think>b</think>more", "a\n\nb", "textmore"),
    ],
)
def test_split_reasoning(text: str, reasoning: str | None, answer: str) -> None:
    assert split_reasoning(text) == (reasoning, answer)


def test_inline_thinking_is_kept_apart_and_its_code_never_read(server: LoopbackServer) -> None:
    reply = (
        "<think>Try:\n```python\nprint(1/0)\n```\nFinal Answer: 0</think>\n```python\nprint(2)\n```"
    )
    server.queue(ServerReply(content=reply))
    completion = _generate(_model(server))
    assert completion.text == "```python\nprint(2)\n```"
    assert completion.reasoning is not None and "1/0" in completion.reasoning


def test_reasoning_content_and_tokens_are_kept(server: LoopbackServer) -> None:
    server.queue(
        ServerReply(
            content="Final Answer: 4",
            reasoning="2 and 2 make 4",
            completion_tokens=50,
            reasoning_tokens=40,
        )
    )
    completion = _generate(_model(server))
    assert (completion.text, completion.reasoning) == ("Final Answer: 4", "2 and 2 make 4")
    assert completion.usage.reasoning_tokens == 40
    assert completion.usage.completion_tokens == 50


def test_cut_off_while_reasoning_says_so(server: LoopbackServer) -> None:
    server.queue(
        ServerReply(
            content="<think>let me think about", finish_reason="length", completion_tokens=64
        )
    )
    completion = _generate(_model(server), SETTINGS.model_copy(update={"max_tokens": 64}))
    assert completion.cut_off == "max_tokens"
    assert completion.cut_off_in_reasoning
    message = no_code_error(completion)
    assert "still reasoning" in message and "--max-tokens" in message


def test_parser_reasoning_cut_off_with_null_content(server: LoopbackServer) -> None:
    server.queue(
        ServerReply(
            content=None, reasoning="long thought", finish_reason="length", completion_tokens=1024
        )
    )
    completion = _generate(_model(server))
    assert completion.text == "" and completion.cut_off_in_reasoning


def test_a_reply_the_server_cut_short_is_blamed_on_its_context(server: LoopbackServer) -> None:
    # llama.cpp lowers max_tokens to what is left of its context and stops with "length"
    server.queue(ServerReply(content="def f(", finish_reason="length", completion_tokens=37))
    completion = _generate(_model(server))
    assert completion.cut_off == "context"
    assert "server's context" in no_code_error(completion)


def test_scripted_model_splits_like_an_endpoint() -> None:
    model = ScriptedModel(["<think>Final Answer: 7</think>\nFinal Answer: 9"])
    completion = asyncio.run(model.generate(MESSAGES, settings=SETTINGS))
    assert (completion.text, completion.reasoning) == ("Final Answer: 9", "Final Answer: 7")


# request parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("o1", True), ("o3-mini", True), ("o4-mini-2025-04-16", True), ("gpt-5", True),
     ("gpt-5-mini", True), ("openai/gpt-5.1", True), ("gpt-4o", False), ("qwen3-8b", False),
     ("olmo-2", False), ("ollama3", False)],
)  # fmt: skip
def test_reasoning_model_names(name: str, expected: bool) -> None:
    assert is_reasoning_model(name) is expected


def test_openai_reasoning_models_get_max_completion_tokens_and_no_temperature(
    server: LoopbackServer,
) -> None:
    _generate(_model(server, "o3-mini"), SETTINGS.model_copy(update={"reasoning_effort": "low"}))
    (request,) = server.requests
    assert request["max_completion_tokens"] == 1024
    assert "max_tokens" not in request and "temperature" not in request
    assert request["reasoning_effort"] == "low"


def test_a_refused_parameter_is_adapted_to_once_and_remembered(server: LoopbackServer) -> None:
    def responder(request: dict[str, Any]) -> ServerReply:
        if "max_tokens" in request:
            return ServerReply(status=400, body=OPENAI_MAX_TOKENS_400)
        if "temperature" in request:
            return ServerReply(status=400, body=OPENAI_TEMPERATURE_400)
        return ServerReply(content="fine")

    server.responder = responder
    model = _model(server, "my-reasoner", max_retries=0)

    async def main() -> list[Completion]:
        try:
            return [await model.generate(MESSAGES, settings=SETTINGS) for _ in range(3)]
        finally:
            await model.aclose()

    replies = asyncio.run(main())
    assert [r.text for r in replies] == ["fine"] * 3
    assert server.request_count == 3 + 2  # one refusal per parameter, then never again
    assert set(model.adaptations) == {"max_tokens", "temperature"}
    assert all("max_completion_tokens" in r for r in server.requests[2:])


def test_a_parameter_refused_after_adapting_is_an_error(server: LoopbackServer) -> None:
    server.responder = lambda request: ServerReply(status=400, body=OPENAI_MAX_TOKENS_400)
    with pytest.raises(ModelRequestError, match="max_tokens"):
        _generate(_model(server, "o3", max_retries=3))
    assert server.request_count == 1


def test_extra_body_and_headers_are_sent_and_header_values_never_shown(
    server: LoopbackServer,
) -> None:
    settings = SETTINGS.model_copy(
        update={"extra_body": {"chat_template_kwargs": {"enable_thinking": False}}, "seed": 7}
    )
    _generate(_model(server, headers={"api-key": "azure-secret-123"}), settings)
    assert server.requests[0]["chat_template_kwargs"] == {"enable_thinking": False}
    assert server.requests[0]["seed"] == 7
    assert server.request_headers[0]["api-key"] == "azure-secret-123"
    server.queue(ServerReply(status=400, error_message="bad header azure-secret-123"))
    with pytest.raises(ModelRequestError) as failure:
        _generate(_model(server, headers={"api-key": "azure-secret-123"}))
    assert "azure-secret-123" not in str(failure.value)


def test_new_settings_leave_old_cache_keys_and_fingerprints_alone() -> None:
    assert set(GenerationSettings().model_dump()) == {
        "temperature", "max_tokens", "top_p", "seed", "sample_index"
    }  # fmt: skip
    dumped = GenerationSettings(reasoning_effort="high").model_dump()
    assert dumped["reasoning_effort"] == "high"


# errors a retry cannot fix, and replies that are not chat completions ----------------------


@pytest.mark.parametrize(
    ("body", "needed", "available"),
    [
        ({"error": {"message": "Requested tokens (2600) exceed context window of 2048",
                    "type": "invalid_request_error"}}, 2600, 2048),
        ({"error": {"message": "This model's maximum context length is 8192 tokens. However, "
                    "your messages resulted in 9000 tokens.", "code": "context_length_exceeded",
                    "type": "invalid_request_error", "param": "messages"}}, 9000, 8192),
        ({"error": {"message": "This model's maximum context length is 1024 tokens. However, "
                    "you requested 1547 tokens (1531 in the messages, 16 in the completion). "
                    "Please reduce the length of the messages or completion.",
                    "type": "invalid_request_error", "param": "messages",
                    "code": "context_length_exceeded"}}, 1531, 1024),  # llama-cpp-python 0.3.36
        ({"error": {"message": "This model's maximum context length is 2048 tokens. However, "
                    "you requested 2924 tokens (1900 in the messages, 1024 in the completion).",
                    "type": "BadRequestError"}}, 1900, 2048),  # vLLM: the reply's share is the fix
        ({"error": {"message": "the request exceeds the available context size, try increasing "
                    "it", "type": "exceed_context_size_error", "n_prompt_tokens": 3100,
                    "n_ctx": 2048}}, 3100, 2048),
    ],
)  # fmt: skip
def test_context_overflow_names_both_counts_and_is_not_retried(
    server: LoopbackServer, body: dict[str, Any], needed: int, available: int
) -> None:
    server.queue(ServerReply(status=400, body=body))
    with pytest.raises(ModelContextError) as failure:
        _generate(_model(server))
    assert (failure.value.needed, failure.value.available) == (needed, available)
    assert f"{needed:,}" in str(failure.value) and f"{available:,}" in str(failure.value)
    assert ("lower --max-tokens" in str(failure.value)) == (needed < available)
    assert server.request_count == 1


@pytest.mark.parametrize(
    "reply",
    [
        ServerReply(raw=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        ServerReply(raw=b'{"choices": [', content_type="application/json"),
        ServerReply(body={"unexpected": True}),
    ],
)
def test_malformed_replies_are_retried_then_a_response_error(
    server: LoopbackServer, reply: ServerReply
) -> None:
    server.queue(reply, ServerReply(content="recovered"))
    assert _generate(_model(server)).text == "recovered"
    server.queue(reply, reply)
    with pytest.raises(ModelResponseError, match="unusable reply"):
        _generate(_model(server, max_retries=1))


# timeouts measure the server's silence, not its queue ----------------------------------------


def test_requests_queued_at_a_one_slot_server_do_not_time_out() -> None:
    with LoopbackServer(models=(), slots=1, delay_s=0.3) as server:
        model = _model(server, timeout_s=0.8, max_retries=0)

        async def main() -> list[Completion]:
            try:
                calls = [model.generate(MESSAGES, settings=SETTINGS) for _ in range(6)]
                return list(await asyncio.gather(*calls))
            finally:
                await model.aclose()

        started = time.monotonic()
        replies = asyncio.run(main())
        assert time.monotonic() - started >= 1.7  # six replies, one after the other
    assert server.request_count == 6 and server.max_concurrency == 1
    assert all(0.2 < r.latency_s < 0.8 for r in replies)  # the server's time, not the queue's
    assert max(r.queue_s for r in replies) > 1.0


def test_a_silent_server_still_times_out() -> None:
    with LoopbackServer(models=(), delay_s=3.0) as server:
        started = time.monotonic()
        with pytest.raises(ModelTimeoutError):
            _generate(_model(server, timeout_s=0.5, max_retries=0))
        assert time.monotonic() - started < 2.5


# what a hostile or rough server must not achieve ---------------------------------------------

TOKEN_400 = {
    "error": {
        "message": "Unsupported parameter: 'max_completion_tokens'",
        "code": "unsupported_parameter",
        "param": "max_completion_tokens",
    }
}


def test_a_server_refusing_both_token_parameters_gets_an_error_not_an_endless_swap(
    server: LoopbackServer,
) -> None:
    def refuse(request: dict[str, Any]) -> ServerReply:
        body = OPENAI_MAX_TOKENS_400 if "max_tokens" in request else TOKEN_400
        return ServerReply(status=400, body=body)

    server.responder = refuse
    with pytest.raises(ModelRequestError):
        _generate(_model(server, max_retries=5))
    assert server.request_count <= 3


@pytest.mark.parametrize(
    "echo",
    [
        lambda s: f"<html><body>denied for {html.escape(s)}</body></html>",
        lambda s: '{"error": {"message": "bad key ' + s.replace("/", "\\/") + '"}}',
    ],
)
def test_secrets_echoed_escaped_by_a_server_are_never_shown(
    server: LoopbackServer, echo: Any
) -> None:
    secret = "k/e&y<9>x"
    server.queue(
        *[ServerReply(status=502, raw=echo(secret).encode(), content_type="text/html")] * 2
    )
    with pytest.raises(ModelResponseError) as failure:
        _generate(_model(server, headers={"api-key": secret}, max_retries=1))
    message = str(failure.value)
    assert "<secret>" in message
    assert "k/e" not in message and "e&amp;y" not in message and "k\\/e" not in message


def test_secrets_echoed_in_a_reply_are_not_kept(server: LoopbackServer) -> None:
    server.queue(ServerReply(content="your key is sk-live-1234", reasoning="it was sk-live-1234"))
    completion = _generate(_model(server, api_key="sk-live-1234"))
    assert "sk-live-1234" not in completion.text + (completion.reasoning or "")


def test_redirects_are_not_followed_with_the_headers() -> None:
    with LoopbackServer(models=()) as elsewhere, LoopbackServer(models=()) as server:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/chat/completions"
        server.queue(ServerReply(status=307, raw=b"", headers={"Location": target}))
        with pytest.raises(ModelResponseError, match="307"):
            _generate(_model(server, headers={"api-key": "azure-secret"}, max_retries=0))
        assert elsewhere.request_count == 0


def test_deeply_nested_json_is_a_malformed_reply(server: LoopbackServer) -> None:
    nested = b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    server.queue(ServerReply(raw=nested), ServerReply(raw=nested))
    with pytest.raises(ModelResponseError, match="unusable reply"):
        _generate(_model(server, max_retries=1))


def test_a_nan_retry_after_is_ignored() -> None:
    from creator.models.openai_errors import retry_after_s

    assert retry_after_s({"retry-after": "nan"}) is None
    assert retry_after_s({"retry-after-ms": "inf"}) is None


def test_a_request_the_server_dropped_fails_once_the_queue_ahead_is_served() -> None:
    """Progress on other requests excuses a request only for as long as the requests that
    were ahead of it could take; a request the server silently dropped then times out."""

    def reply(request: dict[str, Any]) -> ServerReply:
        dropped = request["messages"][0]["content"] == "dropped"
        return ServerReply(delay_s=30.0 if dropped else 0.0)

    with LoopbackServer(models=(), responder=reply, delay_s=0.3) as server:
        model = _model(server, timeout_s=0.5, max_retries=0)

        async def main() -> float:
            async def others() -> None:
                for _ in range(12):  # keeps the server finishing requests for ~4 s
                    await model.generate(MESSAGES, settings=SETTINGS)

            lost = [Message(role="user", content="dropped")]
            started = time.monotonic()
            background = asyncio.ensure_future(others())
            with pytest.raises(ModelTimeoutError):
                await model.generate(lost, settings=SETTINGS)
            waited = time.monotonic() - started
            await background
            await model.aclose()
            return waited

        assert asyncio.run(main()) < 2.0


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("```python\nhtml = '</think>'\nprint(html)\n```", None,
         "```python\nhtml = '</think>'\nprint(html)\n```"),
        ("```python\nx = '<think>'\n```\nFinal Answer: 1", None,
         "```python\nx = '<think>'\n```\nFinal Answer: 1"),
        ("<think>a <think>b</think> c</think>Final Answer: 2", "a <think>b</think> c",
         "Final Answer: 2"),
        ("<THINK>upper</THINK>ok", "upper", "ok"),
        ("<think type='x'>attrs</think>ok", "attrs", "ok"),
    ],
)  # fmt: skip
def test_split_reasoning_leaves_code_alone_and_nests(
    text: str, reasoning: str | None, answer: str
) -> None:
    assert split_reasoning(text) == (reasoning, answer)
