"""OpenAIModel against a real HTTP server on 127.0.0.1 (the loopback server), through the SDK."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TypeVar

import pytest

from creator.errors import (
    ConfigError,
    ModelAuthError,
    ModelConnectionError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelRequestError,
    ModelResponseError,
    ModelTimeoutError,
)
from creator.models.base import Completion, GenerationSettings, Message, Model
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import PLACEHOLDER_API_KEY, OpenAIModel
from creator.models.openai_errors import retry_after_s as _retry_after_s

T = TypeVar("T")
MESSAGES = [Message(role="system", content="be brief"), Message(role="user", content="1+1?")]
SETTINGS = GenerationSettings()


@pytest.fixture(autouse=True)
def _no_ambient_openai_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def _run(model: OpenAIModel, use: Callable[[OpenAIModel], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await use(model)
        finally:
            await model.aclose()

    return asyncio.run(main())


def _generate(model: OpenAIModel, settings: GenerationSettings = SETTINGS) -> Completion:
    return _run(model, lambda m: m.generate(MESSAGES, settings=settings))


def _model(
    server: LoopbackServer,
    *,
    api_key: str | None = None,
    timeout_s: float = 60.0,
    max_retries: int = 5,
    backoff_max_s: float = 0.01,
    max_in_flight: int = 16,
) -> OpenAIModel:
    """A model on ``server`` with tiny backoff times, so retry tests take milliseconds."""
    return OpenAIModel(
        "test-model",
        base_url=server.url,
        api_key=api_key,
        timeout_s=timeout_s,
        max_retries=max_retries,
        backoff_base_s=0.001,
        backoff_max_s=backoff_max_s,
        max_in_flight=max_in_flight,
    )


def _free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def test_normal_reply(server: LoopbackServer) -> None:
    server.queue(ServerReply(content="2", prompt_tokens=21, completion_tokens=3))
    model = _model(server)
    assert isinstance(model, Model)
    completion = _generate(model)
    assert completion.text == "2"
    assert completion.usage.prompt_tokens == 21
    assert completion.usage.completion_tokens == 3
    assert completion.finish_reason == "stop"
    assert completion.model == "test-model"
    assert not completion.cached
    assert 0 < completion.latency_s < 5
    (request,) = server.requests
    assert request["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "1+1?"},
    ]
    assert request["temperature"] == 0.3
    assert request["max_tokens"] == 1024
    assert "top_p" not in request
    assert "seed" not in request
    assert not request.get("stream")


def test_optional_settings_are_sent_when_set(server: LoopbackServer) -> None:
    settings = GenerationSettings(temperature=0.0, max_tokens=7, top_p=0.5, seed=3, sample_index=2)
    _generate(_model(server), settings)
    (request,) = server.requests
    assert (request["temperature"], request["max_tokens"]) == (0.0, 7)
    assert (request["top_p"], request["seed"]) == (0.5, 3)
    assert "sample_index" not in request


def test_missing_usage_counts_zero(server: LoopbackServer) -> None:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }
    server.queue(ServerReply(body=body))
    completion = _generate(_model(server))
    assert completion.text == "hi"
    assert completion.usage.total_tokens == 0


def test_429_then_success_retries_once(server: LoopbackServer) -> None:
    server.queue(ServerReply(status=429, headers={"Retry-After": "0"}), ServerReply(content="yes"))
    assert _generate(_model(server)).text == "yes"
    assert server.request_count == 2


def test_500_then_success_retries_once(server: LoopbackServer) -> None:
    server.queue(ServerReply(status=500), ServerReply(status=503), ServerReply(content="yes"))
    assert _generate(_model(server)).text == "yes"
    assert server.request_count == 3


def test_persistent_500_gives_up_after_max_retries(server: LoopbackServer) -> None:
    with LoopbackServer(lambda _: ServerReply(status=500, error_message="boom\nline 2")) as failing:
        with pytest.raises(ModelResponseError) as caught:
            _generate(_model(failing, max_retries=3))
        assert failing.request_count == 4
    message = str(caught.value)
    assert "\n" not in message
    assert failing.url in message
    assert "500" in message
    assert "4 attempts" in message
    assert "boom line 2" in message


def test_persistent_429_raises_rate_limit_error(server: LoopbackServer) -> None:
    server.queue(*[ServerReply(status=429, headers={"Retry-After": "0"})] * 3)
    with pytest.raises(ModelRateLimitError, match=r"429"):
        _generate(_model(server, max_retries=2))
    assert server.request_count == 3


def test_client_errors_are_not_retried(server: LoopbackServer) -> None:
    server.queue(ServerReply(status=400, error_message="the messages are malformed"))
    with pytest.raises(ModelRequestError, match=r"400.*the messages are malformed"):
        _generate(_model(server))
    assert server.request_count == 1


def test_length_finish_reason_is_kept(server: LoopbackServer) -> None:
    server.queue(ServerReply(content="def f(x):\n    return", finish_reason="length"))
    completion = _generate(_model(server))
    assert completion.finish_reason == "length"
    assert completion.text.endswith("return")


def test_no_choices_is_a_response_error_after_retries(server: LoopbackServer) -> None:
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}
    server.queue(*[ServerReply(body=body)] * 3)
    with pytest.raises(ModelResponseError, match=r"no choices"):
        _generate(_model(server, max_retries=2))
    assert server.request_count == 3


def test_null_content_is_a_response_error(server: LoopbackServer) -> None:
    server.queue(ServerReply(content=None, finish_reason="stop"))
    with pytest.raises(ModelResponseError, match=r"no text.*finish_reason=stop"):
        _generate(_model(server))


def test_null_content_cut_off_is_an_empty_reply_that_says_so(server: LoopbackServer) -> None:
    server.queue(ServerReply(content=None, finish_reason="length", completion_tokens=1024))
    completion = _generate(_model(server))
    assert completion.text == ""
    assert completion.cut_off == "max_tokens"
    assert "token limit" in (completion.cut_off_message() or "")


def test_slow_reply_times_out(server: LoopbackServer) -> None:
    server.queue(ServerReply(delay_s=2.0))
    started = time.perf_counter()
    with pytest.raises(ModelTimeoutError) as caught:
        _generate(_model(server, timeout_s=0.3, max_retries=0))
    assert time.perf_counter() - started < 1.5
    assert server.url in str(caught.value)
    assert "test-model" in str(caught.value)


def test_timeouts_are_retried(server: LoopbackServer) -> None:
    server.queue(ServerReply(delay_s=2.0), ServerReply(content="fast"))
    assert _generate(_model(server, timeout_s=0.3, max_retries=1)).text == "fast"
    assert server.request_count == 2


def test_rejected_key_is_an_auth_error_without_the_key() -> None:
    secret = "sk-very-secret-0123456789"
    with LoopbackServer(api_key="the-right-key") as server:
        with pytest.raises(ModelAuthError) as caught:
            _generate(_model(server, api_key=secret))
        assert server.request_count == 1  # not retried
    message = str(caught.value)
    assert "(401)" in message
    assert server.url in message
    assert secret not in message
    assert secret not in repr(caught.value)


def test_403_is_an_auth_error(server: LoopbackServer) -> None:
    server.queue(ServerReply(status=403))
    with pytest.raises(ModelAuthError, match=r"\(403\)"):
        _generate(_model(server))


def test_unknown_model_is_not_found_error_naming_it(server: LoopbackServer) -> None:
    model = OpenAIModel(
        "no-such-model", base_url=server.url, backoff_base_s=0.001, backoff_max_s=0.01
    )
    with pytest.raises(ModelNotFoundError) as caught:
        _generate(model)
    assert "'no-such-model'" in str(caught.value)
    assert server.url in str(caught.value)
    assert "(404" in str(caught.value)


def test_wrong_route_404_hints_at_the_base_url(server: LoopbackServer) -> None:
    model = OpenAIModel(
        "test-model",
        base_url=server.url.removesuffix("/v1"),
        backoff_base_s=0.001,
        backoff_max_s=0.01,
    )
    with pytest.raises(ModelNotFoundError, match=r"/v1"):
        _generate(model)


def test_unreachable_endpoint_is_a_connection_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(ModelConnectionError) as caught:
        _generate(
            OpenAIModel("m", base_url=url, max_retries=2, backoff_base_s=0.001, backoff_max_s=0.01)
        )
    assert time.perf_counter() - started < 2
    assert str(caught.value) == f"cannot reach {url}: connection refused"


def test_retry_after_is_honoured(server: LoopbackServer) -> None:
    server.queue(ServerReply(status=429, headers={"Retry-After": "0.2"}))
    started = time.perf_counter()
    _generate(_model(server, backoff_max_s=5.0))
    assert time.perf_counter() - started >= 0.2
    assert server.request_count == 2


def test_retry_after_is_capped_by_backoff_max(server: LoopbackServer) -> None:
    server.queue(ServerReply(status=503, headers={"Retry-After": "30"}))
    started = time.perf_counter()
    _generate(_model(server, backoff_max_s=0.05))
    assert time.perf_counter() - started < 2


def test_retry_after_header_forms() -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert _retry_after_s({"retry-after": "2"}) == 2.0
    assert _retry_after_s({"retry-after": "0.5"}) == 0.5
    assert _retry_after_s({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert 25 < (_retry_after_s({"retry-after": future}) or 0) <= 30
    assert _retry_after_s({"retry-after": past}) == 0.0
    assert _retry_after_s({"retry-after": "soon"}) is None
    assert _retry_after_s({}) is None


def test_max_in_flight_is_respected() -> None:
    with LoopbackServer(delay_s=0.1) as server:
        model = _model(server, max_in_flight=2)

        async def many(m: OpenAIModel) -> list[Completion]:
            return await asyncio.gather(
                *(m.generate(MESSAGES, settings=SETTINGS) for _ in range(6))
            )

        assert len(_run(model, many)) == 6
        assert server.max_concurrency == 2
        assert server.request_count == 6


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(api_key="env-key") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "env-key")
        model = OpenAIModel("test-model")
        assert model.base_url == server.url
        assert model.name == "test-model"
        assert _generate(model).text == "ok"
        assert server.request_headers[0]["authorization"] == "Bearer env-key"


def test_explicit_arguments_beat_the_environment(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    _generate(OpenAIModel("test-model", base_url=server.url + "/", api_key="arg-key"))
    assert server.request_headers[0]["authorization"] == "Bearer arg-key"


def test_local_server_without_key_gets_a_placeholder(server: LoopbackServer) -> None:
    _generate(_model(server))
    assert server.request_headers[0]["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"


def test_openai_url_without_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^no API key: set OPENAI_API_KEY or pass --api-key$"):
        OpenAIModel("gpt-4o-mini")
    with pytest.raises(ConfigError):
        OpenAIModel("gpt-4o-mini", base_url="https://api.openai.com/v1")


LOCAL = "http://127.0.0.1:1/v1"


@pytest.mark.parametrize(
    "make",
    [
        lambda: OpenAIModel("m", base_url=LOCAL, timeout_s=0),
        lambda: OpenAIModel("m", base_url=LOCAL, max_in_flight=0),
        lambda: OpenAIModel("m", base_url=LOCAL, max_retries=-1),
        lambda: OpenAIModel("m", base_url=LOCAL, backoff_base_s=-1),
        lambda: OpenAIModel("m", base_url="localhost:8000"),
    ],
)
def test_invalid_options_are_config_errors(make: Callable[[], OpenAIModel]) -> None:
    with pytest.raises(ConfigError):
        make()


def test_empty_model_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        OpenAIModel("", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConfigError):
        OpenAIModel("  ", base_url="http://127.0.0.1:1/v1")


def test_credentials_in_the_url_are_not_shown() -> None:
    port = _free_port()
    model = OpenAIModel("m", base_url=f"http://user:hunter2@127.0.0.1:{port}/v1", max_retries=0)
    assert "hunter2" not in repr(model)
    with pytest.raises(ModelConnectionError) as caught:
        _generate(model)
    assert "hunter2" not in str(caught.value)
    assert f"127.0.0.1:{port}/v1" in str(caught.value)


def test_check_describes_the_endpoint() -> None:
    with LoopbackServer(models=("test-model", "other")) as server:
        assert (
            _run(_model(server), lambda m: m.check()) == "reachable, 2 models, 'test-model' listed"
        )
        missing = OpenAIModel("absent", base_url=server.url)
        assert _run(missing, lambda m: m.check()) == "reachable, 2 models, 'absent' not listed"


def test_check_raises_typed_errors() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(ModelConnectionError, match=r"connection refused"):
        _run(OpenAIModel("m", base_url=url), lambda m: m.check())
    with LoopbackServer(api_key="k") as server:
        with pytest.raises(ModelAuthError, match=r"\(401\)"):
            _run(OpenAIModel("m", base_url=server.url, api_key="bad"), lambda m: m.check())
        with pytest.raises(ModelResponseError, match=r"/models does not exist \(404\)"):
            _run(OpenAIModel("m", base_url=server.url + "/x"), lambda m: m.check())
