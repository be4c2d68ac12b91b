"""Several endpoints of one model (:mod:`creator.models.replicas`), against real loopback
servers: load goes to the least busy replica, a failing one is rested while the others carry
on and is used again once it answers, what no replica can fix is raised at once, and the
counts per endpoint are exact. Rests are a fraction of a second here (constructor options)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from creator.cli.base_url_args import base_urls, recorded_base_urls
from creator.cli.common import add_model_args, build_model
from creator.errors import ConfigError, ModelAuthError, ModelConnectionError, ModelError
from creator.models.base import GenerationSettings, Message, RetryNotice
from creator.models.cache import CachedModel
from creator.models.loopback import LoopbackServer, ServerReply
from creator.models.openai import OpenAIModel
from creator.models.replicas import ReplicaModel, endpoint_stats, merge_endpoint_stats
from creator.models.scripted import ScriptedModel

MESSAGES = [Message(role="user", content="What is 6 x 7?")]
SETTINGS = GenerationSettings(temperature=0)
_T = TypeVar("_T")


def replicas(*servers: LoopbackServer | str, **options: Any) -> ReplicaModel:
    urls = [s if isinstance(s, str) else s.url for s in servers]
    clients = [
        OpenAIModel("test-model", base_url=url, max_retries=0, backoff_base_s=0.001) for url in urls
    ]
    options.setdefault("rest_base_s", 0.3)
    options.setdefault("max_retries", 3)
    return ReplicaModel(clients, **options)


def run(model: ReplicaModel, body: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``body`` in a fresh event loop, closing ``model`` after it."""

    async def main() -> _T:
        try:
            return await body()
        finally:
            await model.aclose()

    return asyncio.run(main())


def counts(model: ReplicaModel, server: LoopbackServer) -> tuple[int, int, int]:
    found = model.stats()[server.url]
    return found["requests"], found["failed"], found["rested"]


@pytest.fixture
def two() -> Iterator[tuple[LoopbackServer, LoopbackServer]]:
    with LoopbackServer() as a, LoopbackServer() as b:
        yield a, b


def dead_url() -> str:
    """A loopback URL where nothing listens (a server that was closed)."""
    server = LoopbackServer().start()
    server.close()
    return server.url


def test_requests_go_to_the_replica_with_the_fewest_in_flight() -> None:
    with LoopbackServer(delay_s=0.3) as a, LoopbackServer(delay_s=0.3) as b:
        model = replicas(a, b)

        async def burst() -> list[str]:
            replies = await asyncio.gather(
                *(model.generate(MESSAGES, settings=SETTINGS) for _ in range(8))
            )
            return [r.text for r in replies]

        assert run(model, burst) == ["ok"] * 8
        assert (a.request_count, b.request_count) == (4, 4)
        assert (a.max_concurrency, b.max_concurrency) == (4, 4)  # side by side
    assert model.stats() == {
        a.url: {"requests": 4, "failed": 0, "rested": 0},
        b.url: {"requests": 4, "failed": 0, "rested": 0},
    }


def test_ties_go_to_the_replica_used_least_then_the_first_given(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    model = replicas(b, a)

    async def one_by_one() -> None:
        for _ in range(5):
            await model.generate(MESSAGES, settings=SETTINGS)

    run(model, one_by_one)
    assert (b.request_count, a.request_count) == (3, 2)  # b, a, b, a, b


def test_a_replica_that_goes_away_is_rested_and_used_again_when_it_comes_back() -> None:
    seen: list[RetryNotice] = []
    context_retry = seen.append
    with LoopbackServer() as b:
        a = LoopbackServer().start()
        port = a.port
        model = replicas(a, b, rest_base_s=0.4)

        async def scenario() -> tuple[int, int]:
            from creator.datasets import get
            from creator.models.base import CallContext

            context = CallContext(stage="decision", problem=get("tabmwp/0"), on_retry=context_retry)
            await model.generate(MESSAGES, settings=SETTINGS)  # a
            await model.generate(MESSAGES, settings=SETTINGS)  # b
            a.close()  # connections to a are refused from now on
            for _ in range(6):
                reply = await model.generate(MESSAGES, settings=SETTINGS, context=context)
                assert reply.text == "ok"
            refused = counts(model, a)
            with LoopbackServer(port=port) as back:  # the same endpoint, answering again
                await asyncio.sleep(0.45)  # its rest is over
                await model.generate(MESSAGES, settings=SETTINGS)
                return refused[0], back.request_count

        sent_to_a, answered_again = run(model, scenario)
    assert sent_to_a == 2  # one answered, one refused: then it rested, not hit on every call
    assert answered_again == 1
    assert b.request_count == 1 + 6
    assert model.stats()[a.url] == {"requests": 3, "failed": 1, "rested": 1}
    assert len(seen) == 1 and seen[0].attempt == 1 and seen[0].delay_s == 0.0
    assert "connection refused" in seen[0].error and f"127.0.0.1:{port}" in seen[0].error


def test_a_replica_answering_500_is_rested_and_used_again_once_it_heals(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    broken = [True]
    a.responder = lambda body: (
        ServerReply(status=500, error_message="engine dead") if broken[0] else ServerReply()
    )
    model = replicas(a, b, rest_base_s=0.3, rest_max_s=0.3)

    async def scenario() -> None:
        for _ in range(5):
            await model.generate(MESSAGES, settings=SETTINGS)
        await asyncio.sleep(0.35)
        await model.generate(MESSAGES, settings=SETTINGS)  # a on trial: fails, rested again
        broken[0] = False
        await asyncio.sleep(0.35)
        await model.generate(MESSAGES, settings=SETTINGS)  # a on trial: answers

    run(model, scenario)
    assert a.request_count == 3 and b.request_count == 5 + 1
    assert model.stats() == {
        a.url: {"requests": 3, "failed": 2, "rested": 2},
        b.url: {"requests": 6, "failed": 0, "rested": 0},
    }


def test_failures_in_a_row_rest_a_replica_longer_and_a_reply_ends_its_rest(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    a.queue(*[ServerReply(status=503)] * 2)
    model = replicas(a, b, rest_base_s=0.3, rest_max_s=10)

    async def scenario() -> list[int]:
        sent = []
        await model.generate(MESSAGES, settings=SETTINGS)  # a fails (rest 0.3 s), b answers
        await asyncio.sleep(0.35)
        await model.generate(MESSAGES, settings=SETTINGS)  # a fails again (rest 0.6 s)
        await asyncio.sleep(0.2)
        await model.generate(MESSAGES, settings=SETTINGS)  # still resting: b
        sent.append(a.request_count)
        await asyncio.sleep(0.45)
        await model.generate(MESSAGES, settings=SETTINGS)  # a answers
        await model.generate(MESSAGES, settings=SETTINGS)  # rest over: fewest sent, so a
        sent.append(a.request_count)
        return sent

    assert run(model, scenario) == [2, 4]


def test_a_busy_replica_on_trial_gets_one_request_not_a_burst(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    a.queue(ServerReply(status=500), ServerReply(delay_s=0.2))
    b.delay_s = 0.2
    model = replicas(a, b, rest_base_s=0.05)

    async def scenario() -> None:
        await model.generate(MESSAGES, settings=SETTINGS)  # a fails, rested; b answers
        await asyncio.sleep(0.1)
        await asyncio.gather(*(model.generate(MESSAGES, settings=SETTINGS) for _ in range(4)))

    run(model, scenario)
    assert a.request_count == 2 and a.max_concurrency == 1  # one trial request at a time
    assert b.request_count == 1 + 3


def test_a_rejected_key_at_one_replica_is_raised_at_once() -> None:
    with LoopbackServer(api_key="another-key") as a, LoopbackServer() as b:
        model = replicas(a, b)

        async def call() -> None:
            await model.generate(MESSAGES, settings=SETTINGS)

        with pytest.raises(ModelAuthError, match="rejected the API key"):
            run(model, call)
        assert (a.request_count, b.request_count) == (1, 0)
    assert model.stats()[a.url] == {"requests": 1, "failed": 1, "rested": 0}


def test_a_429_goes_to_another_replica_at_once_and_rests_for_its_retry_after(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    a.queue(ServerReply(status=429, error_message="slow down", headers={"Retry-After": "0.3"}))
    seen: list[RetryNotice] = []
    model = replicas(a, b, rest_base_s=5)

    async def scenario() -> None:
        from creator.datasets import get
        from creator.models.base import CallContext

        context = CallContext(stage="creation", problem=get("tabmwp/0"), on_retry=seen.append)
        await model.generate(MESSAGES, settings=SETTINGS, context=context)
        await model.generate(MESSAGES, settings=SETTINGS)  # a rests 0.3 s: b
        await asyncio.sleep(0.35)
        await model.generate(MESSAGES, settings=SETTINGS)  # a again (not 5 s of rest)

    run(model, scenario)
    assert (a.request_count, b.request_count) == (2, 2)
    assert [(n.attempt, n.delay_s) for n in seen] == [(1, 0.0)]
    assert "429" in seen[0].error and "slow down" in seen[0].error


def test_when_every_replica_rests_a_call_waits_for_the_first_back(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    healed: list[float] = []  # both fail everything for 0.2 s from the first request

    def responder(body: dict[str, Any]) -> ServerReply:
        healed[:] = healed or [time.monotonic() + 0.2]
        return ServerReply(status=503) if time.monotonic() < healed[0] else ServerReply()

    a.responder = b.responder = responder
    seen: list[RetryNotice] = []
    model = replicas(a, b, rest_base_s=0.3, max_retries=3)

    async def call(number: int) -> str:
        from creator.datasets import get
        from creator.models.base import CallContext

        on_retry = seen.append if number == 0 else None
        context = CallContext(stage="creation", problem=get("tabmwp/0"), on_retry=on_retry)
        return (await model.generate(MESSAGES, settings=SETTINGS, context=context)).text

    async def both() -> list[str]:  # two calls: each rests the replica it fails at first
        return list(await asyncio.gather(call(0), call(1)))

    assert run(model, both) == ["ok", "ok"]
    assert 0.25 <= time.monotonic() - healed[0] + 0.2 < 1.5
    assert seen and max(n.delay_s for n in seen) > 0.2  # it waited for a rest to end
    assert model.stats()[a.url]["rested"] == model.stats()[b.url]["rested"] == 1


def test_when_every_replica_is_dead_the_usual_connection_error_comes_after_the_retries() -> None:
    first, second = dead_url(), dead_url()
    seen: list[RetryNotice] = []
    model = replicas(first, second, rest_base_s=0.01, max_retries=3)

    async def call() -> None:
        from creator.datasets import get
        from creator.models.base import CallContext

        context = CallContext(stage="creation", problem=get("tabmwp/0"), on_retry=seen.append)
        await model.generate(MESSAGES, settings=SETTINGS, context=context)

    with pytest.raises(ModelConnectionError) as raised:
        run(model, call)
    message = str(raised.value)
    assert message.startswith("cannot reach http://127.0.0.1:") and "connection refused" in message
    assert "the last of 4 attempts over 2 endpoints" in message
    assert [n.attempt for n in seen] == [1, 2, 3]
    stats = model.stats()
    assert [stats[url]["requests"] for url in (first, second)] == [2, 2]
    assert all(stats[url]["failed"] == 2 for url in (first, second))


def test_no_retries_means_one_try_even_with_another_replica(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    a.queue(ServerReply(status=500, error_message="boom"))
    model = replicas(a, b, max_retries=0)

    async def call() -> None:
        await model.generate(MESSAGES, settings=SETTINGS)

    with pytest.raises(ModelError, match="answered 500") as raised:
        run(model, call)
    assert "endpoints" not in str(raised.value)  # one endpoint tried: its own message
    assert (a.request_count, b.request_count) == (1, 0)


def test_the_probe_asks_every_replica_and_the_run_may_start_when_one_answers() -> None:
    gone = dead_url()
    with LoopbackServer() as a:
        model = replicas(gone, a)

        async def probe() -> str:
            line = await model.probe(SETTINGS)
            await model.generate(MESSAGES, settings=SETTINGS)
            return line

        line = run(model, probe)
        assert a.request_count == 2  # the probe, then the call: the dead one was rested
    assert line.startswith(f"1 of 2 endpoints answer; {a.url}: chat answers as 'test-model'")
    assert f"not answering (rested, tried again later): cannot reach {gone}" in line
    assert model.stats()[gone] == {"requests": 0, "failed": 0, "rested": 1}


def test_the_probe_raises_the_first_error_when_none_answers_or_one_refuses_the_key() -> None:
    first, second = dead_url(), dead_url()
    model = replicas(first, second)
    with pytest.raises(ModelConnectionError, match=f"cannot reach {first}"):
        run(model, lambda: model.probe(SETTINGS))
    with LoopbackServer() as a, LoopbackServer(api_key="another-key") as b:
        model = replicas(a, b)
        with pytest.raises(ModelAuthError):
            run(model, lambda: model.probe(SETTINGS))


def test_all_replicas_answering_the_probe_say_so(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    model = replicas(a, b)
    line = run(model, lambda: model.probe(SETTINGS))
    assert line.startswith(f"all 2 endpoints answer; {a.url}: chat answers as 'test-model'")
    assert (a.request_count, b.request_count) == (1, 1)


def test_one_set_of_replicas_in_any_order_shares_the_response_cache(
    tmp_path: Path, two: tuple[LoopbackServer, LoopbackServer]
) -> None:
    a, b = two
    path = tmp_path / "cache.sqlite"
    first = CachedModel(replicas(a, b), path=path)
    second = CachedModel(replicas(b, a), path=path)
    assert first.base_url == second.base_url == ", ".join(sorted([a.url, b.url]))

    async def both() -> tuple[bool, bool]:
        try:
            before = await first.generate(MESSAGES, settings=SETTINGS)
            after = await second.generate(MESSAGES, settings=SETTINGS)
            return before.cached, after.cached
        finally:
            await first.aclose()
            await second.aclose()

    assert asyncio.run(both()) == (False, True)
    assert a.request_count + b.request_count == 1


class _Watch:
    """Like the runner's watches: a wrapper forwarding what it does not have."""

    def __init__(self, model: object) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def test_endpoint_stats_are_found_under_wrappers_and_add_up(tmp_path: Path) -> None:
    model = replicas("http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    wrapped: Any = _Watch(CachedModel(model, path=tmp_path / "c.sqlite"))
    assert endpoint_stats(wrapped) == model.stats()
    single = OpenAIModel("test-model", base_url="http://127.0.0.1:9/v1")
    watched: Any = _Watch(CachedModel(single, path=tmp_path / "c.sqlite"))
    assert endpoint_stats(watched) is None
    assert endpoint_stats(ScriptedModel(["x"])) is None
    one = {"http://a/v1": {"requests": 3, "failed": 1, "rested": 1}}
    other = {
        "http://a/v1": {"requests": 2, "failed": 0, "rested": 0},
        "http://b/v1": {"requests": 5, "failed": 0, "rested": 0},
    }
    assert merge_endpoint_stats(one, other) == {
        "http://a/v1": {"requests": 5, "failed": 1, "rested": 1},
        "http://b/v1": {"requests": 5, "failed": 0, "rested": 0},
    }
    assert merge_endpoint_stats(None, one) == one and merge_endpoint_stats(None, None) is None
    assert one == {"http://a/v1": {"requests": 3, "failed": 1, "rested": 1}}  # not changed


def test_replicas_must_be_one_model_at_different_endpoints() -> None:
    def client(name: str, url: str) -> OpenAIModel:
        return OpenAIModel(name, base_url=url)

    with pytest.raises(ConfigError, match="one model"):
        ReplicaModel([client("a", "http://h1/v1"), client("b", "http://h2/v1")])
    with pytest.raises(ConfigError, match="given twice"):
        ReplicaModel([client("a", "http://h1/v1"), client("a", "http://u:pw@h1/v1/")])
    with pytest.raises(ConfigError):
        ReplicaModel([])


# the command line ---------------------------------------------------------------------------


def options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_model_args(parser)
    return parser.parse_args(["--model", "test-model", *argv])


def test_one_base_url_builds_the_plain_client_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREATOR_CACHE_DIR", str(tmp_path))
    args = options(["--base-url", "http://127.0.0.1:9/v1", "--max-retries", "2"])
    assert args.base_url == "http://127.0.0.1:9/v1" and base_urls(args) == [args.base_url]
    assert recorded_base_urls(args) == ()
    model = build_model(args)
    assert isinstance(model, CachedModel)
    inner = model.inner
    assert type(inner) is OpenAIModel and inner._max_retries == 2
    assert model.base_url == "http://127.0.0.1:9/v1"  # the cache key is what it was
    assert endpoint_stats(model) is None
    bare = build_model(options(["--base-url", "http://127.0.0.1:9/v1", "--no-cache"]))
    assert type(bare) is OpenAIModel


def test_without_a_base_url_the_environment_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:7/v1")
    args = options(["--no-cache"])
    assert args.base_url is None and base_urls(args) == []
    model = build_model(args)
    assert isinstance(model, OpenAIModel) and model.base_url == "http://127.0.0.1:7/v1"


def test_several_base_urls_build_replicas_in_the_order_given() -> None:
    urls = ["http://127.0.0.1:9/v1", "http://user:pw-77@127.0.0.1:10/v1?key=k-88"]
    args = options(["--base-url", urls[0], "--base-url", urls[1], "--no-cache"])
    assert args.base_url == urls[0] and base_urls(args) == urls
    model = build_model(args)
    assert isinstance(model, ReplicaModel)
    assert model.urls == ("http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    assert model.name == "test-model" and model._max_retries == 5
    assert all(replica.model._max_retries == 0 for replica in model._replicas)
    recorded = recorded_base_urls(args)
    assert recorded == model.urls and "pw-77" not in repr(recorded)
    assert "k-88" not in repr(recorded)


@pytest.mark.parametrize(
    "second",
    ["http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1/", "http://user:pw-55@127.0.0.1:9/v1"],
)
def test_the_same_base_url_twice_is_one_line_that_shows_no_password(second: str) -> None:
    args = options(["--base-url", "http://127.0.0.1:9/v1", "--base-url", second])
    with pytest.raises(ConfigError) as raised:
        build_model(args)
    message = str(raised.value)
    assert message == "--base-url http://127.0.0.1:9/v1 is given twice"


def test_a_run_fingerprint_treats_the_set_of_replicas_as_one_model() -> None:
    from creator.eval.config import EvalConfig

    one = EvalConfig(dataset="tabmwp", model="m", base_url="http://a/v1")
    several = one.model_copy(update={"base_urls": ("http://a/v1", "http://b/v1")})
    assert several.fingerprint() == one.fingerprint() and not one.changes(several)
    older = one.model_dump(mode="json", exclude={"base_urls"})  # written before replicas
    assert EvalConfig.model_validate(older) == one


def test_a_request_that_every_replica_fails_with_500_rests_none_of_them(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    """A prompt the servers cannot handle used to rest each replica in turn and, winning their
    trials, keep the whole fleet resting (the rests doubling) while the others waited."""
    a, b = two

    def responder(body: dict[str, Any]) -> ServerReply:
        if "POISON" in str(body["messages"][-1]["content"]):
            return ServerReply(status=500, error_message="cannot handle this prompt")
        return ServerReply(delay_s=0.05)

    a.responder = b.responder = responder
    model = replicas(a, b, rest_base_s=0.2, rest_max_s=60, max_retries=3)
    poison = [Message(role="user", content="POISON")]

    async def scenario() -> tuple[list[Any], float]:
        async def worker() -> float:
            for _ in range(6):
                await model.generate(MESSAGES, settings=SETTINGS)
            return time.monotonic()

        await model.probe(SETTINGS)  # as a run starts: both answer
        started = time.monotonic()
        bad = [model.generate(poison, settings=SETTINGS) for _ in range(3)]
        found = await asyncio.gather(*bad, *(worker() for _ in range(6)), return_exceptions=True)
        return found, max(t for t in found[3:] if isinstance(t, float)) - started

    found, normal_s = run(model, scenario)
    assert all(isinstance(f, ModelError) and "cannot handle" in str(f) for f in found[:3])
    assert all(isinstance(f, float) for f in found[3:])
    assert normal_s < 1.0  # 6 calls of 0.05 s each, never held up by a rest
    assert model.stats()[a.url]["rested"] == model.stats()[b.url]["rested"] == 0


def test_a_replica_that_answered_then_fails_everything_is_rested_soon(
    two: tuple[LoopbackServer, LoopbackServer],
) -> None:
    a, b = two
    broken = [False]
    a.responder = lambda body: ServerReply(status=500) if broken[0] else ServerReply()
    model = replicas(a, b, rest_base_s=0.2, rest_max_s=10)

    async def scenario() -> None:
        for _ in range(4):
            await model.generate(MESSAGES, settings=SETTINGS)
        broken[0] = True
        for _ in range(20):  # a second of calls: a is rested once its last answer is 0.2 s old
            await model.generate(MESSAGES, settings=SETTINGS)
            await asyncio.sleep(0.05)

    run(model, scenario)
    stats = model.stats()[a.url]
    assert stats["rested"] >= 1 and stats["failed"] <= 8  # not one failed try per call
    assert model.stats()[b.url]["failed"] == 0


def test_the_probe_names_a_rejected_key_even_when_no_replica_answers() -> None:
    gone = dead_url()
    with LoopbackServer(api_key="another-key") as b:
        model = replicas(gone, b)
        # The dead one came first: its "cannot reach" hid the key to fix until it was up.
        with pytest.raises(ModelAuthError, match="rejected the API key"):
            run(model, lambda: model.probe(SETTINGS))


def test_credentials_in_a_replica_url_are_never_shown() -> None:
    gone = dead_url().replace("http://", "http://user:hunter2@")
    with LoopbackServer() as a:
        secret_a = a.url.replace("http://", "http://user:hunter2@")
        model = replicas(gone, secret_a, rest_base_s=0.01, max_retries=1)

        async def scenario() -> str:
            line = await model.probe(SETTINGS)
            await model.generate(MESSAGES, settings=SETTINGS)
            return line

        line = run(model, scenario)
    shown = [line, repr(model), model.base_url, str(model.stats()), *model.urls]
    assert all("hunter2" not in text and "user" not in text for text in shown), shown
    dead = replicas(gone, dead_url(), rest_base_s=0.01, max_retries=1)
    with pytest.raises(ModelConnectionError) as raised:
        run(dead, lambda: dead.generate(MESSAGES, settings=SETTINGS))
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["--base-url", ""], "--base-url is empty"),
     (["--base-url", " ", "--base-url", "http://127.0.0.1:9/v1"], "--base-url number 1 is empty"),
     (["--base-url", "http://127.0.0.1:9/v1", "--base-url", ""], "--base-url number 2 is empty")],
)  # fmt: skip
def test_an_empty_base_url_is_an_error_not_openai(
    argv: list[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--base-url "$UNSET"`` used to fall back to $OPENAI_BASE_URL or OpenAI's own URL (one
    replica of a private fleet at api.openai.com, sent the fleet's key)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fleet")
    with pytest.raises(ConfigError, match=expected):
        build_model(options([*argv, "--no-cache"]))


def test_a_429_storm_everywhere_is_waited_out_as_one_client_would(
    two: tuple[LoopbackServer, LoopbackServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every replica answering 429 used to spend a call's retries in a second or two (each
    rest being the short rate-limit one), where one client backs off for many seconds."""
    a, b = two
    a.responder = b.responder = lambda body: ServerReply(status=429, error_message="slow down")
    monkeypatch.setattr("creator.models.replicas.random.uniform", lambda low, high: high)
    seen: list[RetryNotice] = []
    model = replicas(a, b, rest_base_s=0.1, rate_limit_rest_s=0.01, max_retries=4)

    async def call() -> None:
        from creator.datasets import get
        from creator.models.base import CallContext

        context = CallContext(stage="creation", problem=get("tabmwp/0"), on_retry=seen.append)
        await model.generate(MESSAGES, settings=SETTINGS, context=context)

    started = time.monotonic()
    with pytest.raises(ModelError, match="rate limiting"):
        run(model, call)
    assert time.monotonic() - started >= 0.65
    assert [round(n.delay_s, 2) for n in seen] == [0.0, 0.1, 0.2, 0.4]  # the other at once
    assert (a.request_count, b.request_count) == (3, 2)
