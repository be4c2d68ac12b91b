"""``--method tooluse`` as a user runs it: real processes, a loopback model, both services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from creator.models.loopback import LoopbackServer, ServerReply
from tests.cli.test_solve import cache_env, creator, one_line_error  # noqa: F401
from tests.services.wolfram_server import WolframServer

KEY = "WOLFRAM-KEY-7f3a9c"


def _responder(query: str, answer: str) -> Any:
    """A model that asks ``query`` first, then answers ``answer`` once it has a result."""

    def reply(body: dict[str, Any]) -> ServerReply:
        last = body["messages"][-1]["content"]
        if last.startswith("Result:"):
            return ServerReply(content=f"With that result:\nFinal Answer: {answer}")
        if last.startswith("No result is available"):
            return ServerReply(content="Final Answer: 0")
        return ServerReply(content=f"One calculation is left.\nQUERY: {query}")

    return reply


def test_solve_tooluse_shows_the_query_and_the_service_reply(cache_env):  # noqa: F811
    responder = _responder("solve 3p+4q=8, 4p+3q=13", "4")
    with LoopbackServer(responder, models=["tiny"]) as server:
        args = ("solve", "3p+4q=8 and 4p+3q=13: find p.", "--model", "tiny")
        shown = creator(*args, "--base-url", server.url, "--method", "tooluse", env=cache_env)
        assert shown.returncode == 0, shown.stderr
        assert "Computation service" in shown.stdout and "tool service: sympy" in shown.stdout
        assert "query: solve 3p+4q=8, 4p+3q=13" in shown.stdout
        assert "p = 4" in shown.stdout and "Final answer: 4" in shown.stdout
        data = creator(
            *args, "--base-url", server.url, "--method", "tooluse", "--json", env=cache_env
        )
        assert data.returncode == 0, data.stderr
        trace = json.loads(data.stdout)["trace"]
        assert [s["stage"] for s in trace] == ["query", "service", "answer"]
        assert trace[1]["service"]["service"] == "sympy" and "q = -1" in trace[1]["service"]["text"]


def test_solve_method_flag_runs_every_baseline(cache_env):  # noqa: F811
    with LoopbackServer(models=["tiny"]) as server:
        server.queue(ServerReply(content="Two and two.\nFinal Answer: 4"))
        proc = creator(
            "solve", "What is 2 + 2?", "--model", "tiny", "--base-url", server.url,
            "--method", "cot", "--json", env=cache_env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["method"] == "cot" and data["answer"] == "4"


def test_tooluse_option_errors_are_one_line(cache_env, tmp_path: Path):  # noqa: F811
    base = ("solve", "What is 2 + 2?", "--model", "tiny", "--base-url", "http://127.0.0.1:9/v1")
    error = one_line_error(creator(*base, "--method", "cot", "--tool-service", "sympy"))
    assert "--tool-service only applies with --method tooluse" in error
    error = one_line_error(creator(*base, "--method", "tooluse", "--wolfram-app-id", "x"))
    assert "--wolfram-app-id only applies with --tool-service wolfram" in error
    env = {**cache_env, "WOLFRAM_APP_ID": ""}
    no_key = creator(*base, "--method", "tooluse", "--tool-service", "wolfram", env=env)
    assert "needs an app id: set WOLFRAM_APP_ID or pass --wolfram-app-id" in one_line_error(no_key)
    replay = creator("solve", "--problem", "creation/0", "--model", "reference", "--method",
                     "tooluse", env=cache_env)  # fmt: skip
    assert "reference replay cannot run --method tooluse" in one_line_error(replay)
    out = tmp_path / "run"
    evaluated = creator(
        "eval", "--dataset", "creation", "--model", "reference", "--method", "tooluse",
        "--limit", "2", "--out", str(out),
    )  # fmt: skip
    assert "reference replay cannot run --method tooluse" in one_line_error(evaluated)
    assert not out.exists()


def test_eval_tooluse_with_wolfram_records_queries_keeps_the_key_out_and_resumes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    responder = _responder("solve 3p+4q=8, 4p+3q=13", "4")
    with LoopbackServer(responder, models=["tiny"]) as model, WolframServer(app_id=KEY) as wa:
        args = (
            "eval", "--dataset", "tabmwp", "--limit", "3", "--model", "tiny",
            "--base-url", model.url, "--method", "tooluse", "--tool-service", "wolfram",
            "--wolfram-url", wa.url, "--out", str(out), "--no-cache",
        )  # fmt: skip
        proc = creator(*args, env={"WOLFRAM_APP_ID": KEY})
        assert proc.returncode == 0, proc.stderr
        assert "queries to wolfram" in proc.stdout
        summary = json.loads((out / "summary.json").read_text())
        assert summary["method"] == "tooluse"
        assert summary["queries"]["sent"] == 3 and summary["queries"]["answered"] == 3
        assert summary["settings"]["tool_service"] == "wolfram"
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        services = [s["service"] for r in records for s in r["trace"] if s["stage"] == "service"]
        assert len(services) == 3 and all("p = 4 and q = -1" in s["text"] for s in services)
        assert len(wa.requests) == 4  # the probe, then one query per problem
        for path in out.iterdir():
            assert KEY not in path.read_text(), path
        assert KEY not in proc.stdout + proc.stderr
        changed = [a if a != "wolfram" else "sympy" for a in args]
        refused = creator(*changed[: changed.index("--wolfram-url")], "--out", str(out))
        expected = 'different settings (tool_service: "wolfram" in the run, "sympy" now)'
        assert expected in one_line_error(refused)


def test_eval_tooluse_with_a_rejected_key_stops_before_any_problem(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(models=["tiny"]) as model, WolframServer(app_id=KEY) as wa:
        proc = creator(
            "eval", "--dataset", "tabmwp", "--limit", "2", "--model", "tiny",
            "--base-url", model.url, "--method", "tooluse", "--tool-service", "wolfram",
            "--wolfram-url", wa.url, "--wolfram-app-id", "WRONG-KEY", "--out", str(out),
            "--no-cache",
        )  # fmt: skip
        error = one_line_error(proc)
        assert "refused the app id" in error and "WRONG-KEY" not in error
        assert model.request_count == 1  # the model's own endpoint check, no problem
        assert not (out / "results.jsonl").exists() or not (out / "results.jsonl").read_text()


def test_terminal_control_sequences_from_the_model_are_shown_escaped(cache_env):  # noqa: F811
    title = "\x1b]0;PWNED\x07"
    responder = _responder(f"2+2 {title}\x1b[31m", f"4 {title}")
    with LoopbackServer(responder, models=["tiny"]) as server:
        shown = creator(
            "solve", "What is 2 + 2?", "--model", "tiny", "--base-url", server.url,
            "--method", "tooluse", env=cache_env,
        )  # fmt: skip
    assert "\x1b]" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b]0;PWNED\\x07" in shown.stdout


def test_a_question_with_an_undecodable_byte_is_one_line(cache_env):  # noqa: F811
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")} | cache_env
    proc = subprocess.run(
        [sys.executable, "-m", "creator.cli.main", "solve", b"What is 2+2 \xff?", "--model",
         "tiny", "--base-url", "http://127.0.0.1:9/v1", "--method", "cot"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert "the question is not valid UTF-8 text: character 13" in one_line_error(proc)
