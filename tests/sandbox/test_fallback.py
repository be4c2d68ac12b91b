"""The ``rlimits`` fallback: what it does contain (time, memory, environment, signals)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from creator.sandbox import WorkerPool, make_sandbox

from .conftest import LIMITS, assert_still_works, needs_rlimits, run

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="seccomp is Linux-only"
)


def test_timeout_and_cpu_loop(rlimits_box: WorkerPool) -> None:
    assert run(rlimits_box, "while True:\n    pass", timeout_s=1).timed_out
    assert run(rlimits_box, "import time\ntime.sleep(10**6)", timeout_s=1).timed_out
    assert_still_works(rlimits_box)


def test_memory_limit(rlimits_box: WorkerPool) -> None:
    result = run(rlimits_box, "x = []\nwhile True:\n    x.append(bytearray(10 << 20))")
    assert result.memory_exceeded
    assert_still_works(rlimits_box)


@needs_rlimits
def test_environment_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREATOR_TEST_API_KEY", "sk-do-not-leak-5678")
    with make_sandbox("rlimits", workers=1, limits=LIMITS, warm=[]) as box:
        result = run(box, "import os\nprint(os.environ.get('CREATOR_TEST_API_KEY'), os.getcwd())")
    assert result.ok and result.stdout.startswith("None ")
    assert "sk-do-not-leak" not in result.stdout
    assert result.stdout.split()[1] != os.getcwd()


def test_private_working_directory_is_wiped(rlimits_box: WorkerPool) -> None:
    assert run(rlimits_box, "open('left.txt', 'w').write('x')").ok
    result = run(rlimits_box, "import os\nprint(os.listdir('.'))")
    assert result.stdout == "[]\n"


@linux_only
def test_signals_outside_the_job_are_denied(rlimits_box: WorkerPool) -> None:
    for target in ("os.getppid()", str(os.getpid()), "-1"):
        result = run(rlimits_box, f"import os\nos.kill({target}, 9)")
        assert result.traceback and "PermissionError" in result.traceback, target
    assert_still_works(rlimits_box)


@linux_only
def test_network_sockets_are_denied(rlimits_box: WorkerPool) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run(rlimits_box, f"import socket\nsocket.create_connection(('127.0.0.1', {port}))")
    assert result.traceback and "PermissionError" in result.traceback


@linux_only
def test_daemons_cannot_leave_the_process_group(rlimits_box: WorkerPool) -> None:
    result = run(
        rlimits_box, "import subprocess\nsubprocess.Popen(['sleep', '100'], start_new_session=True)"
    )
    assert not result.ok and result.traceback and "PermissionError" in result.traceback
    kept = run(
        rlimits_box, "import subprocess\nsubprocess.Popen(['sleep', '100'])\nprint('spawned')"
    )
    assert kept.ok  # and the sweep kills it with the group
    assert_still_works(rlimits_box)
