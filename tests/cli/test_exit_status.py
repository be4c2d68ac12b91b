"""The exit statuses the README lists under "Exit status", each as a command really ends.

0: done; 1: done, but the thing run or checked failed (``solve`` found no answer, ``exec``'s
code failed, ``eval`` left model failures for a retry, ``doctor``'s check failed); 2: an
error, said in one line (bad usage, bad input, a rejected key at any point of an ``eval``, a
disk that takes nothing); 3: a bug of ours, in one line; 130: interrupted (Ctrl-C), keeping
every finished record; 141: the reader of the output went away.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from creator.cli import tools_cmd
from creator.cli.main import main
from creator.eval import ResultsFile
from creator.models.loopback import LoopbackServer, ServerReply

PROGRAM = "```python\nprint('Final Answer:', 18)\n```"


def evaluate(url: str, out: Path, *extra: str, limit: int = 4) -> list[str]:
    return [
        "eval", "--dataset", "tabmwp", "--method", "pot", "--limit", str(limit),
        "--model", "test-model", "--base-url", url, "--no-cache", "--sandbox", "none",
        "--concurrency", "1", "--max-retries", "0", "--out", str(out), *extra,
    ]  # fmt: skip


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("creator: ")]
    assert len(err) == 1, err
    return err[0]


def test_0_when_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "hello.py"
    script.write_text("print('hello')\n")
    assert main(["exec", str(script)]) == 0
    assert capsys.readouterr().out == "hello\n"
    assert main(["tools", "list", "--library", str(tmp_path / "none.sqlite")]) == 0


def test_1_when_the_code_run_fails(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text("raise SystemExit(3)\n")
    assert main(["exec", str(script)]) == 1


def test_1_when_solve_finds_no_answer(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(lambda body: ServerReply(content="I would rather not.")) as server:
        argv = ["solve", "What is 2 + 3?", "--model", "test-model", "--base-url", server.url]
        assert main([*argv, "--no-cache", "--sandbox", "none", "--method", "pot"]) == 1
    assert capsys.readouterr().err.count("creator: error") == 0


def test_1_when_eval_leaves_model_failures_for_a_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = {"count": 0}

    def reply(body: dict[str, Any]) -> ServerReply:
        served["count"] += 1
        if served["count"] == 3:  # the check, two problems, then a server error on the third
            return ServerReply(status=503, error_message="overloaded")
        return ServerReply(content=PROGRAM)

    with LoopbackServer(reply) as server:
        assert main(evaluate(server.url, tmp_path / "run")) == 1
        assert "1 problem(s) failed on the model side" in " ".join(capsys.readouterr().out.split())
        assert main(evaluate(server.url, tmp_path / "run")) == 0  # the retry gets through


def test_2_on_bad_usage_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["eval", "--no-such-option", "--out", str(tmp_path / "run")])
    assert usage.value.code == 2
    capsys.readouterr()
    assert main(["exec", str(tmp_path / "missing.py")]) == 2
    assert error_line(capsys) == f"creator: error: file not found: {tmp_path / 'missing.py'}"


def test_2_when_eval_meets_a_rejected_key_first_on_resume_or_mid_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whether the key is refused at the check before the first problem, at the check of a
    resumed run, or by a server that starts refusing it in the middle of a run."""
    out = tmp_path / "run"
    with LoopbackServer(api_key="right-key") as server:
        assert main(evaluate(server.url, out, "--api-key", "wrong-key")) == 2
        assert "rejected the API key (401)" in error_line(capsys)
        server.api_key = None
        assert main(evaluate(server.url, out, limit=2)) == 0
        capsys.readouterr()
        server.api_key = "right-key"
        assert main(evaluate(server.url, out, "--api-key", "wrong-key")) == 2
        assert "rejected the API key (401)" in error_line(capsys)
    revoked = {"on": False}

    def reply(body: dict[str, Any]) -> ServerReply:
        if revoked["on"]:
            return ServerReply(status=401, error_message="Your key was revoked.")
        revoked["on"] = server.request_count >= 2  # the check and one problem go through
        return ServerReply(content=PROGRAM)

    with LoopbackServer(reply) as server:
        assert main(evaluate(server.url, out, limit=6)) == 2
    assert "Your key was revoked." in error_line(capsys)
    assert len(ResultsFile(out / "results.jsonl").load(repair=False)) == 3


def test_2_when_the_machine_refuses_a_write(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An OSError of the machine's that no command turned into an error of its own."""

    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "somewhere/file.csv")

    monkeypatch.setattr(tools_cmd, "run_list", full)
    assert main(["tools", "list"]) == 2
    assert error_line(capsys) == "creator: error: somewhere/file.csv: No space left on device"


def test_3_on_a_bug_of_ours(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    def broken(args: object) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))  # not the machine's doing

    monkeypatch.setattr(tools_cmd, "run_list", broken)
    monkeypatch.delenv("CREATOR_DEBUG", raising=False)
    assert main(["tools", "list"]) == 3
    line = error_line(capsys)
    assert line.startswith("creator: internal error: OSError: [Errno 9] Bad file descriptor")


def test_130_when_interrupted_keeping_every_finished_record(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with LoopbackServer(lambda body: ServerReply(content=PROGRAM), delay_s=0.1) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "creator.cli.main", *evaluate(server.url, out, limit=40)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        results = out / "results.jsonl"
        deadline = time.monotonic() + 60
        while not (results.exists() and results.read_bytes().count(b"\n") >= 1):
            assert proc.poll() is None and time.monotonic() < deadline, "no records came"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "creator: interrupted"
    data = results.read_bytes()
    kept = ResultsFile(results).load(repair=False)
    assert data.endswith(b"\n") and 1 <= len(kept) < 40
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_doctor_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    """0 when the endpoint answers the chat request, 1 when it does not (see test_doctor)."""
    with LoopbackServer(models=["tiny"]) as server:
        assert main(["doctor", "--model", "tiny", "--base-url", server.url]) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    assert main(["doctor", "--model", "tiny", "--base-url", url]) == 1


def test_141_when_the_reader_of_the_output_goes_away() -> None:
    """``creator prompts list | head``: the pipe closes under the command, which stops
    quietly (no traceback, no 'internal error') with the status SIGPIPE would give."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "creator.cli.main", "prompts", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # gone before the command writes its first line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""
