"""A pool of sandbox workers behind the :class:`~creator.sandbox.base.Sandbox` protocol.

Each worker is one long-lived process (bubblewrap or the ``rlimits`` fallback, see
:mod:`launch`) that runs one job at a time in a child it forked ahead of time, and hands the
host that child's pipes over a Unix socket (see :mod:`worker`). ``run_sync`` takes a free
worker, writes the job straight to its waiting child and reads the child's output and report
(:mod:`collect`: byte caps, the wall-clock deadline, and asking the worker to kill the job
when it passes), then tells the worker to sweep and prepare the next child. A worker that
dies, stops answering, reports an unclean sweep, or has served ``max_jobs_per_worker`` jobs
is replaced before its next job. ``run`` is the same on a private thread pool with one thread
per worker, so awaiting callers never block the loop.

Worker processes are always started from one long-lived launcher thread: bubblewrap's
``--die-with-parent`` (and the fallback's parent-death signal) fire when the *thread* that
started the process ends, not the process.

Jobs that import only the standard library go to *light* workers when the pool has them
(:mod:`routing`): they fork several times faster than workers with numpy & co. warm.

Deliberately left out: queueing policy beyond first-come first-served per kind of worker,
and retries (a job that killed its worker gets a failed result, not a second run).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import marshal
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from creator.errors import SandboxError

from . import protocol
from .base import CodePart, ExecResult, Limits
from .collect import collect
from .launch import LaunchSpec, ensure_bytecode
from .routing import needs_full_worker
from .runner import write_all

__all__ = ["WorkerKind", "WorkerPool"]

log = logging.getLogger("creator.sandbox")

_REPLY_GRACE_S = 15.0
_SWEEP_TIMEOUT_S = 30.0


class _WorkerGone(Exception):
    """The worker process died or stopped answering during a job."""


class _Child:
    """The worker's forked child waiting for a job: its pipes, as handed to the host."""

    def __init__(self, pid: int, fds: list[int]) -> None:
        if len(fds) not in (4, 5):
            for fd in fds:
                os.close(fd)
            raise protocol.ProtocolError(f"expected 4 or 5 descriptors, got {len(fds)}")
        self.pid = pid
        self.job_fd = fds[0]
        self.fds = fds[1:4]
        self.pidfd = fds[4] if len(fds) == 5 else -1

    def close(self) -> None:
        for fd in (self.job_fd, *self.fds, self.pidfd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


class _Worker:
    """One worker process, as seen from the host."""

    def __init__(self, make_spec: Callable[[], LaunchSpec], launcher: ThreadPoolExecutor) -> None:
        self._make_spec = make_spec
        self._launcher = launcher
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None
        self.child: _Child | None = None
        self.sweeping = False  # "done" sent; the next child has not arrived yet
        self.spec: LaunchSpec | None = None
        self.jobs = 0
        self.info: dict[str, Any] = {}
        self._stderr: IO[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self, spec: LaunchSpec, theirs: socket.socket) -> subprocess.Popen[bytes]:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        return subprocess.Popen(
            spec.argv,
            stdin=theirs.fileno(),
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=spec.env,
            cwd=spec.cwd,
            close_fds=True,
            start_new_session=True,
        )

    def stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def start(self, timeout_s: float) -> None:
        self.stop()
        self.spec = self._make_spec()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = self._launcher.submit(self._spawn, self.spec, theirs).result()
        finally:
            theirs.close()
        self.channel = ours
        try:
            protocol.send(ours.fileno(), self.spec.config)
            ready = self._receive_child(time.monotonic() + timeout_s)
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError) as exc:
            ready = None
            reason = str(exc)
        else:
            reason = "it exited"
        if not ready or not ready.get("ready"):
            detail = self.stderr_tail() or reason
            self.stop()
            raise SandboxError(f"the sandbox worker failed to start: {detail}")
        self.info = ready
        self.jobs = 0
        for failure in ready.get("warm_failures", []):
            log.debug("sandbox warm-up skipped %s", failure)

    def _receive_child(self, deadline: float) -> dict[str, Any] | None:
        """Read the worker's next message and the child it hands over with it."""
        assert self.channel is not None
        message, fds = protocol.recv_fds(self.channel, deadline=deadline)
        if message is None:
            return None
        self.child = _Child(int(message["spare"]), fds)
        self.sweeping = False
        return message

    def ready(self) -> bool:
        """Whether a child is waiting for a job (receiving it if the sweep is under way)."""
        if self.child is not None:
            return True
        if not self.sweeping or self.channel is None:
            return False
        try:
            return self._receive_child(time.monotonic() + _SWEEP_TIMEOUT_S) is not None
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError, KeyError):
            return False

    def _ask(self, operation: str) -> int:
        """Send ``operation`` (kill, reap) about the current job; the job's wait status."""
        if self.channel is None:
            raise _WorkerGone("no worker process")
        try:
            protocol.send(self.channel.fileno(), {"op": operation})
            deadline = time.monotonic() + _REPLY_GRACE_S
            reply = protocol.recv(self.channel.fileno(), deadline=deadline)
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError) as exc:
            raise _WorkerGone(str(exc) or type(exc).__name__) from exc
        if reply is None:
            raise _WorkerGone(self.stderr_tail() or "the worker exited")
        return int(reply["status"])

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one job in the waiting child (``ready()`` must have been True)."""
        child, self.child = self.child, None
        if child is None or self.channel is None:
            raise _WorkerGone("no worker process")
        self.jobs += 1
        statuses: list[int] = []

        def kill(_pid: int) -> None:
            statuses.append(self._ask("kill"))

        def reap() -> int:
            return statuses[-1] if statuses else self._ask("reap")

        started = time.monotonic()
        try:
            _write_job(child.job_fd, marshal.dumps(request))  # the child's interpreter is ours
            return collect(
                child.pid,
                child.fds,
                request["limits"],
                started,
                kill=kill,
                reap=reap,
                pidfd=child.pidfd,
            )
        finally:
            child.job_fd = -1
            child.fds = []
            child.pidfd = -1
            self._done()

    def _done(self) -> None:
        """Let the worker sweep and fork the next child (received by the next ``ready``)."""
        if self.channel is None:
            return
        try:
            protocol.send(self.channel.fileno(), {"op": "done"})
            self.sweeping = True
        except OSError:
            self.sweeping = False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if self.child is not None:
            self.child.close()
            self.child = None
        self.sweeping = False
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if proc is not None:
            _terminate(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self.spec is not None and self.spec.cleanup_dir:
            shutil.rmtree(self.spec.cleanup_dir, ignore_errors=True)
        self.spec = None


def _write_job(fd: int, data: bytes) -> None:
    """Write the whole job to the child's job pipe and close it (a dead child: ignored, as
    collect() sees it and reports what happened)."""
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except OSError:
            proc.kill()
        proc.wait()


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop()


@dataclass(frozen=True)
class WorkerKind:
    """How to start one kind of worker, how many, and what it warms up."""

    make_spec: Callable[[], LaunchSpec]
    count: int
    warm: Sequence[str] = ()


class _Group:
    def __init__(self, kind: WorkerKind, launcher: ThreadPoolExecutor) -> None:
        self.warm = list(kind.warm)
        self.workers = [_Worker(kind.make_spec, launcher) for _ in range(kind.count)]
        self.free: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for worker in self.workers:
            self.free.put(worker)


class WorkerPool:
    """Sandbox workers of one isolation level; implements ``Sandbox``.

    ``full`` workers have everything warm; optional ``light`` workers only the standard
    library, for jobs that import nothing else (see :mod:`routing`).
    """

    def __init__(
        self,
        *,
        level: str,
        full: WorkerKind,
        light: WorkerKind | None = None,
        limits: Limits | None = None,
        max_jobs_per_worker: int = 500,
        startup_timeout_s: float = 180.0,
    ) -> None:
        if full.count < 1:
            raise ValueError("workers must be at least 1")
        self._level = level
        self._limits = limits or Limits()
        self._max_jobs = max_jobs_per_worker
        self._startup_timeout = startup_timeout_s
        self._launcher = ThreadPoolExecutor(1, thread_name_prefix="creator-sandbox-launch")
        self._full = _Group(full, self._launcher)
        self._light = _Group(light, self._launcher) if light and light.count > 0 else None
        groups = [self._full] if self._light is None else [self._full, self._light]
        self._workers = [worker for group in groups for worker in group.workers]
        self._warm = {id(w): g.warm for g in groups for w in g.workers}
        self._executor = ThreadPoolExecutor(
            len(self._workers), thread_name_prefix="creator-sandbox"
        )
        self._closed = False
        self._bytecode_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)

    @property
    def isolation(self) -> str:
        return self._level

    @property
    def workers(self) -> int:
        return len(self._workers)

    def _ensure_started(self, worker: _Worker) -> None:
        if worker.alive and worker.jobs < self._max_jobs and worker.ready():
            return
        with self._bytecode_lock:
            ensure_bytecode(self._warm[id(worker)])
        worker.start(self._startup_timeout)

    def start(self) -> None:
        """Start every worker now (in parallel) instead of on first use."""
        groups = [self._full] if self._light is None else [self._full, self._light]
        taken = [(group, group.free.get()) for group in groups for _ in group.workers]
        try:
            list(self._executor.map(self._ensure_started, [worker for _, worker in taken]))
        finally:
            for group, worker in taken:
                group.free.put(worker)

    def _group_for(self, parts: Sequence[CodePart]) -> _Group:
        if self._light is None or needs_full_worker(parts):
            return self._full
        return self._light

    def run_sync(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("the sandbox is closed")
        limits = limits or self._limits
        request = {
            "parts": [{"name": part.name, "code": part.code} for part in parts],
            "limits": limits.model_dump(),
        }
        group = self._group_for(parts)
        worker = group.free.get()
        try:
            self._ensure_started(worker)
            try:
                reply = worker.run(request)
            except _WorkerGone as gone:
                worker.stop()
                return ExecResult(
                    stderr=f"the sandbox worker was lost during the job: {gone}",
                    exit_code=None,
                    isolation=self._level,
                )
        finally:
            group.free.put(worker)
        return ExecResult(**reply, isolation=self._level)

    async def run(self, parts: Sequence[CodePart], *, limits: Limits | None = None) -> ExecResult:
        loop = asyncio.get_running_loop()
        call = functools.partial(self.run_sync, list(parts), limits=limits)
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        """Stop every worker; a job still running gets a failed result."""
        if self._closed:
            return
        self._closed = True
        self._finalizer()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._launcher.shutdown(wait=False)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WorkerPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
