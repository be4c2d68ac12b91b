"""A job's memory across all its processes, where no cgroup can bound it (the fallback).

Where the host can give each job a cgroup (:mod:`cgroup`) the kernel bounds the job's whole
memory. Elsewhere (an ordinary user without a delegated cgroup subtree) each process is
bounded by its address-space limit, and the job as a whole is watched from the worker, PID 1
of the job's PID namespace, which sees exactly the worker and the job's processes:

    job memory = sum of PSS over every process in the namespace - the worker's own PSS
                 measured while it had no children
               + every socket in the namespace at twice its default send buffer

PSS splits each page among the processes mapping it, so the pages a job still shares with
the worker (copy-on-write after fork) are counted once, in the sum, and cancelled by the
baseline; what remains is what the job added (copies, allocations, new mappings). Socket
buffers belong to no process: the job cannot grow them past the default (seccomp), and the
namespace's socket count (``/proc/net/sockstat``) is the job's. Reading PSS walks the page
tables (~1.5 ms for a warm worker's process), so it is read only for jobs of more than one
process: one process is bounded by its address-space limit, and a short job costs nothing.

A process the worker cannot read (a job that made itself undumpable, or ran a program it
cannot read) is not taken as small: the job is over its limit. A process whose main thread
exited while others run is read through one of its threads.

The bound holds at the sampling grain: a job can exceed it by what its processes allocate
between two samples, one every 50 ms (at random between 25 and 75 ms, so that a job cannot
time its bursts between them), or less often when a sample itself is slow, so that watching
takes at most a tenth of a core, but never less often than every 0.5 s; a sample that takes
more than 0.1 s of CPU (a job of many processes with huge maps) counts as over the limit, since a
job that cannot be measured in time cannot be bounded by measuring. Deliberately left out:
the tmpfs (it has its own size and inode caps) and kernel objects that belong to no process
(page tables, memory maps, epoll watches: bounded per process and per user by the kernel,
not by the job's limit; use a cgroup for those). Standard library only: it runs in the
sandbox.
"""

from __future__ import annotations

import errno
import os
import random
import time

__all__ = ["MemoryWatch", "Unreadable", "pss_bytes"]

_INTERVAL_S = 0.05
_LONGEST_S = 0.5  # between two samples, however slow a sample
_SLOWEST_S = 0.1  # a sample that takes longer: the job is over its limit
_SLACK_MB = 64  # as the cgroup limit: room for the spare's prefaulted copies
_GONE = (errno.ENOENT, errno.ESRCH)


class Unreadable(Exception):
    """A live process whose memory the worker may not read."""


def _rollup_pss(path: str) -> int | None:
    """PSS in bytes from a smaps_rollup file; None when its process or thread is gone (or a
    zombie: no memory). Unreadable when the worker may not read it."""
    try:
        with open(path, "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except PermissionError as error:
        raise Unreadable(path) from error
    except OSError as error:
        if error.errno in _GONE:
            return None
        raise Unreadable(path) from error
    except (ValueError, IndexError) as error:
        raise Unreadable(path) from error
    return None


def pss_bytes(pid: int | str) -> int | None:
    """Proportional set size of process ``pid`` in bytes; None if it is gone. When its main
    thread has exited while other threads run, one of those is read. Unreadable when the
    worker may not read it."""
    pss = _rollup_pss(f"/proc/{pid}/smaps_rollup")
    if pss is not None:
        return pss
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in threads:
        pss = _rollup_pss(f"/proc/{pid}/task/{tid}/smaps_rollup")
        if pss is not None:
            return pss
    return None


def _sockets() -> int:
    """Sockets open in this network namespace (the job's: the worker's own socket to the
    host belongs to the host's namespace)."""
    try:
        with open("/proc/net/sockstat", "rb") as sockstat:
            for line in sockstat:
                if line.startswith(b"sockets:"):
                    return int(line.split()[2])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemoryWatch:
    """Samples the job's memory (see the module docstring) while a job may be running."""

    def __init__(self, *, socket_bytes: int = 212992) -> None:
        self.limit: int | None = None  # bytes, from the host's "limits" message
        self.baseline = 0
        self.interval = _INTERVAL_S
        self.socket_bytes = 2 * socket_bytes  # a socket's send buffer, and an skb beyond it
        self._me = str(os.getpid())

    def set_limit(self, memory_mb: int) -> None:
        self.limit = (int(memory_mb) + _SLACK_MB) << 20

    def take_baseline(self) -> None:
        """Measure the worker alone (call it while it has no children)."""
        self.baseline = pss_bytes(self._me) or 0

    def job_bytes(self) -> float:
        """What the job adds (``inf`` when a process of it cannot be read). Processes are
        counted only for a job of at least two: one is bounded by its address space."""
        total: float = _sockets() * self.socket_bytes
        others = [name for name in os.listdir("/proc") if name.isdigit() and name != self._me]
        if len(others) < 2:
            return total
        try:
            total += (pss_bytes(self._me) or 0) - self.baseline
            for pid in others:
                total += pss_bytes(pid) or 0  # a process that is gone holds nothing
        except Unreadable:
            return float("inf")
        return total

    def over_limit(self) -> bool:
        """Take one sample; True when the job is over its limit (or could not be measured in
        time). Sets the interval to the next sample (see the module docstring)."""
        if self.limit is None:
            return False
        started = time.process_time()  # the worker's CPU: waiting for a core is no excuse
        used = self.job_bytes()
        took = time.process_time() - started
        spacing = max(_INTERVAL_S, 10 * took) * random.uniform(0.5, 1.5)
        self.interval = min(spacing, _LONGEST_S)
        return used > self.limit or took > _SLOWEST_S
