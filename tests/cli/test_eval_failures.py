"""``creator eval`` against a failing endpoint, through ``creator.cli.main.main`` and real HTTP
to a loopback server: the check before the first problem, a run that stops, transient failures
left for the next run, requests the server refuses (kept, re-checked once on resume), and
parameters adapted for reasoning models."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creator.cli.main import main
from creator.datasets import get
from creator.eval import ResultsFile
from creator.models.loopback import LoopbackServer, ServerReply

PROGRAM = "```python\nprint('Final Answer:', 18)\n```"
IDS = [f"tabmwp/{i}" for i in range(6)]
QUESTIONS = {get(i).question: i for i in IDS}
LLAMA_CONTEXT = "Requested tokens (2600) exceed context window of 2048"
OPENAI_CONTEXT = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. However, your messages "
        "resulted in 9000 tokens.",
        "code": "context_length_exceeded",
        "type": "invalid_request_error",
        "param": "messages",
    }
}


def problem_of(body: dict[str, Any]) -> str | None:
    """The tabmwp id whose question is in the request, or None (the endpoint check)."""
    prompt = body["messages"][-1]["content"]
    return next((i for q, i in QUESTIONS.items() if q in prompt), None)


def flat(text: str) -> str:
    return " ".join(text.split())


def evaluate(server_url: str, out: Path, *extra: str, model: str = "test-model", n: int = 6) -> int:
    return main(
        [
            "eval", "--dataset", "tabmwp", "--method", "pot", "--ids", ",".join(IDS[:n]),
            "--model", model, "--base-url", server_url, "--no-cache", "--sandbox", "none",
            "--concurrency", "1", "--max-retries", "0", "--out", str(out), *extra,
        ]
    )  # fmt: skip


def records(out: Path) -> dict[str, Any]:
    return ResultsFile(out / "results.jsonl").load(repair=False)


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("creator: error: ")
    return err[0]


def test_a_rejected_key_stops_eval_at_once_with_the_servers_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with LoopbackServer(api_key="right-key") as server:
        began = time.monotonic()
        assert evaluate(server.url, out, "--api-key", "wrong-key") == 2
        assert time.monotonic() - began < 10
        assert server.request_count == 1
    line = error_line(capsys)
    assert "401" in line and "Incorrect API key provided" in line and "wrong-key" not in line
    assert not out.exists()  # nothing written, not even the directory


def test_an_unknown_model_stops_eval_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with LoopbackServer(models=["known"]) as server:
        assert evaluate(server.url, out, model="unknown-model") == 2
        assert server.request_count == 1
    line = error_line(capsys)
    assert "unknown-model" in line and "404" in line and "does not exist" in line
    assert not out.exists()


def test_nothing_listening_stops_eval_naming_connection_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    began = time.monotonic()
    assert evaluate(f"http://127.0.0.1:{port}/v1", tmp_path / "run") == 2
    assert time.monotonic() - began < 15
    line = error_line(capsys)
    assert f"127.0.0.1:{port}" in line and "connection refused" in line


def test_a_server_that_starts_refusing_the_key_stops_the_run_and_keeps_what_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"on": False}

    def reply(body: dict[str, Any]) -> ServerReply:
        if broken["on"]:
            return ServerReply(status=401, error_message="Your key was revoked.")
        if problem_of(body) == "tabmwp/2":
            broken["on"] = True  # answers this one, refuses everything after
        return ServerReply(content=PROGRAM)

    out = tmp_path / "run"
    with LoopbackServer(responder=reply) as server:
        assert evaluate(server.url, out) == 2
        assert server.request_count == 1 + 3 + 1  # the check, 3 problems, the refused one
        line = error_line(capsys)
        assert "401" in line and "Your key was revoked." in line
        assert "3 of 6 problems finished and kept" in line
        kept = records(out)
        assert sorted(kept) == IDS[:3] and all(r.status == "answered" for r in kept.values())
        summary = json.loads((out / "summary.json").read_text())
        assert summary["n"] == 3 and summary["model_errors"] == 0
        broken["on"] = False  # a new key
        assert evaluate(server.url, out) == 0
        assert "resuming: 3 of 6 problems already finished" in flat(capsys.readouterr().out)
    assert sorted(records(out)) == IDS
    assert len((out / "results.jsonl").read_text().splitlines()) == 6


def test_malformed_replies_on_some_problems_are_model_errors_and_the_run_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def reply(body: dict[str, Any]) -> ServerReply:
        problem = problem_of(body)
        if problem == "tabmwp/1":
            return ServerReply(
                raw=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        if problem == "tabmwp/4":
            return ServerReply(raw=b'{"id": "x", "choices": [', content_type="application/json")
        return ServerReply(content=PROGRAM)

    out = tmp_path / "run"
    with LoopbackServer(responder=reply) as server:
        assert evaluate(server.url, out) == 1
    kept = records(out)
    assert len(kept) == 6
    assert {k for k, r in kept.items() if r.status == "model_error"} == {"tabmwp/1", "tabmwp/4"}
    assert {r.error_kind for r in kept.values() if r.status == "model_error"} == {"response"}
    assert all(r.status == "answered" for k, r in kept.items() if k not in ("tabmwp/1", "tabmwp/4"))
    said = flat(capsys.readouterr().out)
    assert "2 problem(s) failed on the model side, most often server errors or unusable" in said
    assert "unusable reply" in said and "run the same command again to retry them" in said
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_errors"] == 2 and summary["request_errors"] == 0
    assert summary["model_error_kinds"] == {"response": 2}


def context_server(overflowing: set[str], error: Callable[[], ServerReply]) -> LoopbackServer:
    def reply(body: dict[str, Any]) -> ServerReply:
        return error() if problem_of(body) in overflowing else ServerReply(content=PROGRAM)

    return LoopbackServer(responder=reply)


def test_prompts_too_long_for_the_context_are_kept_rechecked_once_and_solved_when_it_grows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overflowing = {"tabmwp/1", "tabmwp/3", "tabmwp/4"}
    out = tmp_path / "run"
    with context_server(
        overflowing, lambda: ServerReply(status=400, error_message=LLAMA_CONTEXT)
    ) as server:
        assert evaluate(server.url, out) == 2
        assert server.request_count == 1 + 6  # a refused request is not retried
        line = error_line(capsys)
        assert "3 problem(s) refused by the server" in line
        assert "2,600" in line and "2,048" in line
        kept = records(out)
        refused = {k for k, r in kept.items() if r.refused}
        assert refused == overflowing
        assert {kept[k].context_needed for k in refused} == {2600}
        summary = json.loads((out / "summary.json").read_text())
        assert summary["request_errors"] == 3 and summary["model_errors"] == 0
        assert summary["context"] == {"needed": 2600, "available": 2048}

        # the same server: one of them is re-sent (no other request), the rest kept
        assert evaluate(server.url, out) == 2
        assert server.request_count == 7 + 1
        said = flat(capsys.readouterr().out)
        assert "re-sending tabmwp/1 first" in said and "the other 2 kept as they were" in said

        # the server restarted with a larger context: all three are solved again
        server.responder = lambda body: ServerReply(content=PROGRAM)
        assert evaluate(server.url, out) == 0
        assert server.request_count == 8 + 3
        assert "solving the other 2 again" in flat(capsys.readouterr().out)
    final = records(out)
    assert all(r.status == "answered" for r in final.values()) and len(final) == 6
    assert json.loads((out / "summary.json").read_text())["request_errors"] == 0


def test_openais_context_message_names_both_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with context_server(
        {"tabmwp/0"}, lambda: ServerReply(status=400, body=OPENAI_CONTEXT)
    ) as server:
        assert evaluate(server.url, tmp_path / "run", n=2) == 2
    line = error_line(capsys)
    assert "9,000" in line and "8,192" in line and "1 problem(s) refused" in line


def test_a_refused_request_that_is_not_about_the_context_is_kept_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "Invalid 'messages[1].content': string too long."
    with context_server(
        {"tabmwp/1"}, lambda: ServerReply(status=400, error_message=message)
    ) as server:
        out = tmp_path / "run"
        assert evaluate(server.url, out, n=3) == 2
        assert message in error_line(capsys)
        (refused,) = [r for r in records(out).values() if r.refused]
        assert refused.error_kind == "request" and message in (refused.error or "")


UNSUPPORTED_MAX_TOKENS = {
    "error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
}
UNSUPPORTED_TEMPERATURE = {
    "error": {
        "message": "Unsupported value: 'temperature' does not support 0.3 with this model. "
        "Only the default (1) value is supported.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_value",
    }
}


def reasoning_server(name: str) -> LoopbackServer:
    """A server that refuses max_tokens and any temperature, as OpenAI's reasoning models do."""

    def reply(body: dict[str, Any]) -> ServerReply:
        if "max_tokens" in body:
            return ServerReply(status=400, body=UNSUPPORTED_MAX_TOKENS)
        if "temperature" in body:
            return ServerReply(status=400, body=UNSUPPORTED_TEMPERATURE)
        return ServerReply(content=PROGRAM)

    return LoopbackServer(responder=reply, models=[name])


def test_a_reasoning_model_by_name_is_sent_max_completion_tokens_from_the_start(
    tmp_path: Path,
) -> None:
    with reasoning_server("o3-mini") as server:
        assert evaluate(server.url, tmp_path / "run", model="o3-mini", n=3) == 0
        sent = server.requests
    assert len(sent) == 1 + 3
    assert all("max_completion_tokens" in r and "max_tokens" not in r for r in sent)
    assert not any("temperature" in r for r in sent)


def test_parameters_refused_by_an_unknown_reasoning_model_are_adapted_once_by_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with reasoning_server("my-reasoner") as server:
        assert evaluate(server.url, tmp_path / "run", model="my-reasoner", n=3) == 0
        sent = server.requests
    assert len(sent) == 3 + 3  # the check: refused twice, then answered; then 3 problems
    assert "max_tokens" in sent[0] and "temperature" in sent[1]
    assert all("max_completion_tokens" in r and "temperature" not in r for r in sent[2:])
    said = flat(capsys.readouterr().out)
    assert "endpoint: chat answers as 'my-reasoner'; adapted: max_tokens, temperature" in said
    assert "request: temperature" in said  # the summary table says the setting was not sent
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["request_adaptations"]) == {"max_tokens", "temperature"}


def test_doctor_runs_the_chat_check_and_shows_the_adaptations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with reasoning_server("my-reasoner") as server:
        code = main(["doctor", "--model", "my-reasoner", "--base-url", server.url])
    said = flat(capsys.readouterr().out)
    assert code == 0, said
    assert "reachable" in said and "chat answers as 'my-reasoner'" in said
    assert "adapted max_tokens: sent as max_completion_tokens" in said
    assert "temperature: not sent" in said


def test_doctor_fails_when_the_chat_check_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(api_key="right") as server:
        code = main(["doctor", "--model", "test-model", "--base-url", server.url])
    said = flat(capsys.readouterr().out)
    assert code == 1 and "rejected the API key (401)" in said
