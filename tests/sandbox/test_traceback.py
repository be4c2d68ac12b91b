"""Tracebacks trimmed to the generated parts, and results delivered whatever the code does."""

from __future__ import annotations

import pytest

from creator.sandbox import CodePart, ExecResult, SubprocessSandbox, WorkerPool
from creator.sandbox.base import Sandbox

from .conftest import LIMITS

TOOL = (
    "import math\n\ndef area(r):\n    return math.pi * r ** 2 / zero()\n\n"
    "def zero():\n    return 0\n"
)
DECISION = "x = 2\nprint('start')\nprint(area(x))\n"


@pytest.fixture(params=["bwrap", "none"])
def box(request: pytest.FixtureRequest) -> Sandbox:
    if request.param == "none":
        return SubprocessSandbox(limits=LIMITS)
    pool: WorkerPool = request.getfixturevalue("bwrap_box")  # skips without bubblewrap
    return pool


def _run(box: Sandbox, *parts: tuple[str, str]) -> ExecResult:
    return box.run_sync([CodePart(name=n, code=c) for n, c in parts])


def test_frames_are_the_parts_with_relative_lines(box: Sandbox) -> None:
    result = _run(box, ("tool", TOOL), ("decision", DECISION))
    assert result.stdout == "start\n"
    assert result.exit_code == 1 and not result.ok
    assert result.traceback is not None
    lines = [line.strip() for line in result.traceback.splitlines()]
    assert lines[0] == "Traceback (most recent call last):"
    files = [line for line in lines if line.startswith("File ")]
    assert files == [
        'File "decision", line 3, in <module>',
        'File "tool", line 4, in area',
    ]
    assert "return math.pi * r ** 2 / zero()" in lines
    assert lines[-1] == "ZeroDivisionError: float division by zero"
    assert "/" not in result.traceback.replace("r ** 2 / zero()", "")
    assert result.error == result.traceback


def test_syntax_error_names_the_part_and_line(box: Sandbox) -> None:
    result = _run(box, ("tool", "def f():\n    return 1\n"), ("decision", "y = f(\nprint(y)\n"))
    assert result.traceback is not None
    assert 'File "decision", line 1' in result.traceback
    assert "SyntaxError" in result.traceback
    assert "Traceback (most recent call last)" not in result.traceback


def test_library_frames_are_dropped(box: Sandbox) -> None:
    result = _run(box, ("decision", "import json\njson.loads('{bad')\n"))
    assert result.traceback is not None
    assert result.traceback.count("File ") == 1
    assert 'File "decision", line 2' in result.traceback
    assert "JSONDecodeError" in result.traceback
    assert "json/decoder.py" not in result.traceback


def test_chained_exceptions_are_trimmed_too(box: Sandbox) -> None:
    code = "try:\n    {}['k']\nexcept KeyError as e:\n    raise ValueError('bad') from e\n"
    result = _run(box, ("decision", code))
    assert result.traceback is not None
    assert "KeyError: 'k'" in result.traceback and "ValueError: bad" in result.traceback
    assert "direct cause" in result.traceback


@pytest.mark.parametrize(
    ("code", "stdout", "exit_code", "ok"),
    [
        ("print('before')\nimport os\nos._exit(3)", "before\n", 3, False),
        ("print('before')\nimport os\nos._exit(0)", "before\n", 0, True),
        ("import sys\nprint('x', end='')\nsys.exit(0)", "x", 0, True),
        ("import sys\nsys.exit(4)", "", 4, False),
        (
            "import os, sys\nprint('a')\nos.close(1)\nsys.stdout = None\nraise KeyError(1)",
            "a\n",
            1,
            False,
        ),
        ("import os\nprint('partial', end='')\nos.kill(os.getpid(), 9)", "partial", -9, False),
    ],
    ids=["os-exit-3", "os-exit-0", "sys-exit-0", "sys-exit-4", "closed-stdout", "self-kill"],
)
def test_results_survive_exits_and_closed_streams(
    box: Sandbox, code: str, stdout: str, exit_code: int, ok: bool
) -> None:
    result = _run(box, ("decision", code))
    assert result.stdout == stdout
    assert result.exit_code == exit_code
    assert result.ok is ok


def test_sys_exit_with_a_message_goes_to_stderr(box: Sandbox) -> None:
    result = _run(box, ("decision", "import sys\nsys.exit('giving up')"))
    assert result.exit_code == 1
    assert result.stderr == "giving up\n"


def test_stdin_is_empty(box: Sandbox) -> None:
    result = _run(box, ("decision", "input()"))
    assert result.traceback and "EOFError" in result.traceback


def test_parts_share_one_main_namespace(box: Sandbox) -> None:
    result = _run(box, ("tool", "K = 5\n"), ("decision", "print(K, __name__)"))
    assert result.ok and result.stdout == "5 __main__\n"


def test_huge_integers_print_in_full(box: Sandbox) -> None:
    result = _run(box, ("decision", "print(10**5000)"))
    assert result.ok, result.error
    assert result.stdout.strip() == "1" + "0" * 5000
