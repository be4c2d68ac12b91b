"""Choosing an isolation level: ``make_sandbox`` and the report ``creator doctor`` prints.

Levels, strongest first:

``bwrap``
    Worker pool inside bubblewrap (namespaces, read-only binds, private tmpfs) with per-job
    rlimits, ``no_new_privs`` and seccomp. Network, host files, the parent, the environment
    and other jobs are out of reach; fork bombs are capped.
``rlimits``
    The same worker pool without namespaces: per-job rlimits, cleared environment, private
    temporary directory, own session and process group, seccomp on Linux (no new network
    sockets, no signals outside the job). NOT isolated from the user's files or other
    processes of the same user; without seccomp (macOS) not from the network either.
``none``
    Only when named: a fresh ``python`` subprocess per job with only the timeout.

``auto`` probes bubblewrap once (a ~30 ms start of the interpreter inside it) and falls back
to ``rlimits`` with a logged warning that says what is not isolated. Deliberately left out:
container runtimes and VMs (heavier than this project needs).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from creator.errors import SandboxError

from . import launch, seccomp
from .base import Limits
from .none import SubprocessSandbox
from .pool import WorkerKind, WorkerPool
from .warmup import DEFAULT_MODULES

__all__ = ["LEVELS", "IsolationReport", "isolation_report", "make_sandbox"]

LEVELS = ("auto", "bwrap", "rlimits", "none")
log = logging.getLogger("creator.sandbox")


@dataclass(frozen=True)
class IsolationReport:
    """Which level a request resolves to here, what it contains, and what it does not."""

    requested: str
    level: str
    detail: str
    warning: str | None = None


def _rlimits_warning(why: str) -> str:
    seccomp_missing = seccomp.supported()
    network = (
        "the network is blocked only by a seccomp socket filter"
        if seccomp_missing is None
        else f"the network is NOT blocked ({seccomp_missing})"
    )
    return (
        f"sandbox level 'rlimits' ({why}): generated code runs as your user with CPU, memory, "
        "process and file-size limits, a cleared environment and a private temp directory, "
        f"but it is NOT isolated from your files or your other processes; {network}"
    )


def isolation_report(level: str = "auto") -> IsolationReport:
    """What ``make_sandbox(level)`` would use here, and why."""
    if level not in LEVELS:
        raise SandboxError(f"unknown sandbox level {level!r}: choose from {', '.join(LEVELS)}")
    if level == "none":
        return IsolationReport(
            level,
            "none",
            "a fresh python subprocess per job with only a timeout (never in-process)",
            "sandbox level 'none': generated code is not isolated at all",
        )
    if level == "rlimits":
        return IsolationReport(level, "rlimits", "rlimits worker pool (requested by name)",
                               _rlimits_warning("requested by name"))  # fmt: skip
    problem = launch.probe_bwrap()
    if problem is None:
        mode = "as root, jobs on their own uid" if os.geteuid() == 0 else "user namespace"
        filtered = seccomp.supported()
        state = "on" if filtered is None else f"off: {filtered}"
        detail = f"bubblewrap worker pool ({mode}); seccomp {state}"
        return IsolationReport(level, "bwrap", detail)
    if level == "bwrap":
        raise SandboxError(f"sandbox level 'bwrap' is unavailable: {problem}")
    return IsolationReport(level, "rlimits", problem, _rlimits_warning(problem))


def make_sandbox(
    level: str = "auto",
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    warm: list[str] | None = None,
    max_jobs_per_worker: int = 2000,
    tmpfs_mb: int = 512,
    light_workers: int | None = None,
) -> WorkerPool | SubprocessSandbox:
    """A sandbox of ``level`` (``auto``, ``bwrap``, ``rlimits`` or ``none``).

    ``workers`` defaults to the number of cores; ``limits`` are the defaults for calls that
    pass none; ``warm`` lists the modules each worker imports and exercises before forking
    (default: numpy, sympy, scipy, pandas and the standard math modules); ``tmpfs_mb``
    caps each bwrap worker's private /tmp. ``light_workers`` (default: as many as
    ``workers``; 0 for none) warm only the standard library and take the jobs that import
    nothing else, which they run several times cheaper. Workers start on first use
    (``start()`` starts them now). SandboxError if the level is unavailable.
    """
    report = isolation_report(level)
    if report.warning:
        log.warning("%s", report.warning)
    if report.level == "none":
        return SubprocessSandbox(limits=limits)
    modules = list(DEFAULT_MODULES if warm is None else warm)
    stdlib = [m for m in modules if m.split(".")[0] in sys.stdlib_module_names]
    count = workers or os.cpu_count() or 1
    light_count = count if light_workers is None else light_workers
    if len(stdlib) == len(modules):
        light_count = 0  # nothing heavy to avoid
    if report.level == "bwrap":

        def spec(preload: list[str]) -> Callable[[], launch.LaunchSpec]:
            return lambda: launch.bwrap_spec(warm=preload, tmpfs_mb=tmpfs_mb)

    elif sys.platform.startswith(("linux", "darwin", "freebsd")):

        def spec(preload: list[str]) -> Callable[[], launch.LaunchSpec]:
            return lambda: launch.rlimits_spec(warm=preload)

    else:
        raise SandboxError(f"no sandbox level works on {sys.platform}: it needs fork()")
    return WorkerPool(
        level=report.level,
        full=WorkerKind(spec(modules), count, modules),
        light=WorkerKind(spec(stdlib), light_count, stdlib),
        limits=limits,
        max_jobs_per_worker=max_jobs_per_worker,
    )
