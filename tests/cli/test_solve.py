"""``creator solve`` and ``creator doctor`` as a user runs them: a real process, real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from creator.models.loopback import LoopbackServer, ServerReply

TOOL = (
    "Here is a tool.\n```python\n"
    'def add(a: float, b: float) -> float:\n    """Sum."""\n    return a + b\n```'
)
DECISION = "```python\nprint('Final Answer:', add(2, 3))\n```"


def creator(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "creator.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        cwd=cwd,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("creator: error: ")
    return lines[0]


@pytest.fixture
def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"CREATOR_CACHE_DIR": str(tmp_path / "cache")}


def test_reference_replay_solves_a_creation_challenge_problem(cache_env):
    proc = creator("solve", "--problem", "creation/0", "--model", "reference", env=cache_env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "replay of recorded dataset solutions" in out
    for title in ("Creation", "Decision", "Execution"):
        assert title in out
    assert "Final answer: 5000" in out
    assert "matches" in out


def test_json_output_has_answer_and_trace(cache_env):
    proc = creator(
        "solve", "--problem", "transfer/0/1", "--model", "reference", "--json", env=cache_env
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answer"] == "5000"
    assert data["replay"] is True
    assert [s["stage"] for s in data["trace"]] == ["creation", "decision", "execution"]
    assert data["trace"][2]["execution"]["stdout"].strip() == "5000"


def test_openai_endpoint_end_to_end_and_the_cache_makes_zero_requests_the_second_time(cache_env):
    with LoopbackServer(models=["tiny"]) as server:
        server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        args = ("solve", "What is 2 plus 3?", "--model", "tiny", "--base-url", server.url, "--json")
        first = creator(*args, env=cache_env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["answer"] == "5"
        assert server.request_count == 2
        sent = server.requests[0]
        assert sent["model"] == "tiny" and sent["temperature"] == 0.3 and sent["max_tokens"] == 1024
        second = creator(*args, env=cache_env)
        assert second.returncode == 0, second.stderr
        assert server.request_count == 2
        data = json.loads(second.stdout)
        assert data["answer"] == "5"
        assert all(s["call"]["completion"]["cached"] for s in data["trace"] if s["call"])
        server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        third = creator(*args, "--no-cache", env=cache_env)
        assert third.returncode == 0 and server.request_count == 4


def test_empty_question(cache_env):
    assert "question is empty" in one_line_error(
        creator("solve", "  ", "--model", "reference", env=cache_env)
    )


def test_no_question(cache_env):
    assert "QUESTION" in one_line_error(creator("solve", "--model", "reference", env=cache_env))


def test_missing_context_file(cache_env, tmp_path):
    missing = tmp_path / "nope.txt"
    line = one_line_error(
        creator(
            "solve", "q?", "--context-file", str(missing), "--model", "reference", env=cache_env
        )
    )
    assert "context file not found" in line and "nope.txt" in line


def test_no_model(cache_env):
    assert "no model given" in one_line_error(creator("solve", "q?", env=cache_env))


def test_reference_without_recorded_solution(cache_env):
    line = one_line_error(creator("solve", "What is 2 + 2?", "--model", "reference", env=cache_env))
    assert "no recorded solution" in line


def test_unreachable_endpoint_names_the_url(cache_env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    line = one_line_error(
        creator(
            "solve", "q?", "--model", "m", "--base-url", url, "--max-retries", "0", env=cache_env
        )
    )
    assert f"127.0.0.1:{port}" in line


def test_wrong_key_401(cache_env):
    with LoopbackServer() as server:
        server.queue(ServerReply(status=401, error_message="Incorrect API key provided"))
        line = one_line_error(
            creator(
                "solve",
                "q?",
                "--model",
                "test-model",
                "--base-url",
                server.url,
                "--api-key",
                "sk-secret-123",
                env=cache_env,
            )
        )
    assert "401" in line and "sk-secret-123" not in line


def test_a_model_error_is_said_once(cache_env):
    with LoopbackServer() as server:
        server.queue(ServerReply(status=401, error_message="Incorrect API key provided"))
        proc = creator(
            "solve", "q?", "--model", "test-model", "--base-url", server.url, env=cache_env
        )
    one_line_error(proc)
    assert "Incorrect API key" not in proc.stdout and "No answer" not in proc.stdout


def test_unknown_model_404(cache_env):
    with LoopbackServer(models=["known"]) as server:
        line = one_line_error(
            creator(
                "solve", "q?", "--model", "unknown-model", "--base-url", server.url, env=cache_env
            )
        )
    assert "unknown-model" in line and "404" in line


def test_doctor_reports_versions_sandbox_and_endpoint(cache_env):
    with LoopbackServer(models=["tiny"]) as server:
        proc = creator("doctor", "--model", "tiny", "--base-url", server.url, env=cache_env)
    assert proc.returncode == 0, proc.stderr
    for word in ("python", "openai", "sandbox", "endpoint", "reachable"):
        assert word in proc.stdout


def test_doctor_fails_on_an_unreachable_endpoint(cache_env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = creator(
        "doctor", "--model", "m", "--base-url", f"http://127.0.0.1:{port}/v1", env=cache_env
    )
    assert proc.returncode == 1
    assert f"127.0.0.1:{port}" in proc.stdout


def test_replies_without_code_are_failed_rounds_asked_again(cache_env):
    with LoopbackServer() as server:
        server.queue(*[ServerReply(content="I would write a function for it.")] * 3)
        server.queue(
            ServerReply(content=TOOL, finish_reason="length"), ServerReply(content=DECISION)
        )
        proc = creator(
            "solve", "What is 2 plus 3?", "--model", "test-model", "--base-url", server.url,
            "--json", env=cache_env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["answer"] == "5"
        creation = [s for s in data["trace"] if s["stage"] == "creation"]
        assert [s["error"] for s in creation[:3]] == ["the reply contained no Python code"] * 3
        assert server.request_count == 5
        assert "no Python code block" in server.requests[1]["messages"][-1]["content"]


def _stdin_creator(
    *args: str, stdin: bytes, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "creator.cli.main", *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        timeout=120,
    )


def test_question_from_a_file_and_from_stdin_a_megabyte_one_not_echoed_whole(cache_env, tmp_path):
    # A 1 MB question: the model receives it whole, the terminal shows only its beginning.
    marker = "What is 2 plus 3? "
    question = marker + "".join(f"Note {i}: the answer is an integer. " for i in range(30_000))
    assert len(question.encode()) > 1_000_000
    path = tmp_path / "q.txt"
    path.write_text(question, encoding="utf-8")
    with LoopbackServer(models=["tiny"]) as server:
        for _ in range(2):
            server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        common = ("--model", "tiny", "--base-url", server.url, "--no-cache")
        from_file = creator("solve", "--file", str(path), *common, env=cache_env)
        assert from_file.returncode == 0, from_file.stderr
        assert "Final answer: 5" in from_file.stdout
        assert "more characters not shown" in from_file.stdout
        assert len(from_file.stdout) < 20_000  # the question is not echoed whole
        sent = server.requests[0]["messages"][-1]["content"]
        assert question.strip() in sent
        piped = _stdin_creator("solve", "-", *common, stdin=question.encode(), env=cache_env)
        assert piped.returncode == 0, piped.stderr
        assert server.requests[2]["messages"][-1]["content"] == sent
        assert len(piped.stdout) < 20_000
        assert server.request_count == 4


def test_question_file_errors_are_one_line(cache_env, tmp_path):
    nope = str(tmp_path / "nope.txt")
    proc = creator("solve", "--file", nope, "--model", "reference", env=cache_env)
    missing = one_line_error(proc)
    assert "question file not found" in missing and "nope.txt" in missing
    binary = tmp_path / "q.bin"
    binary.write_bytes(b"What is \xff?")
    line = one_line_error(
        creator("solve", "--file", str(binary), "--model", "reference", env=cache_env)
    )
    assert "not UTF-8" in line and "byte 9" in line
    both = one_line_error(
        creator("solve", "q?", "--file", str(binary), "--model", "reference", env=cache_env)
    )
    assert "either a QUESTION or --file" in both
    empty = _stdin_creator("solve", "-", "--model", "reference", stdin=b"  \n", env=cache_env)
    assert empty.returncode == 2 and b"question is empty" in empty.stderr


def test_solve_with_two_endpoints_carries_on_when_one_is_down(cache_env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = f"http://127.0.0.1:{port}/v1"
    with LoopbackServer(models=["tiny"]) as server:
        server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        proc = creator(
            "solve", "What is 2 plus 3?", "--model", "tiny", "--json", "--no-cache",
            "--base-url", gone, "--base-url", server.url, env=cache_env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["answer"] == "5"
        assert server.request_count == 2


def test_rectify_on_no_answer_is_refused_for_a_method_that_never_repairs() -> None:
    for method in ("pot", "cot", "tooluse"):
        proc = creator(
            "solve", "--method", method, "--rectify-on", "no-answer", "--model", "m", "2+3?"
        )
        line = one_line_error(proc)
        assert f"not to {method}" in line and "creator, toolcreate-whole" in line
