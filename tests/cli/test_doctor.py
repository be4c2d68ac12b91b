"""``creator doctor``'s endpoint check against loopback servers: ``GET /models`` and the one tiny
chat request ``eval`` also sends first. It passes (exit status 0) only when the chat request
is answered, and shows the reply and the time it took; a model the server does not serve, a
server error that outlasts the retry and a rejected key each fail it (exit status 1) with the
server's own words. (Adapted parameters: tests/cli/test_eval_failures.py; an unreachable
endpoint: tests/cli/test_solve.py.)"""

from __future__ import annotations

import re

import pytest

from creator.cli.main import main
from creator.models.loopback import LoopbackServer, ServerReply


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # one table row per line


def doctor(server: LoopbackServer, *extra: str, model: str = "tiny") -> int:
    return main(["doctor", "--model", model, "--base-url", server.url, *extra])


def row(out: str, label: str) -> str:
    """The text of the table row ``label`` (the first column), on one line."""
    found = [line for line in out.splitlines() if line.split()[:1] == [label]]
    assert len(found) == 1, out
    return " ".join(found[0].split()[1:])


def test_a_served_model_that_answers_passes_showing_the_reply_and_its_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LoopbackServer(models=["tiny"]) as server:
        server.queue(ServerReply(content="OK"))
        assert doctor(server) == 0
        assert server.request_count == 1
        sent = server.requests[0]
    out = capsys.readouterr().out
    assert "reachable, 1 model, 'tiny' listed" in out
    chat = row(out, "chat")
    assert re.fullmatch(r"chat answers as 'tiny'; replied 'OK' in \d+\.\d\d s", chat), chat
    assert sent["max_tokens"] <= 32 and sent["model"] == "tiny"


def test_a_long_or_hostile_reply_is_clipped_and_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(models=["tiny"]) as server:
        server.queue(ServerReply(content="OK\x1b]0;PWNED\x07 " + "and more words " * 10))
        assert doctor(server) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    chat = row(out, "chat")
    assert "replied 'OK\\x1b]0;PWNED\\x07 and more words and more wo…' in" in chat, chat


def test_a_model_the_server_does_not_serve_fails_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LoopbackServer(models=["tiny"]) as server:
        assert doctor(server, model="missing-model") == 1
    out = capsys.readouterr().out
    assert "'missing-model' not listed" in out
    assert "model 'missing-model' not found at" in row(out, "chat")
    assert "(404)" in row(out, "chat") and "does not exist" in row(out, "chat")


def test_a_server_error_after_the_retry_fails(capsys: pytest.CaptureFixture[str]) -> None:
    failing = LoopbackServer(
        lambda body: ServerReply(status=500, error_message="boom"), models=["tiny"]
    )
    with failing as server:
        assert doctor(server) == 1
        assert server.request_count == 2  # the check is tried once more, not five times
    chat = row(capsys.readouterr().out, "chat")
    assert "answered 500 for model 'tiny'" in chat and "boom" in chat


def test_a_rejected_key_fails_without_showing_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(models=["tiny"], api_key="right-key") as server:
        assert doctor(server, "--api-key", "wrong-key") == 1
        assert server.request_count == 1  # a rejected key is not retried
    out = capsys.readouterr().out
    assert "rejected the API key (401)" in row(out, "chat") and "wrong-key" not in out


def test_a_model_served_but_not_listed_passes_when_it_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Some servers answer under an alias their model list does not show: the chat decides."""
    with LoopbackServer(models=()) as server:
        assert doctor(server, model="alias") == 0
    out = capsys.readouterr().out
    assert "'alias' not listed" in out and "chat answers as 'alias'" in row(out, "chat")


def test_without_a_model_it_lists_what_the_endpoint_serves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LoopbackServer(models=["tiny", "big"]) as server:
        assert main(["doctor", "--base-url", server.url]) == 0
        assert server.request_count == 0  # no chat request without a model
    out = " ".join(capsys.readouterr().out.split())
    assert "reachable, 2 models listed: tiny, big; pass --model NAME" in out


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--extra-body", "[1"], "--extra-body"),
        (["--header", "bad"], "--header"),
        (["--request-timeout", "0"], "timeout must be positive"),
        (["--temperature", "nan"], "--temperature must be a number"),
        (["--base-url", "http://user:secret@[::1"], "the base URL is not a valid URL"),
    ],
)
def test_options_that_cannot_be_used_are_usage_errors_not_failed_checks(
    options: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(models=["tiny"]) as server:
        argv = ["doctor", "--model", "tiny", "--base-url", server.url, *options]
        assert main(argv) == 2
        assert server.request_count == 0
    err = capsys.readouterr().err
    assert err.startswith("creator: error: ") and says in err and "secret" not in err


def test_several_endpoints_are_checked_each_in_its_own_rows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LoopbackServer(models=["tiny"]) as a, LoopbackServer(models=["tiny"]) as b:
        gone = LoopbackServer().start()
        gone.close()
        assert main(["doctor", "--model", "tiny", "--base-url", a.url, "--base-url", b.url]) == 0
        both = capsys.readouterr().out
        argv = ["doctor", "--model", "tiny", "--base-url", a.url, "--base-url", gone.url]
        assert main(argv) == 1  # one endpoint failing fails the check
        assert (a.request_count, b.request_count) == (2, 1)
    lines = both.splitlines()
    assert [" ".join(line.split()[1:]) for line in lines if line.startswith("endpoint")] == [
        a.url,
        b.url,
    ]
    assert len([line for line in lines if line.split()[:1] == ["chat"]]) == 2
    out = capsys.readouterr().out
    chats = [" ".join(line.split()[1:]) for line in out.splitlines() if line.startswith("chat")]
    assert chats[0].startswith("chat answers as 'tiny'")
    assert chats[1].startswith(f"cannot reach {gone.url}")


def test_the_same_endpoint_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(models=["tiny"]) as server:
        argv = ["doctor", "--model", "tiny", "--base-url", server.url, "--base-url", server.url]
        assert main(argv) == 2
        assert server.request_count == 0
    assert f"--base-url {server.url} is given twice" in capsys.readouterr().err
