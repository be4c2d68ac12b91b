"""CachedModel over a real OpenAIModel and loopback server: hits, misses, persistence, errors."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from creator.errors import ConfigError, ModelResponseError
from creator.models.base import CallContext, Completion, GenerationSettings, Message, Model
from creator.models.cache import MIGRATIONS, CachedModel, cache_key, default_cache_path
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel
from creator.problem import Problem

MESSAGES = [Message(role="user", content="What is 6 * 7?")]
SETTINGS = GenerationSettings()


@pytest.fixture(autouse=True)
def _no_ambient_openai_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    def numbered(request: dict[str, object]) -> ServerReply:
        return ServerReply(content=f"reply {server_ref[0].request_count}")

    server_ref: list[LoopbackServer] = []
    with LoopbackServer(numbered) as running:
        server_ref.append(running)
        yield running


def _cached(server: LoopbackServer, path: Path) -> CachedModel:
    inner = OpenAIModel("test-model", base_url=server.url, backoff_base_s=0.001, max_retries=0)
    return CachedModel(inner, path=path)


def _ask(
    model: CachedModel,
    settings: GenerationSettings = SETTINGS,
    messages: list[Message] = MESSAGES,
    context: CallContext | None = None,
) -> Completion:
    async def main() -> Completion:
        try:
            return await model.generate(messages, settings=settings, context=context)
        finally:
            await model.aclose()

    return asyncio.run(main())


def test_same_request_twice_is_one_endpoint_call(server: LoopbackServer, tmp_path: Path) -> None:
    model = _cached(server, tmp_path / "c.sqlite")
    assert isinstance(model, Model)
    assert (model.name, model.base_url) == ("test-model", server.url)

    async def twice() -> tuple[Completion, Completion]:
        first = await model.generate(MESSAGES, settings=SETTINGS)
        second = await model.generate(MESSAGES, settings=SETTINGS)
        await model.aclose()
        return first, second

    first, second = asyncio.run(twice())
    assert server.request_count == 1
    assert not first.cached
    assert first.latency_s > 0
    assert second.cached
    assert second.latency_s == 0
    assert second.text == first.text == "reply 1"
    assert second.usage == first.usage
    assert second.finish_reason == first.finish_reason == "stop"
    assert second.model == first.model
    assert (model.hits, model.misses) == (1, 1)


@pytest.mark.parametrize(
    ("settings", "messages"),
    [
        (GenerationSettings(sample_index=1), MESSAGES),
        (GenerationSettings(temperature=0.7), MESSAGES),
        (GenerationSettings(max_tokens=10), MESSAGES),
        (GenerationSettings(seed=1), MESSAGES),
        (SETTINGS, [Message(role="user", content="What is 6 * 8?")]),
        (SETTINGS, [Message(role="system", content="What is 6 * 7?")]),
    ],
)
def test_any_difference_in_the_request_is_a_miss(
    server: LoopbackServer, tmp_path: Path, settings: GenerationSettings, messages: list[Message]
) -> None:
    path = tmp_path / "c.sqlite"
    _ask(_cached(server, path))
    other = _cached(server, path)
    assert _ask(other, settings, messages).cached is False
    assert server.request_count == 2
    assert (other.hits, other.misses) == (0, 1)


def test_context_is_not_part_of_the_key(server: LoopbackServer, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    problem = Problem(question="What is 6 * 7?")
    _ask(_cached(server, path), context=CallContext(stage="decision", problem=problem))
    again = _ask(_cached(server, path), context=CallContext(stage="creation", problem=problem))
    assert again.cached
    assert server.request_count == 1


def test_model_and_endpoint_are_part_of_the_key() -> None:
    def key(model: str, base_url: str | None) -> str:
        return cache_key(model=model, base_url=base_url, messages=MESSAGES, settings=SETTINGS)

    assert len(key("a", "http://x/v1")) == 64
    assert key("a", "http://x/v1") == key("a", "http://x/v1")
    assert len({key("a", "http://x/v1"), key("b", "http://x/v1"), key("a", "http://y/v1")}) == 3
    assert key("a", None) != key("a", "http://x/v1")


def test_cache_survives_reopening(server: LoopbackServer, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "c.sqlite"
    first = _ask(_cached(server, path))
    reopened = _cached(server, path)
    assert reopened.count() == 1
    second = _ask(reopened)
    assert second.cached
    assert second.text == first.text
    assert server.request_count == 1


def test_length_replies_are_cached_with_their_finish_reason(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.queue(ServerReply(content="cut", finish_reason="length"))
    path = tmp_path / "c.sqlite"
    assert _ask(_cached(server, path)).finish_reason == "length"
    hit = _ask(_cached(server, path))
    assert (hit.cached, hit.text, hit.finish_reason) == (True, "cut", "length")


def test_errors_are_not_cached(server: LoopbackServer, tmp_path: Path) -> None:
    server.queue(ServerReply(status=500))
    path = tmp_path / "c.sqlite"
    failing = _cached(server, path)
    with pytest.raises(ModelResponseError):
        _ask(failing)
    assert failing.count() == 0
    assert _ask(_cached(server, path)).cached is False
    assert _ask(_cached(server, path)).cached is True
    assert server.request_count == 2


def test_concurrent_calls_on_one_instance(server: LoopbackServer, tmp_path: Path) -> None:
    model = _cached(server, tmp_path / "c.sqlite")
    settings = [GenerationSettings(sample_index=i % 10) for i in range(20)]

    async def main() -> list[Completion]:
        first = await asyncio.gather(*(model.generate(MESSAGES, settings=s) for s in settings))
        second = await asyncio.gather(*(model.generate(MESSAGES, settings=s) for s in settings))
        await model.aclose()
        return [*first, *second]

    completions = asyncio.run(main())
    assert all(c.cached for c in completions[20:])
    assert model.hits + model.misses == 40
    assert model.hits >= 20
    assert model.count() == 10


def test_two_instances_share_one_file(server: LoopbackServer, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    left, right = _cached(server, path), _cached(server, path)

    async def main() -> None:
        await asyncio.gather(
            *(
                left.generate(MESSAGES, settings=GenerationSettings(sample_index=i))
                for i in range(8)
            ),
            *(
                right.generate(MESSAGES, settings=GenerationSettings(sample_index=i + 8))
                for i in range(8)
            ),
        )
        swapped = await asyncio.gather(
            *(
                right.generate(MESSAGES, settings=GenerationSettings(sample_index=i))
                for i in range(8)
            ),
            *(
                left.generate(MESSAGES, settings=GenerationSettings(sample_index=i + 8))
                for i in range(8)
            ),
        )
        assert all(c.cached for c in swapped)
        await left.aclose()
        await right.aclose()

    asyncio.run(main())
    assert server.request_count == 16
    assert (left.hits, right.hits) == (8, 8)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = conn.execute("SELECT version FROM creator_schema_migrations").fetchall()
    assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))


def test_a_file_that_is_not_sqlite_is_a_config_error(
    server: LoopbackServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database, just some text\n" * 200)
    model = _cached(server, path)
    with pytest.raises(ConfigError) as caught:
        _ask(model)
    message = str(caught.value)
    assert message.startswith(f"response cache {path} is not a valid creator cache: ")
    assert "\n" not in message
    assert server.request_count == 0


def test_another_sqlite_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    with LoopbackServer() as server, pytest.raises(ConfigError, match=r"not a valid creator cache"):
        _cached(server, path).count()


def test_a_newer_schema_is_a_config_error(server: LoopbackServer, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    assert _cached(server, path).count() == 0
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO creator_schema_migrations VALUES (?, 'from the future', 0)",
            (len(MIGRATIONS) + 1,),
        )
    conn.close()
    with pytest.raises(ConfigError, match=r"newer"):
        _cached(server, path).count()


def test_default_cache_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREATOR_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "explicit" / "responses.sqlite"
    monkeypatch.delenv("CREATOR_CACHE_DIR")
    assert default_cache_path() == tmp_path / "xdg" / "creator" / "responses.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "creator" / "responses.sqlite"
    assert not (tmp_path / "home").exists()  # nothing is created until the cache is opened
