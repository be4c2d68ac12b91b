"""The host's handle on one sandbox worker process: start it, run one job, replace it.

A worker (:mod:`worker`, inside bubblewrap or the ``rlimits`` fallback, see :mod:`launch`)
forks the child for the next job ahead of time and hands the host that child's pipes and a
pidfd over a Unix socket. :meth:`WorkerHandle.run` writes the job straight to the waiting
child and reads its output and report (:mod:`collect`), asking the worker to ``kill`` or
``reap`` the job when needed, then says ``done`` so the worker sweeps and forks the next
child, which the next :meth:`WorkerHandle.ready` receives.

Deliberately left out: choosing a worker for a job, and when to replace one (the pool's).
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from creator.errors import SandboxError

from . import protocol
from .collect import collect
from .launch import LaunchSpec
from .runner import write_all

__all__ = ["WorkerGone", "WorkerHandle"]

log = logging.getLogger("creator.sandbox")

_REPLY_GRACE_S = 15.0
_SWEEP_TIMEOUT_S = 30.0


class WorkerGone(Exception):
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


class WorkerHandle:
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
            raise WorkerGone("no worker process")
        try:
            protocol.send(self.channel.fileno(), {"op": operation})
            deadline = time.monotonic() + _REPLY_GRACE_S
            reply = protocol.recv(self.channel.fileno(), deadline=deadline)
        except (OSError, TimeoutError, protocol.ProtocolError, ValueError) as exc:
            raise WorkerGone(str(exc) or type(exc).__name__) from exc
        if reply is None:
            raise WorkerGone(self.stderr_tail() or "the worker exited")
        return int(reply["status"])

    def run(self, request: dict[str, Any], *, poll_s: float = 0.0) -> dict[str, Any]:
        """Run one job in the waiting child (``ready()`` must have been True); ``poll_s``
        as for :func:`~.collect.collect`."""
        child, self.child = self.child, None
        if child is None or self.channel is None:
            raise WorkerGone("no worker process")
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
                poll_s=poll_s,
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
