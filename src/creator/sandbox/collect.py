"""Reading one job's output: stdout, stderr and the runner's report, under a deadline.

Used on the host, reading the pipes of a job child forked by a sandbox worker (which handed
them over) or of the ``none`` level's subprocess. The job is over when all three pipes are
closed and either the runner's report carries its exit status or the process has exited; at
the deadline the whole job is killed. Output beyond the byte cap is read and dropped
(``output_truncated``), so a flood cannot block the job or the reader; the report is capped
likewise, at what the runner's bounded traceback can take.

Deliberately left out: killing and reaping policy (the caller passes ``kill`` and, when the
job is not its own child, ``reap``) and when to busy-poll. Standard library only.
"""

from __future__ import annotations

import math
import os
import selectors
import signal
import time
from collections.abc import Callable
from typing import Any

from .runner import TRACEBACK_CAP, decode_report

__all__ = ["collect"]

_READ_CHUNK = 65536
_RESULT_CAP = 64 + 6 * TRACEBACK_CAP
"""The runner's report: a short header and a traceback of at most TRACEBACK_CAP characters,
each at most 6 bytes once encoded (a lone surrogate becomes ``\\udcxx``)."""
_DRAIN_S = 1.0
_CHECK_S = 0.1


def collect(
    pid: int,
    fds: list[int],
    limits: dict[str, Any],
    started: float,
    *,
    kill: Callable[[int], object],
    reap: Callable[[], int] | None = None,
    pidfd: int | None = None,
    poll_s: float = 0.0,
    over_memory: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Read the job's pipes (stdout, stderr, report) until it is over; its outcome as a dict.

    ``kill(pid)`` must kill the whole job. ``reap()`` returns the main process's wait status
    once it has exited or been killed (default: ``waitpid``, for a child of the caller);
    ``pidfd`` (readable when it exits) is used instead of opening one. For the first
    ``poll_s`` seconds the pipes are polled without sleeping: a short job's reply is then
    read without a wake-up of this thread (~0.3 ms on a virtual machine whose idle CPUs
    halt), at the cost of a busy CPU meanwhile. ``over_memory()``, asked every 0.1 s while
    the job runs, says that the job must die for its memory (one of its processes was killed
    by the kernel for it): the job is then killed whole and reported as over its memory
    limit. The pipes and the pidfd are closed on return.
    """
    own_child = reap is None  # then a pidfd-less OS can be polled with waitpid(WNOHANG)
    if reap is None:

        def reap() -> int:
            return os.waitpid(pid, 0)[1]

    caps = [int(limits["max_output_bytes"])] * 2 + [_RESULT_CAP]
    data = [bytearray(), bytearray(), bytearray()]
    truncated = False
    selector = selectors.DefaultSelector()
    for index, fd in enumerate(fds):
        selector.register(fd, selectors.EVENT_READ, index)
    if pidfd is None:
        pidfd = _watch(selector, pid)
    elif pidfd >= 0:
        selector.register(pidfd, selectors.EVENT_READ, -1)
    deadline = started + float(limits["timeout_s"])
    status: int | None = None
    timed_out = over = False
    check_at = started + _CHECK_S if over_memory is not None else math.inf
    try:
        while True:
            if not any(key.data >= 0 for key in selector.get_map().values()):
                if status is not None:
                    break
                report = _report(data[2])
                if report is not None and "status" in report:
                    break  # reply now; the process is still being torn down
            now = time.monotonic()
            if now >= check_at and status is None:
                check_at = now + _CHECK_S
                if over_memory is not None and over_memory():
                    over = True
                    deadline = now  # killed and drained as at the deadline, below
            if now >= deadline:
                if status is not None:
                    break  # something still holds a pipe after the kill: stop draining
                timed_out = not over
                kill(pid)
                status = reap()
                if pidfd >= 0 and pidfd in selector.get_map():
                    selector.unregister(pidfd)
                deadline = time.monotonic() + _DRAIN_S
                continue
            polling = own_child and pidfd < 0 and status is None
            timeout = min(deadline - now, 0.01) if polling else deadline - now
            timeout = min(timeout, max(check_at - now, 0.0))
            for key, _ in selector.select(0 if now - started < poll_s else timeout):
                index = key.data
                if index == -1:  # the main process exited
                    selector.unregister(key.fd)
                    status = reap()
                    kill(pid)  # leftovers (daemons) would hold the pipes open
                    deadline = time.monotonic() + _DRAIN_S
                    continue
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                room = caps[index] - len(data[index])
                if len(chunk) > room:
                    truncated = truncated or index < 2
                    chunk = chunk[: max(room, 0)]
                data[index] += chunk
            if polling:
                reaped, raw = os.waitpid(pid, os.WNOHANG)
                if reaped:
                    status = raw
                    kill(pid)
                    deadline = time.monotonic() + _DRAIN_S
    finally:
        selector.close()
        for fd in fds:
            os.close(fd)
        if pidfd >= 0:
            os.close(pidfd)
    outcome = _outcome(status, timed_out, truncated, data, time.monotonic() - started)
    if over:
        outcome.update(memory_exceeded=True, traceback=None)
    return outcome


def _watch(selector: selectors.BaseSelector, pid: int) -> int:
    """Register a pidfd for ``pid`` (readable on exit); -1 when the OS has none: poll."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1
    selector.register(pidfd, selectors.EVENT_READ, -1)
    return pidfd


def _report(raw: bytearray) -> dict[str, Any] | None:
    return decode_report(bytes(raw)) if raw else None


def _outcome(
    status: int | None, timed_out: bool, truncated: bool, data: list[bytearray], took: float
) -> dict[str, Any]:
    report = _report(data[2]) or {}
    exit_code: int | None
    if status is None:
        exit_code = int(report.get("status", 0))
    elif os.WIFSIGNALED(status):
        exit_code = -os.WTERMSIG(status)
        timed_out = timed_out or os.WTERMSIG(status) == signal.SIGXCPU
    else:
        exit_code = os.WEXITSTATUS(status)
    return {
        "stdout": bytes(data[0]).decode("utf-8", "replace"),
        "stderr": bytes(data[1]).decode("utf-8", "replace"),
        "traceback": None if timed_out else report.get("traceback"),
        "exit_code": None if timed_out else exit_code,
        "timed_out": timed_out,
        "memory_exceeded": bool(report.get("memory_error")),
        "output_truncated": truncated,
        "duration_s": round(took, 6),
    }
