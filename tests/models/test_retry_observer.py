"""Retries reach the call context's ``on_retry`` as they happen, through the response cache,
with no global state: real HTTP to a loopback server that fails some requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from creator.datasets import get
from creator.errors import ModelResponseError
from creator.models.base import CallContext, GenerationSettings, Message, RetryNotice
from creator.models.cache import CachedModel
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel

MESSAGES = [Message(role="user", content="What is 6 x 7?")]
SETTINGS = GenerationSettings(temperature=0)


def model(server: LoopbackServer, *, max_retries: int = 3) -> OpenAIModel:
    return OpenAIModel(
        "test-model",
        base_url=server.url,
        max_retries=max_retries,
        backoff_base_s=0.001,
        backoff_max_s=0.01,
    )


def test_each_retry_is_told_with_its_try_and_reason_and_the_reply_still_comes(
    tmp_path: Path,
) -> None:
    seen: list[RetryNotice] = []
    others: list[RetryNotice] = []
    context = CallContext(stage="decision", problem=get("tabmwp/0"), on_retry=seen.append)
    with LoopbackServer() as server:
        server.queue(
            ServerReply(status=429, error_message="slow down", headers={"Retry-After": "0"}),
            ServerReply(status=503, error_message="warming up", headers={"Retry-After": "0"}),
            ServerReply(content="42"),
            ServerReply(status=500, error_message="other call"),
            ServerReply(content="7"),
        )
        cached = CachedModel(model(server), path=tmp_path / "cache.sqlite")

        async def calls() -> tuple[str, str]:
            try:
                first = await cached.generate(MESSAGES, settings=SETTINGS, context=context)
                other = CallContext(stage="decision", problem=get("tabmwp/1"))
                second = await cached.generate(
                    [Message(role="user", content="And 1 x 7?")],
                    settings=SETTINGS,
                    context=other.model_copy(update={"on_retry": others.append}),
                )
                return first.text, second.text
            finally:
                await cached.aclose()

        assert asyncio.run(calls()) == ("42", "7")
    assert [(n.attempt, n.delay_s) for n in seen] == [(1, 0.0), (2, 0.0)]
    assert "429" in seen[0].error and "slow down" in seen[0].error
    assert "503" in seen[1].error and "warming up" in seen[1].error
    assert [n.attempt for n in others] == [1]  # each call's own observer, nothing shared


def test_the_last_failure_is_raised_not_told_as_a_retry() -> None:
    seen: list[RetryNotice] = []
    context = CallContext(stage="creation", problem=get("tabmwp/0"), on_retry=seen.append)
    with LoopbackServer() as server:
        server.queue(*[ServerReply(status=500, error_message="down")] * 3)
        backend = model(server, max_retries=2)

        async def call() -> None:
            try:
                await backend.generate(MESSAGES, settings=SETTINGS, context=context)
            finally:
                await backend.aclose()

        try:
            asyncio.run(call())
        except ModelResponseError as exc:
            assert "after 3 attempts" in str(exc)
        else:
            raise AssertionError("the third 500 was not raised")
        assert server.request_count == 3
    assert [n.attempt for n in seen] == [1, 2]


def test_the_context_keeps_its_observer_out_of_its_serialised_form() -> None:
    context = CallContext(stage="decision", problem=get("tabmwp/0"), on_retry=print)
    assert "on_retry" not in context.model_dump(mode="json")
    assert "on_retry" not in repr(context)
