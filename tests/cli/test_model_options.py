"""The request options of ``solve`` and ``eval`` (``--top-p``, ``--seed``,
``--reasoning-effort``, ``--extra-body``, ``--header``): sent as given, recorded with the run
(header names only), checked with one-line errors; and runs made before they existed resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from creator.cli.main import main
from creator.eval import EvalConfig
from creator.models.loopback import LoopbackServer, ServerReply
from tests.cli.test_eval_failures import PROGRAM, error_line, problem_of

TOOL = "```python\ndef add(a: float, b: float) -> float:\n    return a + b\n```"
DECISION = "```python\nprint('Final Answer:', add(2, 3))\n```"
SECRET = "gw-topsecret-4242"
API_KEY = "sk-also-secret-999"
EXTRA = '{"chat_template_kwargs": {"enable_thinking": false}}'
PASS_THROUGH = (
    "--top-p", "0.9", "--seed", "7", "--reasoning-effort", "low", "--extra-body", EXTRA,
    "--header", f"X-Gateway-Key: {SECRET}", "--header", "X-Team:research",
)  # fmt: skip


def solve(server: LoopbackServer, *extra: str) -> int:
    return main(
        [
            "solve", "What is 2 plus 3?", "--model", "test-model", "--base-url", server.url,
            "--no-cache", "--sandbox", "none", *extra,
        ]
    )  # fmt: skip


def test_solve_sends_every_pass_through_option(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer() as server:
        server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        assert solve(server, *PASS_THROUGH, "--json") == 0
        sent, headers = server.requests, server.request_headers
    assert len(sent) == 2
    for body, head in zip(sent, headers, strict=True):
        assert body["top_p"] == 0.9 and body["seed"] == 7 and body["reasoning_effort"] == "low"
        assert body["chat_template_kwargs"] == {"enable_thinking": False}
        assert body["temperature"] == 0.3 and body["max_tokens"] == 1024
        assert head["x-gateway-key"] == SECRET and head["x-team"] == "research"
    assert SECRET not in capsys.readouterr().out


def test_unset_options_are_not_sent() -> None:
    with LoopbackServer() as server:
        server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        assert solve(server) == 0
        body = server.requests[0]
    for name in ("top_p", "seed", "reasoning_effort", "chat_template_kwargs"):
        assert name not in body


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--extra-body", "{not json", "--extra-body is not valid JSON"),
        ("--extra-body", "[1, 2]", "--extra-body must be a JSON object ({...}), not list"),
        ("--extra-body", '"text"', "--extra-body must be a JSON object ({...}), not str"),
        ("--top-p", "0", "--top-p must be > 0 and <= 1"),
        ("--top-p", "1.5", "--top-p must be > 0 and <= 1"),
        ("--reasoning-effort", " ", "--reasoning-effort needs a level"),
        ("--header", "no-colon-secretvalue", "--header number 1 is not NAME:VALUE"),
        ("--header", "bad name: secretvalue", "--header number 1 is not NAME:VALUE"),
        ("--header", "X-Empty:", "--header X-Empty has no value"),
    ],
)
def test_bad_options_are_one_line_errors_that_never_repeat_a_header_value(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer() as server:
        assert solve(server, option, value) == 2
        assert server.request_count == 0
    line = error_line(capsys)
    assert says in line
    assert "secretvalue" not in line


def test_a_header_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer() as server:
        assert solve(server, "--header", "api-key: aaaa", "--header", "API-Key: bbbb") == 2
    assert "--header API-Key is given twice" in error_line(capsys)


def run_eval_cli(server: LoopbackServer, out: Path, *extra: str) -> int:
    return main(
        [
            "eval", "--dataset", "tabmwp", "--method", "pot", "--limit", "4",
            "--model", "test-model", "--base-url", server.url, "--no-cache",
            "--sandbox", "none", "--max-retries", "0", "--out", str(out), *extra,
        ]
    )  # fmt: skip


def test_eval_records_the_options_and_only_the_names_of_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing secret lands in the run directory, even when the server echoes a header."""

    def reply(body: dict[str, Any]) -> ServerReply:
        if problem_of(body) == "tabmwp/2":
            message = f"Invalid header value {SECRET} for key {API_KEY}"
            return ServerReply(status=400, error_message=message)
        return ServerReply(content=PROGRAM)

    out = tmp_path / "run"
    with LoopbackServer(responder=reply, api_key=API_KEY) as server:
        code = run_eval_cli(server, out, "--api-key", API_KEY, *PASS_THROUGH)
        assert code == 2  # the refused problem
        assert all(h["x-gateway-key"] == SECRET for h in server.request_headers)
        assert all(r["seed"] == 7 and r["top_p"] == 0.9 for r in server.requests)
    said = capsys.readouterr()
    assert SECRET not in said.out + said.err and API_KEY not in said.out + said.err
    config = json.loads((out / "config.json").read_text())
    settings = config["settings"]
    assert settings["top_p"] == 0.9 and settings["seed"] == 7
    assert settings["reasoning_effort"] == "low"
    assert settings["extra_body"] == {"chat_template_kwargs": {"enable_thinking": False}}
    assert config["header_names"] == ["X-Gateway-Key", "X-Team"]
    assert config["seed"] == 0  # the seed of --sample
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "results.jsonl", "summary.json"}
    for path in files:
        text = path.read_text()
        assert SECRET not in text and API_KEY not in text, path
    refused = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert any("<secret>" in (r["error"] or "") for r in refused)


def test_header_names_are_not_part_of_the_fingerprint() -> None:
    plain = EvalConfig(dataset="tabmwp", model="m")
    named = EvalConfig(dataset="tabmwp", model="m", header_names=("api-key",))
    assert plain.fingerprint() == named.fingerprint() and not plain.differences(named)


def test_the_fingerprint_of_a_run_made_before_the_new_options_is_unchanged() -> None:
    """Computed by the version before these options existed, and again when the base URL
    left the fingerprint (a run resumes by comparing settings, not this hash: see
    ``test_a_run_directory_from_before_the_new_options_resumes``)."""
    config = EvalConfig(
        dataset="tabmwp",
        method="pot",
        model="test-model",
        base_url="http://127.0.0.1:1/v1",
        limit=3,
    )
    assert config.fingerprint() == "739008d9981d5ca9"
    assert config.model_copy(update={"base_url": None}).fingerprint() == config.fingerprint()
    seeded = config.model_copy(update={"settings": config.settings.model_copy(update={"seed": 7})})
    assert seeded.fingerprint() != config.fingerprint()


def test_a_run_directory_from_before_the_new_options_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with LoopbackServer(responder=lambda body: ServerReply(content=PROGRAM)) as server:
        assert run_eval_cli(server, out, "--limit", "2") == 0
        config = json.loads((out / "config.json").read_text())
        del config["header_names"]  # as the version before wrote it
        assert "reasoning_effort" not in config["settings"]
        assert "extra_body" not in config["settings"]
        (out / "config.json").write_text(json.dumps(config))
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        for record in records:  # records of that version had no error kinds
            for name in ("error_kind", "context_needed", "context_available"):
                del record[name]
        (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        capsys.readouterr()
        assert run_eval_cli(server, out) == 0
        assert "resuming: 2 of 4 problems already finished" in " ".join(
            capsys.readouterr().out.split()
        )
        assert server.request_count == 1 + 2 + 1 + 2  # a check before each run


def test_eval_seed_is_the_models_and_sample_seed_the_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(responder=lambda body: ServerReply(content=PROGRAM)) as server:
        out = tmp_path / "a"
        assert run_eval_cli(server, out, "--sample", "3", "--sample-seed", "5", "--seed", "9") == 0
        config = json.loads((out / "config.json").read_text())
        assert config["seed"] == 5 and config["settings"]["seed"] == 9 and config["sample"] == 3
        assert all(r["seed"] == 9 for r in server.requests)
        capsys.readouterr()
        count = server.request_count
        assert run_eval_cli(server, tmp_path / "b", "--sample", "3", "--seed", "9") == 2
        line = error_line(capsys)
        assert "--seed is the model's sampling seed now" in line and "--sample-seed" in line
        assert run_eval_cli(server, tmp_path / "c", "--sample-seed", "1") == 2
        assert "--sample-seed only applies with --sample" in error_line(capsys)
        assert server.request_count == count


def test_a_password_in_the_base_url_is_not_recorded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(responder=lambda body: ServerReply(content=PROGRAM)) as server:
        url = server.url.replace("http://", "http://user:pw-secret-77@")
        code = main(
            [
                "eval", "--dataset", "tabmwp", "--method", "pot", "--limit", "1",
                "--model", "test-model", "--base-url", url, "--no-cache",
                "--sandbox", "none", "--out", str(out),
            ]
        )  # fmt: skip
        assert code == 0
    assert json.loads((out / "config.json").read_text())["base_url"] == server.url
    for path in out.iterdir():
        assert "pw-secret-77" not in path.read_text()


@pytest.mark.parametrize(
    ("model", "extra", "sent"),
    [
        ("o3-mini", (), {"max_completion_tokens": 16_384}),
        ("o3-mini", ("--max-tokens", "3000"), {"max_completion_tokens": 3000}),
        ("qwen3-8b", (), {"max_tokens": 1024, "temperature": 0.3}),
    ],
)
def test_reasoning_models_get_room_to_think_unless_told(
    model: str, extra: tuple[str, ...], sent: dict[str, Any]
) -> None:
    with LoopbackServer(models=(model,)) as server:
        server.queue(ServerReply(content=TOOL), ServerReply(content=DECISION))
        argv = ["solve", "What is 2 plus 3?", "--model", model, "--base-url", server.url]
        assert main([*argv, "--no-cache", "--sandbox", "none", *extra]) == 0
        body = server.requests[0]
    assert {name: body.get(name) for name in sent} == sent
    if model.startswith("o"):
        assert "temperature" not in body and "max_tokens" not in body
