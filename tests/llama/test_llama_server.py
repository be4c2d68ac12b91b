"""``creator doctor``, ``solve`` and ``eval`` against a real model: llama.cpp's server with
SmolLM2-135M-Instruct on loopback (see conftest.py). The model solves almost nothing: these
tests check the plumbing (statuses, token counts, resume, errors), never accuracy.

Replies are deterministic (temperature 0, a fixed server seed). To stay fast, most runs cap
replies at 256 tokens and allow one creation retry and one rectification round; the eval of the
default method keeps every default but the temperature.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from creator.trace import Status
from tests.cli.test_solve import one_line_error
from tests.llama.conftest import MODEL_ALIAS, LlamaServer

BASELINES = ("toolcreate-whole", "pot", "cot", "standard", "tooluse")  # and creator, the default
STATUSES = frozenset(get_args(Status))
FAST = ("--max-tokens", "256", "--creation-retries", "1", "--rectify-rounds", "1")


def creator(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [sys.executable, "-m", "creator.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def endpoint(server: LlamaServer) -> tuple[str, ...]:
    return ("--base-url", server.url, "--model", MODEL_ALIAS, "--temperature", "0")


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def assert_plumbing(out: Path, n: int) -> list[dict[str, Any]]:
    """Every problem has a record with a valid status, none failed on the model side, and
    every record counted the tokens the server reported."""
    found = records(out)
    assert len(found) == n
    for record in found:
        where = f"{record['id']}: {record['status']} {record.get('error')}"
        assert record["status"] in STATUSES, where
        assert record["status"] != "model_error", where
        assert record["tokens"]["prompt"] > 0 and record["tokens"]["completion"] > 0, where
        assert record["tokens"]["total"] > 0, where
        assert record["trace"], where
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == n and summary["model_errors"] == 0
    assert summary["tokens"]["total"] == sum(r["tokens"]["total"] for r in found)
    return found


def assert_resume_sends_nothing(server: LlamaServer, args: tuple[str, ...], out: Path) -> None:
    """The same command on the same --out: everything finished, so no request is sent."""
    before = server.chat_requests()
    again = creator(*args)
    assert again.returncode == 0, again.stderr
    n = len(records(out))
    assert f"{n} of {n} problems already finished" in again.stdout
    assert json.loads((out / "summary.json").read_text())["resumed_from"] == n
    assert server.chat_requests() == before


def test_doctor_finds_the_model(llama_server: LlamaServer) -> None:
    proc = creator("doctor", "--base-url", llama_server.url, "--model", MODEL_ALIAS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"'{MODEL_ALIAS}' listed" in proc.stdout


def test_solve_one_question(llama_server: LlamaServer) -> None:
    proc = creator(
        "solve", "What is 17 times 23?", *endpoint(llama_server), *FAST, "--no-cache", "--json"
    )
    assert proc.returncode in (0, 1), proc.stderr  # answered, or another non-error status
    result = json.loads(proc.stdout)
    assert result["status"] in STATUSES and result["status"] != "model_error", result["error"]
    assert result["method"] == "creator"
    usages = [step["call"]["completion"]["usage"] for step in result["trace"] if step["call"]]
    assert usages, result["trace"]
    assert all(u["prompt_tokens"] > 0 and u["completion_tokens"] > 0 for u in usages)


@pytest.mark.parametrize("method", BASELINES)
def test_eval_each_baseline_then_resume(
    llama_server: LlamaServer, tmp_path: Path, method: str
) -> None:
    out = tmp_path / "run"
    args = (
        "eval", "--dataset", "creation", "--method", method, "--limit", "1",
        *endpoint(llama_server), *FAST, "--no-cache", "--out", str(out),
    )  # fmt: skip
    proc = creator(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = assert_plumbing(out, 1)
    assert {r["method"] for r in found} == {method}
    assert_resume_sends_nothing(llama_server, args, out)


def test_eval_creator_with_the_default_settings_then_resume(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    """The default method with the default --max-tokens, --concurrency, --request-timeout,
    retries and rectification rounds (only the temperature is 0, for repeatable replies)."""
    out = tmp_path / "run"
    args = (
        "eval", "--dataset", "creation", "--limit", "2",
        *endpoint(llama_server), "--no-cache", "--out", str(out),
    )  # fmt: skip
    proc = creator(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = assert_plumbing(out, 2)
    assert {r["method"] for r in found} == {"creator"}
    assert_resume_sends_nothing(llama_server, args, out)


def test_eval_math_the_longest_prompts(llama_server: LlamaServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = (
        "eval", "--dataset", "math", "--method", "creator", "--limit", "1",
        *endpoint(llama_server), *FAST, "--no-cache", "--out", str(out),
    )  # fmt: skip
    proc = creator(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (found,) = assert_plumbing(out, 1)
    calls = [step["call"] for step in found["trace"] if step["call"]]
    assert max(c["completion"]["usage"]["prompt_tokens"] for c in calls) > 1500  # few-shot
    assert_resume_sends_nothing(llama_server, args, out)


def test_a_context_too_small_for_the_prompts_is_one_clear_error(
    start_llama_server: Callable[[int], LlamaServer], tmp_path: Path
) -> None:
    """MATH prompts need ~2k tokens; a server with a 1024-token context refuses them (400,
    ``context_length_exceeded``). The run must end with one line (exit 2) naming both the
    tokens the prompt needs and the server's context."""
    server = start_llama_server(1024)
    proc = creator(
        "eval", "--dataset", "math", "--method", "creator", "--limit", "2",
        *endpoint(server), *FAST, "--no-cache", "--out", str(tmp_path / "run"),
    )  # fmt: skip
    line = one_line_error(proc)
    assert "context" in line.lower(), line
    words = re.sub(r"https?://\S+", "", line).replace(",", "")  # not the port
    numbers = [int(n) for n in re.findall(r"\d+", words)]
    assert 1024 in numbers, line  # the server's context
    assert any(n > 1024 for n in numbers), line  # what the prompt needs
    assert server.alive()
