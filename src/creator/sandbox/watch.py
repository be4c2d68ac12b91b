"""A job's memory across all its processes, where no cgroup can bound it (the fallback).

Where the host can give each job a cgroup (:mod:`cgroup`) the kernel bounds the job's whole
memory. Elsewhere (an ordinary user without a delegated cgroup subtree) each process is
bounded by its address-space limit, and a job of many processes is watched from the worker,
PID 1 of the job's PID namespace, which sees exactly the worker and the job's processes:

    job memory = sum of PSS over every process in the namespace - the worker's own PSS
                 measured while it had no children

PSS splits each page among the processes mapping it, so the pages a job still shares with
the worker (copy-on-write after fork) are counted once, in the sum, and cancelled by the
baseline; what remains is what the job added (copies, allocations, new mappings). A job of
one process is left to its address-space limit (reading PSS walks the page tables: ~1.5 ms
for a warm worker's process), so short jobs and single-process jobs cost nothing.

The bound holds at the sampling grain: a job can exceed it by what its processes allocate
between two samples (one every 50 ms, or less often when a sample itself is slow, so that
watching takes at most a tenth of a core). Deliberately left out: memory outside processes
(the tmpfs has its own size and inode caps; kernel buffers are bounded by the descriptor and
process limits). Standard library only: it runs in the sandbox.
"""

from __future__ import annotations

import os
import time

__all__ = ["MemoryWatch", "pss_bytes"]

_INTERVAL_S = 0.05
_SLACK_MB = 64  # as the cgroup limit: room for the spare's prefaulted copies


def pss_bytes(pid: int | str) -> int | None:
    """Proportional set size of process ``pid`` in bytes; None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class MemoryWatch:
    """Samples the job's memory (see the module docstring) while a job may be running."""

    def __init__(self) -> None:
        self.limit: int | None = None  # bytes, from the host's "limits" message
        self.baseline = 0
        self.interval = _INTERVAL_S
        self._me = str(os.getpid())

    def set_limit(self, memory_mb: int) -> None:
        self.limit = (int(memory_mb) + _SLACK_MB) << 20

    def take_baseline(self) -> None:
        """Measure the worker alone (call it while it has no children)."""
        self.baseline = pss_bytes(self._me) or 0

    def job_bytes(self) -> int | None:
        """What the job's processes add, or None when the job has fewer than two processes
        (then each is bounded by its own address-space limit)."""
        others = [name for name in os.listdir("/proc") if name.isdigit() and name != self._me]
        if len(others) < 2:
            return None
        total = pss_bytes(self._me) or 0
        for pid in others:
            total += pss_bytes(pid) or 0  # a process that is gone holds nothing
        return total - self.baseline

    def over_limit(self) -> bool:
        """Take one sample; True when the job is over its limit. Adjusts the interval so that
        sampling costs at most a tenth of the time between samples."""
        if self.limit is None:
            return False
        started = time.monotonic()
        used = self.job_bytes()
        self.interval = max(_INTERVAL_S, 10 * (time.monotonic() - started))
        return used is not None and used > self.limit
