"""The tool library flags of ``creator solve`` and ``creator eval``, end to end through
``creator.cli.main.main`` and real HTTP to a loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creator.cli.main import main
from creator.datasets import get
from creator.models.loopback import LoopbackServer, ServerReply
from creator.tools import ToolLibrary

POLYGON = get("creation/0")
assert POLYGON.reference is not None
POLYGON_TOOL = POLYGON.reference.tool or ""
POLYGON_SOLUTION = POLYGON.reference.solution or ""


def reply(body: dict[str, Any]) -> ServerReply:
    """Reuse ``polygon_perimeter`` when offered; else write it; decide with the recorded call."""
    prompt = body["messages"][-1]["content"]
    if "Stage 1 of 3" in prompt:
        if "Library tools" in prompt and "def polygon_perimeter(" in prompt:
            return ServerReply(content="REUSE: polygon_perimeter")
        return ServerReply(content=f"```python\n{POLYGON_TOOL}\n```")
    return ServerReply(content=f"```python\n{POLYGON_SOLUTION}\n```")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(responder=reply) as srv:
        yield srv


def flat(text: str) -> str:
    """``text`` with the terminal's line wrapping undone."""
    return " ".join(text.split())


def run(server: LoopbackServer, *args: str) -> int:
    model = ("--model", "test-model", "--base-url", server.url, "--no-cache", "--sandbox", "none")
    return main([*args, *model])


def test_solve_saves_the_tool_verified_only_when_the_answer_is_known(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = tmp_path / "lib.sqlite"
    assert run(server, "solve", POLYGON.question, "--save-tools", "--library", str(lib)) == 0
    assert "saved as polygon_perimeter (#1; ran: yes, verified: no)" in flat(
        capsys.readouterr().out
    )
    with ToolLibrary(lib) as library:
        (tool,) = library.list()
        assert tool.ran and not tool.verified and tool.problem_id is None

    assert (
        run(server, "solve", "--problem", "creation/0", "--save-tools", "--library", str(lib)) == 0
    )
    assert "verified: yes" in flat(capsys.readouterr().out)
    with ToolLibrary(lib) as library:
        (tool,) = library.list()  # the same tool, merged, now verified
        assert tool.verified and tool.variants == 2


def test_solve_reuses_an_offered_tool_and_says_so(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = tmp_path / "lib.sqlite"
    with ToolLibrary(lib) as library:
        library.add(POLYGON_TOOL, problem=POLYGON.question, ran=True, verified=True)
    args = ("solve", "--problem", "creation/0", "--reuse-tools", "--library", str(lib))
    assert run(server, *args, "--json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["reused_tool"] == "polygon_perimeter" and payload["correct"] is True
    assert payload["trace"][0]["reused_tool"] == "polygon_perimeter"
    assert payload["tool_library"] == {"path": str(lib), "action": "reused", "tool": "#1"}
    assert run(server, *args) == 0
    out = flat(capsys.readouterr().out)
    assert "library tools offered: polygon_perimeter (#1)" in out
    assert "reused library tool polygon_perimeter" in out
    with ToolLibrary(lib) as library:
        tool = library.get(1)
        assert (tool.offered, tool.reused, tool.correct) == (2, 2, 2)


def test_eval_with_reuse_tools_end_to_end(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lib, out = tmp_path / "lib.sqlite", tmp_path / "run"
    args = ("eval", "--dataset", "creation", "--ids", "creation/0", "--out", str(out))
    assert run(server, *args, "--reuse-tools", "--library", str(lib), "--workers", "1") == 0
    printed = flat(capsys.readouterr().out)
    assert "tools created" in printed and "library tools reused" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tools"]["created"] == 1 and summary["settings"]["reuse_tools"] is True
    with ToolLibrary(lib) as library:
        assert library.get("polygon_perimeter").verified


def test_eval_transfer_prints_both_arms_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["eval", "--dataset", "transfer", "--model", "reference", "--limit", "3"]
    assert main([*args, "--out", str(out), "--sandbox", "none"]) == 0
    printed = flat(capsys.readouterr().out)
    assert "Tool Transfer, scenarios 2-3" in printed
    assert "control (no transfer)" in printed and "transfer (scenario 1's tool)" in printed
    assert "100.0% of 2" in printed


@pytest.mark.parametrize("command", ["solve", "eval"])
def test_a_bad_library_file_is_a_one_line_error(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all " * 50)
    if command == "solve":
        args = ["solve", "What is 2 + 2?"]
    else:
        args = ["eval", "--dataset", "creation", "--limit", "1", "--out", str(tmp_path / "r")]
    assert run(server, *args, "--save-tools", "--library", str(bad)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("creator: error: ") and "is not a creator tool library" in err
    assert bad.read_bytes() == b"not a database at all " * 50
    assert server.request_count == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--reuse-tools", "--reuse-k", "0"], "--reuse-k must be at least 1"),
        (["--offer-unverified"], "only apply with --reuse-tools"),
        (["--reuse-tools", "--method", "pot"], "separate tool"),
    ],
)
def test_bad_reuse_options_are_one_line_errors(
    tmp_path: Path,
    server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    args = ["eval", "--dataset", "creation", "--limit", "1", "--out", str(tmp_path / "r")]
    assert run(server, *args, *flags, "--library", str(tmp_path / "lib.sqlite")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("command", ["solve", "eval"])
def test_the_replay_with_a_library_is_refused_before_the_library_is_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    if command == "solve":
        args = ["solve", "--problem", "creation/0"]
    else:
        args = ["eval", "--dataset", "creation", "--limit", "1", "--out", str(tmp_path / "r")]
    lib = tmp_path / "lib.sqlite"
    assert main([*args, "--model", "reference", "--save-tools", "--library", str(lib)]) == 2
    assert "need a real model" in capsys.readouterr().err
    assert not lib.exists() and not (tmp_path / "r").exists()
