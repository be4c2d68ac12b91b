"""The hostile battery under full isolation: each job contained, host unchanged, next job ok."""

from __future__ import annotations

import ast
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from creator.sandbox import WorkerPool, make_sandbox

from .conftest import LIMITS, assert_still_works, needs_bwrap, run

pytestmark = needs_bwrap
PROJECT = Path(__file__).resolve().parents[2]


def _host_processes() -> int:
    return sum(name.isdigit() for name in os.listdir("/proc"))


def test_loopback_connect_is_refused(bwrap_box: WorkerPool) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)"
        result = run(bwrap_box, code)
        assert not result.ok
        assert result.traceback and "Error" in result.traceback
        with pytest.raises(TimeoutError):
            server.accept()
    assert_still_works(bwrap_box)


def test_dns_lookup_fails(bwrap_box: WorkerPool) -> None:
    result = run(bwrap_box, "import socket\nprint(socket.getaddrinfo('example.com', 80))")
    assert not result.ok
    assert result.traceback and "gaierror" in result.traceback
    assert_still_works(bwrap_box)


def test_host_files_are_invisible(bwrap_box: WorkerPool, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    targets = [str(secret), str(PROJECT / "pyproject.toml"), "/etc/passwd", "/etc/hostname"]
    code = (
        "import os\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        print(open(path).read())\n"
        "    except OSError as exc:\n"
        "        print('denied', type(exc).__name__)\n"
    )
    result = run(bwrap_box, code)
    assert result.ok, result
    assert result.stdout.count("denied") == len(targets), result.stdout
    assert "TOPSECRET" not in result.stdout


def test_home_shows_only_what_the_interpreter_needs(bwrap_box: WorkerPool) -> None:
    home = Path.home()
    result = run(bwrap_box, f"import os\nprint(os.listdir({str(home)!r}))")
    needed = {
        Path(p).relative_to(home).parts[0]
        for p in (sys.prefix, sys.base_prefix, os.path.realpath(sys.executable))
        if Path(p).is_relative_to(home)
    }
    if not result.ok:  # home is not even there
        assert result.traceback and "FileNotFoundError" in result.traceback
        return
    assert set(ast.literal_eval(result.stdout)) <= needed


def test_api_key_in_parent_env_is_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREATOR_TEST_API_KEY", "sk-do-not-leak-1234")
    with make_sandbox("bwrap", workers=1, limits=LIMITS, warm=[]) as box:
        code = (
            "import os, glob\n"
            "print(os.environ.get('CREATOR_TEST_API_KEY'))\n"
            "for path in glob.glob('/proc/*/environ'):\n"
            "    try:\n"
            "        print(open(path, 'rb').read())\n"
            "    except OSError:\n"
            "        pass\n"
        )
        result = run(box, code)
    assert result.ok, result
    assert result.stdout.startswith("None\n")
    assert "sk-do-not-leak" not in result.stdout


@pytest.mark.parametrize(
    "path", ["/usr/evil", "/evil", "/etc/evil", "/dev/evil", "{venv}/evil", "{project}/evil"]
)
def test_writes_outside_the_private_tmp_fail(bwrap_box: WorkerPool, path: str) -> None:
    target = path.format(venv=PROJECT / ".venv", project=PROJECT)
    result = run(bwrap_box, f"open({target!r}, 'w').write('x')")
    assert not os.path.exists(target)  # nothing reached the host
    # A checkout under /tmp is, inside the sandbox, a directory of the private tmpfs on the way
    # to the bound venv, where a job may write as anywhere in /tmp (and which is wiped).
    if not Path(target).parent.is_relative_to("/tmp"):
        assert not result.ok
        assert result.traceback and ("Error" in result.traceback)
    assert_still_works(bwrap_box)


def test_private_tmp_is_writable_and_not_the_hosts(solo_box: WorkerPool) -> None:
    marker = f"/tmp/creator-sandbox-test-{os.getpid()}"
    result = run(solo_box, f"open({marker!r}, 'w').write('x')\nprint(open({marker!r}).read())")
    assert result.ok and result.stdout == "x\n"
    assert not os.path.exists(marker)
    again = run(solo_box, f"import os\nprint(os.path.exists({marker!r}))")
    assert again.stdout == "False\n"  # wiped after the job


def test_the_job_directory_is_writable_and_wiped(solo_box: WorkerPool) -> None:
    first = run(solo_box, "open('note.txt', 'w').write('x')\nimport os\nprint(os.listdir('.'))")
    assert first.ok and "note.txt" in first.stdout
    second = run(solo_box, "import os\nprint(os.listdir('.'), os.listdir('/tmp'))")
    assert second.ok
    assert "note.txt" not in second.stdout


def test_filling_the_disk_is_capped(solo_box: WorkerPool) -> None:
    code = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (4 << 20))\n    i += 1"
    result = run(solo_box, code, timeout_s=10)
    assert not result.ok and not result.timed_out
    assert result.traceback and "No space left on device" in result.traceback
    after = run(solo_box, "open('big', 'wb').write(b'x' * (8 << 20))\nprint('wrote')")
    assert after.ok and after.stdout == "wrote\n"  # the space came back


def test_a_single_file_is_capped_by_the_file_size_limit(solo_box: WorkerPool) -> None:
    result = run(solo_box, "open('f', 'wb').write(b'x' * (20 << 20))", max_file_mb=4)
    assert not result.ok
    assert result.traceback and "File too large" in result.traceback


def test_fork_bomb_is_capped_and_swept(bwrap_box: WorkerPool) -> None:
    before = _host_processes()
    counted = run(
        bwrap_box,
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(100)\n        n += 1\nexcept OSError:\n    print('capped at', n)",
    )
    assert counted.ok, counted
    assert 0 < int(counted.stdout.split()[-1]) < LIMITS.max_processes
    bomb_code = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    )
    bomb = run(bwrap_box, bomb_code, timeout_s=1)
    assert bomb.timed_out
    assert_still_works(bwrap_box)
    settled = time.monotonic() + 5  # the bomb's worker may still be sweeping (other worker)
    while _host_processes() > before + 5 and time.monotonic() < settled:
        time.sleep(0.05)
    assert _host_processes() <= before + 5


def test_memory_hog_hits_the_memory_limit(bwrap_box: WorkerPool) -> None:
    result = run(bwrap_box, "x = []\nwhile True:\n    x.append(bytearray(10 << 20))")
    assert result.memory_exceeded and not result.ok
    assert result.error and result.error.startswith("MemoryError")
    assert_still_works(bwrap_box)


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    pass",
        "import time\ntime.sleep(10**6)",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(100)",
    ],
    ids=["cpu-loop", "sleep", "ignores-sigterm"],
)
def test_endless_jobs_time_out(bwrap_box: WorkerPool, code: str) -> None:
    started = time.monotonic()
    result = run(bwrap_box, code, timeout_s=1)
    assert result.timed_out and not result.ok
    assert result.exit_code is None
    assert time.monotonic() - started < 4
    assert_still_works(bwrap_box)


def test_output_flood_is_truncated(bwrap_box: WorkerPool) -> None:
    result = run(bwrap_box, "while True:\n    print('x' * 1000)", timeout_s=1)
    assert result.output_truncated and result.timed_out
    assert len(result.stdout.encode()) <= LIMITS.max_output_bytes
    assert_still_works(bwrap_box)


@pytest.mark.parametrize("target", ["os.getppid()", "1", "-1"])
def test_killing_the_worker_or_everyone_is_denied(bwrap_box: WorkerPool, target: str) -> None:
    result = run(bwrap_box, f"import os\nos.kill({target}, 9)")
    assert not result.ok
    assert result.traceback and "PermissionError" in result.traceback
    assert_still_works(bwrap_box)


def test_unbounded_recursion(bwrap_box: WorkerPool) -> None:
    result = run(bwrap_box, "def f(n):\n    return f(n + 1)\nf(0)")
    assert result.traceback and "RecursionError" in result.traceback
    assert result.traceback.count('File "decision"') <= 4  # repeats are collapsed
    deep_code = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)"
    deep = run(bwrap_box, deep_code)
    assert not deep.ok
    assert_still_works(bwrap_box)


def test_ctypes_into_libc(bwrap_box: WorkerPool) -> None:
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None)\n"
        "print(libc.kill(1, 9), libc.socket(2, 1, 0), libc.unshare(0x10000000))\n"
        "libc.abort()"
    )
    result = run(bwrap_box, code)
    assert result.stdout == "-1 -1 -1\n"
    assert result.exit_code == -6 and not result.ok
    assert_still_works(bwrap_box)


def test_daemon_child_is_swept(solo_box: WorkerPool) -> None:
    started = time.monotonic()
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\nprint('left')"
    )
    result = run(solo_box, code, timeout_s=5)
    assert result.ok and result.stdout == "left\n"
    assert time.monotonic() - started < 2.5
    survivors = run(
        solo_box,
        "import os\nprint([open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') "
        "if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())])",
    )
    assert survivors.ok
    assert "sleep" not in survivors.stdout and survivors.stdout.count("python") <= 1
