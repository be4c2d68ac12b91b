"""The runner's report format, and what the host makes of a job that forges or garbles it."""

from __future__ import annotations

import pytest

from creator.sandbox import CodePart, WorkerPool
from creator.sandbox.base import Sandbox
from creator.sandbox.runner import decode_report, encode_report


@pytest.fixture(params=["bwrap_box", "rlimits_box"])
def box(request: pytest.FixtureRequest) -> Sandbox:
    """The worker levels, where the report descriptor of a job is fd 3."""
    pool: WorkerPool = request.getfixturevalue(request.param)
    return pool


@pytest.mark.parametrize("trace", [None, "", "Traceback ...\nValueError: é\n"])
def test_reports_round_trip(trace: str | None) -> None:
    raw = encode_report(3, memory_error=trace is None, traceback=trace)
    assert decode_report(raw) == {"status": 3, "memory_error": trace is None, "traceback": trace}


@pytest.mark.parametrize(
    "raw",
    [b"", b"0 0 0", b"{}\n", b"0 0\n", b"0 2 0\n", b"-1 0 0\n", b"99999 0 0\n", b"a b c\n"],
)
def test_anything_else_is_not_a_report(raw: bytes) -> None:
    assert decode_report(raw) is None


def test_garbage_on_the_report_descriptor_does_not_confuse_the_host(box: Sandbox) -> None:
    code = "import os\nos.write(3, b'not a report')\nprint('done')\nos._exit(5)"
    result = box.run_sync([CodePart(name="d", code=code)])
    assert result.stdout == "done\n"
    assert result.exit_code == 5 and not result.ok and not result.timed_out
