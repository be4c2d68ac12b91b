"""Choosing an isolation level: ``make_sandbox`` and the report ``creator doctor`` prints.

Levels, strongest first:

``bwrap``
    Worker pool inside bubblewrap (namespaces, read-only binds, private tmpfs, the gold
    answers hidden) with per-job rlimits, ``no_new_privs`` and seccomp; workers run without
    capabilities as unprivileged uids in user namespaces, also when the host is root. Network,
    host files, the parent, the environment and other jobs are out of reach; fork bombs are
    capped; a job's whole memory is bounded by a cgroup where the host allows one, else per
    process and by the worker's watch (see :mod:`watch`).
``rlimits``
    The same worker pool without namespaces: per-job rlimits, cleared environment, private
    temporary directory, own session and process group, seccomp on Linux (no new network
    sockets, no signals outside the job). As root the workers run as unprivileged uids (or
    the level is refused). NOT isolated from what the user (or, as root, every user) may
    read, the gold answers included, nor from other processes of the same user; without
    seccomp (macOS) not from the network either.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from creator.errors import SandboxError

from . import cgroup, launch, seccomp
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
    if os.geteuid() == 0:
        who = (
            "as an unprivileged uid with CPU, memory, process and file-size limits, a cleared "
            "environment and a private temp directory; it cannot write your files or signal "
            "your processes, but it is NOT isolated from what every user may read (world-"
            "readable files, including this package's datasets: the gold answers), every "
            "process and its command line, the shared /tmp and Unix sockets"
        )
    else:
        who = (
            "as your user with CPU, memory, process and file-size limits, a cleared "
            "environment and a private temp directory, but it is NOT isolated from your "
            "files (including this package's datasets: the gold answers) or your other "
            "processes"
        )
    return f"sandbox level 'rlimits' ({why}): generated code runs {who}; {network}"


def _memory_bound() -> str:
    problem = cgroup.cgroup_support()
    if problem is None:
        return "job memory and processes bounded by a cgroup"
    return f"job memory bounded per process and by the worker's watch (no cgroup: {problem})"


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
        _refuse_rlimits()
        return IsolationReport(level, "rlimits", "rlimits worker pool (requested by name)",
                               _rlimits_warning("requested by name"))  # fmt: skip
    problem = launch.probe_bwrap()
    if problem is None:
        host = "host root" if os.geteuid() == 0 else "host user"
        filtered = seccomp.supported()
        state = "on" if filtered is None else f"off: {filtered}"
        detail = (
            f"bubblewrap worker pool ({host}; workers as unprivileged uids in user "
            f"namespaces, without capabilities); seccomp {state}; {_memory_bound()}"
        )
        return IsolationReport(level, "bwrap", detail)
    if level == "bwrap":
        raise SandboxError(f"sandbox level 'bwrap' is unavailable: {problem}")
    _refuse_rlimits(f"bwrap is unavailable ({problem}) and ")
    return IsolationReport(level, "rlimits", problem, _rlimits_warning(problem))


def _refuse_rlimits(prefix: str = "") -> None:
    refusal = launch.rlimits_refusal()
    if refusal is not None:
        raise SandboxError(f"{prefix}{refusal}")


def make_sandbox(
    level: str = "auto",
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    warm: list[str] | None = None,
    max_jobs_per_worker: int = 2000,
    tmpfs_mb: int = 512,
    tmpfs_inodes: int = launch.TMP_INODES,
    light_workers: int | None = None,
    hide: Sequence[str] = (),
) -> WorkerPool | SubprocessSandbox:
    """A sandbox of ``level`` (``auto``, ``bwrap``, ``rlimits`` or ``none``).

    ``workers`` defaults to the number of cores; ``limits`` are the defaults for calls that
    pass none; ``warm`` lists the modules each worker imports and exercises (in steps)
    (default: numpy, sympy, scipy, pandas and the standard math modules); ``tmpfs_mb`` and
    ``tmpfs_inodes`` cap each bwrap worker's private /tmp (bytes, and files, directories
    and links in all). ``hide`` names host paths that jobs must not see even where they lie
    under a bound directory (a run directory: its records hold the targets); this package's
    own data is always hidden. ``light_workers`` (default: as many as
    ``workers``; 0 for none) warm only the standard library and take the jobs that import
    nothing else, which they run several times cheaper. Workers start on first use
    (``start()`` starts them now and waits until they are warm; ``start_background()``
    starts them without waiting), and take jobs before their warm-up is done (see
    :mod:`.pool`). SandboxError if the level is unavailable.
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
            return lambda: launch.bwrap_spec(
                warm=preload, tmpfs_mb=tmpfs_mb, tmpfs_inodes=tmpfs_inodes, hide=hide, lazy=True
            )

    elif sys.platform.startswith(("linux", "darwin", "freebsd")):

        def spec(preload: list[str]) -> Callable[[], launch.LaunchSpec]:
            return lambda: launch.rlimits_spec(warm=preload, lazy=True)

    else:
        raise SandboxError(f"no sandbox level works on {sys.platform}: it needs fork()")
    return WorkerPool(
        level=report.level,
        full=WorkerKind(spec(modules), count, modules),
        light=WorkerKind(spec(stdlib), light_count, stdlib),
        limits=limits,
        max_jobs_per_worker=max_jobs_per_worker,
    )
